// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IPolicyBook
/// @notice Parametric cover products, policies and their settlement against verified outages.
///
/// A policy is stored as one slot: the keccak256 of its `Policy` record. Callers pass the record
/// back (every change is in the events, so an indexer always has it) and the book checks it
/// against the stored hash. This is what keeps issuance near one storage write per policy.
interface IPolicyBook {
    /// @notice `Fixed`: `payoutAmount` once per qualifying outage. `PerUnit`: `payoutAmount` per
    /// started `unitSeconds` (an hour in production) beyond the trigger threshold.
    enum PayoutKind {
        Fixed,
        PerUnit
    }

    enum PolicyStatus {
        Active,
        Expired
    }

    enum ClaimStatus {
        None,
        Open,
        Approved,
        Rejected
    }

    struct Product {
        bytes32 serviceId;
        uint32 triggerSeconds; // an outage must last longer than this
        PayoutKind payoutKind;
        uint32 unitSeconds;
        uint32 waitingSeconds; // outages starting this soon after cover start are excluded
        uint32 graceSeconds; // after cover end, late reports may still settle
        bool active;
        uint96 autoPayLimit; // entitlement up to this is paid at once; above it goes to review
        uint96 payoutAmount;
        uint96 policyLimit; // maximum payout per policy (the collateral locked)
    }

    /// @notice What an issuer asks for. `coverStart` 0 means "now"; a past start is refused.
    struct PolicyTerms {
        uint32 productId;
        uint40 coverStart;
        uint40 coverEnd;
        uint96 limit; // ≤ product policyLimit (a sub-limit for medium risk)
        uint96 premium;
        address beneficiary;
        bytes32 holder; // salted commitment to the policyholder: no personal data on-chain
        bytes32 reportHash; // the anchored assessment the policy was underwritten on
    }

    /// @notice The full policy record whose hash is stored.
    /// `settled`: entitlement already handled (paid at once or sent to review); `paid`: sent.
    struct Policy {
        uint32 productId;
        uint40 coverStart;
        uint40 coverEnd;
        uint96 limit;
        address beneficiary;
        bytes32 holder;
        bytes32 reportHash;
        uint96 settled;
        uint96 paid;
        uint64 openClaim;
        PolicyStatus status;
    }

    struct Claim {
        uint64 policyId;
        uint96 amount;
        ClaimStatus status;
    }

    event ProductCreated(uint32 indexed productId, bytes32 indexed serviceId, Product product);
    event ProductActivationChanged(uint32 indexed productId, bool active);
    event PolicyIssued(uint256 indexed policyId, uint32 indexed productId, address indexed issuer, Policy policy, uint96 premium);
    /// @notice Settlement and claim events carry `entitlement`, the policy's new `settled`
    /// value, so an indexer can rebuild every record from events alone (and check it against
    /// `policyHash`).
    event PayoutSent(uint256 indexed policyId, uint96 amount, uint96 entitlement);
    event ClaimOpened(uint64 indexed claimId, uint256 indexed policyId, uint96 amount, uint96 entitlement);
    /// @notice `amount` is the claim's new total.
    event ClaimIncreased(uint64 indexed claimId, uint256 indexed policyId, uint96 amount, uint96 entitlement);
    event ClaimApproved(uint64 indexed claimId, uint256 indexed policyId, uint96 amount, bytes32 incidentReport);
    event ClaimRejected(uint64 indexed claimId, uint256 indexed policyId, uint96 amount, bytes32 incidentReport);
    event PolicyExpired(uint256 indexed policyId, uint96 released);

    error PolicyBookZeroAddress();
    error PolicyBookInvalidProduct();
    error PolicyBookUnknownProduct(uint32 productId);
    error PolicyBookProductInactive(uint32 productId);
    error PolicyBookInvalidCover(uint40 coverStart, uint40 coverEnd, uint256 nowTime);
    error PolicyBookLimitAboveProduct(uint96 limit, uint96 productLimit);
    error PolicyBookZeroBeneficiary();
    error PolicyBookReportNotUnderwritable(bytes32 reportHash);
    error PolicyBookEmptyBatch();
    error PolicyBookBatchTooLarge(uint256 size, uint256 max);
    error PolicyBookLengthMismatch(uint256 ids, uint256 policies);
    error PolicyBookUnknownPolicy(uint256 policyId);
    error PolicyBookPolicyMismatch(uint256 policyId);
    error PolicyBookPolicyNotActive(uint256 policyId);
    error PolicyBookCoverNotEnded(uint256 policyId, uint256 expiresAt);
    error PolicyBookClaimNotOpen(uint64 claimId);
    error PolicyBookClaimPolicyMismatch(uint64 claimId, uint256 policyId);
    error PolicyBookInvalidIncidentReport(bytes32 reportHash);

    function createProduct(Product calldata product) external returns (uint32 productId);

    function setProductActive(uint32 productId, bool active) external;

    /// @notice Issues one policy: the premium moves from the caller to the pool and the full
    /// limit is locked as collateral, in one transaction.
    function issue(PolicyTerms calldata terms) external returns (uint256 policyId);

    /// @notice Issues many policies with one premium transfer and one collateral lock.
    /// @return firstId ids are `firstId .. firstId + terms.length - 1`
    function issueBatch(PolicyTerms[] calldata terms) external returns (uint256 firstId);

    /// @notice Pays what each policy is newly entitled to. Anyone may call; a policy with nothing
    /// due is skipped, so racing callers waste gas but can never pay twice.
    function settle(uint256[] calldata policyIds, Policy[] calldata policies) external;

    function approveClaim(uint64 claimId, uint256 policyId, Policy calldata policy, bytes32 incidentReport) external;

    function rejectClaim(uint64 claimId, uint256 policyId, Policy calldata policy, bytes32 incidentReport) external;

    /// @notice After cover end + grace: settles what is left, then returns unused collateral.
    /// A policy with an open claim stays active until the claim is decided.
    function expire(uint256[] calldata policyIds, Policy[] calldata policies) external;

    /// @notice Entitlement of a policy now (capped at its limit), from the verified windows.
    function entitlementOf(Policy calldata policy) external view returns (uint96);

    function product(uint32 productId) external view returns (Product memory);

    function productCount() external view returns (uint32);

    function policyCount() external view returns (uint256);

    function policyHash(uint256 policyId) external view returns (bytes32);

    function hashPolicy(Policy calldata policy) external pure returns (bytes32);

    function claim(uint64 claimId) external view returns (Claim memory);
}
