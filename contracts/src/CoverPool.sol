// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ICoverPool} from "./interfaces/ICoverPool.sol";

/// @title CoverPool
/// @notice Internal accounting rather than `balanceOf`, so a token donation can never be mistaken
/// for capital. Every unit of capital is in exactly one part — free, locked or owed — and total
/// assets are their sum, so `locked + owed ≤ assets` holds by construction; `assets ≤ balance`
/// holds because capital is only ever credited with what arrived (balance delta) and debited with
/// what left.
contract CoverPool is ICoverPool, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @inheritdoc ICoverPool
    bytes32 public constant BOOK_ROLE = keccak256("BOOK_ROLE");
    /// @inheritdoc ICoverPool
    bytes32 public constant TREASURER_ROLE = keccak256("TREASURER_ROLE");

    IERC20 private immutable _asset;

    // Free and locked share one slot: issuance, expiry and settlement touch only them.
    // Their sum is kept ≤ 2^128 − 1, so moving capital between them never overflows.
    uint128 private _free;
    uint128 private _locked;
    // Payouts whose transfer failed, held for their payees (pull payment); touched only then.
    uint256 private _owed;
    mapping(address payee => uint256 amount) private _claimable;

    constructor(IERC20 asset_, address admin) {
        if (address(asset_) == address(0) || admin == address(0)) revert CoverPoolZeroAddress();
        _asset = asset_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(TREASURER_ROLE, admin);
    }

    /// @inheritdoc ICoverPool
    function deposit(uint256 amount) external nonReentrant returns (uint256 received) {
        if (amount == 0) revert CoverPoolZeroAmount();
        received = _pull(msg.sender, amount);
        if (received == 0) revert CoverPoolTransferShortfall(amount, 0);
        _free = _credit(received);
        emit CapitalDeposited(msg.sender, received);
    }

    /// @inheritdoc ICoverPool
    function withdraw(address to, uint256 amount) external onlyRole(TREASURER_ROLE) nonReentrant {
        if (to == address(0)) revert CoverPoolZeroAddress();
        if (amount == 0) revert CoverPoolZeroAmount();
        uint256 free = _free;
        if (amount > free) revert CoverPoolInsufficientFreeCapital(amount, free);
        _free = uint128(free - amount);
        emit CapitalWithdrawn(to, amount);
        _asset.safeTransfer(to, amount);
    }

    /// @inheritdoc ICoverPool
    function recoverSurplus(address to) external onlyRole(TREASURER_ROLE) nonReentrant returns (uint256 amount) {
        if (to == address(0)) revert CoverPoolZeroAddress();
        amount = _asset.balanceOf(address(this)) - _totalAssets();
        if (amount == 0) revert CoverPoolZeroAmount();
        emit SurplusRecovered(to, amount);
        _asset.safeTransfer(to, amount);
    }

    /// @inheritdoc ICoverPool
    function lock(uint256 amount) external onlyRole(BOOK_ROLE) {
        uint256 free = _free;
        if (amount > free) revert CoverPoolInsufficientFreeCapital(amount, free);
        uint256 locked = _locked + amount;
        _free = uint128(free - amount);
        _locked = uint128(locked);
        emit CollateralLocked(amount, locked);
    }

    /// @inheritdoc ICoverPool
    function release(uint256 amount) external onlyRole(BOOK_ROLE) {
        uint256 locked = _locked;
        if (amount > locked) revert CoverPoolInsufficientLocked(amount, locked);
        _locked = uint128(locked - amount);
        _free += uint128(amount);
        emit CollateralReleased(amount, locked - amount);
    }

    /// @inheritdoc ICoverPool
    function collectPremium(address payer, uint256 amount) external onlyRole(BOOK_ROLE) nonReentrant {
        if (amount == 0) return;
        uint256 received = _pull(payer, amount);
        if (received < amount) revert CoverPoolTransferShortfall(amount, received);
        _free = _credit(received);
        emit PremiumCollected(payer, received);
    }

    /// @inheritdoc ICoverPool
    function payOut(address[] calldata payees, uint256[] calldata amounts) external onlyRole(BOOK_ROLE) nonReentrant {
        uint256 n = payees.length;
        if (n != amounts.length) revert CoverPoolLengthMismatch(n, amounts.length);
        uint256 total;
        for (uint256 i = 0; i < n; ++i) total += amounts[i];
        uint256 locked = _locked;
        if (total > locked) revert CoverPoolInsufficientLocked(total, locked);
        // Effects before interactions: the collateral is consumed, then tokens move. A transfer
        // that fails cannot be known before it is tried, so its credit follows it; the guard
        // keeps every entry point closed meanwhile.
        _locked = uint128(locked - total);
        emit CollateralPaidOut(total, n);
        uint256 credited;
        for (uint256 i = 0; i < n; ++i) {
            address payee = payees[i];
            uint256 amount = amounts[i];
            if (payee == address(0)) revert CoverPoolZeroAddress();
            if (amount == 0 || _asset.trySafeTransfer(payee, amount)) continue;
            _claimable[payee] += amount;
            credited += amount;
            emit PayoutCredited(payee, amount);
        }
        if (credited != 0) _owed += credited;
    }

    /// @inheritdoc ICoverPool
    function refund(address to, uint256 amount) external onlyRole(BOOK_ROLE) nonReentrant {
        if (amount == 0) return;
        if (to == address(0)) revert CoverPoolZeroAddress();
        uint256 free = _free;
        if (amount > free) revert CoverPoolInsufficientFreeCapital(amount, free);
        // Effects before the transfer, as in payOut: a refused transfer moves the amount to owed.
        _free = uint128(free - amount);
        emit PremiumRefunded(to, amount);
        if (_asset.trySafeTransfer(to, amount)) return;
        _claimable[to] += amount;
        _owed += amount;
        emit PayoutCredited(to, amount);
    }

    /// @inheritdoc ICoverPool
    function claim(address to) external nonReentrant returns (uint256 amount) {
        if (to == address(0)) revert CoverPoolZeroAddress();
        amount = _claimable[msg.sender];
        if (amount == 0) revert CoverPoolNothingOwed(msg.sender);
        _claimable[msg.sender] = 0;
        _owed -= amount;
        emit PayoutClaimed(msg.sender, to, amount);
        _asset.safeTransfer(to, amount);
    }

    /// @inheritdoc ICoverPool
    function asset() external view returns (address) {
        return address(_asset);
    }

    /// @inheritdoc ICoverPool
    function totalAssets() external view returns (uint256) {
        return _totalAssets();
    }

    /// @inheritdoc ICoverPool
    function lockedCapital() external view returns (uint256) {
        return _locked;
    }

    /// @inheritdoc ICoverPool
    function freeCapital() external view returns (uint256) {
        return _free;
    }

    /// @inheritdoc ICoverPool
    function owedCapital() external view returns (uint256) {
        return _owed;
    }

    /// @inheritdoc ICoverPool
    function claimableOf(address payee) external view returns (uint256) {
        return _claimable[payee];
    }

    function _totalAssets() private view returns (uint256) {
        return uint256(_free) + _locked + _owed;
    }

    /// @dev Pulls `amount` from `from` and returns what actually arrived (a fee-on-transfer token
    /// delivers less). Callers hold the reentrancy guard, so the delta is theirs alone.
    function _pull(address from, uint256 amount) private returns (uint256) {
        uint256 before = _balance();
        _asset.safeTransferFrom(from, address(this), amount);
        return _balance() - before;
    }

    /// @dev `_asset.balanceOf(address(this))` in scratch space: ~180 gas less per call than the
    /// high-level call, on the issuance path (twice per premium). Yul evaluates arguments right
    /// to left, so `staticcall` runs before `returndatasize` is read.
    function _balance() private view returns (uint256 bal) {
        IERC20 token = _asset;
        bool ok;
        assembly ("memory-safe") {
            mstore(0x00, 0x70a08231) // balanceOf(address)
            mstore(0x20, address())
            ok := and(gt(returndatasize(), 0x1f), staticcall(gas(), token, 0x1c, 0x24, 0x00, 0x20))
            bal := mload(0x00)
        }
        if (!ok) revert SafeERC20.SafeERC20FailedOperation(address(token));
    }

    /// @dev The new free capital after crediting `amount`, keeping free + locked within 128 bits.
    function _credit(uint256 amount) private view returns (uint128) {
        uint256 free = _free;
        uint256 committed = free + _locked + amount;
        if (committed > type(uint128).max) revert CoverPoolAmountTooLarge(committed);
        return uint128(free + amount);
    }
}
