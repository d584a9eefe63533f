// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IPolicyBook
/// @notice Parametric cover products, policies and their settlement against verified outages.
///
/// A policy is stored as one slot: the keccak256 of its `Policy` record. Callers pass the record
/// back (every change is in the events, so an indexer always has it) and the book checks it
/// against the stored hash. This is what keeps issuance near one storage write per policy.
interface IPolicyBook {
    /// @notice `Fixed`: `payoutAmount` once per qualifying outage episode. `PerUnit`:
    /// `payoutAmount` per started `unitSeconds` (an hour in production) of downtime beyond the
    /// trigger threshold.
    enum PayoutKind {
        Fixed,
        PerUnit
    }

    enum PolicyStatus {
        Active,
        Expired
    }

    /// @notice `Lapsed`: the claims role did not decide before the deadline; the claim was
    /// deemed approved in full (the outage behind it is verified on-chain) and paid.
    enum ClaimStatus {
        None,
        Open,
        Approved,
        Rejected,
        Lapsed
    }

    /// @notice A cover product. The underwriting limits are enforced here, on-chain, whoever issues.
    struct Product {
        bytes32 serviceId;
        uint32 triggerSeconds; // an outage's downtime must exceed this
        PayoutKind payoutKind;
        uint32 unitSeconds;
        uint32 waitingSeconds; // outages starting this soon after cover start are excluded
        uint32 graceSeconds; // after cover end, late reports may still settle (≥ the oracle's finality delay)
        bool active;
        uint96 autoPayLimit; // entitlement up to this is paid at once; above it goes to review
        uint96 payoutAmount;
        uint96 policyLimit; // maximum payout per policy (the collateral locked)
        uint32 maxCoverSeconds; // longest cover period
        uint32 maxStartDelay; // latest cover start, seconds after issuance
        uint96 minPremium; // premium floor per policy, in token units
        uint96 mediumLimit; // limit cap when the report's risk level is Medium; 0 declines Medium
        uint32 minRatePpm; // premium floor per year of cover, parts per million of the limit
        uint32 claimSeconds; // a claim not decided within this is deemed approved
        uint96 exposureCap; // total limit of the product's active policies; 0 = no cap
    }

    /// @notice What an issuer asks for. `coverStart` 0 means "now"; a past start is refused.
    struct PolicyTerms {
        uint32 productId;
        uint40 coverStart;
        uint40 coverEnd;
        uint96 limit; // ≤ product policyLimit (and ≤ mediumLimit for a Medium-risk report)
        uint96 premium;
        address beneficiary;
        bytes32 holder; // salted commitment to the policyholder: no personal data on-chain
        bytes32 subject; // salted commitment to the insured organisation the report assessed
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
        address issuer;
        bytes32 holder;
        bytes32 subject;
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
        uint40 deadline;
    }

    event ProductCreated(uint32 indexed productId, bytes32 indexed serviceId, Product product);
    event ProductActivationChanged(uint32 indexed productId, bool active);
    event IssuerCapSet(address indexed issuer, uint128 cap);
    event PolicyIssued(uint256 indexed policyId, uint32 indexed productId, address indexed issuer, Policy policy, uint96 premium);
    /// @notice Settlement and claim events carry `entitlement`, the policy's new `settled`
    /// value, so an indexer can rebuild every record from events alone (and check it against
    /// `policyHash`).
    event PayoutSent(uint256 indexed policyId, uint96 amount, uint96 entitlement);
    event ClaimOpened(uint64 indexed claimId, uint256 indexed policyId, uint96 amount, uint96 entitlement, uint40 deadline);
    /// @notice `amount` is the claim's new total.
    event ClaimIncreased(uint64 indexed claimId, uint256 indexed policyId, uint96 amount, uint96 entitlement);
    /// @notice `amount` was approved and paid (at most the claim; the rest is declined).
    event ClaimApproved(uint64 indexed claimId, uint256 indexed policyId, uint96 amount, bytes32 incidentReport);
    /// @notice `reason` is the hash of the written reason (a document off-chain).
    event ClaimRejected(uint64 indexed claimId, uint256 indexed policyId, uint96 amount, bytes32 reason);
    event ClaimLapsed(uint64 indexed claimId, uint256 indexed policyId, uint96 amount);
    event PolicyExpired(uint256 indexed policyId, uint96 released);

