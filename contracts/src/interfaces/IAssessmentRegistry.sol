// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IAssessmentRegistry
/// @notice Anchors cyber risk-assessment reports (T/SNISA 04002—2025) so that anyone can check who
/// assessed what, about whom, when, and whether the report still stands. Only the 32-byte keccak256
/// of a report's canonical JSON (RFC 8785), its figures and its subject commitment go on-chain; the
/// document itself lives off-chain.
///
/// **Anchors are per assessor.** A report is stored under its *anchor id*
/// `keccak256(abi.encode(assessor, reportHash))` (`anchorIdOf`), and a batch under
/// `keccak256(abi.encode(assessor, root))`. Nobody can take another assessor's report by anchoring
/// its hash first: a hostile accredited assessor who anchors the same hash only creates its own
/// anchor, under its own id, naming itself, which neither the document (it names its assessor) nor
/// the policy book (it holds the id) ever refers to. On-chain everything else takes the id:
/// `replaces`, `revoke`, `successorOf`, `anchorOf`, `underwritingStatus` and the policy book's
/// `PolicyTerms.reportHash`. An auditor holding a document recomputes its hash and calls
/// `verify(assessor the document names, hash)`.
///
/// **Subjects.** Every single anchor is bound to a `subject`: for pre-underwriting (§6) and in-policy
/// (§7) reports the salted commitment to the assessed organisation, the one the policy book passes as
/// the insured subject; for incident reports (§8) `incidentSubjectOf(policySubject, serviceId)`,
/// i.e. `keccak256(abi.encode(policySubject, serviceId))`, binding the incident to the insured
/// subject and the covered service. The full subject is in `ReportAnchored`; storage keeps its first
/// 128 bits (`bytes16(subject)`), enough that finding another subject with the same prefix (2^128
/// work) is infeasible.
///
/// **Kinds.** An in-policy report is accepted only as the successor (`replaces`) of a live
/// pre-underwriting or in-policy report of the same subject and assessor, so an in-policy report
/// the book sees is always a re-rating. An incident report may replace only an incident report; no
/// report may replace one of another subject.
///
/// **Roles.** `DEFAULT_ADMIN_ROLE` (the governance timelock in production) grants roles and may
/// revoke any report or batch; `ACCREDITOR_ROLE` sets assessor capabilities; an accredited
/// assessor anchors, and revokes its own anchors; the `BySig` variants are open to any relayer.
/// A call without its role reverts `AccessControlUnauthorizedAccount(caller, role)`.
interface IAssessmentRegistry {
    /// @notice Risk level of standard §6.5 Table 6, in on-chain order.
    enum RiskLevel {
        Low,
        Lower,
        Medium,
        High
    }

    /// @notice Pre-underwriting (§6), in-policy (§7) or incident (§8) assessment.
    enum ReportKind {
        PreUnderwriting,
        InPolicy,
        Incident
    }

    /// @notice A singly anchored report, keyed by its anchor id. One storage slot
    /// (32+40+16+8+8+8+8+128 = 248 bits).
    /// @dev `assessorIndex` is the assessor's index (`assessorAt`), given at its first accreditation;
    /// `subject` is the first 128 bits of the subject commitment; `superseded` mirrors `successorOf`
    /// so the underwriting check reads two slots only.
    struct Anchor {
        uint32 assessorIndex;
        uint40 anchoredAt;
        uint16 scoreBps;
        RiskLevel riskLevel;
        ReportKind kind;
        bool revoked;
        bool superseded;
        bytes16 subject;
    }

    /// @notice An anchored Merkle batch of reports, keyed by `keccak256(abi.encode(assessor, root))`.
    /// One storage slot.
    struct Batch {
        address assessor;
        uint40 anchoredAt;
        uint32 count;
        bool revoked;
    }

    /// @notice What an auditor gets back from `verify` / `verifyInBatch`.
    /// `valid` means: anchored by this assessor while it was accredited, and not revoked.
    /// `assessorCapability` is the assessor's capability now. A superseded report is still
    /// authentic; `supersededBy` names its successor's anchor id. Batch members carry no figures
    /// and no subject (those live in the documents the leaves commit to).
    struct Verification {
        bool valid;
        address assessor;
        uint8 assessorCapability;
        uint40 anchoredAt;
        uint16 scoreBps;
        RiskLevel riskLevel;
        ReportKind kind;
        bytes16 subject;
        bool revoked;
        bytes32 supersededBy;
    }

