"""Evidence bundles: an episode's observations with Merkle proofs, as one JSON document.

    {"format": "cybercover-evidence/1", "node": "0x…", "episode_id": "api@1700000040",
     "target": "api", "service_id": "0x…", "window": {"start": …, "end": …},
     "evidence_root": "0x…",
     "observations": [{"body": {…}, "hash": "0x…", "signature": "0x…65 bytes",
                       "proof": ["0x…", …]}, …],
     "report": {signed report JSON} | null}

Observations are ordered by (stream, index); leaf i is `leaf_hash(hash_i)`. The root equals
the `evidenceRoot` the node signed in its report for exactly this window.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contracts.merkle import MerkleTree, leaf_hash

from ..errors import EvidenceError, NotFound
from ..reports import SignedReport
from ..state import NodeState
from .observation import SignedObservation, hex32
from .store import EvidenceLog

BUNDLE_FORMAT = "cybercover-evidence/1"


def merkle_tree(observations: Sequence[SignedObservation]) -> MerkleTree:
    if not observations:
        raise EvidenceError("no observations in the window")
    return MerkleTree([leaf_hash(o.hash) for o in observations])


def evidence_root(observations: Sequence[SignedObservation]) -> bytes:
    return merkle_tree(observations).root


def build_bundle(*, node: str, episode: str, target: str, service_id: bytes, start: int,
                 end: int, observations: Sequence[SignedObservation],
                 report: SignedReport | None) -> dict[str, Any]:
    tree = merkle_tree(observations)
    if report is not None and report.evidence_root != tree.root:
        raise EvidenceError(f"{episode}: the log no longer yields the signed evidence root")
    return {
        "format": BUNDLE_FORMAT,
        "node": node,
        "episode_id": episode,
        "target": target,
        "service_id": hex32(service_id),
        "window": {"start": start, "end": end},
        "evidence_root": hex32(tree.root),
        "observations": [
            {
                "body": o.body,
                "hash": hex32(o.hash),
                "signature": "0x" + o.signature.hex(),
                "proof": [hex32(p) for p in tree.proof(i)],
            }
            for i, o in enumerate(observations)
        ],
        "report": report.to_json() if report is not None else None,
    }


def episode_bundle(state: NodeState, log: EvidenceLog, *, node: str, canaries: Sequence[str],
                   episode: str, seq: int | None = None) -> dict[str, Any]:
    """The bundle for the episode's latest signed report (or report `seq`), or for the episode's
    own window when nothing is signed yet. Raises NotFound for an unknown episode or seq."""
    record = state.episode(episode)
    if record is None:
        raise NotFound(f"no episode {episode!r}")
    stored = state.report(episode, seq)
    if stored is None and seq is not None:
        raise NotFound(f"episode {episode!r} has no report with seq {seq}")
    if stored is not None:
        start, end, streams = stored.report.start, stored.report.end, stored.streams
    else:
        start, end = record.start, record.end
        streams = tuple(sorted({record.target, *canaries}))
    return build_bundle(
        node=node, episode=episode, target=record.target, service_id=record.service_id,
        start=start, end=end, observations=log.window(streams, start, end),
        report=stored.report if stored else None)
