// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IAssessmentRegistry} from "./IAssessmentRegistry.sol";
import {ICoverPool} from "./ICoverPool.sol";
import {IOutageOracle} from "./IOutageOracle.sol";

/// @title IPolicyBook
/// @notice Parametric cover products, policies and their settlement against verified outages.
///
/// A policy is stored as one slot: the keccak256 of its `Policy` record. Callers pass the record
/// back (every change is in the events, so an indexer always has it) and the book checks it
/// against the stored hash. This is what keeps issuance near one storage write per policy.
///
/// Roles (OpenZeppelin AccessControl): `DEFAULT_ADMIN_ROLE` (the governance timelock in
/// production) grants the others and sets issuer caps; `UNDERWRITER_ROLE` creates products, opens
/// and closes them, and may issue; `DISTRIBUTOR_ROLE` may issue; `CLAIMS_ROLE` decides claims.
/// Settlement, expiry and closing a lapsed claim are open to anyone. A call without its role
/// reverts `AccessControlUnauthorizedAccount(caller, role)`.
interface IPolicyBook {
    /// @notice `Fixed`: `payoutAmount` once per qualifying outage episode. `PerUnit`:
    /// `payoutAmount` per started `unitSeconds` (an hour in production) of downtime beyond the
    /// trigger threshold.
    enum PayoutKind {
        Fixed,
        PerUnit
    }

    /// @notice `Expired`: collateral released; the record no longer settles. `Cancelled`: the
    /// unexpired share of the premium, less the product's fee, refunded and the collateral released.
    enum PolicyStatus {
        Active,
        Expired,
        Cancelled
    }

    /// @notice Why a claim is under review: entitlement above the product's `autoPayLimit`, or
    /// entitlement from an episode inside a declared excluded event (never auto-paid).
    enum ClaimReason {
        AboveAutoPayLimit,
        ExcludedEvent
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
        uint96 eventCap; // sum over active policies of the most one episode can pay each; 0 = no cap
        uint96 cancellationFee; // token units kept from a cancellation refund
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
        bytes32 scheduleHash; // keccak256 of the RFC 8785 policy schedule (0: no schedule)
    }

