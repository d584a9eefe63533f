// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ICoverPool
/// @notice The insurer's capital in one ERC-20. Every unit of capital is in exactly one part:
/// free (withdrawable, lockable), locked (collateral for live policies) or owed (a payout whose
/// transfer failed, held for its payee until claimed). Total assets are their sum.
/// Invariant, always: locked + owed ≤ total assets ≤ token balance.
/// Capital is credited with what arrived (the pool's balance delta), never with what was asked,
/// so a fee-on-transfer asset cannot break the invariant; tokens sent outside `deposit` are
/// surplus, never capital.
///
/// Roles (OpenZeppelin AccessControl): `DEFAULT_ADMIN_ROLE` (the governance timelock in
/// production) grants the others; `BOOK_ROLE` (the policy book) locks, releases, collects
/// premiums, pays out and refunds; `TREASURER_ROLE` withdraws free capital and sweeps surplus. Deposits
/// and claims of owed payouts are open to anyone. A call without its role reverts
/// `AccessControlUnauthorizedAccount(caller, role)`. Token failures surface as the token's own
/// revert or `SafeERC20FailedOperation(token)`.
interface ICoverPool {
    /// @notice `amount` is what the pool received and credited (after any transfer fee).
    event CapitalDeposited(address indexed from, uint256 amount);
    /// @notice `amount` of free capital was sent to `to`.
    event CapitalWithdrawn(address indexed to, uint256 amount);
    /// @notice `amount` moved from free to locked capital; `locked` is the new locked total.
    event CollateralLocked(uint256 amount, uint256 locked);
    /// @notice `amount` moved from locked back to free capital; `locked` is the new locked total.
    event CollateralReleased(uint256 amount, uint256 locked);
    /// @notice `amount` is what the pool received (at least the premium asked).
    event PremiumCollected(address indexed payer, uint256 amount);
    /// @notice Locked collateral was consumed by payouts: `amount` in all to `payees` entries,
    /// each either transferred (the token's `Transfer`) or credited (`PayoutCredited`).
    event CollateralPaidOut(uint256 amount, uint256 payees);
    /// @notice A payout transfer failed (reverted, returned false, or the payee is refused by the
    /// token); `amount` moved from locked to owed capital, claimable by `payee` with `claim`.
    event PayoutCredited(address indexed payee, uint256 amount);
    /// @notice `amount` of free capital was refunded to `to` (a cancelled policy's premium share):
    /// transferred, or credited to `to` (`PayoutCredited`) when the transfer failed.
    event PremiumRefunded(address indexed to, uint256 amount);
    /// @notice `payee` pulled its whole owed balance `amount` to `to`.
    event PayoutClaimed(address indexed payee, address indexed to, uint256 amount);
    /// @notice Tokens sent to the pool outside `deposit` were swept out by the treasurer.
    event SurplusRecovered(address indexed to, uint256 amount);

    /// @notice A zero address where an account is required (asset, admin, recipient or payee).
    error CoverPoolZeroAddress();
    /// @notice A deposit or withdrawal of zero, or a surplus sweep with no surplus.
    error CoverPoolZeroAmount();
    /// @notice `requested` is more than the free capital `free`.
    error CoverPoolInsufficientFreeCapital(uint256 requested, uint256 free);
    /// @notice `requested` is more than the locked capital `locked`.
    error CoverPoolInsufficientLocked(uint256 requested, uint256 locked);
    /// @notice `payOut` with `payees` and `amounts` of different lengths.
    error CoverPoolLengthMismatch(uint256 payees, uint256 amounts);
    /// @notice Free + locked capital would exceed 2^128 − 1; `amount` is the would-be sum.
    error CoverPoolAmountTooLarge(uint256 amount);
    /// @notice The token delivered less than the transfer asked (a premium must arrive in full;
    /// a deposit must deliver something).
    error CoverPoolTransferShortfall(uint256 expected, uint256 received);
    /// @notice `claim` by an account that is owed nothing.
    error CoverPoolNothingOwed(address payee);

    /// @notice Adds capital; anyone may (the insurer, a reinsurer). Pulls `amount` with
    /// transferFrom and credits what arrived, which it returns and emits.
    /// @dev Emits {CapitalDeposited}. Reverts `CoverPoolZeroAmount`, `CoverPoolTransferShortfall`
    /// (nothing arrived), `CoverPoolAmountTooLarge`.
    /// @return received what arrived and was credited to free capital
    function deposit(uint256 amount) external returns (uint256 received);

