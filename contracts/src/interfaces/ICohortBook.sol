// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ICoverPool} from "./ICoverPool.sol";
import {IOutageOracle} from "./IOutageOracle.sol";
import {IPolicyBook} from "./IPolicyBook.sol";

/// @title ICohortBook
/// @notice Group covers: one cover for a whole customer base (a cohort). The cohort's customers
/// are the leaves of Merkle trees, one per **segment**; only the roots are on-chain. A leaf is
/// `keccak256(bytes.concat(keccak256(abi.encode(index, beneficiary, limit, holder))))`
/// (OpenZeppelin's double-hashed standard leaf), internal nodes hash sorted pairs
/// (`MerkleProof`), and `index` is the member's position in its segment (0..count-1): its bit in
/// the segment's bitmaps. `issueCohort` creates segment 0, `addSegment` appends one; roots never
/// change, so the earlier leaves are unchanged by construction.
///
/// Money: the cohort locks Σ segment total limits in the CoverPool (this book holds its
/// BOOK_ROLE). Every payout and release of the cohort is taken from its own `locked` figure,
/// which never goes below zero: a distributor whose leaves sum beyond the stated total reaches
/// no other capital (`CohortBookCollateralExhausted`). Invariant, per cohort:
/// `locked = Σ totalLimit − paid − released` (stored as `taken` = paid + released).
///
/// Settlement runs in **rounds**, per segment. `settle` computes the segment's per-member level
/// `E` — the normal (non-excluded-event) entitlement of `Entitlement.compute` with no limit,
/// counted from the segment's start plus the product's waiting period, capped at the product's
/// `autoPayLimit` — and, if it grew, opens round r with level `E_r`. Member m is owed
/// `min(limit, E_r) − min(limit, E_{r−1})` in round r, so Σ over rounds ≤ min(limit, autoPayLimit):
/// cohort members are paid automatically only up to the auto-pay limit, and excluded-event
/// entitlement is never paid automatically (no claims review exists for cohorts). A paid bitmap
/// per (round, segment) makes every member paid at most once per round, whoever sends the batch
/// and in whatever order. A failed transfer is credited in the pool for the payee to pull.
///
/// Roles are the PolicyBook's: `issueCohort` needs its DISTRIBUTOR_ROLE (or UNDERWRITER_ROLE).
interface ICohortBook {
    /// @notice What a distributor asks for (as `PolicyTerms`, without per-member fields).
    /// `coverStart` 0 means "now".
    struct CohortTerms {
        uint32 productId;
        uint40 coverStart;
        uint40 coverEnd;
        bytes32 subject; // salted commitment to the insured organisation the report assessed
        bytes32 reportHash; // anchor id of the assessment the cohort is underwritten on
    }

    /// @notice One customer: a leaf of its segment's tree.
    struct Member {
        uint32 index; // position in its segment, 0..count-1
        address beneficiary;
        uint96 limit;
        bytes32 holder; // salted commitment to the customer
    }

    /// @notice A cohort's fixed terms, one half of each of its segments' records. Only the hash
    /// of (cohort, segment) is stored per segment (`recordHash`); callers pass the records back,
    /// rebuilt from `CohortIssued` / `SegmentAdded` (`coverStart`: the resolved start).
    /// `baseLimit`: segment 0's total limit (the cohort's collateral is `baseLimit + addedLimit − taken`).
    struct Cohort {
        address distributor;
        uint32 productId;
        uint40 coverStart;
        uint40 coverEnd;
        uint96 baseLimit;
    }

    /// @notice A segment's fixed record: its tree, member count, stated total limit and premium.
    /// `start`: when its cover began (outages count from `start + waitingSeconds`).
    struct Segment {
        bytes32 root;
        uint32 count;
        uint96 totalLimit;
        uint96 premium;
        uint40 start;
    }

    /// @notice What changes, kept in storage (all zero after issuance, so issuing writes no state):
    /// `taken` (paid and released), `addedLimit` (Σ total limits of segments 1..), the segments,
    /// whether it is closed. Collateral still held: `baseLimit + addedLimit − taken`.
    struct CohortState {
        uint96 taken;
        uint96 addedLimit;
        uint16 segmentCount;
        bool closed;
    }