    /// @notice Assessor capability (Appendix B) set; `capability < 70` removes accreditation. `index`
    /// is the assessor's permanent index, given at its first accreditation (0: never accredited).
    /// `preferred`: capability ≥ `MIN_PREFERRED`.
    event AssessorAccredited(address indexed assessor, uint32 indexed index, uint8 capability, bool preferred);
    /// @notice A report was anchored under `anchorIdOf(assessor, reportHash)`. `subject` is the full
    /// subject commitment (see the contract notes). The figures (score, level, kind) are in the
    /// anchor's slot (`anchorOf`), not repeated here: that keeps anchoring under 50,000 gas.
    event ReportAnchored(bytes32 indexed reportHash, address indexed assessor, bytes32 indexed subject);
    /// @notice Anchor `previous` was superseded by anchor `successor` (both anchor ids).
    event ReportSuperseded(bytes32 indexed previous, bytes32 indexed successor);
    /// @notice Anchor `anchorId` was revoked by `by` (its assessor or an admin); for good.
    event ReportRevoked(bytes32 indexed anchorId, address indexed by);
    /// @notice `assessor` anchored the Merkle `root` over `count` reports under
    /// `anchorIdOf(assessor, root)`; `uri` says where the batch's documents are.
    event BatchAnchored(bytes32 indexed root, address indexed assessor, uint32 count, string uri);
    /// @notice Batch `batchId` was revoked by `by` (its assessor or an admin); for good.
    event BatchRevoked(bytes32 indexed batchId, address indexed by);

    /// @notice A zero address where an account is required (the admin or an assessor).
    error AssessmentRegistryZeroAddress();
    /// @notice A capability above 100.
    error AssessmentRegistryInvalidCapability(uint8 capability);
    /// @notice `assessor` (the caller or the signer) has capability below `MIN_ACCREDITED`.
    error AssessmentRegistryNotAccredited(address assessor, uint8 capability);
    /// @notice A zero report hash or batch root.
    error AssessmentRegistryZeroHash();
    /// @notice A single anchor with a zero subject.
    error AssessmentRegistryZeroSubject();
    /// @notice A score above 10,000 basis points.
    error AssessmentRegistryInvalidScore(uint16 scoreBps);
    /// @notice `assessor` already anchored `hash` (a report hash or a batch root).
    error AssessmentRegistryAlreadyAnchored(address assessor, bytes32 hash);
    /// @notice No report is anchored under `anchorId`.
    error AssessmentRegistryUnknownReport(bytes32 anchorId);
    /// @notice `caller` is not the assessor of anchor or batch `id` (nor, to revoke, an admin).
    error AssessmentRegistryNotReportAssessor(bytes32 id, address caller);
    /// @notice Anchor or batch `id` is revoked.
    error AssessmentRegistryAlreadyRevoked(bytes32 id);
    /// @notice Anchor `previous` was already superseded by `successor`.
    error AssessmentRegistryAlreadySuperseded(bytes32 previous, bytes32 successor);
    /// @notice An in-policy report must name the report it re-rates in `replaces`.
    error AssessmentRegistryInPolicyNotSuccessor(bytes32 reportHash);
    /// @notice A report may supersede only a report of the same subject.
    error AssessmentRegistrySubjectMismatch(bytes32 previous);
    /// @notice Incident reports supersede only incident reports; underwriting kinds only underwriting kinds.
    error AssessmentRegistryKindMismatch(bytes32 previous, ReportKind previousKind, ReportKind kind);
    /// @notice A relayed signature past its `deadline`.
    error AssessmentRegistrySignatureExpired(uint64 deadline, uint256 nowTime);
    /// @notice A relayed signature that does not recover (malformed or malleable).
    error AssessmentRegistryInvalidSignature();
    /// @notice A batch of zero reports.
    error AssessmentRegistryEmptyBatch();
    /// @notice No batch is anchored under `batchId`.
    error AssessmentRegistryUnknownBatch(bytes32 batchId);

