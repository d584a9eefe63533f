// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IAssessmentRegistry} from "./interfaces/IAssessmentRegistry.sol";

/// @title AssessmentRegistry
/// @notice Accredited assessors anchor report hashes, singly or as Merkle batches.
contract AssessmentRegistry is IAssessmentRegistry, AccessControl, EIP712 {
    /// @notice May set assessor capability scores (the accreditation body).
    bytes32 public constant ACCREDITOR_ROLE = keccak256("ACCREDITOR_ROLE");

    uint8 public constant MIN_ACCREDITED = 70;
    uint8 public constant MIN_PREFERRED = 85;
    uint16 private constant _MAX_SCORE_BPS = 10_000;

    bytes32 public constant ANCHOR_TYPEHASH = keccak256(
        "Anchor(bytes32 reportHash,uint16 scoreBps,uint8 riskLevel,uint8 kind,bytes32 subject,bytes32 replaces,uint64 deadline)"
    );
    bytes32 public constant ANCHOR_BATCH_TYPEHASH =
        keccak256("AnchorBatch(bytes32 root,uint32 count,string uri,uint64 deadline)");

    mapping(address assessor => uint8 capability) private _capability;
    mapping(bytes32 reportHash => Anchor) private _anchors;
    mapping(bytes32 reportHash => bytes32 successor) private _successor;
    mapping(bytes32 root => Batch) private _batches;

    constructor(address admin) EIP712("CyberCover AssessmentRegistry", "1") {
        if (admin == address(0)) revert AssessmentRegistryZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(ACCREDITOR_ROLE, admin);
    }

    /// @inheritdoc IAssessmentRegistry
    function setAssessor(address assessor, uint8 capability) external onlyRole(ACCREDITOR_ROLE) {
        if (assessor == address(0)) revert AssessmentRegistryZeroAddress();
        if (capability > 100) revert AssessmentRegistryInvalidCapability(capability);
        _capability[assessor] = capability;
        emit AssessorAccredited(assessor, capability, capability >= MIN_PREFERRED);
    }

    /// @inheritdoc IAssessmentRegistry
    function anchor(
        bytes32 reportHash,
        uint16 scoreBps,
        RiskLevel riskLevel,
        ReportKind kind,
        bytes32 subject,
        bytes32 replaces
    ) external {
        _anchor(msg.sender, reportHash, scoreBps, riskLevel, kind, subject, replaces);
    }

    /// @inheritdoc IAssessmentRegistry
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
    ) external returns (address assessor) {
        _checkDeadline(deadline);
        bytes32 structHash = keccak256(
            abi.encode(ANCHOR_TYPEHASH, reportHash, scoreBps, riskLevel, kind, subject, replaces, deadline)
        );
        assessor = _recover(structHash, r, vs);
        _anchor(assessor, reportHash, scoreBps, riskLevel, kind, subject, replaces);
    }

    /// @inheritdoc IAssessmentRegistry
    function anchorBatch(bytes32 root, uint32 count, string calldata uri) external {
        _anchorBatch(msg.sender, root, count, uri);
    }

    /// @inheritdoc IAssessmentRegistry
    function anchorBatchBySig(bytes32 root, uint32 count, string calldata uri, uint64 deadline, bytes32 r, bytes32 vs)
        external
        returns (address assessor)
    {
        _checkDeadline(deadline);
        bytes32 structHash =
            keccak256(abi.encode(ANCHOR_BATCH_TYPEHASH, root, count, keccak256(bytes(uri)), deadline));
        assessor = _recover(structHash, r, vs);
        _anchorBatch(assessor, root, count, uri);
    }

    /// @inheritdoc IAssessmentRegistry
    function revoke(bytes32 reportHash) external {
        Anchor storage a = _anchors[reportHash];
        if (a.anchoredAt == 0) revert AssessmentRegistryUnknownReport(reportHash);
        _checkRevoker(reportHash, a.assessor);
        if (a.revoked) revert AssessmentRegistryAlreadyRevoked(reportHash);
        a.revoked = true;
        emit ReportRevoked(reportHash, msg.sender);
    }

    /// @inheritdoc IAssessmentRegistry
    function revokeBatch(bytes32 root) external {
        Batch storage b = _batches[root];
        if (b.anchoredAt == 0) revert AssessmentRegistryUnknownBatch(root);
        _checkRevoker(root, b.assessor);
        if (b.revoked) revert AssessmentRegistryAlreadyRevoked(root);
        b.revoked = true;
        emit BatchRevoked(root, msg.sender);
    }

    /// @inheritdoc IAssessmentRegistry
    function verify(bytes32 reportHash) external view returns (Verification memory v) {
        Anchor memory a = _anchors[reportHash];
        if (a.anchoredAt == 0) return v;
        v = Verification({
            valid: !a.revoked,
            assessor: a.assessor,
            assessorCapability: _capability[a.assessor],
            anchoredAt: a.anchoredAt,
            scoreBps: a.scoreBps,
            riskLevel: a.riskLevel,
            kind: a.kind,
            revoked: a.revoked,
            supersededBy: _successor[reportHash]
        });
    }

    /// @inheritdoc IAssessmentRegistry
    /// @dev Batch leaves carry no score or level: those live in the report the hash commits to.
    function verifyInBatch(bytes32 reportHash, bytes32[] calldata proof, bytes32 root)
        external
        view
        returns (Verification memory v)
    {
        Batch memory b = _batches[root];
        if (b.anchoredAt == 0) return v;
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(reportHash))));
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) return v;
        v.valid = !b.revoked;
        v.assessor = b.assessor;
        v.assessorCapability = _capability[b.assessor];
        v.anchoredAt = b.anchoredAt;
        v.revoked = b.revoked;
    }

    /// @inheritdoc IAssessmentRegistry
    function underwritingStatus(bytes32 reportHash, bytes32)
        external
        view
        returns (bool live, RiskLevel riskLevel, ReportKind kind)
    {
        Anchor memory a = _anchors[reportHash];
        live = a.anchoredAt != 0 && !a.revoked && _successor[reportHash] == bytes32(0);
        return (live, a.riskLevel, a.kind);
    }

    /// @inheritdoc IAssessmentRegistry
    function capabilityOf(address assessor) external view returns (uint8) {
        return _capability[assessor];
    }

    /// @inheritdoc IAssessmentRegistry
    function anchorOf(bytes32 reportHash) external view returns (Anchor memory) {
        return _anchors[reportHash];
    }

    /// @inheritdoc IAssessmentRegistry
    function batchOf(bytes32 root) external view returns (Batch memory) {
        return _batches[root];
    }

    /// @inheritdoc IAssessmentRegistry
    function successorOf(bytes32 reportHash) external view returns (bytes32) {
        return _successor[reportHash];
    }

    /// @notice The EIP-712 domain separator (chain id and this address are in it).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function _anchor(
        address assessor,
        bytes32 reportHash,
        uint16 scoreBps,
        RiskLevel riskLevel,
        ReportKind kind,
        bytes32 subject,
        bytes32 replaces
    ) private {
        _checkAccredited(assessor);
        if (reportHash == bytes32(0)) revert AssessmentRegistryZeroHash();
        if (scoreBps > _MAX_SCORE_BPS) revert AssessmentRegistryInvalidScore(scoreBps);
        Anchor storage a = _anchors[reportHash];
        if (a.anchoredAt != 0) revert AssessmentRegistryAlreadyAnchored(reportHash);

        if (replaces != bytes32(0)) _supersede(assessor, replaces, reportHash);
        _anchors[reportHash] = Anchor({
            assessor: assessor,
            anchoredAt: uint40(block.timestamp),
            scoreBps: scoreBps,
            riskLevel: riskLevel,
            kind: kind,
            revoked: false
        });
        emit ReportAnchored(reportHash, assessor, subject, scoreBps, riskLevel, kind);
    }

    /// @dev Only the assessor of a live report may supersede it.
    function _supersede(address assessor, bytes32 previous, bytes32 successor) private {
        Anchor memory old = _anchors[previous];
        if (old.anchoredAt == 0) revert AssessmentRegistryUnknownReport(previous);
        if (old.assessor != assessor) revert AssessmentRegistryNotReportAssessor(previous, assessor);
        if (old.revoked) revert AssessmentRegistryAlreadyRevoked(previous);
        bytes32 existing = _successor[previous];
        if (existing != bytes32(0)) revert AssessmentRegistryAlreadySuperseded(previous, existing);
        _successor[previous] = successor;
        emit ReportSuperseded(previous, successor);
    }

    function _anchorBatch(address assessor, bytes32 root, uint32 count, string calldata uri) private {
        _checkAccredited(assessor);
        if (root == bytes32(0)) revert AssessmentRegistryZeroHash();
        if (count == 0) revert AssessmentRegistryEmptyBatch();
        if (_batches[root].anchoredAt != 0) revert AssessmentRegistryAlreadyAnchored(root);
        _batches[root] = Batch({assessor: assessor, anchoredAt: uint40(block.timestamp), count: count, revoked: false});
        emit BatchAnchored(root, assessor, count, uri);
    }

    function _checkAccredited(address assessor) private view {
        uint8 capability = _capability[assessor];
        if (capability < MIN_ACCREDITED) revert AssessmentRegistryNotAccredited(assessor, capability);
    }

    function _checkRevoker(bytes32 key, address assessor) private view {
        if (msg.sender != assessor && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert AssessmentRegistryNotReportAssessor(key, msg.sender);
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
}
