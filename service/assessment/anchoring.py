"""Putting reports on-chain (AssessmentRegistry) and verifying them as an auditor would.

Only the report hash, score, level, kind and subject commitment go on-chain; the document
stays off-chain. An anchor is stored under its id `anchor_id(assessor, report hash)`: it
commits to the assessor, so the id a policy or a claim refers to cannot be taken by another
assessor anchoring the same hash first. Verification recomputes the hash from the document and
looks for the anchor of the assessor the document names, so any change to its content, or an
anchor by anyone else, makes it unknown to the registry.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_account import Account
from eth_utils import is_address, to_checksum_address
from web3 import Web3
from web3.contract import Contract

from contracts import eip712, merkle
from contracts import registry as keys
from contracts.deploy import Deployment
from contracts.records import Verification
from contracts.sender import send
from service.assessment.canonical import report_hash
from service.assessment.errors import AssessmentError, ReportError
from service.assessment.provider import grade_for
from service.assessment.report import anchor_fields

ZERO32 = b"\x00" * 32
NOT_ANCHORED = "report hash not anchored: the document differs from what was anchored, or was never anchored"
NOT_IN_BATCH = "not in the batch (wrong proof, root or content)"
NO_ASSESSOR = "the report names no assessor address, so no anchor can be attributed to it"


class AnchoringError(AssessmentError):
    """A report cannot be anchored or verified as asked."""


@dataclass(frozen=True)
class Anchored:
    report_hash: bytes
    anchor_id: bytes  # the registry's key: what PolicyTerms.reportHash, `replaces` and `revoke` take
    block: int
    tx: str


@dataclass(frozen=True)
class BatchAnchored:
    root: bytes
    batch_id: bytes  # the registry's key of the batch (`revokeBatch`, `batchOf`)
    block: int
    tx: str
    proofs: dict[bytes, list[bytes]]  # report hash → Merkle proof

    def bundle(self, report: Mapping[str, Any]) -> dict[str, Any]:
        """What an auditor needs to verify one report of the batch: the report, root, proof."""
        h = report_hash(report)
        return {"report": dict(report), "batch": {"root": "0x" + self.root.hex(),
                                                  "proof": ["0x" + p.hex() for p in self.proofs[h]]}}


def named_assessor(report: Mapping[str, Any]) -> str | None:
    """The checksummed address of the assessor the report names, if it names one."""
    named = report.get("assessor")
    address = named.get("address") if isinstance(named, Mapping) else None
    return to_checksum_address(address) if isinstance(address, str) and is_address(address) else None


def report_anchor_id(report: Mapping[str, Any]) -> bytes:
    """The anchor id of `report` as anchored by the assessor it names (the key the policy book gets)."""
    assessor = named_assessor(report)
    if assessor is None:
        raise AnchoringError(NO_ASSESSOR)
    return keys.anchor_id(assessor, report_hash(report))


def anchor_args(report: Mapping[str, Any], assessor: str, replaces: bytes | None) -> tuple[Any, ...]:
    """The arguments of `AssessmentRegistry.anchor` for `report`, sent by `assessor`."""
    named = named_assessor(report)
    if named is not None and named != to_checksum_address(assessor):
        raise AnchoringError(f"the report names assessor {named}; {to_checksum_address(assessor)} cannot anchor it")
    f = anchor_fields(report)
    return (f["report_hash"], f["score_bps"], f["risk_level"], f["subject"], replaces or ZERO32, f["kind"])


def anchor(w3: Web3, registry: Contract, assessor: str, report: Mapping[str, Any], *,
           replaces: bytes | None = None) -> Anchored:
    """Sent by the assessor's own account. `replaces` is the anchor id of an earlier report of
    theirs (of the same subject) that this one supersedes; an in-policy report needs one."""
    args = anchor_args(report, assessor, replaces)
    r = send(w3, registry.functions.anchor(*args), assessor)
    return Anchored(args[0], keys.anchor_id(assessor, args[0]), r["blockNumber"], r["transactionHash"].to_0x_hex())


def anchor_by_signature(w3: Web3, registry: Contract, relayer: str, assessor_key: bytes,
                        report: Mapping[str, Any], *, replaces: bytes | None = None,
                        valid_for: int = 3600) -> Anchored:
    """The assessor signs offline (EIP-712 `Anchor`); anyone relays. The deadline bounds how
    late a relayer can anchor it, so the anchored time cannot drift far from the signing."""
    assessor = Account.from_key(assessor_key).address
    h, bps, level, subject, rep, kind = anchor_args(report, assessor, replaces)
    deadline = int(time.time()) + valid_for
    latest = int(w3.eth.get_block("latest")["timestamp"])
    deadline = max(deadline, latest + valid_for)
    msg = {"reportHash": h, "scoreBps": bps, "riskLevel": level, "kind": kind, "subject": subject,
           "replaces": rep, "deadline": deadline}
    sig = eip712.sign_anchor(assessor_key, eip712.registry_domain(w3.eth.chain_id, registry.address), msg)
    r = send(w3, registry.functions.anchorBySig(h, bps, level, subject, rep, kind, deadline, sig.r, sig.vs), relayer)
    return Anchored(h, keys.anchor_id(assessor, h), r["blockNumber"], r["transactionHash"].to_0x_hex())


def anchor_batch(w3: Web3, registry: Contract, assessor: str, reports: Sequence[Mapping[str, Any]],
                 uri: str) -> BatchAnchored:
    """One transaction for many reports: the Merkle root of their hashes."""
    if not reports:
        raise AnchoringError("a batch needs at least one report")
    for rep in reports:
        anchor_args(rep, assessor, None)  # same validation as a single anchor
    hashes = [report_hash(r) for r in reports]
    if len(set(hashes)) != len(hashes):
        raise AnchoringError("a batch holds the same report twice")
    tree = merkle.MerkleTree([merkle.leaf_hash(h) for h in hashes])
    r = send(w3, registry.functions.anchorBatch(tree.root, len(hashes), uri), assessor)
    return BatchAnchored(tree.root, keys.anchor_id(assessor, tree.root), r["blockNumber"],
                         r["transactionHash"].to_0x_hex(), {h: tree.proof(i) for i, h in enumerate(hashes)})


def revoke(w3: Web3, registry: Contract, sender: str, report_or_id: Mapping[str, Any] | bytes) -> None:
    """Revokes a report (by its document, anchored by the assessor it names) or an anchor id."""
    anchor_id = report_or_id if isinstance(report_or_id, bytes) else report_anchor_id(report_or_id)
    send(w3, registry.functions.revoke(anchor_id), sender)


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def _event_location(registry: Contract, event: str, filters: dict[str, Any], from_block: int) -> tuple[Any, Any]:
    logs = list(getattr(registry.events, event).get_logs(argument_filters=filters, from_block=from_block))
    if not logs:
        return None, None
    return logs[0]["blockNumber"], logs[0]["transactionHash"].to_0x_hex()


def _anchored_by(registry: Contract, h: bytes, from_block: int) -> list[str]:
    """Who else anchored this hash (for the reason given when the named assessor did not)."""
    logs = registry.events.ReportAnchored.get_logs(argument_filters={"reportHash": h}, from_block=from_block)
    return sorted({to_checksum_address(lg["args"]["assessor"]) for lg in logs})


def _figures_differ(report: Mapping[str, Any], anchored: Verification) -> str | None:
    """Why the anchored score, level, kind or subject disagree with the document, if they do."""
    try:
        f = anchor_fields(report)
    except ReportError as exc:
        return f"the anchored document is malformed: {exc}"
    differ = [name for name, doc, chain in (("score", f["score_bps"], anchored.score_bps),
                                            ("risk level", f["risk_level"], anchored.risk_level),
                                            ("kind", f["kind"], anchored.kind),
                                            ("subject", f["subject"][:16], anchored.subject))
              if doc != chain]
    return f"anchored with another {', '.join(differ)} than the document states" if differ else None


def _blank(h: bytes) -> dict[str, Any]:
    return {"valid": False, "report_hash": _hex(h), "anchor_id": None, "assessor": None, "assessor_grade": None,
            "anchored_at": None, "block": None, "tx": None, "revoked": False, "superseded_by": None, "batch": None,
            "reason": None}


def _judge(out: dict[str, Any], registry: Contract, v: Verification, anchor_id: bytes,
           where: tuple[str, dict[str, Any]], from_block: int, differ: str | None) -> None:
    """Fills in an anchor found under the named assessor, and whether it is valid."""
    out["block"], out["tx"] = _event_location(registry, *where, from_block)
    out.update(anchor_id=_hex(anchor_id), assessor=to_checksum_address(v.assessor),
               assessor_grade=grade_for(v.assessor_capability).value, anchored_at=_iso(v.anchored_at),
               revoked=bool(v.revoked), superseded_by=_hex(v.superseded_by) if v.superseded_by != ZERO32 else None)
    if v.revoked:
        out["reason"] = "revoked"
    elif differ:
        out["reason"] = differ
    else:
        out["valid"] = bool(v.valid)
        if out["superseded_by"]:
            out["reason"] = "authentic but superseded by a newer report"


def verify(registry: Contract, document: Mapping[str, Any], *, from_block: int = 0) -> dict[str, Any]:
    """The auditor's answer for a report (or a `{"report", "batch": {"root", "proof"}}` bundle).

    `valid` means: the hash of this exact content is anchored by the assessor the report names,
    who was accredited at the time, it is not revoked, and (singly anchored) the anchored score,
    level, kind and subject are the document's.
    """
    return inspect(registry, document, from_block=from_block)[0]


def read_document(raw: bytes | str) -> dict[str, Any]:
    """A report file (or bundle) as `verify` takes it; ValueError when it is not a JSON object."""
    document = json.loads(raw)
    if not isinstance(document, dict):
        raise ValueError("top level must be a JSON object")
    return document


def verify_deployed(w3: Web3, dep: Deployment, document: Mapping[str, Any]) -> dict[str, Any]:
    """`verify` against the deployment's AssessmentRegistry, from its deployment block (what
    `cybercover report verify` and the auditor's page /verify both answer)."""
    registry = dep.contract(w3, "AssessmentRegistry")
    return verify(registry, document, from_block=dep.contracts["AssessmentRegistry"].block)


