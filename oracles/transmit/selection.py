"""Which reports to submit together.

A set is acceptable on-chain when it holds ≥ q reports by distinct registered signers for one
service and config version, and its windows overlap pairwise. Intervals overlap pairwise
exactly when they share a common instant (Helly's theorem in one dimension), and the latest
start of a set is such an instant, so trying every report start as the instant finds every
acceptable set.

For a set, the chain verifies the span covered by q of its windows: from the q-th smallest
start to the q-th largest end. Adding a report can only lower the first and raise the second,
so a candidate takes, at its instant, every signer with a report there: as many reports as
overlap. A signer with several reports at the instant contributes its earliest-starting one to
one candidate and its latest-ending one to another (one report each; for honest re-signings of
an episode they are the same report, the latest).

Of the candidates, the one whose verified span reaches back furthest and forward furthest is
what bridges to a window the chain already holds: picking by signer count alone once chose a
set dated from one honest node's own, later, first DOWN minute and split an outage in two
(finding 1). So a candidate is kept unless another one's span contains its own (at equal spans,
the one with fewer reports is kept: cheaper). Usually one candidate per outage is left; when
two remain (one starts earlier, the other ends later), both are submitted, oldest first, and the
chain merges what overlaps or touches.

Pure functions: the transmitter feeds them authenticated reports only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..reports import SignedReport

Window = tuple[int, int]


def verified_window(reports: Iterable[SignedReport], quorum: int) -> Window:
    """The span the chain verifies for this set: q-th smallest start, q-th largest end."""
    chosen = list(reports)
    starts = sorted(r.start for r in chosen)
    ends = sorted((r.end for r in chosen), reverse=True)
    return starts[quorum - 1], ends[quorum - 1]


def _earliest_start(r: SignedReport) -> tuple[int, int, int]:
    return (-r.start, r.end, r.seq)


def _latest_end(r: SignedReport) -> tuple[int, int, int]:
    return (r.end, -r.start, r.seq)


def _at(reports: list[SignedReport], instant: int,
        key: Callable[[SignedReport], tuple[int, int, int]]) -> list[SignedReport]:
    """Per signer, its best report (by `key`) among those containing `instant`."""
    chosen: dict[str, SignedReport] = {}
    for r in reports:
        if r.start <= instant < r.end:
            held = chosen.get(r.signer)
            if held is None or key(r) > key(held):
                chosen[r.signer] = r
    return list(chosen.values())


def _dominated(window: Window, size: int, other: Window, other_size: int) -> bool:
    contains = other[0] <= window[0] and other[1] >= window[1]
    return contains and (other != window or other_size < size)


def quorum_sets(reports: Iterable[SignedReport], *, service_id: bytes, config_version: int,
                quorum: int, signers: frozenset[str] | None = None) -> list[list[SignedReport]]:
    """Submittable sets for one service, oldest verified window first; each sorted by signer
    address (the contract checks distinctness in one ascending pass)."""
    eligible = [
        r for r in reports
        if r.service_id == service_id and r.config_version == config_version
        and (signers is None or r.signer in signers)
    ]
    candidates: dict[tuple[tuple[str, int, int, int], ...], list[SignedReport]] = {}
    for instant in sorted({r.start for r in eligible}):
        for key in (_earliest_start, _latest_end):
            chosen = _at(eligible, instant, key)
            if len(chosen) >= quorum:
                chosen.sort(key=lambda r: int(r.signer, 16))
                candidates[tuple((r.signer, r.seq, r.start, r.end) for r in chosen)] = chosen
    scored = [(verified_window(c, quorum), c) for c in candidates.values()]
    kept = [
        (w, c) for i, (w, c) in enumerate(scored)
        if not any(_dominated(w, len(c), ow, len(oc)) or (ow == w and len(oc) == len(c) and j < i)
                   for j, (ow, oc) in enumerate(scored) if j != i)
    ]
    kept.sort(key=lambda item: (item[0], len(item[1])))
    return [c for _, c in kept]
