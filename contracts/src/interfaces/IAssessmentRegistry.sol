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
    event AssessorAccredited(address indexed assessor, uint32 indexed index, uint8 capability, bool preferred);
    /// @notice A report was anchored under `anchorIdOf(assessor, reportHash)`. `subject` is the full
    /// subject commitment (see the contract notes). The figures (score, level, kind) are in the
    /// anchor's slot (`anchorOf`), not repeated here: that keeps anchoring under 50,000 gas.
    event ReportAnchored(bytes32 indexed reportHash, address indexed assessor, bytes32 indexed subject);
    /// @notice Anchor `previous` was superseded by anchor `successor` (both anchor ids).
    event ReportSuperseded(bytes32 indexed previous, bytes32 indexed successor);
    event ReportRevoked(bytes32 indexed anchorId, address indexed by);
    event BatchAnchored(bytes32 indexed root, address indexed assessor, uint32 count, string uri);
    event BatchRevoked(bytes32 indexed batchId, address indexed by);

    error AssessmentRegistryZeroAddress();
    error AssessmentRegistryInvalidCapability(uint8 capability);
    error AssessmentRegistryNotAccredited(address assessor, uint8 capability);
    error AssessmentRegistryZeroHash();
    error AssessmentRegistryZeroSubject();
    error AssessmentRegistryInvalidScore(uint16 scoreBps);
    /// @notice `assessor` already anchored `hash` (a report hash or a batch root).
    error AssessmentRegistryAlreadyAnchored(address assessor, bytes32 hash);
    error AssessmentRegistryUnknownReport(bytes32 anchorId);
    error AssessmentRegistryNotReportAssessor(bytes32 id, address caller);
    error AssessmentRegistryAlreadyRevoked(bytes32 id);
    error AssessmentRegistryAlreadySuperseded(bytes32 previous, bytes32 successor);
    /// @notice An in-policy report must name the report it re-rates in `replaces`.
    error AssessmentRegistryInPolicyNotSuccessor(bytes32 reportHash);
    /// @notice A report may supersede only a report of the same subject.
    error AssessmentRegistrySubjectMismatch(bytes32 previous);
    /// @notice Incident reports supersede only incident reports; underwriting kinds only underwriting kinds.
    error AssessmentRegistryKindMismatch(bytes32 previous, ReportKind previousKind, ReportKind kind);
    error AssessmentRegistrySignatureExpired(uint64 deadline, uint256 nowTime);
    error AssessmentRegistryInvalidSignature();
    error AssessmentRegistryEmptyBatch();
    error AssessmentRegistryUnknownBatch(bytes32 batchId);

    /// @notice Sets an assessor's Appendix B capability score (0–100). ≥ 70 may anchor and keeps its
    /// live reports usable for underwriting; ≥ 85 is preferred.
    function setAssessor(address assessor, uint8 capability) external;

    /// @notice Anchors a report sent by its assessor; returns its anchor id. `replaces` (or zero) is
    /// the anchor id of the caller's report it supersedes; an in-policy report must name one.
    /// @dev Parameter order is chosen so the selector (0x0101e034) sorts first in the dispatcher.
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
    function anchorBatch(bytes32 root, uint32 count, string calldata uri) external returns (bytes32 batchId);

    /// @notice Same as `anchorBatch`, relayed with the assessor's EIP-712 `AnchorBatch` signature.
    function anchorBatchBySig(bytes32 root, uint32 count, string calldata uri, uint64 deadline, bytes32 r, bytes32 vs)
        external
        returns (address assessor, bytes32 batchId);

    /// @notice Revokes a singly anchored report; its assessor or an admin may.
    function revoke(bytes32 anchorId) external;

    /// @notice Revokes a whole batch; its assessor or an admin may.
    function revokeBatch(bytes32 batchId) external;

    /// @notice Is `reportHash` anchored by `assessor` (the assessor the document names)?
    function verify(address assessor, bytes32 reportHash) external view returns (Verification memory);

    /// @notice Is `reportHash` a member of the batch `root` anchored by `assessor`?
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

    /// @notice Deprecated: the gate without the subject binding, kept only while PolicyBook still
    /// calls it (remove it when the book calls the two-argument form). Same checks otherwise.
    function underwritingStatus(bytes32 reportHash) external view returns (bool live, RiskLevel riskLevel, ReportKind kind);

    function capabilityOf(address assessor) external view returns (uint8);

    /// @notice The assessor's permanent index (0: never accredited).
    function assessorIndexOf(address assessor) external view returns (uint32);

    /// @notice The assessor with index `index` (zero address if none).
    function assessorAt(uint32 index) external view returns (address);

    /// @notice How many assessors have ever been accredited (indices are 1..assessorCount).
    function assessorCount() external view returns (uint32);

    function anchorOf(bytes32 anchorId) external view returns (Anchor memory);

    function batchOf(bytes32 batchId) external view returns (Batch memory);

    /// @notice The anchor id of the report that superseded `anchorId` (zero if none).
    function successorOf(bytes32 anchorId) external view returns (bytes32);

    /// @notice `keccak256(abi.encode(assessor, hash))`: the anchor id of a report hash, or the id of a
    /// batch root.
    function anchorIdOf(address assessor, bytes32 hash) external pure returns (bytes32);

    /// @notice `keccak256(abi.encode(policySubject, serviceId))`: the subject an incident report about
    /// an outage of `serviceId` for the insured `policySubject` is anchored for.
    function incidentSubjectOf(bytes32 policySubject, bytes32 serviceId) external pure returns (bytes32);
}
