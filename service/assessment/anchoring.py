"""Putting reports on-chain (AssessmentRegistry) and verifying them as an auditor would.

Only the report hash, score, level, kind and subject commitment go on-chain; the document
stays off-chain. Verification recomputes the hash from the document, so any change to its
content makes it unknown to the registry.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_utils import to_checksum_address
from web3 import Web3
from web3.contract import Contract

from contracts import eip712, merkle
from contracts.tx import send
from service.assessment.canonical import report_hash
from service.assessment.errors import AssessmentError
from service.assessment.provider import grade_for
from service.assessment.report import anchor_fields

ZERO32 = b"\x00" * 32
NOT_ANCHORED = "report hash not anchored: the document differs from what was anchored, or was never anchored"
NOT_IN_BATCH = "not in the batch (wrong proof, root or content)"


class AnchoringError(AssessmentError):
    """A report cannot be anchored or verified as asked."""


@dataclass(frozen=True)
class Anchored:
    report_hash: bytes
    block: int
    tx: str


@dataclass(frozen=True)
class BatchAnchored:
    root: bytes
    block: int
    tx: str
    proofs: dict[bytes, list[bytes]]  # report hash → Merkle proof

    def bundle(self, report: Mapping[str, Any]) -> dict[str, Any]:
        """What an auditor needs to verify one report of the batch: the report, root, proof."""
        h = report_hash(report)
        return {"report": dict(report), "batch": {"root": "0x" + self.root.hex(),
                                                  "proof": ["0x" + p.hex() for p in self.proofs[h]]}}


def _args(report: Mapping[str, Any], replaces: bytes | None) -> tuple[Any, ...]:
    f = anchor_fields(report)
    return (f["report_hash"], f["score_bps"], f["risk_level"], f["kind"], f["subject"], replaces or ZERO32)


def anchor(w3: Web3, registry: Contract, assessor: str, report: Mapping[str, Any], *,
           replaces: bytes | None = None) -> Anchored:
    """Sent by the assessor's own account. `replaces` supersedes an earlier report of theirs."""
    args = _args(report, replaces)
    r = send(w3, registry.functions.anchor(*args), assessor)
    return Anchored(args[0], r["blockNumber"], r["transactionHash"].to_0x_hex())


def anchor_by_signature(w3: Web3, registry: Contract, relayer: str, assessor_key: bytes,
                        report: Mapping[str, Any], *, replaces: bytes | None = None,
                        valid_for: int = 3600) -> Anchored:
    """The assessor signs offline (EIP-712 `Anchor`); anyone relays. The deadline bounds how
    late a relayer can anchor it, so the anchored time cannot drift far from the signing."""
    h, bps, level, kind, subject, rep = _args(report, replaces)
    deadline = int(time.time()) + valid_for
    latest = int(w3.eth.get_block("latest")["timestamp"])
    deadline = max(deadline, latest + valid_for)
    msg = {"reportHash": h, "scoreBps": bps, "riskLevel": level, "kind": kind, "subject": subject,
           "replaces": rep, "deadline": deadline}
    sig = eip712.sign_anchor(assessor_key, eip712.registry_domain(w3.eth.chain_id, registry.address), msg)
    r = send(w3, registry.functions.anchorBySig(h, bps, level, kind, subject, rep, deadline, sig.r, sig.vs), relayer)
    return Anchored(h, r["blockNumber"], r["transactionHash"].to_0x_hex())


def anchor_batch(w3: Web3, registry: Contract, assessor: str, reports: Sequence[Mapping[str, Any]],
                 uri: str) -> BatchAnchored:
    """One transaction for many reports: the Merkle root of their hashes."""
    if not reports:
        raise AnchoringError("a batch needs at least one report")
    for rep in reports:
        anchor_fields(rep)  # same validation as a single anchor
    hashes = [report_hash(r) for r in reports]
    if len(set(hashes)) != len(hashes):
        raise AnchoringError("a batch holds the same report twice")
    tree = merkle.MerkleTree([merkle.leaf_hash(h) for h in hashes])
    r = send(w3, registry.functions.anchorBatch(tree.root, len(hashes), uri), assessor)
    return BatchAnchored(tree.root, r["blockNumber"], r["transactionHash"].to_0x_hex(),
                         {h: tree.proof(i) for i, h in enumerate(hashes)})


def revoke(w3: Web3, registry: Contract, sender: str, report_or_hash: Mapping[str, Any] | bytes) -> None:
    h = report_or_hash if isinstance(report_or_hash, bytes) else report_hash(report_or_hash)
    send(w3, registry.functions.revoke(h), sender)


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def _event_location(registry: Contract, event: str, key: str, value: bytes, from_block: int) -> tuple[Any, Any]:
    logs = list(getattr(registry.events, event).get_logs(argument_filters={key: value}, from_block=from_block))
    if not logs:
        return None, None
    return logs[0]["blockNumber"], logs[0]["transactionHash"].to_0x_hex()


def verify(registry: Contract, document: Mapping[str, Any], *, from_block: int = 0) -> dict[str, Any]:
    """The auditor's answer for a report (or a `{"report", "batch": {"root", "proof"}}` bundle).

    `valid` means: the hash of this exact content is anchored, by an assessor accredited at the
    time, who is the assessor the report names, and it is not revoked.
    """
    batch = document.get("batch") if "report" in document else None
    report = document.get("report", document)
    if not isinstance(report, Mapping):
        raise AnchoringError("the report must be a JSON object")
    h = report_hash(report)
    out: dict[str, Any] = {"valid": False, "report_hash": _hex(h), "assessor": None, "assessor_grade": None,
                           "anchored_at": None, "block": None, "tx": None, "revoked": False,
                           "superseded_by": None, "batch": None, "reason": None}
    if batch is not None:
        root = bytes.fromhex(str(batch["root"]).removeprefix("0x"))
        proof = [bytes.fromhex(str(p).removeprefix("0x")) for p in batch["proof"]]
        v = registry.functions.verifyInBatch(h, proof, root).call()
        out["batch"] = _hex(root)
        out["block"], out["tx"] = _event_location(registry, "BatchAnchored", "root", root, from_block)
    else:
        v = registry.functions.verify(h).call()
        out["block"], out["tx"] = _event_location(registry, "ReportAnchored", "reportHash", h, from_block)
    valid, assessor, capability, anchored_at, _bps, _level, _kind, revoked, successor = v
    if anchored_at == 0:
        out["reason"] = (NOT_IN_BATCH if batch is not None else NOT_ANCHORED)
        return out
    out.update(assessor=to_checksum_address(assessor), assessor_grade=grade_for(capability).value,
               anchored_at=_iso(anchored_at), revoked=bool(revoked),
               superseded_by=_hex(successor) if successor != ZERO32 else None)
    named_assessor = report.get("assessor")
    named = str(named_assessor.get("address", "")).lower() if isinstance(named_assessor, Mapping) else ""
    if revoked:
        out["reason"] = "revoked"
    elif named and named != assessor.lower():
        out["reason"] = f"anchored by {out['assessor']}, but the report names {named}"
    else:
        out["valid"] = bool(valid)
        if out["superseded_by"]:
            out["reason"] = "authentic but superseded by a newer report"
    return out