    /// @notice A segment's changing part: `rounds` opened, Σ limits of removed members.
    struct SegmentState {
        uint8 rounds;
        uint96 removedLimit;
    }

    /// @notice Segment 0 of a new cohort; the premium was collected and `totalLimit` locked.
    event CohortIssued(
        uint64 indexed cohortId,
        uint32 indexed productId,
        address indexed distributor,
        CohortTerms terms,
        bytes32 root,
        uint32 count,
        uint96 totalLimit,
        uint96 premium
    );
    /// @notice A segment was appended (`start`: now, or the cover start if later); premium collected, `totalLimit` locked.
    event SegmentAdded(
        uint64 indexed cohortId,
        uint16 indexed segment,
        bytes32 root,
        uint32 count,
        uint96 totalLimit,
        uint96 premium,
        uint40 start
    );
    /// @notice The segment's level grew: round `round` pays up to `level` per member.
    event RoundOpened(uint64 indexed cohortId, uint16 indexed segment, uint8 indexed round, uint96 level);
    /// @notice One batch (or one claim) of round `round`: `count` members paid `amount` in all;
    /// `indices` packs their indices as big-endian uint32 (4 bytes each), in the order paid.
    /// Each member's amount is `min(limit, E_r) − min(limit, E_{r−1})` from its leaf. Members
    /// skipped (already paid, removed, nothing owed) are not listed; a batch paying nobody
    /// emits `count` 0.
    event CohortPaid(
        uint64 indexed cohortId, uint16 indexed segment, uint8 indexed round, uint32 count, uint96 amount, bytes indices
    );
    /// @notice Members were removed (`indices`: each, big-endian uint32, 4 bytes): `paid` settled
    /// what the open rounds still owed them, `released` went back to free capital, `refund` (the
    /// unexpired premium of their share, less the product's cancellation fee per member) to the
    /// distributor.
    event MembersRemoved(
        uint64 indexed cohortId, uint16 indexed segment, bytes indices, uint96 paid, uint96 released, uint96 refund
    );
    /// @notice The cohort's claim window is over: `released` (all still locked) went back.
    event CohortClosed(uint64 indexed cohortId, uint96 released);

