// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title FeeOnTransferToken
/// @notice Test asset that takes a fee from every transfer (not mints or burns): the sender is
/// debited `value`, the recipient receives `value − fee` and the fee is burnt. The fee rate can be
/// switched on later, as some stablecoins allow. Anyone may mint and set the fee. Tests only.
contract FeeOnTransferToken is ERC20 {
    uint256 private _feeBps;

    event FeeSet(uint256 feeBps);

    error FeeOnTransferTokenFeeTooHigh(uint256 feeBps);

    constructor(uint256 feeBps_) ERC20("Fee-on-transfer Test USD", "xUSD") {
        _setFee(feeBps_);
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setFee(uint256 feeBps_) external {
        _setFee(feeBps_);
    }

    function feeBps() external view returns (uint256) {
        return _feeBps;
    }

    function _setFee(uint256 feeBps_) private {
        if (feeBps_ > 10_000) revert FeeOnTransferTokenFeeTooHigh(feeBps_);
        _feeBps = feeBps_;
        emit FeeSet(feeBps_);
    }

    function _update(address from, address to, uint256 value) internal override {
        uint256 fee = from == address(0) || to == address(0) ? 0 : (value * _feeBps) / 10_000;
        if (fee != 0) super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
