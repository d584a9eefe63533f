"""Offline verification of an evidence bundle; trusts nothing but the signatures.

Every byte of a bundle is either signed or derived from signed data, so any change shows:
- each body's canonical keccak must equal its `hash`, and the hash must be signed by `node`;
- within each stream, indexes are consecutive and each `prev_hash` is the previous hash, so a
  dropped or reordered observation breaks the chain;
- the Merkle root over all leaves, and each proof, must give `evidence_root`, which must be the
  root the node signed in its EIP-712 report for this window — a dropped observation at the
  end of a stream, which no chain link can reveal, changes that root.

Input that is not a bundle at all raises `BundleFormatError` (exit 2); evidence that does
not hold up is reported as problems (exit 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import rfc8785
from eth_utils.address import is_address, to_checksum_address
from eth_utils.crypto import keccak

from contracts.merkle import MerkleTree, leaf_hash, verify

from ..errors import BundleFormatError, ReportFormatError
from ..reports import SignedReport, episode_id
from .bundle import BUNDLE_FORMAT
from .observation import ZERO_HASH, recover_signer


@dataclass
class VerificationResult:
    observations: int = 0
    node: str | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _hex(value: Any, size: int | None) -> bytes | None:
    if not isinstance(value, str) or not value.startswith("0x"):
        return None
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        return None
    return raw if size is None or len(raw) == size else None


def _require_shape(data: Any) -> None:
    if not isinstance(data, Mapping):
        raise BundleFormatError("an evidence bundle is a JSON object")
    if data.get("format") != BUNDLE_FORMAT:
        raise BundleFormatError(f"not an evidence bundle (format must be {BUNDLE_FORMAT!r})")
    required = ("node", "episode_id", "target", "service_id", "window", "evidence_root",
                "observations", "report")
    if missing := [k for k in required if k not in data]:
        raise BundleFormatError(f"bundle lacks {', '.join(missing)}")
    if wrong := [k for k in ("node", "episode_id", "target", "service_id", "evidence_root")
                 if not isinstance(data[k], str)]:
        raise BundleFormatError(f"bundle {', '.join(wrong)} must be strings")
    obs = data["observations"]
    if not isinstance(obs, list) or not obs:
        raise BundleFormatError("bundle `observations` must be a non-empty list")
    for i, item in enumerate(obs):
        if not isinstance(item, Mapping) or not {"body", "hash", "signature", "proof"} <= set(
            item
        ):
            raise BundleFormatError(f"observation {i} lacks body, hash, signature or proof")
        if not isinstance(item["body"], Mapping) or not isinstance(item["proof"], list):
            raise BundleFormatError(f"observation {i}: body must be an object, proof a list")
    window = data["window"]
    if not isinstance(window, Mapping) or not {"start", "end"} <= set(window):
        raise BundleFormatError("bundle `window` must hold start and end")
    if data["report"] is not None and not isinstance(data["report"], Mapping):
        raise BundleFormatError("bundle `report` must be an object or null")


def check_evidence(data: Any, node: str | None = None) -> VerificationResult:
    """`verify_bundle`, and (when `node` is given) that the bundle is that signer's: what
    `cybercover-oracle evidence verify [--node]` and the auditor's page /verify both answer."""
    result = verify_bundle(data)
    if node is not None and (result.node or "").lower() != node.lower():
        result.problems.append(f"bundle is signed by {result.node}, not {node}")
    return result


