// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title BlacklistToken
/// @notice Test asset behaving like a blacklisting stablecoin (USDC, USDT): any transfer from or
/// to a blacklisted account reverts. Anyone may mint and blacklist. Tests only.
contract BlacklistToken is ERC20 {
    mapping(address account => bool) private _blacklisted;

    event Blacklisted(address indexed account, bool blacklisted);

    error BlacklistTokenBlacklisted(address account);

    constructor() ERC20("Blacklisting Test USD", "bUSD") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setBlacklisted(address account, bool blacklisted) external {
        _blacklisted[account] = blacklisted;
        emit Blacklisted(account, blacklisted);
    }

    function isBlacklisted(address account) external view returns (bool) {
        return _blacklisted[account];
    }

    function _update(address from, address to, uint256 value) internal override {
        if (_blacklisted[from]) revert BlacklistTokenBlacklisted(from);
        if (_blacklisted[to]) revert BlacklistTokenBlacklisted(to);
        super._update(from, to, value);
    }
}