    /// @notice A constructor argument is the zero address.
    error CohortBookZeroAddress();
    /// @notice No cohort has this id.
    error CohortBookUnknownCohort(uint64 cohortId);
    /// @notice The cohort has no such segment.
    error CohortBookUnknownSegment(uint64 cohortId, uint16 segment);
    /// @notice The segment has not opened this round.
    error CohortBookUnknownRound(uint64 cohortId, uint16 segment, uint8 round);
    /// @notice The cohort is closed.
    error CohortBookClosed(uint64 cohortId);
    /// @notice Count zero, total limit zero, root zero, or a total limit above count × the
    /// product's policy limit (or its medium limit for a Medium-risk report).
    error CohortBookInvalidSegment(uint32 count, uint96 totalLimit);
    /// @notice The cover period is invalid (start in the past, end not after start).
    error CohortBookInvalidCover(uint40 coverStart, uint40 coverEnd, uint256 nowTime);
    /// @notice The cover is longer than the product's `maxCoverSeconds`.
    error CohortBookCoverTooLong(uint256 coverSeconds, uint32 maxCoverSeconds);
    /// @notice The cover starts later than the product's `maxStartDelay` after now.
    error CohortBookStartTooLate(uint256 coverStart, uint256 latest);
    /// @notice The product is inactive.
    error CohortBookProductInactive(uint32 productId);
    /// @notice No product has this id.
    error CohortBookUnknownProduct(uint32 productId);
    /// @notice The premium is below `max(minPremium × count, the minRatePpm rate on totalLimit)`.
    error CohortBookPremiumBelowFloor(uint96 premium, uint256 floor);
    /// @notice The report is not live for the subject, is an incident report, or rates High.
    error CohortBookReportNotUnderwritable(bytes32 reportHash);
    /// @notice The product's exposure cap (or event cap) would be exceeded, counting the
    /// PolicyBook's policies and this book's cohorts.
    error CohortBookProductCapExceeded(uint32 productId, uint256 exposure, uint256 cap);
    /// @notice The cohort cannot pay or release this much: its own collateral is exhausted.
    error CohortBookCollateralExhausted(uint64 cohortId, uint256 needed, uint256 locked);
    /// @notice The multiproof (or proof) does not prove these members under the segment's root.
    error CohortBookInvalidProof(uint64 cohortId, uint16 segment);
    /// @notice An empty batch, or one above `MAX_BATCH`.
    error CohortBookInvalidBatch(uint256 size);
    /// @notice Only the cohort's distributor may do this.
    error CohortBookNotDistributor(uint64 cohortId, address caller);
    /// @notice The cover has ended (no more segments or removals).
    error CohortBookCoverEnded(uint64 cohortId, uint40 coverEnd);
    /// @notice The claim window is still open until `closesAt`.
    error CohortBookNotClosable(uint64 cohortId, uint256 closesAt);
    /// @notice Unused since session 21, kept for the ABI: a segment that opened 255 rounds is
    /// skipped by `settle` (its later growth is not paid automatically) instead of reverting,
    /// which blocked the cohort's other segments and every removal.
    error CohortBookTooManyRounds(uint64 cohortId, uint16 segment);
    /// @notice The cohort already holds `MAX_SEGMENTS` segments.
    error CohortBookTooManySegments(uint64 cohortId);
    /// @notice The cohort or segment record passed does not hash to the stored one.
    error CohortBookRecordMismatch(uint64 cohortId, uint16 segment);
    /// @notice `settle` and `removeMembers` take every segment's record, in order.
    error CohortBookSegmentsMismatch(uint64 cohortId, uint256 given, uint16 segmentCount);
    /// @notice A member in a removal is not removable: index out of range or already removed.
    error CohortBookNotRemovable(uint64 cohortId, uint16 segment, uint32 index);

    /// @notice Issues a cohort (segment 0): collects `premium` from the caller and locks `totalLimit`.
    /// The report is checked as PolicyBook checks it; the premium floor is per member
    /// (`minPremium × count`) and the `minRatePpm` rate on `totalLimit` for the cover period; the
    /// product's exposure and event caps count cohorts too.
    function issueCohort(CohortTerms calldata t, bytes32 root, uint32 count, uint96 totalLimit, uint96 premium)
        external
        returns (uint64 cohortId);

    /// @notice Appends a segment (new customers, covered from now to the cohort's cover end),
    /// by the cohort's distributor before cover end: collects `premium` (floor as for issuance,
    /// for the remaining period) and locks `totalLimit`.
    /// `c` and `s0` are the cohort's record (segment 0's).
    function addSegment(
        uint64 cohortId,
        Cohort calldata c,
        Segment calldata s0,
        bytes32 root,
        uint32 count,
        uint96 totalLimit,
        uint96 premium
    ) external returns (uint16 segment);

    /// @notice Anyone: opens a round in every segment whose level grew. Returns how many opened.
    /// A segment that already opened 255 rounds opens no more (the others go on).
    /// `segments`: every segment's record, in order.
    function settle(uint64 cohortId, Cohort calldata c, Segment[] calldata segments) external returns (uint256 opened);

    /// @notice Anyone: pays `members` of `segment` what round `round` owes them. The multiproof
    /// must prove them (in proof order); members already paid in the round, removed, with an
    /// index ≥ count or a zero beneficiary are skipped. One `CohortPaid` per batch.
    function payBatch(
        uint64 cohortId,
        uint8 round,
        uint16 segment,
        Cohort calldata c,
        Segment calldata s,
        Member[] calldata members,
        bytes32[] calldata proof,
        bool[] calldata proofFlags
    ) external returns (uint256 paidCount, uint256 amount);

