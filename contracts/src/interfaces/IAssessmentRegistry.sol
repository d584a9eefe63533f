// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IAssessmentRegistry
/// @notice Anchors cyber risk-assessment reports (T/SNISA 04002—2025) so that anyone can check who
/// assessed what, when, and whether the report still stands. Only the 32-byte keccak256 of a
/// report's canonical JSON (RFC 8785) goes on-chain; the document itself lives off-chain.
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

    /// @notice A singly anchored report. Packs into one storage slot (160+40+16+8+8+8 bits).
    struct Anchor {
        address assessor;
        uint40 anchoredAt;
        uint16 scoreBps;
        RiskLevel riskLevel;
        ReportKind kind;
        bool revoked;
    }

    /// @notice An anchored Merkle batch of reports, keyed by its root. One storage slot.
    struct Batch {
        address assessor;
        uint40 anchoredAt;
        uint32 count;
        bool revoked;
    }

    /// @notice What an auditor gets back from `verify` / `verifyInBatch`.
    /// `valid` means: anchored by an assessor accredited at the time, and not revoked.
    /// A superseded report is still authentic; `supersededBy` names its successor.
    struct Verification {
        bool valid;
        address assessor;
        uint8 assessorCapability;
        uint40 anchoredAt;
        uint16 scoreBps;
        RiskLevel riskLevel;
        ReportKind kind;
        bool revoked;
        bytes32 supersededBy;
    }

    /// @notice Assessor capability (Appendix B) set; `capability < 70` removes accreditation.
    event AssessorAccredited(address indexed assessor, uint8 capability, bool preferred);
    /// @notice A report was anchored. `subject` is the salted commitment to the assessed organisation.
    event ReportAnchored(
        bytes32 indexed reportHash,
        address indexed assessor,
        bytes32 indexed subject,
        uint16 scoreBps,
        RiskLevel riskLevel,
        ReportKind kind
    );
    event ReportSuperseded(bytes32 indexed previous, bytes32 indexed successor);
    event ReportRevoked(bytes32 indexed reportHash, address indexed by);
    event BatchAnchored(bytes32 indexed root, address indexed assessor, uint32 count, string uri);
    event BatchRevoked(bytes32 indexed root, address indexed by);

    error AssessmentRegistryZeroAddress();
    error AssessmentRegistryInvalidCapability(uint8 capability);
    error AssessmentRegistryNotAccredited(address assessor, uint8 capability);
    error AssessmentRegistryZeroHash();
    error AssessmentRegistryInvalidScore(uint16 scoreBps);
    error AssessmentRegistryAlreadyAnchored(bytes32 reportHash);
    error AssessmentRegistryUnknownReport(bytes32 reportHash);
    error AssessmentRegistryNotReportAssessor(bytes32 reportHash, address caller);
    error AssessmentRegistryAlreadyRevoked(bytes32 reportHash);
    error AssessmentRegistryAlreadySuperseded(bytes32 previous, bytes32 successor);
    error AssessmentRegistrySignatureExpired(uint64 deadline, uint256 nowTime);
    error AssessmentRegistryInvalidSignature();
    error AssessmentRegistryEmptyBatch();
    error AssessmentRegistryUnknownBatch(bytes32 root);

    /// @notice Sets an assessor's Appendix B capability score (0–100). ≥ 70 may anchor, ≥ 85 is preferred.
    function setAssessor(address assessor, uint8 capability) external;

    /// @notice Anchors a report sent by its assessor. `replaces` (or zero) names the report it supersedes.
    function anchor(
        bytes32 reportHash,
        uint16 scoreBps,
        RiskLevel riskLevel,
        ReportKind kind,
        bytes32 subject,
        bytes32 replaces
    ) external;

    /// @notice Same as `anchor`, relayed by anyone with the assessor's EIP-712 `Anchor` signature.
    /// No nonce is needed: a report hash can be anchored once, so a signature cannot be replayed.
    function anchorBySig(
        bytes32 reportHash,
        uint16 scoreBps,
        RiskLevel riskLevel,
        ReportKind kind,
        bytes32 subject,
        bytes32 replaces,
        uint64 deadline,
        bytes32 r,
        bytes32 vs
    ) external returns (address assessor);

    /// @notice Anchors a Merkle root over `count` report hashes (leaf = keccak256(keccak256(reportHash))).
    function anchorBatch(bytes32 root, uint32 count, string calldata uri) external;

    /// @notice Same as `anchorBatch`, relayed with the assessor's EIP-712 `AnchorBatch` signature.
    function anchorBatchBySig(bytes32 root, uint32 count, string calldata uri, uint64 deadline, bytes32 r, bytes32 vs)
        external
        returns (address assessor);

    /// @notice Revokes a singly anchored report; its assessor or an admin may.
    function revoke(bytes32 reportHash) external;

    /// @notice Revokes a whole batch; its assessor or an admin may.
    function revokeBatch(bytes32 root) external;

    function verify(bytes32 reportHash) external view returns (Verification memory);

    function verifyInBatch(bytes32 reportHash, bytes32[] calldata proof, bytes32 root)
        external
        view
        returns (Verification memory);

    /// @notice Cheap check used at underwriting: a live (anchored, unrevoked, unsuperseded) report and its level.
    function underwritingStatus(bytes32 reportHash, bytes32 subject) external view returns (bool live, RiskLevel riskLevel, ReportKind kind);

    function capabilityOf(address assessor) external view returns (uint8);

    function anchorOf(bytes32 reportHash) external view returns (Anchor memory);

    function batchOf(bytes32 root) external view returns (Batch memory);

    function successorOf(bytes32 reportHash) external view returns (bytes32);
}
