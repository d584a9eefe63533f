"""Quorum-set selection against a brute-force model of what the chain would verify.

The model enumerates every acceptable set (≥ q distinct signers, pairwise overlapping windows,
at most one report per signer) and the span the chain verifies for it: the q-th smallest start
to the q-th largest end. The selection must reach as far back and as far forward as any
acceptable set, never keep a set another kept set covers, and (for honest nodes, whose
re-signings of an episode only grow) cover every span any acceptable set could verify.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable

from hypothesis import given, settings
from hypothesis import strategies as st

from oracles.reports import SignedReport
from oracles.transmit.selection import quorum_sets, verified_window
from tests.oracles.helpers import KEYS, SHOP, T0, report

TEMPLATES = [report(i, T0, T0 + 60) for i in range(5)]  # signatures do not matter to selection
MIN = 60


def r(i: int, start: int, end: int, seq: int = 1) -> SignedReport:
    """KEYS[i]'s report of [T0 + start, T0 + end) in minutes."""
    return dataclasses.replace(TEMPLATES[i], start=T0 + MIN * start, end=T0 + MIN * end, seq=seq)


def select(reports: list[SignedReport], q: int = 3) -> list[list[SignedReport]]:
    return quorum_sets(reports, service_id=SHOP, config_version=1, quorum=q)


def windows(sets: Iterable[list[SignedReport]], q: int = 3) -> list[tuple[int, int]]:
    return [verified_window(s, q) for s in sets]


def model(reports: list[SignedReport], q: int) -> set[tuple[int, int]]:
    """Every span the chain would verify for some acceptable set of these reports."""
    by_signer: dict[str, list[SignedReport | None]] = {}
    for x in reports:
        by_signer.setdefault(x.signer, [None]).append(x)
    spans = set()
    for pick in itertools.product(*by_signer.values()):
        chosen = [x for x in pick if x is not None]
        if len(chosen) >= q and max(x.start for x in chosen) < min(x.end for x in chosen):
            spans.add(verified_window(chosen, q))
    return spans


def test_finding1_selection_prefers_bridging_set() -> None:
    """4 honest nodes, q = 3. The chain holds [0, 10) from A, B, C. C goes offline (its last
    report ends at 15); D, honest, dates the outage from its own first DOWN minute, 16 (its
    canaries had failed before). {A, B, C} and {A, B, D} both have 3 signers; picking the later
    one alone verified [16, 60), after the chain's window: a second episode for one outage.
    The set that reaches back furthest goes first and extends the chain's window to 15."""
    a, b = r(0, 0, 60, seq=7), r(1, 0, 60, seq=7)
    c, d = r(2, 0, 15, seq=3), r(3, 16, 60, seq=5)
    sets = select([a, b, c, d, r(2, 0, 10, seq=2), r(0, 0, 10, seq=2)])
    assert windows(sets) == [(T0, T0 + 15 * MIN), (T0 + 16 * MIN, T0 + 60 * MIN)]
    assert {x.signer for x in sets[0]} == {a.signer, b.signer, c.signer}
    assert all(x.seq in (7, 3) for x in sets[0])  # each signer's latest re-signing
    # Had C's last report reached into D's window, one set of all four would bridge it all:
    # more reports only lower the q-th smallest start and raise the q-th largest end.
    [bridging] = select([a, b, r(2, 0, 20, seq=3), d])
    assert len(bridging) == 4
    assert verified_window(bridging, 3) == (T0, T0 + 60 * MIN)


def test_equal_spans_go_to_the_cheaper_set() -> None:
    reports = [r(0, 0, 30), r(1, 0, 30), r(2, 0, 30), r(3, 5, 20)]
    [chosen] = select(reports)
    assert verified_window(chosen, 3) == (T0, T0 + 30 * MIN)
    assert len(chosen) == 3


# Any reports at all (faulty signers sign whatever they like): per signer up to 3 windows.
anything = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 30), st.integers(1, 20)), max_size=10)


@settings(max_examples=200, deadline=None)
@given(anything, st.integers(1, 4))
def test_selection_reaches_as_far_as_any_acceptable_set(items: list[tuple[int, int, int]], q: int) -> None:
    reports = [r(i, s, s + n, seq=k) for k, (i, s, n) in enumerate(items)]
    sets = select(reports, q)
    spans = model(reports, q)
    chosen = windows(sets, q)
    assert bool(sets) == bool(spans)
    for s in sets:
        assert len(s) >= q
        assert len({x.signer for x in s}) == len(s)
        assert max(x.start for x in s) < min(x.end for x in s)  # pairwise overlap
        assert [int(x.signer, 16) for x in s] == sorted(int(x.signer, 16) for x in s)
    if spans:
        assert min(w[0] for w in chosen) == min(w[0] for w in spans)  # reaches back furthest
        assert max(w[1] for w in chosen) == max(w[1] for w in spans)  # ...and forward furthest
    assert chosen == sorted(chosen)  # oldest first
    for i, w in enumerate(chosen):  # none is covered by another kept one
        assert not any(o[0] <= w[0] and o[1] >= w[1] for j, o in enumerate(chosen) if j != i)


# Honest nodes: per signer up to 2 disjoint episodes, each re-signed 1-3 times as it grows.
honest = st.dictionaries(st.integers(0, 4), st.lists(
    st.tuples(st.integers(1, 12), st.integers(1, 10), st.integers(1, 3)), min_size=1, max_size=2), max_size=5)


@settings(max_examples=200, deadline=None)
@given(honest, st.integers(2, 4))
def test_honest_selection_covers_every_verifiable_span(items: dict[int, list[tuple[int, int, int]]],
                                                       q: int) -> None:
    reports = []
    for i, episodes in items.items():
        at = 0
        for gap, length, resigned in episodes:
            start = at + gap
            reports += [r(i, start, start + length + k, seq=k + 1) for k in range(resigned)]
            at = start + length + resigned
    chosen = windows(select(reports, q), q)
    for span in model(reports, q):
        assert any(w[0] <= span[0] and w[1] >= span[1] for w in chosen), (span, chosen)
    assert len(KEYS) >= 5
