// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IAssessmentRegistry} from "./interfaces/IAssessmentRegistry.sol";

/// @title AssessmentRegistry
/// @notice Accredited assessors anchor report hashes, singly (bound to a subject) or as Merkle
/// batches, each under an id that commits to the assessor. See IAssessmentRegistry for the rules.
contract AssessmentRegistry is IAssessmentRegistry, AccessControl, EIP712 {
    /// @inheritdoc IAssessmentRegistry
    bytes32 public constant ACCREDITOR_ROLE = keccak256("ACCREDITOR_ROLE");

    /// @inheritdoc IAssessmentRegistry
    uint8 public constant MIN_ACCREDITED = 70;
    /// @inheritdoc IAssessmentRegistry
    uint8 public constant MIN_PREFERRED = 85;
    uint16 private constant _MAX_SCORE_BPS = 10_000;

    /// @inheritdoc IAssessmentRegistry
    bytes32 public constant ANCHOR_TYPEHASH = keccak256(
        "Anchor(bytes32 reportHash,uint16 scoreBps,uint8 riskLevel,uint8 kind,bytes32 subject,bytes32 replaces,uint64 deadline)"
    );
    /// @inheritdoc IAssessmentRegistry
    bytes32 public constant ANCHOR_BATCH_TYPEHASH =
        keccak256("AnchorBatch(bytes32 root,uint32 count,string uri,uint64 deadline)");

    /// @dev The capability is kept by address (read when anchoring) and by index (read by the
    /// underwriting gate, which knows the index from the anchor): one slot read either way.
    struct AssessorByAddress {
        uint32 index;
        uint8 capability;
    }

    struct AssessorByIndex {
        address account;
        uint8 capability;
    }

    uint32 private _assessorCount;
    mapping(address assessor => AssessorByAddress) private _assessors;
    mapping(uint32 index => AssessorByIndex) private _assessorsByIndex;
    mapping(bytes32 anchorId => Anchor) private _anchors;
    mapping(bytes32 anchorId => bytes32 successor) private _successor;
    mapping(bytes32 batchId => Batch) private _batches;

    constructor(address admin) EIP712("CyberCover AssessmentRegistry", "1") {
        if (admin == address(0)) revert AssessmentRegistryZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(ACCREDITOR_ROLE, admin);
    }

    /// @inheritdoc IAssessmentRegistry
    function setAssessor(address assessor, uint8 capability) external onlyRole(ACCREDITOR_ROLE) {
        if (assessor == address(0)) revert AssessmentRegistryZeroAddress();
        if (capability > 100) revert AssessmentRegistryInvalidCapability(capability);
        uint32 index = _assessors[assessor].index;
        if (index == 0 && capability >= MIN_ACCREDITED) {
            index = ++_assessorCount;
            _assessorsByIndex[index].account = assessor;
        }
        _assessors[assessor] = AssessorByAddress(index, capability);
        if (index != 0) _assessorsByIndex[index].capability = capability;
        emit AssessorAccredited(assessor, index, capability, capability >= MIN_PREFERRED);
    }

    /// @inheritdoc IAssessmentRegistry
    function anchor(
        bytes32 reportHash,
        uint16 scoreBps,
        RiskLevel riskLevel,
        bytes32 subject,
        bytes32 replaces,
        ReportKind kind
    ) external returns (bytes32 anchorId) {
        return _anchor(msg.sender, reportHash, scoreBps, riskLevel, subject, replaces, kind);
    }

    /// @inheritdoc IAssessmentRegistry
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
    ) external returns (address assessor, bytes32 anchorId) {
        _checkDeadline(deadline);
        bytes32 structHash = keccak256(
            abi.encode(ANCHOR_TYPEHASH, reportHash, scoreBps, riskLevel, kind, subject, replaces, deadline)
        );
        assessor = _recover(structHash, r, vs);
        anchorId = _anchor(assessor, reportHash, scoreBps, riskLevel, subject, replaces, kind);
    }

    /// @inheritdoc IAssessmentRegistry
    function anchorBatch(bytes32 root, uint32 count, string calldata uri) external returns (bytes32 batchId) {
        return _anchorBatch(msg.sender, root, count, uri);
    }

    /// @inheritdoc IAssessmentRegistry
    function anchorBatchBySig(bytes32 root, uint32 count, string calldata uri, uint64 deadline, bytes32 r, bytes32 vs)
        external
        returns (address assessor, bytes32 batchId)
    {
        _checkDeadline(deadline);
        bytes32 structHash =
            keccak256(abi.encode(ANCHOR_BATCH_TYPEHASH, root, count, keccak256(bytes(uri)), deadline));
        assessor = _recover(structHash, r, vs);
        batchId = _anchorBatch(assessor, root, count, uri);
    }

    /// @inheritdoc IAssessmentRegistry
    function revoke(bytes32 anchorId) external {
        Anchor storage a = _anchors[anchorId];
        if (a.anchoredAt == 0) revert AssessmentRegistryUnknownReport(anchorId);
        _checkRevoker(anchorId, _assessorsByIndex[a.assessorIndex].account);
        if (a.revoked) revert AssessmentRegistryAlreadyRevoked(anchorId);
        a.revoked = true;
        emit ReportRevoked(anchorId, msg.sender);
    }

    /// @inheritdoc IAssessmentRegistry
    function revokeBatch(bytes32 batchId) external {
        Batch storage b = _batches[batchId];
        if (b.anchoredAt == 0) revert AssessmentRegistryUnknownBatch(batchId);
        _checkRevoker(batchId, b.assessor);
        if (b.revoked) revert AssessmentRegistryAlreadyRevoked(batchId);
        b.revoked = true;
        emit BatchRevoked(batchId, msg.sender);
    }

    /// @inheritdoc IAssessmentRegistry
    function verify(address assessor, bytes32 reportHash) external view returns (Verification memory v) {
        bytes32 id = _idOf(assessor, reportHash);
        Anchor memory a = _anchors[id];
        if (a.anchoredAt == 0) return v;
        v = Verification({
            valid: !a.revoked,
            assessor: assessor,
            assessorCapability: _assessors[assessor].capability,
            anchoredAt: a.anchoredAt,
            scoreBps: a.scoreBps,
            riskLevel: a.riskLevel,
            kind: a.kind,
            subject: a.subject,
            revoked: a.revoked,
            supersededBy: _successor[id]
        });
    }

    /// @inheritdoc IAssessmentRegistry
    function verifyInBatch(address assessor, bytes32 reportHash, bytes32[] calldata proof, bytes32 root)
        external
        view
        returns (Verification memory v)
    {
        Batch memory b = _batches[_idOf(assessor, root)];
        if (b.anchoredAt == 0) return v;
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(reportHash))));
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) return v;
        v.valid = !b.revoked;
        v.assessor = b.assessor;
        v.assessorCapability = _assessors[b.assessor].capability;
        v.anchoredAt = b.anchoredAt;
        v.revoked = b.revoked;
    }

    /// @inheritdoc IAssessmentRegistry
    function underwritingStatus(bytes32 reportHash, bytes32 subject)
        external
        view
        returns (bool live, RiskLevel riskLevel, ReportKind kind)
    {
        Anchor memory a = _anchors[reportHash];
        live = a.subject == bytes16(subject) && _usable(a);
        return (live, a.riskLevel, a.kind);
    }

    /// @inheritdoc IAssessmentRegistry
    function capabilityOf(address assessor) external view returns (uint8) {
        return _assessors[assessor].capability;
    }

    /// @inheritdoc IAssessmentRegistry
    function assessorIndexOf(address assessor) external view returns (uint32) {
        return _assessors[assessor].index;
    }

    /// @inheritdoc IAssessmentRegistry
    function assessorAt(uint32 index) external view returns (address) {
        return _assessorsByIndex[index].account;
    }

    /// @inheritdoc IAssessmentRegistry
    function assessorCount() external view returns (uint32) {
        return _assessorCount;
    }

    /// @inheritdoc IAssessmentRegistry
    function anchorOf(bytes32 anchorId) external view returns (Anchor memory) {
        return _anchors[anchorId];
    }

    /// @inheritdoc IAssessmentRegistry
    function batchOf(bytes32 batchId) external view returns (Batch memory) {
        return _batches[batchId];
    }

    /// @inheritdoc IAssessmentRegistry
    function successorOf(bytes32 anchorId) external view returns (bytes32) {
        return _successor[anchorId];
    }

    /// @inheritdoc IAssessmentRegistry
    function anchorIdOf(address assessor, bytes32 hash) external pure returns (bytes32) {
        return _idOf(assessor, hash);
    }

    /// @inheritdoc IAssessmentRegistry
    function incidentSubjectOf(bytes32 policySubject, bytes32 serviceId) external pure returns (bytes32) {
        return Hashes.efficientKeccak256(policySubject, serviceId);
    }

    /// @inheritdoc IAssessmentRegistry
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function _anchor(
        address assessor,
        bytes32 reportHash,
        uint16 scoreBps,
        RiskLevel riskLevel,
        bytes32 subject,
        bytes32 replaces,
        ReportKind kind
    ) private returns (bytes32 id) {
        AssessorByAddress memory who = _assessors[assessor];
        if (who.capability < MIN_ACCREDITED) revert AssessmentRegistryNotAccredited(assessor, who.capability);
        if (reportHash == bytes32(0)) revert AssessmentRegistryZeroHash();
        if (subject == bytes32(0)) revert AssessmentRegistryZeroSubject();
        if (scoreBps > _MAX_SCORE_BPS) revert AssessmentRegistryInvalidScore(scoreBps);
        id = _idOf(assessor, reportHash);
        Anchor storage a = _anchors[id];
        if (a.anchoredAt != 0) revert AssessmentRegistryAlreadyAnchored(assessor, reportHash);

        if (replaces != bytes32(0)) {
            _supersede(assessor, who.index, replaces, id, bytes16(subject), kind);
        } else if (kind == ReportKind.InPolicy) {
            revert AssessmentRegistryInPolicyNotSuccessor(reportHash);
        }
        _store(a, who.index, scoreBps, riskLevel, kind, bytes16(subject));
        emit ReportAnchored(reportHash, assessor, subject);
    }

    /// @dev Only the assessor of a live report may supersede it, with a report of the same subject
    /// and a compatible kind (incident ↔ incident, underwriting kinds among themselves).
    function _supersede(
        address assessor,
        uint32 index,
        bytes32 previous,
        bytes32 successor,
        bytes16 subject,
        ReportKind kind
    ) private {
        Anchor storage old = _anchors[previous];
        if (old.anchoredAt == 0) revert AssessmentRegistryUnknownReport(previous);
        if (old.assessorIndex != index) revert AssessmentRegistryNotReportAssessor(previous, assessor);
        if (old.revoked) revert AssessmentRegistryAlreadyRevoked(previous);
        if (old.superseded) revert AssessmentRegistryAlreadySuperseded(previous, _successor[previous]);
        if (old.subject != subject) revert AssessmentRegistrySubjectMismatch(previous);
        if ((old.kind == ReportKind.Incident) != (kind == ReportKind.Incident)) {
            revert AssessmentRegistryKindMismatch(previous, old.kind, kind);
        }
        old.superseded = true;
        _successor[previous] = successor;
        emit ReportSuperseded(previous, successor);
    }

    function _anchorBatch(address assessor, bytes32 root, uint32 count, string calldata uri)
        private
        returns (bytes32 id)
    {
        uint8 capability = _assessors[assessor].capability;
        if (capability < MIN_ACCREDITED) revert AssessmentRegistryNotAccredited(assessor, capability);
        if (root == bytes32(0)) revert AssessmentRegistryZeroHash();
        if (count == 0) revert AssessmentRegistryEmptyBatch();
        id = _idOf(assessor, root);
        if (_batches[id].anchoredAt != 0) revert AssessmentRegistryAlreadyAnchored(assessor, root);
        _batches[id] = Batch({assessor: assessor, anchoredAt: uint40(block.timestamp), count: count, revoked: false});
        emit BatchAnchored(root, assessor, count, uri);
    }

    /// @dev Writes a new `Anchor` (not revoked, not superseded) with one SSTORE: Solidity writes a
    /// struct literal member by member (five SSTOREs into the same slot here). The bit offsets are
    /// the compiler's layout of `Anchor`; a test reads the word back through `anchorOf`.
    function _store(
        Anchor storage slot,
        uint32 assessorIndex,
        uint16 scoreBps,
        RiskLevel riskLevel,
        ReportKind kind,
        bytes16 subject
    ) private {
        uint256 word = uint256(assessorIndex) | uint256(uint40(block.timestamp)) << 32 | uint256(scoreBps) << 72
            | uint256(riskLevel) << 88 | uint256(kind) << 96 | uint256(uint128(subject)) << 120;
        assembly ("memory-safe") {
            sstore(slot.slot, word)
        }
    }

    /// @dev Anchored, not revoked, not superseded, and its assessor accredited now.
    function _usable(Anchor memory a) private view returns (bool) {
        return a.anchoredAt != 0 && !a.revoked && !a.superseded
            && _assessorsByIndex[a.assessorIndex].capability >= MIN_ACCREDITED;
    }

    function _checkRevoker(bytes32 id, address assessor) private view {
        if (msg.sender != assessor && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert AssessmentRegistryNotReportAssessor(id, msg.sender);
        }
    }

    function _checkDeadline(uint64 deadline) private view {
        if (block.timestamp > deadline) revert AssessmentRegistrySignatureExpired(deadline, block.timestamp);
    }

    function _recover(bytes32 structHash, bytes32 r, bytes32 vs) private view returns (address signer) {
        ECDSA.RecoverError err;
        (signer, err,) = ECDSA.tryRecover(_hashTypedDataV4(structHash), r, vs);
        if (err != ECDSA.RecoverError.NoError) revert AssessmentRegistryInvalidSignature();
    }

    /// @dev keccak256(abi.encode(assessor, hash)), hashed in scratch space.
    function _idOf(address assessor, bytes32 hash) private pure returns (bytes32) {
        return Hashes.efficientKeccak256(bytes32(uint256(uint160(assessor))), hash);
    }
}