def verify_bundle(data: Any) -> VerificationResult:
    _require_shape(data)
    result = VerificationResult(observations=len(data["observations"]))
    problems = result.problems

    node_raw = data["node"]
    node = to_checksum_address(node_raw) if isinstance(node_raw, str) and is_address(
        node_raw) else None
    if node is None or node != node_raw:
        problems.append("node is not a checksummed address")
    result.node = node
    root = _hex(data["evidence_root"], 32)
    if root is None:
        problems.append("evidence_root is not 32-byte hex")
    service = _hex(data["service_id"], 32)
    if service is None:
        problems.append("service_id is not 32-byte hex")
    target = data["target"]
    start, end = data["window"]["start"], data["window"]["end"]
    if not (type(start) is int and type(end) is int and 0 <= start < end):
        problems.append("window start/end must be integers with start < end")
        start = end = None
    elif data["episode_id"] != episode_id(str(target), start):
        problems.append("episode_id does not match target and window start")

    leaves: list[bytes] = []
    keys_seen: list[tuple[str, int]] = []
    last: dict[str, tuple[int, bytes]] = {}
    for i, item in enumerate(data["observations"]):
        where = f"observation {i}"
        body = item["body"]
        try:
            digest = keccak(rfc8785.dumps(dict(body)))
        except Exception as exc:  # values outside I-JSON (huge ints, NaN) cannot be canonical
            problems.append(f"{where}: body cannot be canonicalised ({exc})")
            continue
        leaves.append(leaf_hash(digest))
        if _hex(item["hash"], 32) != digest:
            problems.append(f"{where}: hash does not match its body")
        signature = _hex(item["signature"], 65)
        try:
            signer = recover_signer(digest, signature) if signature else None
        except ValueError:
            signer = None
        if signer is None or signer != node:
            problems.append(f"{where}: not signed by the node")
        if body.get("node") != node_raw:
            problems.append(f"{where}: names another node")
        proof = [_hex(p, 32) for p in item["proof"]]
        if root is not None and (None in proof or not verify(
                leaf_hash(digest), [p for p in proof if p is not None], root)):
            problems.append(f"{where}: Merkle proof does not reach the evidence root")

        stream, index, started = body.get("stream"), body.get("index"), body.get("started_ms")
        if not isinstance(stream, str) or type(index) is not int or type(started) is not int:
            problems.append(f"{where}: stream, index or started_ms malformed")
            continue
        if start is not None and end is not None and not start * 1000 <= started < end * 1000:
            problems.append(f"{where}: started outside the window")
        if stream == target:
            if body.get("canary") is not False or body.get("service_id") != data["service_id"]:
                problems.append(f"{where}: target observation with wrong canary/service_id")
        elif body.get("canary") is not True:
            problems.append(f"{where}: stream {stream!r} is neither the target nor a canary")
        keys_seen.append((stream, index))
        prev = last.get(stream)
        prev_hash = _hex(body.get("prev_hash"), 32)
        if prev is not None and (index != prev[0] + 1 or prev_hash != prev[1]):
            problems.append(f"{where}: chain of {stream!r} broken after index {prev[0]} "
                            "(observation missing, altered or reordered)")
        if prev is None and index == 0 and prev_hash != ZERO_HASH:
            problems.append(f"{where}: first observation of {stream!r} has a prev_hash")
        last[stream] = (index, digest)

    if keys_seen != sorted(keys_seen):
        problems.append("observations are not ordered by (stream, index)")
    if target not in last:
        problems.append("no observation of the target")
    if root is not None and leaves and MerkleTree(leaves).root != root:
        problems.append("evidence_root is not the Merkle root of the observations")

    _check_report(data, node, root, service, start, end, result)
    return result


def _check_report(data: Mapping[str, Any], node: str | None, root: bytes | None,
                  service: bytes | None, start: int | None, end: int | None,
                  result: VerificationResult) -> None:
    if data["report"] is None:
        result.notes.append("no signed report: the root is not signed by the node, so a "
                            "truncated stream end would go unnoticed")
        return
    try:
        report = SignedReport.from_json(dict(data["report"]))
    except ReportFormatError as exc:
        result.problems.append(f"report: {exc}")
        return
    if not report.is_authentic():
        result.problems.append("report: signature does not match its signer")
    if report.signer != node:
        result.problems.append("report: signed by another key than the node's")
    if report.evidence_root != root:
        result.problems.append("report: signed evidence root differs from the bundle's")
    if report.service_id != service or (report.start, report.end) != (start, end):
        result.problems.append("report: service or window differs from the bundle's")
    if report.episode_id != data["episode_id"] or report.target != data["target"]:
        result.problems.append("report: episode or target differs from the bundle's")