    error PolicyBookZeroAddress();
    error PolicyBookInvalidProduct();
    error PolicyBookGraceBelowFinality(uint32 graceSeconds, uint32 finalityDelay);
    error PolicyBookUnknownProduct(uint32 productId);
    error PolicyBookProductInactive(uint32 productId);
    error PolicyBookInvalidCover(uint40 coverStart, uint40 coverEnd, uint256 nowTime);
    error PolicyBookCoverTooLong(uint256 coverSeconds, uint32 maxCoverSeconds);
    error PolicyBookStartTooLate(uint40 coverStart, uint256 latestStart);
    error PolicyBookLimitAboveProduct(uint96 limit, uint96 productLimit);
    error PolicyBookLimitAboveRiskLevel(uint96 limit, uint96 levelLimit);
    error PolicyBookPremiumBelowFloor(uint96 premium, uint256 floor);
    error PolicyBookZeroBeneficiary();
    error PolicyBookZeroReportHash();
    error PolicyBookReportNotUnderwritable(bytes32 reportHash);
    error PolicyBookProductCapExceeded(uint32 productId, uint256 exposure, uint96 cap);
    error PolicyBookIssuerCapExceeded(address issuer, uint256 exposure, uint128 cap);
    error PolicyBookEmptyBatch();
    error PolicyBookBatchTooLarge(uint256 size, uint256 max);
    error PolicyBookLengthMismatch(uint256 ids, uint256 policies);
    error PolicyBookUnknownPolicy(uint256 policyId);
    error PolicyBookPolicyMismatch(uint256 policyId);
    error PolicyBookCoverNotEnded(uint256 policyId, uint256 expiresAt);
    error PolicyBookClaimNotOpen(uint64 claimId);
    error PolicyBookClaimPolicyMismatch(uint64 claimId, uint256 policyId);
    error PolicyBookClaimDeadlinePassed(uint64 claimId, uint40 deadline);
    error PolicyBookClaimDecisionPending(uint64 claimId, uint40 deadline);
    error PolicyBookInvalidApprovalAmount(uint96 amount, uint96 claimed);
    error PolicyBookInvalidIncidentReport(bytes32 reportHash);

    /// @notice Creates a product (the underwriter). Its limits bind every issuer.
    function createProduct(Product calldata product) external returns (uint32 productId);

    function setProductActive(uint32 productId, bool active) external;

    /// @notice Caps the total limit of an issuer's active policies (the admin, behind the
    /// governance delay); 0 removes the cap. Exposure is tracked whether or not a cap is set.
    function setIssuerCap(address issuer, uint128 cap) external;

    /// @notice Issues one policy: the premium moves from the caller to the pool and the full
    /// limit is locked as collateral, in one transaction. Refused unless the report is live,
    /// bound to `terms.subject`, an underwriting kind, and its risk level allows the limit; the
    /// premium is at least the product's floor; the cover starts soon enough and is not too long.
    function issue(PolicyTerms calldata terms) external returns (uint256 policyId);

    /// @notice Issues many policies with one premium transfer and one collateral lock.
    /// @return firstId ids are `firstId .. firstId + terms.length - 1`
    function issueBatch(PolicyTerms[] calldata terms) external returns (uint256 firstId);

    /// @notice Pays what each policy is newly entitled to. Anyone may call; a policy with nothing
    /// due is skipped, so racing callers waste gas but can never pay twice. Bounded work per
    /// policy: at most `MAX_EPISODE_WINDOWS` windows of its service are read.
    function settle(uint256[] calldata policyIds, Policy[] calldata policies) external;

    /// @notice Approves `amount` (≤ the claim; the rest is declined) before the claim's deadline,
    /// against a live incident report (§8) anchored with subject
    /// `keccak256(abi.encode(policy.subject, product.serviceId))`: bound to the insured and the service.
    function approveClaim(uint64 claimId, uint256 policyId, Policy calldata policy, bytes32 incidentReport, uint96 amount)
        external;

    /// @notice Declines a claim before its deadline; `reason` hashes the written reason.
    function rejectClaim(uint64 claimId, uint256 policyId, Policy calldata policy, bytes32 reason) external;

    /// @notice After its deadline anyone may close an undecided claim: it is deemed approved in
    /// full and paid, so no claim holds collateral for ever.
    function closeLapsedClaim(uint64 claimId, uint256 policyId, Policy calldata policy) external;

    /// @notice After cover end + grace: settles what is left, closes a lapsed claim, then returns
    /// unused collateral. A policy with an open claim before its deadline stays active.
    function expire(uint256[] calldata policyIds, Policy[] calldata policies) external;

    /// @notice Entitlement of a policy now (capped at its limit), from the verified episodes.
    function entitlementOf(Policy calldata policy) external view returns (uint96);

    function product(uint32 productId) external view returns (Product memory);

    function productCount() external view returns (uint32);

    function productExposure(uint32 productId) external view returns (uint256);

    function issuerExposure(address issuer) external view returns (uint128 cap, uint128 exposure);

    function policyCount() external view returns (uint256);

    function policyHash(uint256 policyId) external view returns (bytes32);

    function hashPolicy(Policy calldata policy) external pure returns (bytes32);

    function claim(uint64 claimId) external view returns (Claim memory);
}