    /// @notice Withdraws free capital only (the treasurer); never locked or owed capital.
    /// @dev Requirements: the caller has `TREASURER_ROLE`. Emits {CapitalWithdrawn}. Reverts
    /// `CoverPoolZeroAddress`, `CoverPoolZeroAmount`, `CoverPoolInsufficientFreeCapital`.
    function withdraw(address to, uint256 amount) external;

    /// @notice Sends tokens that reached the pool outside `deposit` (a plain transfer) to `to`:
    /// the token balance minus total assets, so it cannot touch free, locked or owed capital.
    /// @dev Requirements: the caller has `TREASURER_ROLE`. Emits {SurplusRecovered}. Reverts
    /// `CoverPoolZeroAddress`, `CoverPoolZeroAmount` (no surplus).
    /// @return amount the surplus sent
    function recoverSurplus(address to) external returns (uint256 amount);

    /// @notice Locks free capital as collateral (the policy book, at issuance).
    /// @dev Requirements: the caller has `BOOK_ROLE`. Emits {CollateralLocked}. Reverts
    /// `CoverPoolInsufficientFreeCapital`.
    function lock(uint256 amount) external;

    /// @notice Returns collateral to free capital (the policy book, at expiry).
    /// @dev Requirements: the caller has `BOOK_ROLE`. Emits {CollateralReleased}. Reverts
    /// `CoverPoolInsufficientLocked`.
    function release(uint256 amount) external;

    /// @notice Pulls a premium from `payer` into free capital (the policy book, at issuance).
    /// Zero is a no-op.
    /// @dev Requirements: the caller has `BOOK_ROLE`; `payer` approved the pool for `amount`.
    /// Emits {PremiumCollected}. Reverts `CoverPoolTransferShortfall` unless at least `amount`
    /// arrives, `CoverPoolAmountTooLarge`.
    function collectPremium(address payer, uint256 amount) external;

    /// @notice Pays beneficiaries out of locked collateral (the policy book, at settlement).
    /// Reverts only for the batch as a whole (length mismatch, total beyond locked, a zero
    /// payee). A transfer that fails — reverts, returns false, or the token refuses the payee —
    /// does not revert: its amount is credited to the payee's claimable balance
    /// (`PayoutCredited`) and the batch proceeds. Zero amounts are skipped.
    /// @dev Requirements: the caller has `BOOK_ROLE`. Emits {CollateralPaidOut}, and
    /// {PayoutCredited} per failed transfer. Reverts `CoverPoolLengthMismatch`,
    /// `CoverPoolInsufficientLocked`, `CoverPoolZeroAddress`.
    function payOut(address[] calldata payees, uint256[] calldata amounts) external;

    /// @notice Refunds `amount` of free capital to `to` (the policy book, at cancellation, after
    /// releasing the policy's collateral). A transfer that fails does not revert: the amount is
    /// owed to `to` (`PayoutCredited`, claimable with `claim`), as for `payOut`. Zero is a no-op.
    /// @dev Requirements: the caller has `BOOK_ROLE`. Emits {PremiumRefunded}, and
    /// {PayoutCredited} when the transfer failed. Reverts `CoverPoolZeroAddress`,
    /// `CoverPoolInsufficientFreeCapital`.
    function refund(address to, uint256 amount) external;

    /// @notice The caller pulls everything it is owed to `to` (pull payment for failed payouts).
    /// The transfer must succeed in full or the claim reverts and stays owed (choose another `to`).
    /// @dev Any account that is owed may call. Emits {PayoutClaimed}. Reverts
    /// `CoverPoolZeroAddress`, `CoverPoolNothingOwed`.
    /// @return amount what was owed and sent
    function claim(address to) external returns (uint256 amount);

    /// @notice The ERC-20 the pool holds.
    function asset() external view returns (address);

    /// @notice Free + locked + owed capital.
    function totalAssets() external view returns (uint256);

    /// @notice Collateral locked for live policies.
    function lockedCapital() external view returns (uint256);

    /// @notice Total assets − locked − owed: what can be withdrawn or locked.
    function freeCapital() external view returns (uint256);

    /// @notice Payouts credited and not yet claimed, summed over all payees.
    function owedCapital() external view returns (uint256);

    /// @notice What `payee` can `claim`.
    function claimableOf(address payee) external view returns (uint256);

    /// @notice Role of the policy book: locks, releases, collects premiums, pays out, refunds.
    function BOOK_ROLE() external view returns (bytes32);

    /// @notice Role that may withdraw free capital and sweep surplus.
    function TREASURER_ROLE() external view returns (bytes32);
}