    /// @notice Sets an assessor's Appendix B capability score (0–100). ≥ 70 may anchor and keeps its
    /// live reports usable for underwriting; ≥ 85 is preferred. Lowering it below 70 makes its
    /// reports unusable for underwriting (not invalid: `verify` still authenticates them).
    /// @dev Requirements: the caller has `ACCREDITOR_ROLE`. Emits {AssessorAccredited}. Reverts
    /// `AssessmentRegistryZeroAddress`, `AssessmentRegistryInvalidCapability`.
    function setAssessor(address assessor, uint8 capability) external;

    /// @notice Anchors a report sent by its assessor; returns its anchor id. `replaces` (or zero) is
    /// the anchor id of the caller's report it supersedes; an in-policy report must name one.
    /// @dev Parameter order is chosen so the selector (0x0101e034) sorts first in the dispatcher.
    /// Requirements: the caller is accredited (capability ≥ `MIN_ACCREDITED`). Emits
    /// {ReportSuperseded} (when `replaces` is set), then {ReportAnchored}. Reverts
    /// `AssessmentRegistryNotAccredited`, `AssessmentRegistryZeroHash`,
    /// `AssessmentRegistryZeroSubject`, `AssessmentRegistryInvalidScore`,
    /// `AssessmentRegistryAlreadyAnchored`, `AssessmentRegistryInPolicyNotSuccessor`; for
    /// `replaces`: `AssessmentRegistryUnknownReport`, `AssessmentRegistryNotReportAssessor`,
    /// `AssessmentRegistryAlreadyRevoked`, `AssessmentRegistryAlreadySuperseded`,
    /// `AssessmentRegistrySubjectMismatch`, `AssessmentRegistryKindMismatch`.
    /// @param reportHash keccak256 of the report's canonical JSON
    /// @param scoreBps the report's score, 0–10,000 basis points
    /// @param subject the subject commitment (see the contract notes)
    /// @param replaces the anchor id this report supersedes, or zero
    /// @return anchorId `anchorIdOf(msg.sender, reportHash)`
    function anchor(
        bytes32 reportHash,
        uint16 scoreBps,
        RiskLevel riskLevel,
        bytes32 subject,
        bytes32 replaces,
        ReportKind kind
    ) external returns (bytes32 anchorId);

    /// @notice Same as `anchor`, relayed by anyone with the assessor's EIP-712 `Anchor` signature.
    /// No nonce is needed: an assessor anchors a report hash once, so a signature cannot be replayed,
    /// and the id is the signer's, so a relayer cannot anchor it as anyone else.
    /// @dev Anyone may call; the signer must be accredited. Emits and reverts as {anchor}, plus
    /// `AssessmentRegistrySignatureExpired` and `AssessmentRegistryInvalidSignature`.
    /// @param deadline last block timestamp at which the signature is accepted
    /// @return assessor the signer
    /// @return anchorId `anchorIdOf(assessor, reportHash)`
    function anchorBySig(
        bytes32 reportHash,
        uint16 scoreBps,
        RiskLevel riskLevel,
        bytes32 subject,
        bytes32 replaces,
        ReportKind kind,
        uint64 deadline,
        bytes32 r,
        bytes32 vs
    ) external returns (address assessor, bytes32 anchorId);

    /// @notice Anchors a Merkle root over `count` report hashes (leaf = keccak256(keccak256(reportHash))).
    /// @dev Requirements: the caller is accredited. Emits {BatchAnchored}. Reverts
    /// `AssessmentRegistryNotAccredited`, `AssessmentRegistryZeroHash`,
    /// `AssessmentRegistryEmptyBatch`, `AssessmentRegistryAlreadyAnchored`.
    /// @return batchId `anchorIdOf(msg.sender, root)`
    function anchorBatch(bytes32 root, uint32 count, string calldata uri) external returns (bytes32 batchId);

    /// @notice Same as `anchorBatch`, relayed with the assessor's EIP-712 `AnchorBatch` signature.
    /// @dev Anyone may call; the signer must be accredited. Emits and reverts as {anchorBatch},
    /// plus `AssessmentRegistrySignatureExpired` and `AssessmentRegistryInvalidSignature`.
    /// @return assessor the signer
    /// @return batchId `anchorIdOf(assessor, root)`
    function anchorBatchBySig(bytes32 root, uint32 count, string calldata uri, uint64 deadline, bytes32 r, bytes32 vs)
        external
        returns (address assessor, bytes32 batchId);

