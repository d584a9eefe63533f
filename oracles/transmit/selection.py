"""Which reports to submit together.

A set is acceptable on-chain when it holds ≥ q reports by distinct registered signers for one
service and config version, and its windows overlap pairwise. Intervals overlap pairwise
exactly when they share a common instant (Helly's theorem in one dimension), so for each
cluster of overlapping reports we look for the instant covered by the most distinct signers
and take, for each of them, its latest report (highest seq) containing that instant.

Pure functions: the transmitter feeds them authenticated reports only.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..reports import SignedReport


def _clusters(reports: list[SignedReport]) -> list[list[SignedReport]]:
    """Connected groups of overlapping windows, in time order."""
    out: list[list[SignedReport]] = []
    reach = -1
    for r in sorted(reports, key=lambda x: (x.start, x.end)):
        if out and r.start < reach:
            out[-1].append(r)
            reach = max(reach, r.end)
        else:
            out.append([r])
            reach = r.end
    return out


def _best_at(cluster: list[SignedReport], instant: int) -> dict[str, SignedReport]:
    chosen: dict[str, SignedReport] = {}
    for r in cluster:
        if r.start <= instant < r.end:
            held = chosen.get(r.signer)
            if held is None or (r.seq, r.end) > (held.seq, held.end):
                chosen[r.signer] = r
    return chosen


def quorum_sets(reports: Iterable[SignedReport], *, service_id: bytes, config_version: int,
                quorum: int, signers: frozenset[str] | None = None) -> list[list[SignedReport]]:
    """Submittable sets for one service, oldest first; each sorted by signer address.

    Ascending signer order lets the contract check distinctness in one pass; it is harmless
    for a contract that does not require it.
    """
    eligible = [
        r for r in reports
        if r.service_id == service_id and r.config_version == config_version
        and (signers is None or r.signer in signers)
    ]
    sets: list[list[SignedReport]] = []
    for cluster in _clusters(eligible):
        best: dict[str, SignedReport] = {}
        best_instant = -1
        for instant in sorted({r.start for r in cluster}):
            chosen = _best_at(cluster, instant)
            # Ties go to the later instant: the most recent stretch of the outage.
            if len(chosen) >= len(best):
                best, best_instant = chosen, instant
        if len(best) >= quorum and best_instant >= 0:
            sets.append(sorted(best.values(), key=lambda r: int(r.signer, 16)))
    return sets
