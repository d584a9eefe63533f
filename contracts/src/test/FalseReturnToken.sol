// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title FalseReturnToken
/// @notice Test asset that signals failure the old way: `transfer` / `transferFrom` to a refused
/// recipient return false and move nothing, instead of reverting. Anyone may mint and refuse.
/// Tests only.
contract FalseReturnToken is ERC20 {
    mapping(address account => bool) private _refused;

    constructor() ERC20("False-returning Test USD", "fUSD") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setRefused(address account, bool refused) external {
        _refused[account] = refused;
    }

    function transfer(address to, uint256 value) public override returns (bool) {
        if (_refused[to]) return false;
        return super.transfer(to, value);
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        if (_refused[to]) return false;
        return super.transferFrom(from, to, value);
    }
}