    /// @notice Revokes a singly anchored report, for good; its assessor or an admin may.
    /// @dev Requirements: the caller is the report's assessor or has `DEFAULT_ADMIN_ROLE`. Emits
    /// {ReportRevoked}. Reverts `AssessmentRegistryUnknownReport`,
    /// `AssessmentRegistryNotReportAssessor`, `AssessmentRegistryAlreadyRevoked`.
    function revoke(bytes32 anchorId) external;

    /// @notice Revokes a whole batch, for good; its assessor or an admin may.
    /// @dev Requirements: the caller is the batch's assessor or has `DEFAULT_ADMIN_ROLE`. Emits
    /// {BatchRevoked}. Reverts `AssessmentRegistryUnknownBatch`,
    /// `AssessmentRegistryNotReportAssessor`, `AssessmentRegistryAlreadyRevoked`.
    function revokeBatch(bytes32 batchId) external;

    /// @notice Is `reportHash` anchored by `assessor` (the assessor the document names)? All
    /// fields zero when it is not.
    function verify(address assessor, bytes32 reportHash) external view returns (Verification memory);

    /// @notice Is `reportHash` a member of the batch `root` anchored by `assessor`? All fields
    /// zero when the batch is unknown or the proof fails.
    function verifyInBatch(address assessor, bytes32 reportHash, bytes32[] calldata proof, bytes32 root)
        external
        view
        returns (Verification memory);

    /// @notice The policy book's gate. `reportHash` is the report's anchor id (what
    /// `PolicyTerms.reportHash` carries). `live` is true only when that report is singly anchored,
    /// not revoked, not superseded, its assessor is accredited now (capability ≥ 70) and it was
    /// anchored for `subject`. The book checks `kind` itself: an incident report never underwrites;
    /// a claim decision calls `underwritingStatus(incidentId, incidentSubjectOf(policySubject,
    /// serviceId))` and requires `kind == Incident`.
    function underwritingStatus(bytes32 reportHash, bytes32 subject)
        external
        view
        returns (bool live, RiskLevel riskLevel, ReportKind kind);

    /// @notice The assessor's Appendix B capability score now (0: never set).
    function capabilityOf(address assessor) external view returns (uint8);

    /// @notice The assessor's permanent index (0: never accredited).
    function assessorIndexOf(address assessor) external view returns (uint32);

    /// @notice The assessor with index `index` (zero address if none).
    function assessorAt(uint32 index) external view returns (address);

    /// @notice How many assessors have ever been accredited (indices are 1..assessorCount).
    function assessorCount() external view returns (uint32);

    /// @notice The single anchor `anchorId` (all fields zero if there is none).
    function anchorOf(bytes32 anchorId) external view returns (Anchor memory);

    /// @notice The batch `batchId` (all fields zero if there is none).
    function batchOf(bytes32 batchId) external view returns (Batch memory);

    /// @notice The anchor id of the report that superseded `anchorId` (zero if none).
    function successorOf(bytes32 anchorId) external view returns (bytes32);

    /// @notice `keccak256(abi.encode(assessor, hash))`: the anchor id of a report hash, or the id of a
    /// batch root.
    function anchorIdOf(address assessor, bytes32 hash) external pure returns (bytes32);

    /// @notice `keccak256(abi.encode(policySubject, serviceId))`: the subject an incident report about
    /// an outage of `serviceId` for the insured `policySubject` is anchored for.
    function incidentSubjectOf(bytes32 policySubject, bytes32 serviceId) external pure returns (bytes32);

    /// @notice The EIP-712 domain separator (chain id and this address are in it).
    function domainSeparator() external view returns (bytes32);

    /// @notice Role that sets assessor capabilities (the accreditation body).
    function ACCREDITOR_ROLE() external view returns (bytes32);

    /// @notice Capability at or above which an assessor is accredited (70).
    function MIN_ACCREDITED() external view returns (uint8);

    /// @notice Capability at or above which an assessor is preferred (85).
    function MIN_PREFERRED() external view returns (uint8);

    /// @notice The EIP-712 type hash of the `Anchor` message `anchorBySig` verifies.
    function ANCHOR_TYPEHASH() external view returns (bytes32);

    /// @notice The EIP-712 type hash of the `AnchorBatch` message `anchorBatchBySig` verifies.
    function ANCHOR_BATCH_TYPEHASH() external view returns (bytes32);
}
