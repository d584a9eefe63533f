// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IAssessmentRegistry} from "./interfaces/IAssessmentRegistry.sol";
import {ICoverPool} from "./interfaces/ICoverPool.sol";
import {IOutageOracle} from "./interfaces/IOutageOracle.sol";
import {IPolicyBook} from "./interfaces/IPolicyBook.sol";
import {Entitlement} from "./libraries/Entitlement.sol";

/// @title PolicyBook
/// @notice Products, policies, settlement against OutageOracle windows, claims review, expiry,
/// cancellation and renewal.
contract PolicyBook is IPolicyBook, AccessControl, ReentrancyGuardTransient {
    /// @inheritdoc IPolicyBook
    bytes32 public constant UNDERWRITER_ROLE = keccak256("UNDERWRITER_ROLE");
    /// @inheritdoc IPolicyBook
    bytes32 public constant DISTRIBUTOR_ROLE = keccak256("DISTRIBUTOR_ROLE");
    /// @inheritdoc IPolicyBook
    bytes32 public constant CLAIMS_ROLE = keccak256("CLAIMS_ROLE");
    /// @inheritdoc IPolicyBook
    uint256 public constant MAX_BATCH = 1000;
    /// @inheritdoc IPolicyBook
    uint256 public constant MAX_EPISODE_WINDOWS = 64;
    uint256 private constant YEAR = 365 days;
    uint256 private constant RECORD_BYTES = 18 * 32; // the ABI encoding of a Policy: 18 static words

    ICoverPool private immutable _pool;
    IOutageOracle private immutable _oracle;
    IAssessmentRegistry private immutable _registry;

    uint32 private _productCount;
    uint64 private _claimCount;
    uint64 private _policyCount;
    mapping(uint32 productId => Product) private _products;
    mapping(uint32 productId => ProductExposure) private _productExposure;
    mapping(address issuer => IssuerLimit) private _issuers;
    mapping(bytes32 serviceId => IssuerLimit) private _services;
    mapping(uint256 policyId => bytes32 recordHash) private _policyHashes;
    mapping(uint64 claimId => Claim) private _claims;

    /// @dev A cap and the total limit of active policies under it (issuer, service): one slot.
    struct IssuerLimit {
        uint128 cap;
        uint128 exposure;
    }

    /// @dev A product's total active limit and its per-episode sum (what `eventCap` bounds): one slot.
    struct ProductExposure {
        uint128 limits;
        uint128 perEpisode;
    }

    /// @dev Per-call memory cache: batches mostly share one product, one service, one report.
    /// Issuance keeps the cached product's and service's exposures here and writes each slot
    /// once per product (service) run and once at the end (`_flush`).
    struct Cache {
        uint32 productId;
        Product product;
        ProductExposure exposure;
        bytes32 capService;
        IssuerLimit service;
        bytes32 serviceId;
        uint64 episodesFrom;
        uint40 episodesUntil;
        IOutageOracle.Episode[] episodes;
        uint32 entitledProduct; // the key of the entitlement below (0: none): product and limit,
        uint96 entitledLimit; // over the episodes above
        uint96 normal;
        uint96 entitled;
        bool reportChecked;
        bytes32 reportHash;
        bytes32 subject;
        IAssessmentRegistry.RiskLevel level;
    }

    struct Payouts {
        address[] payees;
        uint256[] amounts;
        uint256 count;
    }

    constructor(ICoverPool pool_, IOutageOracle oracle_, IAssessmentRegistry registry_, address admin) {
        if (
            address(pool_) == address(0) || address(oracle_) == address(0) || address(registry_) == address(0)
                || admin == address(0)
        ) revert PolicyBookZeroAddress();
        _pool = pool_;
        _oracle = oracle_;
        _registry = registry_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IPolicyBook
    function createProduct(Product calldata p) external onlyRole(UNDERWRITER_ROLE) returns (uint32 productId) {
        if (
            p.serviceId == bytes32(0) || p.payoutAmount == 0 || p.policyLimit == 0 || p.autoPayLimit > p.policyLimit
                || (p.payoutKind == PayoutKind.PerUnit && p.unitSeconds == 0) || p.maxCoverSeconds == 0
                || p.claimSeconds == 0 || p.mediumLimit > p.policyLimit
        ) revert PolicyBookInvalidProduct();
        // Expiry must wait until an outage at the very end of the cover can have become final.
        uint32 finality = _oracle.finalityDelay();
        if (p.graceSeconds < finality) revert PolicyBookGraceBelowFinality(p.graceSeconds, finality);
        Product memory stored = p;
        stored.active = true;
        productId = ++_productCount;
        _products[productId] = stored;
        emit ProductCreated(productId, p.serviceId, stored);
    }

    /// @inheritdoc IPolicyBook
    function setProductActive(uint32 productId, bool active) external onlyRole(UNDERWRITER_ROLE) {
        _productOrRevert(productId).active = active;
        emit ProductActivationChanged(productId, active);
    }

    /// @inheritdoc IPolicyBook
    function setIssuerCap(address issuer, uint128 cap) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _issuers[issuer].cap = cap;
        emit IssuerCapSet(issuer, cap);
    }

    /// @inheritdoc IPolicyBook
    function issue(PolicyTerms calldata terms) external nonReentrant returns (uint256 policyId) {
        policyId = _issueSingle(terms, 0);
    }

    /// @inheritdoc IPolicyBook
    function issueBatch(PolicyTerms[] calldata terms) external nonReentrant returns (uint256 firstId) {
        _checkIssuer();
        uint256 n = terms.length;
        if (n == 0) revert PolicyBookEmptyBatch();
        if (n > MAX_BATCH) revert PolicyBookBatchTooLarge(n, MAX_BATCH);
        Cache memory c;
        firstId = _policyCount + 1;
        _policyCount += uint64(n);
        uint256 premiums;
        uint256 collateral;
        for (uint256 i = 0; i < n; ++i) {
            _issueOne(firstId + i, terms[i], c, 0);
            premiums += terms[i].premium;
            collateral += terms[i].limit;
        }
        _flush(c);
        _addExposure(msg.sender, collateral);
        _pool.collectPremium(msg.sender, premiums);
        _pool.lock(collateral);
    }

    /// @inheritdoc IPolicyBook
    function renew(uint256 policyId, Policy calldata policy, PolicyTerms calldata terms)
        external
        nonReentrant
        returns (uint256 newId)
    {
        Policy memory old = _cancellable(policyId, policy);
        if (
            terms.coverStart != old.coverEnd || terms.holder != old.holder || terms.subject != old.subject
                || _products[terms.productId].serviceId != _products[old.productId].serviceId
        ) revert PolicyBookRenewalMismatch(policyId);
        newId = _issueSingle(terms, uint64(policyId));
        old.renewedBy = uint64(newId);
        _policyHashes[policyId] = _hash(old);
        emit PolicyRenewed(policyId, newId);
    }

    /// @inheritdoc IPolicyBook
    function cancel(uint256 policyId, Policy calldata policy) external nonReentrant returns (uint96 refund) {
        Policy memory p = _cancellable(policyId, policy);
        Product memory prod = _products[p.productId];
        _checkQuiet(policyId, prod.serviceId);
        if (p.settled != 0 || p.paid != 0 || p.openClaim != 0) revert PolicyBookPolicyHasPayout(policyId);
        uint64 from = _countFrom(p, prod);
        (IOutageOracle.Episode[] memory episodes,) =
            _oracle.episodesIn(prod.serviceId, from, p.coverEnd, MAX_EPISODE_WINDOWS);
        for (uint256 i = 0; i < episodes.length; ++i) {
            if (episodes[i].ongoing || !episodes[i].settled) revert PolicyBookOutageInProgress(policyId);
        }
        (, uint96 total) = Entitlement.compute(prod, p.coverEnd, p.limit, from, episodes);
        if (total != 0) revert PolicyBookPolicyHasPayout(policyId);
        // The unexpired share of the premium, rounded down, less the fee (not below zero).
        uint256 start = p.coverStart > block.timestamp ? p.coverStart : block.timestamp;
        uint256 share = uint256(p.premium) * (p.coverEnd - start) / (p.coverEnd - p.coverStart);
        refund = share > prod.cancellationFee ? uint96(share - prod.cancellationFee) : 0;
        p.status = PolicyStatus.Cancelled;
        _policyHashes[policyId] = _hash(p);
        _removeExposure(p, prod);
        emit PolicyCancelled(policyId, refund, p.limit);
        _pool.release(p.limit);
        _pool.refund(p.issuer, refund);
    }

    /// @inheritdoc IPolicyBook
    function setServiceCap(bytes32 serviceId, uint128 cap) external onlyRole(UNDERWRITER_ROLE) {
        _services[serviceId].cap = cap;
        emit ServiceCapSet(serviceId, cap);
    }

    /// @inheritdoc IPolicyBook
    function settle(uint256[] calldata policyIds, Policy[] calldata policies) external nonReentrant {
        uint256 n = _checkLengths(policyIds, policies);
        Cache memory c;
        Payouts memory out = _newPayouts(n);
        Policy memory p; // one record buffer for the batch: each policy is loaded into it in turn
        for (uint256 i = 0; i < n; ++i) {
            _settleStored(policyIds[i], policies[i], p, c, out);
        }
        _payOut(out);
    }

    /// @inheritdoc IPolicyBook
    function approveClaim(uint64 claimId, uint256 policyId, Policy calldata policy, bytes32 incidentReport, uint96 amount)
        external
        onlyRole(CLAIMS_ROLE)
        nonReentrant
    {
        (Policy memory p, Claim storage cl) = _openClaim(claimId, policyId, policy);
        if (block.timestamp > cl.deadline) revert PolicyBookClaimDeadlinePassed(claimId, cl.deadline);
        if (amount == 0 || amount > cl.amount) revert PolicyBookInvalidApprovalAmount(amount, cl.amount);
        bytes32 binding = keccak256(abi.encode(p.subject, _productOrRevert(p.productId).serviceId));
        (bool live,, IAssessmentRegistry.ReportKind kind) = _registry.underwritingStatus(incidentReport, binding);
        if (!live || kind != IAssessmentRegistry.ReportKind.Incident) {
            revert PolicyBookInvalidIncidentReport(incidentReport);
        }
        cl.status = ClaimStatus.Approved;
        emit ClaimApproved(claimId, policyId, amount, incidentReport);
        _payClaim(policyId, p, amount);
    }

    /// @inheritdoc IPolicyBook
    function rejectClaim(uint64 claimId, uint256 policyId, Policy calldata policy, bytes32 reason)
        external
        onlyRole(CLAIMS_ROLE)
        nonReentrant
    {
        (Policy memory p, Claim storage cl) = _openClaim(claimId, policyId, policy);
        if (block.timestamp > cl.deadline) revert PolicyBookClaimDeadlinePassed(claimId, cl.deadline);
        cl.status = ClaimStatus.Rejected;
        p.openClaim = 0;
        _policyHashes[policyId] = _hash(p);
        emit ClaimRejected(claimId, policyId, cl.amount, reason);
    }

    /// @inheritdoc IPolicyBook
    function closeLapsedClaim(uint64 claimId, uint256 policyId, Policy calldata policy) external nonReentrant {
        (Policy memory p, Claim storage cl) = _openClaim(claimId, policyId, policy);
        if (block.timestamp <= cl.deadline) revert PolicyBookClaimDecisionPending(claimId, cl.deadline);
        uint96 amount = _lapse(claimId, policyId, cl);
        _payClaim(policyId, p, amount);
    }

    /// @inheritdoc IPolicyBook
    function expire(uint256[] calldata policyIds, Policy[] calldata policies) external nonReentrant {
        uint256 n = _checkLengths(policyIds, policies);
        Cache memory c;
        Payouts memory out = _newPayouts(2 * n);
        Policy memory p; // as in settle
        uint256 released;
        for (uint256 i = 0; i < n; ++i) {
            released += _expireOne(policyIds[i], policies[i], p, c, out);
        }
        _payOut(out);
        if (released > 0) _pool.release(released);
    }

    /// @inheritdoc IPolicyBook
    function entitlementOf(Policy calldata policy) external view returns (uint96 total) {
        Policy memory p = _copy(policy);
        Product memory prod = _products[p.productId];
        uint64 from = _countFrom(p, prod);
        (IOutageOracle.Episode[] memory episodes,) =
            _oracle.episodesIn(prod.serviceId, from, p.coverEnd, MAX_EPISODE_WINDOWS);
        (, total) = Entitlement.compute(prod, p.coverEnd, p.limit, from, episodes);
    }

    /// @inheritdoc IPolicyBook
    function product(uint32 productId) external view returns (Product memory) {
        return _products[productId];
    }

    /// @inheritdoc IPolicyBook
    function productCount() external view returns (uint32) {
        return _productCount;
    }

    /// @inheritdoc IPolicyBook
    function productExposure(uint32 productId) external view returns (uint256) {
        return _productExposure[productId].limits;
    }

    /// @inheritdoc IPolicyBook
    function eventExposure(uint32 productId) external view returns (uint256) {
        return _productExposure[productId].perEpisode;
    }

    /// @inheritdoc IPolicyBook
    function serviceExposure(bytes32 serviceId) external view returns (uint128 cap, uint128 exposure) {
        IssuerLimit memory sl = _services[serviceId];
        return (sl.cap, sl.exposure);
    }

    /// @inheritdoc IPolicyBook
    function issuerExposure(address issuer) external view returns (uint128 cap, uint128 exposure) {
        IssuerLimit memory il = _issuers[issuer];
        return (il.cap, il.exposure);
    }

    /// @inheritdoc IPolicyBook
    function policyCount() external view returns (uint256) {
        return _policyCount;
    }

    /// @inheritdoc IPolicyBook
    function policyHash(uint256 policyId) external view returns (bytes32) {
        return _policyHashes[policyId];
    }

    /// @inheritdoc IPolicyBook
    function hashPolicy(Policy calldata policy) external pure returns (bytes32) {
        return _hash(_copy(policy));
    }

    /// @inheritdoc IPolicyBook
    function claim(uint64 claimId) external view returns (Claim memory) {
        return _claims[claimId];
    }

    /// @inheritdoc IPolicyBook
    function pool() external view returns (ICoverPool) {
        return _pool;
    }

    /// @inheritdoc IPolicyBook
    function oracle() external view returns (IOutageOracle) {
        return _oracle;
    }

    /// @inheritdoc IPolicyBook
    function registry() external view returns (IAssessmentRegistry) {
        return _registry;
    }

    /// @dev Settles one stored policy and writes its new record hash only if it changed.
    function _settleStored(uint256 id, Policy calldata record, Policy memory p, Cache memory c, Payouts memory out)
        private
    {
        bytes32 stored = _load(id, record, p);
        if (p.status != PolicyStatus.Active) return;
        _addPayout(out, p.beneficiary, _settleOne(id, p, c));
        bytes32 updated = _hash(p);
        if (updated != stored) _policyHashes[id] = updated;
    }

    /// @dev Late reports inside the grace period are honoured before collateral goes back; an
    /// open claim past its deadline lapses (paid) first; one still within its deadline keeps the
    /// policy active until it is decided. Returns the release.
    function _expireOne(uint256 id, Policy calldata record, Policy memory p, Cache memory c, Payouts memory out)
        private
        returns (uint256 released)
    {
        _load(id, record, p);
        if (p.status != PolicyStatus.Active) return 0;
        _cacheProduct(p.productId, c);
        Product memory prod = c.product;
        uint256 expiresAt = uint256(p.coverEnd) + prod.graceSeconds;
        if (block.timestamp < expiresAt) revert PolicyBookCoverNotEnded(id, expiresAt);
        _addPayout(out, p.beneficiary, _settleOne(id, p, c));
        if (p.openClaim != 0) {
            Claim storage cl = _claims[p.openClaim];
            if (block.timestamp > cl.deadline) {
                uint96 amount = _lapse(p.openClaim, id, cl);
                p.openClaim = 0;
                p.paid += amount;
                emit PayoutSent(id, amount, p.settled);
                _addPayout(out, p.beneficiary, amount);
            }
        }
        if (p.openClaim == 0) {
            released = p.limit - p.paid;
            p.status = PolicyStatus.Expired;
            _removeExposure(p, prod);
            emit PolicyExpired(id, uint96(released));
        }
        _policyHashes[id] = _hash(p);
    }

    /// @dev One policy (`issue`, `renew`): the caller pays its premium and its limit is locked.
    function _issueSingle(PolicyTerms calldata terms, uint64 renewalOf) private returns (uint256 policyId) {
        _checkIssuer();
        Cache memory c;
        policyId = ++_policyCount;
        _issueOne(policyId, terms, c, renewalOf);
        _flush(c);
        _addExposure(msg.sender, terms.limit);
        _pool.collectPremium(msg.sender, terms.premium);
        _pool.lock(terms.limit);
    }

    function _issueOne(uint256 policyId, PolicyTerms calldata t, Cache memory c, uint64 renewalOf) private {
        _issuanceProduct(t.productId, c);
        Product memory prod = c.product;
        if (!prod.active) revert PolicyBookProductInactive(t.productId);
        uint40 start = t.coverStart == 0 ? uint40(block.timestamp) : t.coverStart;
        if (start < block.timestamp || t.coverEnd <= start) {
            revert PolicyBookInvalidCover(t.coverStart, t.coverEnd, block.timestamp);
        }
        if (start > block.timestamp + prod.maxStartDelay) {
            revert PolicyBookStartTooLate(start, block.timestamp + prod.maxStartDelay);
        }
        uint256 coverSeconds = t.coverEnd - start;
        if (coverSeconds > prod.maxCoverSeconds) revert PolicyBookCoverTooLong(coverSeconds, prod.maxCoverSeconds);
        if (t.limit == 0 || t.limit > prod.policyLimit) revert PolicyBookLimitAboveProduct(t.limit, prod.policyLimit);
        if (t.beneficiary == address(0)) revert PolicyBookZeroBeneficiary();
        _checkPremium(prod, t.premium, t.limit, coverSeconds);
        _checkReport(t, c);
        if (c.level == IAssessmentRegistry.RiskLevel.Medium && t.limit > prod.mediumLimit) {
            revert PolicyBookLimitAboveRiskLevel(t.limit, prod.mediumLimit);
        }
        _addCapped(t, prod, c);
        Policy memory p = Policy({
            productId: t.productId,
            coverStart: start,
            coverEnd: t.coverEnd,
            limit: t.limit,
            beneficiary: t.beneficiary,
            issuer: msg.sender,
            holder: t.holder,
            subject: t.subject,
            reportHash: t.reportHash,
            scheduleHash: t.scheduleHash,
            premium: t.premium,
            renewalOf: renewalOf,
            renewedBy: 0,
            settled: 0,
            paid: 0,
            openClaim: 0,
            eventSettled: 0,
            status: PolicyStatus.Active
        });
        _policyHashes[policyId] = _hash(p);
        emit PolicyIssued(policyId, t.productId, msg.sender, p, t.premium);
    }

    /// @dev The premium floor: the product's minimum, and its minimum annual rate on the limit
    /// pro rata of the cover length (rounded up), so no cover locks capital for nothing.
    function _checkPremium(Product memory prod, uint96 premium, uint96 limit, uint256 coverSeconds) private pure {
        uint256 floor = (uint256(limit) * prod.minRatePpm * coverSeconds + 1e6 * YEAR - 1) / (1e6 * YEAR);
        if (floor < prod.minPremium) floor = prod.minPremium;
        if (premium < floor) revert PolicyBookPremiumBelowFloor(premium, floor);
    }

    /// @dev The report must be live (anchored, not revoked, not superseded, by an assessor
    /// accredited now), bound to the insured subject, an underwriting kind, and not `High` risk:
    /// standard Table 6 says decline. Cached per (report, subject) within a call.
    function _checkReport(PolicyTerms calldata t, Cache memory c) private view {
        if (c.reportChecked && t.reportHash == c.reportHash && t.subject == c.subject) return;
        if (t.reportHash == bytes32(0)) revert PolicyBookZeroReportHash();
        (bool live, IAssessmentRegistry.RiskLevel level, IAssessmentRegistry.ReportKind kind) =
            _registry.underwritingStatus(t.reportHash, t.subject);
        if (!live || level == IAssessmentRegistry.RiskLevel.High || kind == IAssessmentRegistry.ReportKind.Incident) {
            revert PolicyBookReportNotUnderwritable(t.reportHash);
        }
        (c.reportChecked, c.reportHash, c.subject, c.level) = (true, t.reportHash, t.subject, level);
    }

    /// @dev The product's, its event and its service's caps, against the cache's running totals.
    function _addCapped(PolicyTerms calldata t, Product memory prod, Cache memory c) private pure {
        uint256 limits = uint256(c.exposure.limits) + t.limit;
        if (prod.exposureCap != 0 && limits > prod.exposureCap) {
            revert PolicyBookProductCapExceeded(t.productId, limits, prod.exposureCap);
        }
        uint256 perEpisode = uint256(c.exposure.perEpisode) + Entitlement.perEpisode(prod, t.limit);
        if (prod.eventCap != 0 && perEpisode > prod.eventCap) {
            revert PolicyBookEventCapExceeded(t.productId, perEpisode, prod.eventCap);
        }
        uint256 service = uint256(c.service.exposure) + t.limit;
        if (c.service.cap != 0 && service > c.service.cap) {
            revert PolicyBookServiceCapExceeded(prod.serviceId, service, c.service.cap);
        }
        (c.exposure.limits, c.exposure.perEpisode, c.service.exposure) =
            (uint128(limits), uint128(perEpisode), uint128(service));
    }

    /// @dev Puts the product for issuance, its exposures and its service's in the cache; moving
    /// to another product (service) first writes back the running totals of the previous one.
    function _issuanceProduct(uint32 productId, Cache memory c) private {
        if (c.productId != productId) {
            _flush(c);
            _cacheProduct(productId, c);
            c.exposure = _productExposure[productId];
            if (c.product.serviceId != c.capService) {
                c.capService = c.product.serviceId;
                c.service = _services[c.capService];
            }
        }
    }

    /// @dev Writes the cached running exposures back (one slot each).
    function _flush(Cache memory c) private {
        if (c.productId == 0) return;
        _productExposure[c.productId] = c.exposure;
        _services[c.capService].exposure = c.service.exposure;
    }

    function _addExposure(address issuer, uint256 amount) private {
        IssuerLimit storage il = _issuers[issuer];
        uint256 exposure = il.exposure + amount;
        if (il.cap != 0 && exposure > il.cap) revert PolicyBookIssuerCapExceeded(issuer, exposure, il.cap);
        il.exposure = uint128(exposure);
    }

    function _removeExposure(Policy memory p, Product memory prod) private {
        ProductExposure storage pe = _productExposure[p.productId];
        (pe.limits, pe.perEpisode) = (pe.limits - p.limit, pe.perEpisode - Entitlement.perEpisode(prod, p.limit));
        _services[prod.serviceId].exposure -= p.limit;
        _issuers[p.issuer].exposure -= p.limit;
    }

    /// @dev Outages count from cover start plus the waiting period; a renewal has none.
    function _countFrom(Policy memory p, Product memory prod) private pure returns (uint64) {
        return uint64(p.coverStart) + (p.renewalOf == 0 ? prod.waitingSeconds : 0);
    }

    /// @dev A loaded active policy before its cover end, whose caller is its issuer or an underwriter.
    function _cancellable(uint256 policyId, Policy calldata policy) private view returns (Policy memory p) {
        _load(policyId, policy, p);
        if (msg.sender != p.issuer) _checkRole(UNDERWRITER_ROLE);
        if (p.status != PolicyStatus.Active) revert PolicyBookPolicyClosed(policyId);
        if (p.renewedBy != 0) revert PolicyBookAlreadyRenewed(policyId, p.renewedBy);
        if (block.timestamp >= p.coverEnd) revert PolicyBookCoverEnded(policyId, p.coverEnd);
    }

    /// @dev No outage of the service may still grow or move: its latest window is over, final,
    /// and ended at least `mergeGap` ago (a next window that close would join its episode).
    function _checkQuiet(uint256 policyId, bytes32 serviceId) private view {
        uint256 n = _oracle.windowCount(serviceId);
        if (n == 0) return;
        IOutageOracle.Window memory w = _oracle.windowAt(serviceId, n - 1);
        if (
            w.ongoing || uint256(w.startSince) + _oracle.finalityDelay() > block.timestamp
                || uint256(w.end) + _oracle.mergeGap() > block.timestamp
        ) revert PolicyBookOutageInProgress(policyId);
    }

    /// @dev Entitlement minus what was already handled: the first `autoPayLimit` of normal
    /// entitlement is paid at once; the rest, and all excluded-event entitlement, goes to a claim
    /// for review (the rule in {IPolicyBook-settle}). Returns the amount to pay now; updates `p`
    /// in memory (the caller stores its hash).
    function _settleOne(uint256 policyId, Policy memory p, Cache memory c) private returns (uint96 pay) {
        _cacheProduct(p.productId, c);
        Product memory prod = c.product;
        uint64 from = _countFrom(p, prod);
        if (prod.serviceId != c.serviceId || from != c.episodesFrom || p.coverEnd != c.episodesUntil) {
            (c.episodes,) = _oracle.episodesIn(prod.serviceId, from, p.coverEnd, MAX_EPISODE_WINDOWS);
            (c.serviceId, c.episodesFrom, c.episodesUntil) = (prod.serviceId, from, p.coverEnd);
            c.entitledProduct = 0;
        }
        // The entitlement is a function of the product, the limit and the episodes (of the
        // cover's counting period): computed once per run of equal keys in a batch.
        if (p.productId != c.entitledProduct || p.limit != c.entitledLimit) {
            (c.normal, c.entitled) = Entitlement.compute(prod, p.coverEnd, p.limit, from, c.episodes);
            (c.entitledProduct, c.entitledLimit) = (p.productId, p.limit);
        }
        (uint96 normal, uint96 entitled) = (c.normal, c.entitled);
        if (entitled <= p.settled) return 0;
        // Normal entitlement not yet handled as normal, within the room left; the rest is event's.
        uint96 room = entitled - p.settled;
        uint96 normalSettled = p.settled - p.eventSettled;
        uint96 dN = normal > normalSettled ? normal - normalSettled : 0;
        if (dN > room) dN = room;
        uint96 dE = room - dN;
        uint96 autoRoom = prod.autoPayLimit > p.settled ? prod.autoPayLimit - p.settled : 0;
        pay = dN < autoRoom ? dN : autoRoom;
        uint96 review = room - pay;
        p.settled = entitled;
        p.eventSettled += dE;
        p.paid += pay;
        if (review > 0) {
            ClaimReason reason = dE > 0 ? ClaimReason.ExcludedEvent : ClaimReason.AboveAutoPayLimit;
            if (p.openClaim == 0) {
                uint64 claimId = ++_claimCount;
                uint40 deadline = uint40(block.timestamp + prod.claimSeconds);
                _claims[claimId] = Claim(uint64(policyId), review, ClaimStatus.Open, deadline, reason);
                p.openClaim = claimId;
                emit ClaimOpened(claimId, policyId, review, entitled, deadline, reason);
            } else {
                Claim storage cl = _claims[p.openClaim];
                cl.amount += review;
                if (dE > 0) cl.reason = reason;
                emit ClaimIncreased(p.openClaim, policyId, cl.amount, entitled);
            }
            if (dE > 0) emit ExcludedEventReviewed(policyId, p.openClaim, dE, p.eventSettled);
        }
        if (pay > 0) emit PayoutSent(policyId, pay, entitled);
    }

    function _openClaim(uint64 claimId, uint256 policyId, Policy calldata policy)
        private
        view
        returns (Policy memory p, Claim storage cl)
    {
        cl = _claims[claimId];
        if (cl.status != ClaimStatus.Open) revert PolicyBookClaimNotOpen(claimId);
        if (cl.policyId != policyId) revert PolicyBookClaimPolicyMismatch(claimId, policyId);
        _load(policyId, policy, p);
    }

    function _lapse(uint64 claimId, uint256 policyId, Claim storage cl) private returns (uint96 amount) {
        amount = cl.amount;
        cl.status = ClaimStatus.Lapsed;
        emit ClaimLapsed(claimId, policyId, amount);
    }

    /// @dev Records and pays a decided claim amount to the policy's beneficiary.
    function _payClaim(uint256 policyId, Policy memory p, uint96 amount) private {
        p.openClaim = 0;
        p.paid += amount;
        _policyHashes[policyId] = _hash(p);
        emit PayoutSent(policyId, amount, p.settled);
        Payouts memory out = _newPayouts(1);
        _addPayout(out, p.beneficiary, amount);
        _payOut(out);
    }

    /// @dev Copies the record into `p` as raw words, unvalidated: a matching hash proves the words
    /// are the clean encoding of the stored record (every stored hash is of a clean record), and
    /// skipping the per-field ABI checks keeps the book under EIP-170. Filling the caller's buffer
    /// rather than returning a new struct spares a batch two zeroed allocations per policy (the
    /// memory expansion grows quadratically with the batch).
    function _load(uint256 policyId, Policy calldata policy, Policy memory p) private view returns (bytes32 stored) {
        stored = _policyHashes[policyId];
        if (stored == bytes32(0)) revert PolicyBookUnknownPolicy(policyId);
        assembly ("memory-safe") {
            calldatacopy(p, policy, RECORD_BYTES)
        }
        if (_hash(p) != stored) revert PolicyBookPolicyMismatch(policyId);
    }

    /// @dev The record's words as given, unvalidated (see `_load`; `hashPolicy` and
    /// `entitlementOf` compute on what they are given).
    function _copy(Policy calldata policy) private pure returns (Policy memory p) {
        assembly ("memory-safe") {
            p := mload(0x40)
            mstore(0x40, add(p, RECORD_BYTES))
            calldatacopy(p, policy, RECORD_BYTES)
        }
    }

    /// @dev Puts the product in the cache (`c.product`). No return value: a returned struct would
    /// be a fresh zeroed allocation per call.
    function _cacheProduct(uint32 productId, Cache memory c) private view {
        if (c.productId != productId) {
            c.product = _products[productId];
            if (c.product.policyLimit == 0) revert PolicyBookUnknownProduct(productId);
            c.productId = productId;
        }
    }

    function _productOrRevert(uint32 productId) private view returns (Product storage prod) {
        prod = _products[productId];
        if (prod.policyLimit == 0) revert PolicyBookUnknownProduct(productId);
    }

    function _checkIssuer() private view {
        if (!hasRole(UNDERWRITER_ROLE, msg.sender) && !hasRole(DISTRIBUTOR_ROLE, msg.sender)) {
            revert AccessControlUnauthorizedAccount(msg.sender, DISTRIBUTOR_ROLE);
        }
    }

    function _checkLengths(uint256[] calldata ids, Policy[] calldata policies) private pure returns (uint256 n) {
        n = ids.length;
        if (n != policies.length) revert PolicyBookLengthMismatch(n, policies.length);
    }

    function _newPayouts(uint256 n) private pure returns (Payouts memory) {
        return Payouts(new address[](n), new uint256[](n), 0);
    }

    function _addPayout(Payouts memory out, address payee, uint96 amount) private pure {
        if (amount == 0) return;
        out.payees[out.count] = payee;
        out.amounts[out.count] = amount;
        ++out.count;
    }

    /// @dev One pool call per batch: the pool consumes the collateral, then transfers.
    function _payOut(Payouts memory out) private {
        if (out.count == 0) return;
        (address[] memory payees, uint256[] memory amounts, uint256 m) = (out.payees, out.amounts, out.count);
        assembly ("memory-safe") {
            mstore(payees, m)
            mstore(amounts, m)
        }
        _pool.payOut(payees, amounts);
    }

    /// @dev `keccak256(abi.encode(p))`: a struct of value types is laid out in memory as its ABI
    /// encoding (one clean word per field).
    function _hash(Policy memory p) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            h := keccak256(p, RECORD_BYTES)
        }
    }
}
