// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ICoverPool
/// @notice The insurer's capital in one ERC-20. Capital is either free or locked as collateral
/// for live policies. Invariant: locked ≤ total assets ≤ token balance, always.
interface ICoverPool {
    event CapitalDeposited(address indexed from, uint256 amount);
    event CapitalWithdrawn(address indexed to, uint256 amount);
    event CollateralLocked(uint256 amount, uint256 locked);
    event CollateralReleased(uint256 amount, uint256 locked);
    event PremiumCollected(address indexed payer, uint256 amount);
    /// @notice Locked collateral left the pool as payouts (per-payee detail: the PolicyBook's
    /// `PayoutSent` and the token's `Transfer`).
    event CollateralPaidOut(uint256 amount, uint256 payees);
    /// @notice Tokens sent to the pool outside `deposit` were swept out by the treasurer.
    event SurplusRecovered(address indexed to, uint256 amount);

    error CoverPoolZeroAddress();
    error CoverPoolZeroAmount();
    error CoverPoolInsufficientFreeCapital(uint256 requested, uint256 free);
    error CoverPoolInsufficientLocked(uint256 requested, uint256 locked);
    error CoverPoolLengthMismatch(uint256 payees, uint256 amounts);
    error CoverPoolAmountTooLarge(uint256 amount);

    /// @notice Adds capital; anyone may (the insurer, a reinsurer). Pulls `amount` with transferFrom.
    function deposit(uint256 amount) external;

    /// @notice Withdraws free capital only (the treasurer).
    function withdraw(address to, uint256 amount) external;

    /// @notice Sends tokens that reached the pool outside `deposit` (a plain transfer) to `to`;
    /// they are never counted as capital, so this cannot touch free or locked capital.
    function recoverSurplus(address to) external returns (uint256 amount);

    /// @notice Locks free capital as collateral (the policy book, at issuance).
    function lock(uint256 amount) external;

    /// @notice Returns collateral to free capital (the policy book, at expiry).
    function release(uint256 amount) external;

    /// @notice Pulls a premium from `payer` into free capital (the policy book, at issuance).
    function collectPremium(address payer, uint256 amount) external;

    /// @notice Pays beneficiaries out of locked collateral (the policy book, at settlement).
    function payOut(address[] calldata payees, uint256[] calldata amounts) external;

    function asset() external view returns (address);

    function totalAssets() external view returns (uint256);

    function lockedCapital() external view returns (uint256);

    function freeCapital() external view returns (uint256);
}
