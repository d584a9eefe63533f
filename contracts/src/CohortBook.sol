// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IAssessmentRegistry} from "./interfaces/IAssessmentRegistry.sol";
import {ICohortBook} from "./interfaces/ICohortBook.sol";
import {ICoverPool} from "./interfaces/ICoverPool.sol";
import {IOutageOracle} from "./interfaces/IOutageOracle.sol";
import {IPolicyBook} from "./interfaces/IPolicyBook.sol";
import {Entitlement} from "./libraries/Entitlement.sol";

/// @title CohortBook
/// @notice Group covers over Merkle roots of customers, settled in rounds and paid in batches
/// with multiproofs and paid bitmaps. Products, roles and the report gate are the PolicyBook's;
/// collateral is held in the CoverPool.
contract CohortBook is ICohortBook, ReentrancyGuardTransient {
    /// @inheritdoc ICohortBook
    uint256 public constant MAX_BATCH = 2000;
    /// @inheritdoc ICohortBook
    uint256 public constant MAX_SEGMENTS = 64;
    /// @inheritdoc ICohortBook
    uint256 public constant MAX_EPISODE_WINDOWS = 64;
    bytes32 private constant DISTRIBUTOR_ROLE = keccak256("DISTRIBUTOR_ROLE");
    bytes32 private constant UNDERWRITER_ROLE = keccak256("UNDERWRITER_ROLE");
    uint256 private constant YEAR = 365 days;

    IPolicyBook private immutable _book;
    ICoverPool private immutable _pool;
    IOutageOracle private immutable _oracle;
    IAssessmentRegistry private immutable _registry;

    uint64 private _cohortCount;
    // Set at deployment so that the counter's slot is never fresh: the first cohort's increment
    // costs as much as any later one's (2,900, not 22,100).
    bool private _counterSlotUsed = true;
    // Per segment (key cohortId << 16 | segment): the hash of (cohort, segment record), passed
    // back by callers (the records never change); what changes is packed in a cohort's head and
    // a segment's state, both zero at issuance (so issuing writes one fresh slot, the hash).
    mapping(uint256 key => bytes32 recordHash) private _records;
    mapping(uint64 cohortId => Head) private _heads;
    mapping(uint256 key => SegState) private _segStates;
    mapping(uint256 key => uint96 level) private _levels; // key: (cohortId << 16 | segment) << 8 | round
    mapping(uint256 key => uint256 bits) private _paid; // key: ((cohortId << 16 | segment) << 8 | round) << 32 | word
    mapping(uint256 key => uint256 bits) private _removed; // key: (cohortId << 16 | segment) << 40 | word
    mapping(uint32 productId => Exposure) private _exposure; // capped products only
    mapping(uint64 cohortId => Exposure) private _cohortExposure; // its part of _exposure, taken back exactly

    /// @dev A cohort's changing part. Collateral held: `baseLimit + addedLimit − taken`.
    struct Head {
        uint96 taken; // paid + released
        uint96 addedLimit; // Σ total limits of segments 1..
        uint16 addedSegments; // segmentCount − 1
        bool closed;
    }

    /// @dev A segment's changing part.
    struct SegState {
        uint8 rounds;
        uint96 removedLimit; // Σ limits of removed members
    }

    /// @dev This book's share of a capped product's exposure (PolicyBook keeps its own).
    struct Exposure {
        uint128 limits;
        uint128 perEpisode;
    }

    /// @dev The bitmap words of the member being handled, written back when the word changes.
    struct Bits {
        uint256 paidKey;
        uint256 removedKey;
        uint256 word; // type(uint256).max: none loaded
        uint256 paid;
        uint256 removed;
        bool dirty;
    }

    /// @dev A batch's payouts, handed to the pool in one call.
    struct Payouts {
        address[] payees;
        uint256[] amounts;
        uint256 count;
        uint256 total;
        bytes indices; // big-endian uint32 each: the members paid (removals: every member)
    }

    constructor(IPolicyBook book_) {
        if (address(book_) == address(0)) revert CohortBookZeroAddress();
        _book = book_;
        _pool = book_.pool();
        _oracle = book_.oracle();
        _registry = book_.registry();
    }

    /// @inheritdoc ICohortBook
    function issueCohort(CohortTerms calldata t, bytes32 root, uint32 count, uint96 totalLimit, uint96 premium)
        external
        nonReentrant
        returns (uint64 cohortId)
    {
        if (!_hasBookRole(DISTRIBUTOR_ROLE, msg.sender) && !_hasBookRole(UNDERWRITER_ROLE, msg.sender)) {
            revert IAccessControl.AccessControlUnauthorizedAccount(msg.sender, DISTRIBUTOR_ROLE);
        }
        IPolicyBook.Product memory prod = _product(t.productId);
        uint40 start = t.coverStart == 0 ? uint40(block.timestamp) : t.coverStart;
        if (start < block.timestamp || t.coverEnd <= start) {
            revert CohortBookInvalidCover(t.coverStart, t.coverEnd, block.timestamp);
        }
        if (start > block.timestamp + prod.maxStartDelay) {
            revert CohortBookStartTooLate(start, block.timestamp + prod.maxStartDelay);
        }
        uint256 coverSeconds = t.coverEnd - start;
        if (coverSeconds > prod.maxCoverSeconds) revert CohortBookCoverTooLong(coverSeconds, prod.maxCoverSeconds);
        if (t.reportHash == bytes32(0)) revert CohortBookReportNotUnderwritable(t.reportHash);
        (bool live, IAssessmentRegistry.RiskLevel level, IAssessmentRegistry.ReportKind kind) =
            _registry.underwritingStatus(t.reportHash, t.subject);
        if (!live || level == IAssessmentRegistry.RiskLevel.High || kind == IAssessmentRegistry.ReportKind.Incident) {
            revert CohortBookReportNotUnderwritable(t.reportHash);
        }
        uint96 memberCap = level == IAssessmentRegistry.RiskLevel.Medium ? prod.mediumLimit : prod.policyLimit;
        _checkSegment(prod, root, count, totalLimit, premium, coverSeconds, memberCap);
        cohortId = ++_cohortCount;
        _addExposure(cohortId, t.productId, prod, count, totalLimit);
        _records[uint256(cohortId) << 16] = _hashRecord(
            Cohort(msg.sender, t.productId, start, t.coverEnd, totalLimit), Segment(root, count, totalLimit, premium, start)
        );
        emit CohortIssued(cohortId, t.productId, msg.sender, t, root, count, totalLimit, premium);
        _pool.collectPremium(msg.sender, premium);
        _pool.lock(totalLimit);
    }

    /// @inheritdoc ICohortBook
    function addSegment(
        uint64 cohortId,
        Cohort calldata c,
        Segment calldata s0,
        bytes32 root,
        uint32 count,
        uint96 totalLimit,
        uint96 premium
    ) external nonReentrant returns (uint16 index) {
        _verify(cohortId, 0, c, s0);
        Head storage head = _liveHead(cohortId);
        if (msg.sender != c.distributor) revert CohortBookNotDistributor(cohortId, msg.sender);
        uint40 coverEnd = c.coverEnd;
        if (block.timestamp >= coverEnd) revert CohortBookCoverEnded(cohortId, coverEnd);
        index = head.addedSegments + 1;
        if (index >= MAX_SEGMENTS) revert CohortBookTooManySegments(cohortId);
        uint32 productId = c.productId;
        IPolicyBook.Product memory prod = _product(productId);
        // A cover not yet started is extended from its start; otherwise from now.
        uint40 start = c.coverStart > block.timestamp ? c.coverStart : uint40(block.timestamp);
        // The issuance report's risk level is not re-read: the product's policy limit bounds members.
        _checkSegment(prod, root, count, totalLimit, premium, coverEnd - start, prod.policyLimit);
        _addExposure(cohortId, productId, prod, count, totalLimit);
        head.addedSegments = index;
        head.addedLimit += totalLimit;
        _records[_segKey(cohortId, index)] = _hashRecord(c, Segment(root, count, totalLimit, premium, start));
        emit SegmentAdded(cohortId, index, root, count, totalLimit, premium, start);
        _pool.collectPremium(msg.sender, premium);
        _pool.lock(totalLimit);
    }

    /// @inheritdoc ICohortBook
    function settle(uint64 cohortId, Cohort calldata c, Segment[] calldata segments)
        external
        nonReentrant
        returns (uint256 opened)
    {
        _verifyAll(cohortId, c, segments);
        opened = _settle(cohortId, c, segments);
    }

    /// @inheritdoc ICohortBook
    function payBatch(
        uint64 cohortId,
        uint8 round,
        uint16 segmentIndex,
        Cohort calldata c,
        Segment calldata s,
        Member[] calldata members,
        bytes32[] calldata proof,
        bool[] calldata proofFlags
    ) external nonReentrant returns (uint256 paidCount, uint256 amount) {
        uint256 n = members.length;
        if (n == 0 || n > MAX_BATCH) revert CohortBookInvalidBatch(n);
        uint256 sk = _verify(cohortId, segmentIndex, c, s);
        Head storage head = _liveHead(cohortId);
        uint32 count = s.count;
        uint8 rounds = _segStates[sk].rounds;
        if (round == 0 || round > rounds) revert CohortBookUnknownRound(cohortId, segmentIndex, round);
        if (!_multiProofOk(proof, proofFlags, s.root, members)) revert CohortBookInvalidProof(cohortId, segmentIndex);
        Payouts memory out = _newPayouts(n);
        Bits memory b = _newBits(sk, round);
        (uint96 hi, uint96 lo) = (_levels[(sk << 8) | round], _levels[(sk << 8) | (round - 1)]);
        for (uint256 i = 0; i < n; ++i) {
            // The words are proven by the leaf (hashed as given); the values are read masked.
            uint256 index;
            uint256 payee;
            uint256 limit;
            assembly ("memory-safe") {
                let p := add(members.offset, shl(7, i))
                index := and(calldataload(p), 0xffffffff)
                payee := and(calldataload(add(p, 0x20)), 0xffffffffffffffffffffffffffffffffffffffff)
                limit := and(calldataload(add(p, 0x40)), 0xffffffffffffffffffffffff)
            }
            _payOne(uint32(index), address(uint160(payee)), uint96(limit), count, hi, lo, b, out);
        }
        _flushBits(b);
        (paidCount, amount) = _finishPayout(cohortId, c, head, segmentIndex, round, out);
    }

    /// @inheritdoc ICohortBook
    function claim(
        uint64 cohortId,
        uint8 round,
        uint16 segmentIndex,
        Cohort calldata c,
        Segment calldata s,
        Member calldata m,
        bytes32[] calldata proof
    ) external nonReentrant returns (uint96 amount) {
        uint256 sk = _verify(cohortId, segmentIndex, c, s);
        Head storage head = _liveHead(cohortId);
        uint8 rounds = _segStates[sk].rounds;
        if (round == 0 || round > rounds) revert CohortBookUnknownRound(cohortId, segmentIndex, round);
        if (!MerkleProof.verifyCalldata(proof, s.root, _leaf(m))) revert CohortBookInvalidProof(cohortId, segmentIndex);
        Payouts memory out = _newPayouts(1);
        Bits memory b = _newBits(sk, round);
        _payOne(m.index, m.beneficiary, m.limit, s.count, _levels[(sk << 8) | round],
            _levels[(sk << 8) | (round - 1)], b, out);
        _flushBits(b);
        (, uint256 total) = _finishPayout(cohortId, c, head, segmentIndex, round, out);
        amount = uint96(total);
    }

    /// @inheritdoc ICohortBook
    function removeMembers(
        uint64 cohortId,
        uint16 segmentIndex,
        Cohort calldata c,
        Segment[] calldata segments,
        Member[] calldata members,
        bytes32[] calldata proof,
        bool[] calldata proofFlags
    ) external nonReentrant returns (uint96 released, uint96 refund) {
        uint256 n = members.length;
        if (n == 0 || n > MAX_BATCH) revert CohortBookInvalidBatch(n);
        Head storage head = _verifyAll(cohortId, c, segments);
        if (msg.sender != c.distributor) revert CohortBookNotDistributor(cohortId, msg.sender);
        uint40 coverEnd = c.coverEnd;
        if (block.timestamp >= coverEnd) revert CohortBookCoverEnded(cohortId, coverEnd);
        if (segmentIndex >= segments.length) revert CohortBookUnknownSegment(cohortId, segmentIndex);
        Segment calldata seg = segments[segmentIndex];
        if (!_multiProofOk(proof, proofFlags, seg.root, members)) {
            revert CohortBookInvalidProof(cohortId, segmentIndex);
        }
        // What the open rounds owe is settled first: a removal never takes an earned payout.
        _settle(cohortId, c, segments);
        uint256 sk = _segKey(cohortId, segmentIndex);
        SegState storage st = _segStates[sk];
        Payouts memory out = _newPayouts(n);
        uint256 removedLimit;
        (released, removedLimit) = _removeAll(cohortId, sk, segmentIndex, seg.count, st.rounds, members, out);
        uint256 total = uint256(st.removedLimit) + removedLimit;
        if (total > seg.totalLimit) revert CohortBookCollateralExhausted(cohortId, total, seg.totalLimit);
        st.removedLimit = uint96(total);
        refund = _refundOf(c, seg, removedLimit, n);
        uint256 taken = out.total + released;
        uint256 locked = _locked(c, head);
        if (taken > locked) revert CohortBookCollateralExhausted(cohortId, taken, locked);
        head.taken += uint96(taken);
        _removeExposure(cohortId, c.productId, removedLimit, n);
        emit MembersRemoved(cohortId, segmentIndex, out.indices, uint96(out.total), released, refund);
        _payOut(out);
        if (released != 0) _pool.release(released);
        _pool.refund(c.distributor, refund);
    }

    /// @inheritdoc ICohortBook
    function close(uint64 cohortId, Cohort calldata c, Segment calldata s0)
        external
        nonReentrant
        returns (uint96 released)
    {
        _verify(cohortId, 0, c, s0);
        Head storage head = _liveHead(cohortId);
        uint256 at = _closesAt(c);
        if (block.timestamp < at) revert CohortBookNotClosable(cohortId, at);
        released = uint96(_locked(c, head));
        (head.taken, head.closed) = (head.taken + released, true);
        _closeExposure(cohortId, c.productId);
        emit CohortClosed(cohortId, released);
        if (released != 0) _pool.release(released);
    }

    /// @inheritdoc ICohortBook
    function cohort(uint64 cohortId) external view returns (CohortState memory) {
        Head storage head = _heads[cohortId];
        uint16 count = _records[uint256(cohortId) << 16] == bytes32(0) ? 0 : head.addedSegments + 1;
        return CohortState(head.taken, head.addedLimit, count, head.closed);
    }

    /// @inheritdoc ICohortBook
    function segment(uint64 cohortId, uint16 index) external view returns (SegmentState memory) {
        SegState storage st = _segStates[_segKey(cohortId, index)];
        return SegmentState(st.rounds, st.removedLimit);
    }

    /// @inheritdoc ICohortBook
    function recordHash(uint64 cohortId, uint16 index) external view returns (bytes32) {
        return _records[_segKey(cohortId, index)];
    }

    /// @inheritdoc ICohortBook
    function hashRecord(Cohort calldata c, Segment calldata s) external pure returns (bytes32) {
        return _hashPassed(c, s);
    }

    /// @inheritdoc ICohortBook
    function roundLevel(uint64 cohortId, uint16 segmentIndex, uint8 round) external view returns (uint96) {
        return _levels[(_segKey(cohortId, segmentIndex) << 8) | round];
    }

    /// @inheritdoc ICohortBook
    function isPaid(uint64 cohortId, uint16 segmentIndex, uint8 round, uint32 index) external view returns (bool) {
        uint256 key = (((_segKey(cohortId, segmentIndex) << 8) | round) << 32) | (index >> 8);
        return _paid[key] & (1 << (index & 255)) != 0;
    }

    /// @inheritdoc ICohortBook
    function isRemoved(uint64 cohortId, uint16 segmentIndex, uint32 index) external view returns (bool) {
        return _removed[(_segKey(cohortId, segmentIndex) << 40) | (index >> 8)] & (1 << (index & 255)) != 0;
    }

    /// @inheritdoc ICohortBook
    function paidBitmap(uint64 cohortId, uint16 segmentIndex, uint8 round, uint256 fromWord, uint256 words)
        external
        view
        returns (uint256[] memory bits)
    {
        uint256 key = ((_segKey(cohortId, segmentIndex) << 8) | round) << 32;
        bits = new uint256[](words);
        for (uint256 i = 0; i < words; ++i) {
            bits[i] = _paid[key | (fromWord + i)];
        }
    }

    /// @inheritdoc ICohortBook
    function removedBitmap(uint64 cohortId, uint16 segmentIndex, uint256 fromWord, uint256 words)
        external
        view
        returns (uint256[] memory bits)
    {
        uint256 key = _segKey(cohortId, segmentIndex) << 40;
        bits = new uint256[](words);
        for (uint256 i = 0; i < words; ++i) {
            bits[i] = _removed[key | (fromWord + i)];
        }
    }

    /// @inheritdoc ICohortBook
    function closesAt(Cohort calldata c) external view returns (uint256) {
        return _closesAt(c);
    }

    /// @inheritdoc ICohortBook
    function cohortCount() external view returns (uint64) {
        return _cohortCount;
    }

    /// @inheritdoc ICohortBook
    function leafOf(Member calldata m) external pure returns (bytes32) {
        return _leaf(m);
    }

    /// @inheritdoc ICohortBook
    function book() external view returns (IPolicyBook) {
        return _book;
    }

    /// @inheritdoc ICohortBook
    function pool() external view returns (ICoverPool) {
        return _pool;
    }

    /// @inheritdoc ICohortBook
    function oracle() external view returns (IOutageOracle) {
        return _oracle;
    }

    // --- settlement -----------------------------------------------------------------------

    /// @dev Opens a round in each segment whose level (normal entitlement from its start,
    /// capped at the auto-pay limit) grew. One episode read for the whole cohort, from its
    /// earliest count start; later segments skip the episodes that began before theirs.
    function _settle(uint64 cohortId, Cohort calldata c, Segment[] calldata segments)
        private
        returns (uint256 opened)
    {
        IPolicyBook.Product memory prod = _book.product(c.productId);
        (uint40 coverStart, uint40 coverEnd) = (c.coverStart, c.coverEnd);
        (IOutageOracle.Episode[] memory episodes,) = _oracle.episodesIn(
            prod.serviceId, uint64(coverStart) + prod.waitingSeconds, coverEnd, MAX_EPISODE_WINDOWS
        );
        if (episodes.length == 0) return 0;
        for (uint256 i = 0; i < segments.length; ++i) {
            uint256 sk = _segKey(cohortId, uint16(i));
            SegState storage st = _segStates[sk];
            (uint96 normal,) = Entitlement.compute(
                prod, coverEnd, type(uint96).max, uint64(segments[i].start) + prod.waitingSeconds, episodes
            );
            uint96 level = normal < prod.autoPayLimit ? normal : prod.autoPayLimit;
            uint8 rounds = st.rounds;
            if (level <= _levels[(sk << 8) | rounds]) continue;
            // A full segment opens no more rounds but must not block the others, nor removals
            // (which settle first): it is skipped, and its later growth is not paid automatically.
            // (`segment(..).rounds` == 255 shows it.)
            if (rounds == type(uint8).max) continue;
            ++rounds;
            st.rounds = rounds;
            _levels[(sk << 8) | rounds] = level;
            ++opened;
            emit RoundOpened(cohortId, uint16(i), rounds, level);
        }
    }

    /// @dev One member of a verified batch: skipped when out of range, without beneficiary,
    /// removed or already paid in the round; otherwise marked paid and its increment queued.
    function _payOne(
        uint32 index,
        address payee,
        uint96 limit,
        uint32 count,
        uint96 hi,
        uint96 lo,
        Bits memory b,
        Payouts memory out
    ) private {
        if (index >= count || payee == address(0)) return;
        _loadBits(b, index >> 8);
        uint256 bit = 1 << (index & 255);
        if ((b.paid | b.removed) & bit != 0) return;
        b.paid |= bit;
        b.dirty = true;
        uint96 amount = (limit < hi ? limit : hi) - (limit < lo ? limit : lo);
        if (amount == 0) return;
        _addPayout(out, payee, amount, index);
    }

    /// @dev Takes a batch's total from the cohort's own collateral, emits, pays.
    function _finishPayout(
        uint64 cohortId,
        Cohort calldata c,
        Head storage head,
        uint16 segmentIndex,
        uint8 round,
        Payouts memory out
    ) private returns (uint256 paidCount, uint256 amount) {
        (paidCount, amount) = (out.count, out.total);
        if (amount != 0) {
            uint256 locked = _locked(c, head);
            if (amount > locked) revert CohortBookCollateralExhausted(cohortId, amount, locked);
            head.taken += uint96(amount);
        }
        emit CohortPaid(cohortId, segmentIndex, round, uint32(paidCount), uint96(amount), out.indices);
        _payOut(out);
    }

    // --- removal --------------------------------------------------------------------------

    /// @dev Marks each member removed, queues what the open rounds still owe it and sums the
    /// release (its limit less all it has been paid) and the removed limits.
    function _removeAll(
        uint64 cohortId,
        uint256 sk,
        uint16 segmentIndex,
        uint32 count,
        uint8 rounds,
        Member[] calldata members,
        Payouts memory out
    ) private returns (uint96 released, uint256 removedLimit) {
        uint96 top = _levels[(sk << 8) | rounds];
        uint256 rel;
        for (uint256 i = 0; i < members.length; ++i) {
            Member calldata m = members[i];
            uint32 index = m.index;
            if (index >= count) revert CohortBookNotRemovable(cohortId, segmentIndex, index);
            uint256 rk = (sk << 40) | (index >> 8);
            uint256 bit = 1 << (index & 255);
            uint256 word = _removed[rk];
            if (word & bit != 0) revert CohortBookNotRemovable(cohortId, segmentIndex, index);
            _removed[rk] = word | bit;
            uint96 limit = m.limit;
            uint96 paid = _paidSoFar(sk, rounds, index, limit);
            uint96 due = limit < top ? limit : top;
            if (due > paid && m.beneficiary != address(0)) {
                _addPayout(out, m.beneficiary, due - paid, index);
                paid = due;
            } else {
                _appendIndex(out, index);
            }
            rel += limit - paid;
            removedLimit += limit;
        }
        released = uint96(rel);
    }

    /// @dev Σ over the rounds the member was paid in of that round's increment.
    function _paidSoFar(uint256 sk, uint8 rounds, uint32 index, uint96 limit) private view returns (uint96 paid) {
        uint96 lo;
        for (uint256 r = 1; r <= rounds; ++r) {
            uint96 hi = _levels[(sk << 8) | r];
            uint96 inc = (limit < hi ? limit : hi) - (limit < lo ? limit : lo);
            if (_paid[(((sk << 8) | r) << 32) | (index >> 8)] & (1 << (index & 255)) != 0) paid += inc;
            lo = hi;
        }
    }

    /// @dev premium × removed / totalLimit × time left / segment cover, rounded down, less the
    /// product's cancellation fee per removed member (not below 0): a policy's cancellation rule.
    function _refundOf(Cohort calldata c, Segment calldata s, uint256 removedLimit, uint256 members)
        private
        view
        returns (uint96)
    {
        uint256 coverEnd = c.coverEnd;
        uint256 start = s.start;
        uint256 from = start > block.timestamp ? start : block.timestamp;
        uint256 share = uint256(s.premium) * removedLimit * (coverEnd - from) / (uint256(s.totalLimit) * (coverEnd - start));
        uint256 fee = uint256(_book.product(c.productId).cancellationFee) * members;
        return share > fee ? uint96(share - fee) : 0;
    }

    // --- issuance checks and exposure -----------------------------------------------------

    /// @dev The segment's shape, the members' average limit and the premium floor.
    function _checkSegment(
        IPolicyBook.Product memory prod,
        bytes32 root,
        uint32 count,
        uint96 totalLimit,
        uint96 premium,
        uint256 coverSeconds,
        uint96 memberCap
    ) private pure {
        if (root == bytes32(0) || count == 0 || totalLimit == 0 || uint256(totalLimit) > uint256(count) * memberCap) {
            revert CohortBookInvalidSegment(count, totalLimit);
        }
        uint256 floor = (uint256(totalLimit) * prod.minRatePpm * coverSeconds + 1e6 * YEAR - 1) / (1e6 * YEAR);
        uint256 perMember = uint256(prod.minPremium) * count;
        if (floor < perMember) floor = perMember;
        if (premium < floor) revert CohortBookPremiumBelowFloor(premium, floor);
    }

    /// @dev A capped product's caps count the PolicyBook's policies and this book's cohorts.
    /// An episode pays a Fixed member at most min(payout, limit), so a segment's per-episode
    /// exposure is at most min(totalLimit, count × payout). The cohort's own part is kept so
    /// that removals and close give back exactly what it added, never another cohort's.
    function _addExposure(
        uint64 cohortId,
        uint32 productId,
        IPolicyBook.Product memory prod,
        uint32 count,
        uint96 totalLimit
    ) private {
        if (prod.exposureCap == 0 && prod.eventCap == 0) return;
        uint256 per = _perEpisode(prod, count, totalLimit);
        Exposure memory e = _exposure[productId];
        uint256 limits = uint256(e.limits) + totalLimit;
        uint256 perEpisode = uint256(e.perEpisode) + per;
        if (prod.exposureCap != 0) {
            uint256 all = limits + _book.productExposure(productId);
            if (all > prod.exposureCap) revert CohortBookProductCapExceeded(productId, all, prod.exposureCap);
        }
        if (prod.eventCap != 0) {
            uint256 all = perEpisode + _book.eventExposure(productId);
            if (all > prod.eventCap) revert CohortBookProductCapExceeded(productId, all, prod.eventCap);
        }
        _exposure[productId] = Exposure(uint128(limits), uint128(perEpisode));
        Exposure memory own = _cohortExposure[cohortId];
        _cohortExposure[cohortId] = Exposure(own.limits + uint128(totalLimit), own.perEpisode + uint128(per));
    }

    /// @dev Removed members: their limits and (at most) their per-episode share, bounded by what
    /// the cohort still counts.
    function _removeExposure(uint64 cohortId, uint32 productId, uint256 limits, uint256 members) private {
        Exposure memory own = _cohortExposure[cohortId];
        if (own.limits == 0) return;
        uint256 per = _perEpisode(_book.product(productId), uint32(members), uint96(limits));
        uint128 dl = limits >= own.limits ? own.limits : uint128(limits);
        uint128 dp = per >= own.perEpisode ? own.perEpisode : uint128(per);
        _cohortExposure[cohortId] = Exposure(own.limits - dl, own.perEpisode - dp);
        Exposure memory e = _exposure[productId];
        _exposure[productId] = Exposure(e.limits - dl, e.perEpisode - dp);
    }

    /// @dev Close: all the cohort still counts.
    function _closeExposure(uint64 cohortId, uint32 productId) private {
        Exposure memory own = _cohortExposure[cohortId];
        if (own.limits == 0 && own.perEpisode == 0) return;
        delete _cohortExposure[cohortId];
        Exposure memory e = _exposure[productId];
        _exposure[productId] = Exposure(e.limits - own.limits, e.perEpisode - own.perEpisode);
    }

    function _perEpisode(IPolicyBook.Product memory prod, uint32 count, uint96 totalLimit)
        private
        pure
        returns (uint256)
    {
        if (prod.payoutKind != IPolicyBook.PayoutKind.Fixed) return totalLimit;
        uint256 byCount = uint256(prod.payoutAmount) * count;
        return byCount < totalLimit ? byCount : totalLimit;
    }

    // --- helpers --------------------------------------------------------------------------

    /// @dev The leaves of `members`: each member's four words hashed as given (the ABI encoding
    /// of a clean Member is exactly them), so a member whose words are not clean matches no leaf
    /// of an honest tree.
    function _leaves(Member[] calldata members) private pure returns (bytes32[] memory leaves) {
        uint256 n = members.length;
        leaves = new bytes32[](n);
        assembly ("memory-safe") {
            let p := mload(0x40)
            let src := members.offset
            let dst := add(leaves, 0x20)
            for { let end := add(dst, shl(5, n)) } lt(dst, end) { dst := add(dst, 0x20) } {
                calldatacopy(p, src, 0x80)
                mstore(0x00, keccak256(p, 0x80))
                mstore(dst, keccak256(0x00, 0x20))
                src := add(src, 0x80)
            }
        }
    }

    /// @dev `multiProofVerify` with the shape checked first, so that a malformed proof is
    /// refused with `CohortBookInvalidProof` and not with OpenZeppelin's error or an
    /// out-of-bounds panic: leaves + proof = flags + 1, and exactly one proof element per false
    /// flag (so the proof is never read past its end).
    function _multiProofOk(bytes32[] calldata proof, bool[] calldata flags, bytes32 root, Member[] calldata members)
        private
        pure
        returns (bool)
    {
        uint256 nf = flags.length;
        if (members.length + proof.length != nf + 1) return false;
        uint256 falses;
        for (uint256 i = 0; i < nf; ++i) {
            if (!flags[i]) ++falses;
        }
        if (falses != proof.length) return false;
        return MerkleProof.multiProofVerifyCalldata(proof, flags, root, _leaves(members));
    }

    /// @dev OpenZeppelin's standard leaf: keccak256(bytes.concat(keccak256(abi.encode(...)))).
    function _leaf(Member calldata m) private pure returns (bytes32 h) {
        uint32 index = m.index;
        address beneficiary = m.beneficiary;
        uint96 limit = m.limit;
        bytes32 holder = m.holder;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, index)
            mstore(add(p, 0x20), beneficiary)
            mstore(add(p, 0x40), limit)
            mstore(add(p, 0x60), holder)
            mstore(0x00, keccak256(p, 0x80))
            h := keccak256(0x00, 0x20)
        }
    }

    function _product(uint32 productId) private view returns (IPolicyBook.Product memory prod) {
        prod = _book.product(productId);
        if (prod.policyLimit == 0) revert CohortBookUnknownProduct(productId);
        if (!prod.active) revert CohortBookProductInactive(productId);
    }

    function _hasBookRole(bytes32 role, address account) private view returns (bool) {
        return IAccessControl(address(_book)).hasRole(role, account);
    }

    /// @dev The stored hash of segment `segmentIndex` is that of (c, s): the records are the
    /// cohort's. Returns the segment's key.
    function _verify(uint64 cohortId, uint16 segmentIndex, Cohort calldata c, Segment calldata s)
        private
        view
        returns (uint256 sk)
    {
        sk = _segKey(cohortId, segmentIndex);
        bytes32 stored = _records[sk];
        if (stored == bytes32(0)) {
            if (segmentIndex == 0 || _records[uint256(cohortId) << 16] == bytes32(0)) {
                revert CohortBookUnknownCohort(cohortId);
            }
            revert CohortBookUnknownSegment(cohortId, segmentIndex);
        }
        if (_hashPassed(c, s) != stored) revert CohortBookRecordMismatch(cohortId, segmentIndex);
    }

    /// @dev Every segment's record, in order, and the cohort live: its head slot.
    function _verifyAll(uint64 cohortId, Cohort calldata c, Segment[] calldata segments)
        private
        view
        returns (Head storage head)
    {
        if (_records[uint256(cohortId) << 16] == bytes32(0)) revert CohortBookUnknownCohort(cohortId);
        head = _liveHead(cohortId);
        uint256 count = uint256(head.addedSegments) + 1;
        if (segments.length != count) revert CohortBookSegmentsMismatch(cohortId, segments.length, uint16(count));
        for (uint256 i = 0; i < count; ++i) {
            _verify(cohortId, uint16(i), c, segments[i]);
        }
    }

    /// @dev The cohort's changing part, refused once closed. Callers verified a record.
    function _liveHead(uint64 cohortId) private view returns (Head storage head) {
        head = _heads[cohortId];
        if (head.closed) revert CohortBookClosed(cohortId);
    }

    /// @dev The cohort's collateral still held: Σ total limits − paid − released.
    function _locked(Cohort calldata c, Head storage head) private view returns (uint256) {
        return uint256(c.baseLimit) + head.addedLimit - head.taken;
    }

    function _hashRecord(Cohort memory c, Segment memory s) private pure returns (bytes32) {
        return keccak256(abi.encode(c, s));
    }

    /// @dev `_hashRecord` of records passed in calldata, copied as raw words, unvalidated: every
    /// stored hash is of a clean record, so a match proves the words are its clean encoding (as
    /// PolicyBook's `_load`), and a batch pays no per-field checks.
    function _hashPassed(Cohort calldata c, Segment calldata s) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, c, 0xa0)
            calldatacopy(add(p, 0xa0), s, 0xa0)
            h := keccak256(p, 0x140)
        }
    }

    function _closesAt(Cohort calldata c) private view returns (uint256) {
        IPolicyBook.Product memory prod = _book.product(c.productId);
        return uint256(c.coverEnd) + prod.graceSeconds + prod.claimSeconds;
    }

    function _segKey(uint64 cohortId, uint16 segmentIndex) private pure returns (uint256) {
        return (uint256(cohortId) << 16) | segmentIndex;
    }

    function _newBits(uint256 sk, uint8 round) private pure returns (Bits memory b) {
        b.paidKey = ((sk << 8) | round) << 32;
        b.removedKey = sk << 40;
        b.word = type(uint256).max;
    }

    function _loadBits(Bits memory b, uint256 word) private {
        if (word == b.word) return;
        _flushBits(b);
        b.word = word;
        b.paid = _paid[b.paidKey | word];
        b.removed = _removed[b.removedKey | word];
    }

    function _flushBits(Bits memory b) private {
        if (!b.dirty) return;
        _paid[b.paidKey | b.word] = b.paid;
        b.dirty = false;
    }

    function _newPayouts(uint256 n) private pure returns (Payouts memory out) {
        out.payees = new address[](n);
        out.amounts = new uint256[](n);
        // Room for n indices and one word's tail; the length grows as indices are appended.
        bytes memory indices = new bytes(4 * n + 32);
        assembly ("memory-safe") {
            mstore(indices, 0)
        }
        out.indices = indices;
    }

    function _addPayout(Payouts memory out, address payee, uint96 amount, uint32 index) private pure {
        out.payees[out.count] = payee;
        out.amounts[out.count] = amount;
        ++out.count;
        out.total += amount;
        _appendIndex(out, index);
    }

    /// @dev Appends a big-endian uint32 to `out.indices` (its buffer was sized for the batch).
    function _appendIndex(Payouts memory out, uint32 index) private pure {
        bytes memory indices = out.indices;
        assembly ("memory-safe") {
            let len := mload(indices)
            let p := add(add(indices, 0x20), len)
            mstore(p, or(shl(224, index), and(mload(p), 0x00000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffff)))
            mstore(indices, add(len, 4))
        }
    }

    /// @dev One pool call per batch: the pool consumes the collateral, then transfers.
    function _payOut(Payouts memory out) private {
        uint256 m = out.count;
        if (m == 0) return;
        (address[] memory payees, uint256[] memory amounts) = (out.payees, out.amounts);
        assembly ("memory-safe") {
            mstore(payees, m)
            mstore(amounts, m)
        }
        _pool.payOut(payees, amounts);
    }
}