    /// @notice The full policy record whose hash is stored.
    /// `settled`: entitlement already handled (paid at once or sent to review); `paid`: sent;
    /// `eventSettled`: the part of `settled` from excluded-event episodes (always reviewed).
    /// `premium`: what was collected for it; `renewalOf` / `renewedBy`: the policy this one
    /// renews / the follow-on cover (0: none).
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
        bytes32 scheduleHash;
        uint96 premium;
        uint64 renewalOf;
        uint64 renewedBy;
        uint96 settled;
        uint96 paid;
        uint64 openClaim;
        uint96 eventSettled;
        PolicyStatus status;
    }

    /// @notice The part of an entitlement above the product's `autoPayLimit`, held for review
    /// until `deadline` (inclusive); `amount` is the total under review.
    struct Claim {
        uint64 policyId;
        uint96 amount;
        ClaimStatus status;
        uint40 deadline;
        ClaimReason reason;
    }

    /// @notice A product was created (always active); `product` is the stored record.
    event ProductCreated(uint32 indexed productId, bytes32 indexed serviceId, Product product);
    /// @notice Issuance under `productId` was opened (`active`) or closed; existing policies are unaffected.
    event ProductActivationChanged(uint32 indexed productId, bool active);
    /// @notice The total limit `issuer` may have on active policies is now `cap` (0: no cap).
    event IssuerCapSet(address indexed issuer, uint128 cap);
    /// @notice A policy was issued; `policy` is the full record whose hash is stored, `premium`
    /// what was asked of the issuer (the pool's `PremiumCollected` says what arrived).
    event PolicyIssued(uint256 indexed policyId, uint32 indexed productId, address indexed issuer, Policy policy, uint96 premium);
    /// @notice `amount` was paid to the policy's beneficiary (through the pool's `payOut`).
    /// Settlement and claim events carry `entitlement`, the policy's new `settled` value, so an
    /// indexer can rebuild every record from events alone (and check it against `policyHash`).
    event PayoutSent(uint256 indexed policyId, uint96 amount, uint96 entitlement);
    /// @notice Entitlement above the auto-pay limit, or from an excluded event (`reason`), went to
    /// review as claim `claimId`, to be decided by `deadline`.
    event ClaimOpened(
        uint64 indexed claimId,
        uint256 indexed policyId,
        uint96 amount,
        uint96 entitlement,
        uint40 deadline,
        ClaimReason reason
    );
    /// @notice `amount` of excluded-event entitlement went to review in claim `claimId` (opened or
    /// increased in the same transaction, whose reason is now `ExcludedEvent`); `eventSettled` is
    /// the policy's new `eventSettled`.
    event ExcludedEventReviewed(uint256 indexed policyId, uint64 indexed claimId, uint96 amount, uint96 eventSettled);
    /// @notice More entitlement went to the policy's open claim; `amount` is the claim's new total.
    event ClaimIncreased(uint64 indexed claimId, uint256 indexed policyId, uint96 amount, uint96 entitlement);
    /// @notice `amount` was approved and paid (at most the claim; the rest is declined), on the
    /// strength of the anchored incident report `incidentReport` (an anchor id).
    event ClaimApproved(uint64 indexed claimId, uint256 indexed policyId, uint96 amount, bytes32 incidentReport);
    /// @notice The claim for `amount` was declined; `reason` is the hash of the written reason
    /// (a document off-chain).
    event ClaimRejected(uint64 indexed claimId, uint256 indexed policyId, uint96 amount, bytes32 reason);
    /// @notice The claim was not decided by its deadline: deemed approved in full, `amount` is paid.
    event ClaimLapsed(uint64 indexed claimId, uint256 indexed policyId, uint96 amount);
    /// @notice The policy expired; `released` unused collateral went back to free capital.
    event PolicyExpired(uint256 indexed policyId, uint96 released);
    /// @notice The policy was cancelled: `refund` went to its issuer (through the pool's
    /// `refund`), its whole limit `released` back to free capital.
    event PolicyCancelled(uint256 indexed policyId, uint96 refund, uint96 released);
    /// @notice `newPolicyId` renews `policyId` from its cover end (its `PolicyIssued` precedes this).
    event PolicyRenewed(uint256 indexed policyId, uint256 indexed newPolicyId);
    /// @notice The total limit of active policies on `serviceId`, all products together, is now
    /// capped at `cap` (0: no cap).
    event ServiceCapSet(bytes32 indexed serviceId, uint128 cap);

    /// @notice A constructor dependency or the admin is the zero address.
    error PolicyBookZeroAddress();
    /// @notice `createProduct`: zero `serviceId`, `payoutAmount`, `policyLimit`, `maxCoverSeconds`
    /// or `claimSeconds`; `PerUnit` with zero `unitSeconds`; or `autoPayLimit` or `mediumLimit`
    /// above `policyLimit`.
    error PolicyBookInvalidProduct();
    /// @notice `createProduct`: the grace period is shorter than the oracle's finality delay, so
    /// expiry could come before an outage at cover end is final.
    error PolicyBookGraceBelowFinality(uint32 graceSeconds, uint32 finalityDelay);
    /// @notice No product has id `productId`.
    error PolicyBookUnknownProduct(uint32 productId);
    /// @notice Issuance under `productId` is closed (`setProductActive`).
    error PolicyBookProductInactive(uint32 productId);
    /// @notice The cover starts in the past or does not end after it starts.
    error PolicyBookInvalidCover(uint40 coverStart, uint40 coverEnd, uint256 nowTime);
    /// @notice The cover is longer than the product's `maxCoverSeconds`.
    error PolicyBookCoverTooLong(uint256 coverSeconds, uint32 maxCoverSeconds);
    /// @notice The cover starts later than the product's `maxStartDelay` after now.
    error PolicyBookStartTooLate(uint40 coverStart, uint256 latestStart);
    /// @notice The limit is zero or above the product's `policyLimit`.
    error PolicyBookLimitAboveProduct(uint96 limit, uint96 productLimit);
    /// @notice The report rates the subject `Medium` and the limit is above the product's `mediumLimit`.
    error PolicyBookLimitAboveRiskLevel(uint96 limit, uint96 levelLimit);
    /// @notice The premium is below the product's floor (`minPremium`, or `minRatePpm` pro rata).
    error PolicyBookPremiumBelowFloor(uint96 premium, uint256 floor);
    /// @notice The terms name no beneficiary.
    error PolicyBookZeroBeneficiary();
    /// @notice The terms name no assessment report.
    error PolicyBookZeroReportHash();
    /// @notice The report is not live for the terms' subject, is rated `High`, or is an incident report.
    error PolicyBookReportNotUnderwritable(bytes32 reportHash);
    /// @notice Issuing would take the product's active limit (`exposure`) above its `exposureCap`.
    error PolicyBookProductCapExceeded(uint32 productId, uint256 exposure, uint96 cap);
    /// @notice Issuing would take the issuer's active limit (`exposure`) above its cap.
    error PolicyBookIssuerCapExceeded(address issuer, uint256 exposure, uint128 cap);
    /// @notice Issuing would take the active limit on the service, all products together
    /// (`exposure`), above its cap (`setServiceCap`).
    error PolicyBookServiceCapExceeded(bytes32 serviceId, uint256 exposure, uint128 cap);
    /// @notice Issuing would take what one episode can pay the product's active policies
    /// (`exposure`) above its `eventCap`.
    error PolicyBookEventCapExceeded(uint32 productId, uint256 exposure, uint96 cap);
    /// @notice `cancel` / `renew` of a policy that is closed: expired or cancelled.
    error PolicyBookPolicyClosed(uint256 policyId);
    /// @notice `cancel` / `renew` at or after the policy's cover end.
    error PolicyBookCoverEnded(uint256 policyId, uint40 coverEnd);
    /// @notice `cancel` while an outage of the service is ongoing or not final, or ended less than
    /// `mergeGap` ago (it may still grow), or an episode in the cover is not final.
    error PolicyBookOutageInProgress(uint256 policyId);
    /// @notice `cancel` of a policy that was paid, has settled or claimed entitlement, or is
    /// entitled now (excluded-event episodes included).
    error PolicyBookPolicyHasPayout(uint256 policyId);
    /// @notice `renew` of a policy already renewed by `renewedBy`, or `cancel` of one (cancel
    /// the follow-on cover instead).
    error PolicyBookAlreadyRenewed(uint256 policyId, uint64 renewedBy);
    /// @notice `renew` with terms that do not continue the policy: the cover must start at its
    /// cover end, on the same service, for the same holder and subject.
    error PolicyBookRenewalMismatch(uint256 policyId);
    /// @notice `issueBatch` with no terms.
    error PolicyBookEmptyBatch();
    /// @notice `issueBatch` with more than `MAX_BATCH` terms.
    error PolicyBookBatchTooLarge(uint256 size, uint256 max);
    /// @notice `settle` / `expire`: `policyIds` and `policies` differ in length.
    error PolicyBookLengthMismatch(uint256 ids, uint256 policies);
    /// @notice No policy has id `policyId`.
    error PolicyBookUnknownPolicy(uint256 policyId);
    /// @notice The record passed for `policyId` does not hash to the stored `policyHash`.
    error PolicyBookPolicyMismatch(uint256 policyId);
    /// @notice `expire` before cover end + grace (`expiresAt`).
    error PolicyBookCoverNotEnded(uint256 policyId, uint256 expiresAt);
    /// @notice Claim `claimId` does not exist or is already decided.
    error PolicyBookClaimNotOpen(uint64 claimId);
    /// @notice Claim `claimId` belongs to another policy than `policyId`.
    error PolicyBookClaimPolicyMismatch(uint64 claimId, uint256 policyId);
    /// @notice A decision after the claim's deadline (it has lapsed: `closeLapsedClaim`).
    error PolicyBookClaimDeadlinePassed(uint64 claimId, uint40 deadline);
    /// @notice `closeLapsedClaim` while the claim can still be decided (not after `deadline`).
    error PolicyBookClaimDecisionPending(uint64 claimId, uint40 deadline);
    /// @notice The approved amount is zero or above the claim's `claimed` amount.
    error PolicyBookInvalidApprovalAmount(uint96 amount, uint96 claimed);
    /// @notice The report is not a live incident report for the policy's subject and service.
    error PolicyBookInvalidIncidentReport(bytes32 reportHash);

    /// @notice Creates a product (the underwriter). Its limits bind every issuer. The product
    /// is created active, whatever `product.active` says.
    /// @dev Requirements: the caller has `UNDERWRITER_ROLE`. Emits {ProductCreated}.
    /// Reverts `PolicyBookInvalidProduct` on inconsistent figures (see the error) and
    /// `PolicyBookGraceBelowFinality` when `graceSeconds` < the oracle's `finalityDelay()`.
    /// @return productId the new product's id: 1, 2, … in creation order
    function createProduct(Product calldata product) external returns (uint32 productId);

    /// @notice Opens (`active`) or closes issuance under a product. Closing stops new policies
    /// only: issued ones still settle, claim and expire.
    /// @dev Requirements: the caller has `UNDERWRITER_ROLE`. Emits {ProductActivationChanged}.
    /// Reverts `PolicyBookUnknownProduct`.
    function setProductActive(uint32 productId, bool active) external;

    /// @notice Caps the total limit of an issuer's active policies; 0 removes the cap. Exposure is
    /// tracked whether or not a cap is set; a cap below the current exposure only stops new issuance.
    /// @dev Requirements: the caller has `DEFAULT_ADMIN_ROLE` (behind the governance delay in
    /// production). Emits {IssuerCapSet}.
    function setIssuerCap(address issuer, uint128 cap) external;

    /// @notice Issues one policy: the premium moves from the caller to the pool and the full
    /// limit is locked as collateral, in one transaction. Refused unless the report is live,
    /// bound to `terms.subject`, an underwriting kind, and its risk level allows the limit; the
    /// premium is at least the product's floor; the cover starts soon enough and is not too long.
    /// The caller is recorded as the policy's `issuer` and must have approved the pool's asset
    /// for `terms.premium`.
    /// @dev Requirements: the caller has `UNDERWRITER_ROLE` or `DISTRIBUTOR_ROLE` (else
    /// `AccessControlUnauthorizedAccount(caller, DISTRIBUTOR_ROLE)`). Emits {PolicyIssued}, and
    /// from the pool `PremiumCollected` (premium > 0) and `CollateralLocked`.
    /// Reverts `PolicyBookUnknownProduct`, `PolicyBookProductInactive`, `PolicyBookInvalidCover`,
    /// `PolicyBookStartTooLate`, `PolicyBookCoverTooLong`, `PolicyBookLimitAboveProduct`,
    /// `PolicyBookZeroBeneficiary`, `PolicyBookPremiumBelowFloor`, `PolicyBookZeroReportHash`,
    /// `PolicyBookReportNotUnderwritable`, `PolicyBookLimitAboveRiskLevel`,
    /// `PolicyBookProductCapExceeded`, `PolicyBookEventCapExceeded`, `PolicyBookServiceCapExceeded`,
    /// `PolicyBookIssuerCapExceeded`; from the pool
    /// `CoverPoolTransferShortfall`, `CoverPoolAmountTooLarge`, `CoverPoolInsufficientFreeCapital`.
    /// @return policyId the new policy's id: 1, 2, … in issuance order
    function issue(PolicyTerms calldata terms) external returns (uint256 policyId);

    /// @notice Issues many policies with one premium transfer and one collateral lock; all or none.
    /// @dev Requirements and reverts as {issue}, per policy, plus `PolicyBookEmptyBatch` and
    /// `PolicyBookBatchTooLarge` (more than `MAX_BATCH`). Emits one {PolicyIssued} per policy,
    /// and from the pool one `PremiumCollected` (total premium > 0) and one `CollateralLocked`.
    /// @return firstId ids are `firstId .. firstId + terms.length - 1`
    function issueBatch(PolicyTerms[] calldata terms) external returns (uint256 firstId);

    /// @notice Caps the total limit of active policies on a service across all its products
    /// (concentration risk); 0 removes the cap. A cap below the current exposure only stops new
    /// issuance.
    /// @dev Requirements: the caller has `UNDERWRITER_ROLE`. Emits {ServiceCapSet}.
    function setServiceCap(bytes32 serviceId, uint128 cap) external;

    /// @notice Cancels an active policy before its cover end: refunds its issuer
    /// `floor(premium × (coverEnd − max(now, coverStart)) / (coverEnd − coverStart))` less the
    /// product's `cancellationFee` (not below 0), from free capital after releasing the whole
    /// limit; removes its exposures. Refused while an outage of the service may still pay (see
    /// `PolicyBookOutageInProgress`) and once anything was paid, settled, claimed or is owed.
    /// @dev Requirements: the caller is the policy's issuer or has `UNDERWRITER_ROLE` (else
    /// `AccessControlUnauthorizedAccount(caller, UNDERWRITER_ROLE)`). Emits {PolicyCancelled},
    /// and from the pool `CollateralReleased` and `PremiumRefunded` (refund > 0). Reverts
    /// `PolicyBookUnknownPolicy`, `PolicyBookPolicyMismatch`, `PolicyBookPolicyClosed`,
    /// `PolicyBookAlreadyRenewed`, `PolicyBookCoverEnded`, `PolicyBookOutageInProgress`,
    /// `PolicyBookPolicyHasPayout`; from the pool `CoverPoolInsufficientFreeCapital`.
    /// @return refund what the issuer was refunded
    function cancel(uint256 policyId, Policy calldata policy) external returns (uint96 refund);

    /// @notice Issues the follow-on cover of an active policy, from its cover end, with no waiting
    /// period: outages count from `coverStart` of a renewal, so each episode belongs to exactly
    /// one of the two covers. Same service, holder and subject; every issuance check as {issue};
    /// the caller pays the premium and is the new policy's issuer. A policy is renewed once.
    /// @dev Requirements: the caller is the policy's issuer or has `UNDERWRITER_ROLE`, and may
    /// issue. Emits {PolicyIssued} and {PolicyRenewed}, and what {issue} emits from the pool.
    /// Reverts as {issue}, plus `PolicyBookUnknownPolicy`, `PolicyBookPolicyMismatch`,
    /// `PolicyBookPolicyClosed`, `PolicyBookAlreadyRenewed`, `PolicyBookCoverEnded`,
    /// `PolicyBookRenewalMismatch`.
    /// @return newId the follow-on policy's id
    function renew(uint256 policyId, Policy calldata policy, PolicyTerms calldata terms)
        external
        returns (uint256 newId);

    /// @notice Pays what each policy is newly entitled to. Anyone may call; a policy with nothing
    /// due is skipped, so racing callers waste gas but can never pay twice. Bounded work per
    /// policy: at most `MAX_EPISODE_WINDOWS` windows of its service are read. Entitlement up to
    /// the product's `autoPayLimit` is paid at once; the rest opens (or increases) a claim.
    /// Entitlement from excluded-event episodes is never paid at once: it goes to a claim with
    /// reason `ExcludedEvent`. With N the normal and T the total entitlement (both capped at the
    /// limit): room = T − settled; dN = min(max(0, N − (settled − eventSettled)), room) is normal,
    /// dE = room − dN is event entitlement; auto-pay min(dN, max(0, autoPayLimit − settled)); the
    /// rest goes to review; settled += room, eventSettled += dE. Expired and cancelled policies
    /// are skipped.
    /// @dev `policies[i]` is the current record of `policyIds[i]` (rebuilt from events). Emits
    /// {PayoutSent}, {ClaimOpened} or {ClaimIncreased} (and {ExcludedEventReviewed}) per policy as
    /// due, and from the pool one
    /// `CollateralPaidOut` (and `PayoutCredited` per failed transfer) when anything is paid.
    /// Reverts `PolicyBookLengthMismatch`, `PolicyBookUnknownPolicy`, `PolicyBookPolicyMismatch`.
    function settle(uint256[] calldata policyIds, Policy[] calldata policies) external;

    /// @notice Approves `amount` (≤ the claim; the rest is declined) before the claim's deadline,
    /// against a live incident report (§8) anchored with subject
    /// `keccak256(abi.encode(policy.subject, product.serviceId))`: bound to the insured and the
    /// service. `amount` is paid to the beneficiary; the declined rest stays locked until expiry.
    /// @dev Requirements: the caller has `CLAIMS_ROLE`; `block.timestamp` ≤ the claim's deadline.
    /// Emits {ClaimApproved} and {PayoutSent}, and from the pool `CollateralPaidOut`.
    /// Reverts `PolicyBookClaimNotOpen`, `PolicyBookClaimPolicyMismatch`,
    /// `PolicyBookUnknownPolicy`, `PolicyBookPolicyMismatch`, `PolicyBookClaimDeadlinePassed`,
    /// `PolicyBookInvalidApprovalAmount`, `PolicyBookInvalidIncidentReport`.
    /// @param claimId the open claim
    /// @param policyId the claim's policy
    /// @param policy the policy's current record
    /// @param incidentReport the anchor id of the incident report
    /// @param amount what is approved and paid
    function approveClaim(uint64 claimId, uint256 policyId, Policy calldata policy, bytes32 incidentReport, uint96 amount)
        external;

    /// @notice Declines a claim before its deadline; `reason` hashes the written reason. Nothing
    /// is paid and the amount is not claimed again: it stays part of the policy's `settled`.
    /// @dev Requirements: the caller has `CLAIMS_ROLE`; `block.timestamp` ≤ the claim's deadline.
    /// Emits {ClaimRejected}. Reverts `PolicyBookClaimNotOpen`, `PolicyBookClaimPolicyMismatch`,
    /// `PolicyBookUnknownPolicy`, `PolicyBookPolicyMismatch`, `PolicyBookClaimDeadlinePassed`.
    function rejectClaim(uint64 claimId, uint256 policyId, Policy calldata policy, bytes32 reason) external;

    /// @notice After its deadline anyone may close an undecided claim: it is deemed approved in
    /// full and paid, so no claim holds collateral for ever.
    /// @dev Requirements: `block.timestamp` > the claim's deadline. Emits {ClaimLapsed} and
    /// {PayoutSent}, and from the pool `CollateralPaidOut`. Reverts `PolicyBookClaimNotOpen`,
    /// `PolicyBookClaimPolicyMismatch`, `PolicyBookUnknownPolicy`, `PolicyBookPolicyMismatch`,
    /// `PolicyBookClaimDecisionPending`.
    function closeLapsedClaim(uint64 claimId, uint256 policyId, Policy calldata policy) external;

    /// @notice After cover end + grace: settles what is left, closes a lapsed claim, then returns
    /// unused collateral. A policy with an open claim before its deadline stays active (expire it
    /// again once the claim is decided). Anyone may call; expired policies are skipped.
    /// @dev Emits, per policy, what {settle} emits, {ClaimLapsed} and {PayoutSent} for a lapsed
    /// claim, and {PolicyExpired}; from the pool `CollateralPaidOut` when anything is paid and
    /// `CollateralReleased` when anything is released. Reverts `PolicyBookLengthMismatch`,
    /// `PolicyBookUnknownPolicy`, `PolicyBookPolicyMismatch`, `PolicyBookCoverNotEnded`.
    function expire(uint256[] calldata policyIds, Policy[] calldata policies) external;

    /// @notice Entitlement of a policy now (capped at its limit), from the verified episodes
    /// whose start is final, excluded-event episodes included (they go to review). Computed from
    /// `policy` as given, not checked against `policyHash`.
    function entitlementOf(Policy calldata policy) external view returns (uint96);

    /// @notice The product `productId` (all fields zero if there is none).
    function product(uint32 productId) external view returns (Product memory);

    /// @notice How many products exist (ids are 1..productCount).
    function productCount() external view returns (uint32);

    /// @notice Total limit of the product's active policies (what `exposureCap` bounds).
    function productExposure(uint32 productId) external view returns (uint256);

    /// @notice The issuer's cap (0: none) and the total limit of its active policies.
    function issuerExposure(address issuer) external view returns (uint128 cap, uint128 exposure);

    /// @notice The service's cap (0: none) and the total limit of its active policies, all products.
    function serviceExposure(bytes32 serviceId) external view returns (uint128 cap, uint128 exposure);

    /// @notice What one episode can pay the product's active policies (what `eventCap` bounds):
    /// per policy `min(payoutAmount, limit)` for `Fixed`, `limit` for `PerUnit`.
    function eventExposure(uint32 productId) external view returns (uint256);

    /// @notice How many policies exist (ids are 1..policyCount).
    function policyCount() external view returns (uint256);

    /// @notice The stored hash of policy `policyId`'s current record (zero if there is none).
    function policyHash(uint256 policyId) external view returns (bytes32);

    /// @notice `keccak256(abi.encode(policy))`: what `policyHash` stores for that record.
    function hashPolicy(Policy calldata policy) external pure returns (bytes32);

    /// @notice Claim `claimId` (status `None` if there is none).
    function claim(uint64 claimId) external view returns (Claim memory);

    /// @notice The pool that holds premiums and collateral and pays out.
    function pool() external view returns (ICoverPool);

    /// @notice The oracle whose verified episodes settle policies.
    function oracle() external view returns (IOutageOracle);

    /// @notice The registry whose anchored reports gate issuance and claim approval.
    function registry() external view returns (IAssessmentRegistry);

    /// @notice Role that creates products and may issue.
    function UNDERWRITER_ROLE() external view returns (bytes32);

    /// @notice Role that may issue.
    function DISTRIBUTOR_ROLE() external view returns (bytes32);

    /// @notice Role that approves and rejects claims.
    function CLAIMS_ROLE() external view returns (bytes32);

    /// @notice Most terms one `issueBatch` accepts.
    function MAX_BATCH() external view returns (uint256);

    /// @notice Windows of a service read to settle one policy: bounds settlement and expiry gas
    /// whatever the service's history. 64 windows are far more than real outages in a cover.
    function MAX_EPISODE_WINDOWS() external view returns (uint256);
}
