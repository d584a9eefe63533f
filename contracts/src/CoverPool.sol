// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ICoverPool} from "./interfaces/ICoverPool.sol";

/// @title CoverPool
/// @notice Internal accounting (`_assets`) rather than `balanceOf`, so a token donation can never
/// be mistaken for free capital and no one can manipulate solvency from outside.
contract CoverPool is ICoverPool, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice The policy book: locks, releases, collects premiums, pays out.
    bytes32 public constant BOOK_ROLE = keccak256("BOOK_ROLE");
    /// @notice May withdraw free capital.
    bytes32 public constant TREASURER_ROLE = keccak256("TREASURER_ROLE");

    IERC20 private immutable _asset;

    // Both in one slot: issuance and settlement touch them together.
    uint128 private _assets;
    uint128 private _locked;

    constructor(IERC20 asset_, address admin) {
        if (address(asset_) == address(0) || admin == address(0)) revert CoverPoolZeroAddress();
        _asset = asset_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(TREASURER_ROLE, admin);
    }

    /// @inheritdoc ICoverPool
    function deposit(uint256 amount) external nonReentrant {
        if (amount == 0) revert CoverPoolZeroAmount();
        _assets = _toU128(_assets + amount);
        emit CapitalDeposited(msg.sender, amount);
        _asset.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc ICoverPool
    function withdraw(address to, uint256 amount) external onlyRole(TREASURER_ROLE) nonReentrant {
        if (to == address(0)) revert CoverPoolZeroAddress();
        if (amount == 0) revert CoverPoolZeroAmount();
        uint256 free = _assets - _locked;
        if (amount > free) revert CoverPoolInsufficientFreeCapital(amount, free);
        _assets -= uint128(amount);
        emit CapitalWithdrawn(to, amount);
        _asset.safeTransfer(to, amount);
    }

    /// @inheritdoc ICoverPool
    function recoverSurplus(address to) external onlyRole(TREASURER_ROLE) nonReentrant returns (uint256 amount) {
        if (to == address(0)) revert CoverPoolZeroAddress();
        amount = _asset.balanceOf(address(this)) - _assets;
        if (amount == 0) revert CoverPoolZeroAmount();
        emit SurplusRecovered(to, amount);
        _asset.safeTransfer(to, amount);
    }

    /// @inheritdoc ICoverPool
    function lock(uint256 amount) external onlyRole(BOOK_ROLE) {
        uint256 free = _assets - _locked;
        if (amount > free) revert CoverPoolInsufficientFreeCapital(amount, free);
        _locked += uint128(amount);
        emit CollateralLocked(amount, _locked);
    }

    /// @inheritdoc ICoverPool
    function release(uint256 amount) external onlyRole(BOOK_ROLE) {
        uint256 locked = _locked;
        if (amount > locked) revert CoverPoolInsufficientLocked(amount, locked);
        _locked = uint128(locked - amount);
        emit CollateralReleased(amount, locked - amount);
    }

    /// @inheritdoc ICoverPool
    function collectPremium(address payer, uint256 amount) external onlyRole(BOOK_ROLE) nonReentrant {
        if (amount == 0) return;
        _assets = _toU128(_assets + amount);
        emit PremiumCollected(payer, amount);
        _asset.safeTransferFrom(payer, address(this), amount);
    }

    /// @inheritdoc ICoverPool
    function payOut(address[] calldata payees, uint256[] calldata amounts) external onlyRole(BOOK_ROLE) nonReentrant {
        uint256 n = payees.length;
        if (n != amounts.length) revert CoverPoolLengthMismatch(n, amounts.length);
        uint256 total;
        for (uint256 i = 0; i < n; ++i) total += amounts[i];
        uint256 locked = _locked;
        if (total > locked) revert CoverPoolInsufficientLocked(total, locked);
        // Effects before interactions: collateral is consumed, then tokens move.
        _locked = uint128(locked - total);
        _assets -= uint128(total);
        emit CollateralPaidOut(total, n);
        for (uint256 i = 0; i < n; ++i) _asset.safeTransfer(payees[i], amounts[i]);
    }

    /// @inheritdoc ICoverPool
    function asset() external view returns (address) {
        return address(_asset);
    }

    /// @inheritdoc ICoverPool
    function totalAssets() external view returns (uint256) {
        return _assets;
    }

    /// @inheritdoc ICoverPool
    function lockedCapital() external view returns (uint256) {
        return _locked;
    }

    /// @inheritdoc ICoverPool
    function freeCapital() external view returns (uint256) {
        return _assets - _locked;
    }

    function _toU128(uint256 v) private pure returns (uint128) {
        if (v > type(uint128).max) revert CoverPoolAmountTooLarge(v);
        return uint128(v);
    }
}