def _hash32(value: Any, what: str) -> bytes:
    """A 32-byte hash given as hex (with or without 0x); AnchoringError otherwise."""
    try:
        raw = bytes.fromhex(str(value).removeprefix("0x"))
    except ValueError:
        raw = b""
    if not isinstance(value, str) or len(raw) != 32:
        raise AnchoringError(f"{what} must be a 32-byte hex hash")
    return raw


def inspect(registry: Contract, document: Mapping[str, Any], *,
            from_block: int = 0) -> tuple[dict[str, Any], Verification | None]:
    """`verify`'s answer, and the registry's record it was judged on (None: nothing to read)."""
    batch = document.get("batch") if "report" in document else None
    report = document.get("report", document)
    if not isinstance(report, Mapping):
        raise AnchoringError("the report must be a JSON object")
    h = report_hash(report)
    out = _blank(h)
    named = named_assessor(report)
    if batch is not None:
        if not isinstance(batch, Mapping) or not isinstance(batch.get("proof"), list):
            raise AnchoringError("a bundle's batch is {root, proof: [...]}")
        root = _hash32(batch.get("root"), "the batch root")
        proof = [_hash32(p, f"proof element {i}") for i, p in enumerate(batch["proof"])]
        out["batch"] = _hex(root)
    if named is None:
        out["reason"] = NO_ASSESSOR
        return out, None
    if batch is not None:
        v = Verification.decode(registry.functions.verifyInBatch(named, h, proof, root).call())
        where = ("BatchAnchored", {"root": root, "assessor": named})
    else:
        v = Verification.decode(registry.functions.verify(named, h).call())
        where = ("ReportAnchored", {"reportHash": h, "assessor": named})
    if v.anchored_at == 0:
        others = [] if batch is not None else _anchored_by(registry, h, from_block)
        out["reason"] = (NOT_IN_BATCH if batch is not None
                         else f"anchored by {', '.join(others)}, but the report names {named}" if others
                         else NOT_ANCHORED)
        return out, v
    differ = None if batch is not None else _figures_differ(report, v)
    _judge(out, registry, v, keys.anchor_id(named, root if batch is not None else h), where, from_block, differ)
    return out, v


def inspect_hash(registry: Contract, assessor: str, h: bytes, *,
                 from_block: int = 0) -> tuple[dict[str, Any], Verification]:
    """Like `inspect`, for a bare report hash (no document) against `assessor`'s anchor."""
    out = _blank(h)
    v = Verification.decode(registry.functions.verify(assessor, h).call())
    if v.anchored_at == 0:
        out["reason"] = NOT_ANCHORED
    else:
        _judge(out, registry, v, keys.anchor_id(assessor, h),
               ("ReportAnchored", {"reportHash": h, "assessor": to_checksum_address(assessor)}), from_block, None)
    return out, v