    /// @notice Anyone: pays one member what round `round` owes it (a pull with its own proof).
    function claim(
        uint64 cohortId,
        uint8 round,
        uint16 segment,
        Cohort calldata c,
        Segment calldata s,
        Member calldata m,
        bytes32[] calldata proof
    ) external returns (uint96 amount);

    /// @notice The cohort's distributor, before cover end: settles the cohort, pays the removed
    /// members what open rounds still owe them, then releases their limits minus what they were
    /// paid and refunds the unexpired premium of their share (premium × limit / totalLimit ×
    /// time left / segment cover) less the product's `cancellationFee` per removed member (not
    /// below 0), as a policy's cancellation does. Removed members are paid in no later round.
    /// `segments`: every segment's record, in order (the settlement reads them all).
    function removeMembers(
        uint64 cohortId,
        uint16 segment,
        Cohort calldata c,
        Segment[] calldata segments,
        Member[] calldata members,
        bytes32[] calldata proof,
        bool[] calldata proofFlags
    ) external returns (uint96 released, uint96 refund);

    /// @notice Anyone, after `closesAt(cohortId)` (cover end + grace + the product's claim
    /// window): releases everything still locked. Increments not paid by then are forfeited.
    function close(uint64 cohortId, Cohort calldata c, Segment calldata s0) external returns (uint96 released);

    /// @notice Most members per `payBatch` / `removeMembers`.
    function MAX_BATCH() external view returns (uint256);
    /// @notice Most segments per cohort.
    function MAX_SEGMENTS() external view returns (uint256);
    /// @notice Most episode windows `settle` reads (as PolicyBook).
    function MAX_EPISODE_WINDOWS() external view returns (uint256);
    /// @notice The cohort's changing state (`segmentCount` 0: no such cohort).
    function cohort(uint64 cohortId) external view returns (CohortState memory);
    /// @notice The segment's changing state.
    function segment(uint64 cohortId, uint16 index) external view returns (SegmentState memory);
    /// @notice The stored hash of segment `index`'s record (0: no such segment).
    function recordHash(uint64 cohortId, uint16 index) external view returns (bytes32);
    /// @notice `keccak256(abi.encode(c, s))`: a segment's record hash.
    function hashRecord(Cohort calldata c, Segment calldata s) external pure returns (bytes32);
    /// @notice Level of round `round` of the segment (0 for round 0 and unopened rounds).
    function roundLevel(uint64 cohortId, uint16 segmentIndex, uint8 round) external view returns (uint96);
    /// @notice Whether member `index` of the segment was paid in round `round`.
    function isPaid(uint64 cohortId, uint16 segmentIndex, uint8 round, uint32 index) external view returns (bool);
    /// @notice Whether member `index` of the segment was removed.
    function isRemoved(uint64 cohortId, uint16 segmentIndex, uint32 index) external view returns (bool);
    /// @notice Words `fromWord ..` of the round's paid bitmap (bit i of word w: index 256·w + i).
    function paidBitmap(uint64 cohortId, uint16 segmentIndex, uint8 round, uint256 fromWord, uint256 words)
        external
        view
        returns (uint256[] memory);
    /// @notice Words `fromWord ..` of the segment's removed bitmap.
    function removedBitmap(uint64 cohortId, uint16 segmentIndex, uint256 fromWord, uint256 words)
        external
        view
        returns (uint256[] memory);
    /// @notice When `close` becomes possible for a cohort of this record (not checked against
    /// the stored hash: `close` checks it).
    function closesAt(Cohort calldata c) external view returns (uint256);
    /// @notice Number of cohorts issued (ids are 1..count).
    function cohortCount() external view returns (uint64);
    /// @notice The leaf of a member (the double-hashed standard leaf).
    function leafOf(Member calldata m) external pure returns (bytes32);
    /// @notice The policy book whose products and roles cohorts use.
    function book() external view returns (IPolicyBook);
    /// @notice The pool holding cohort collateral.
    function pool() external view returns (ICoverPool);
    /// @notice The outage oracle.
    function oracle() external view returns (IOutageOracle);
}
