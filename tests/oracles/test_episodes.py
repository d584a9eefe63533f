"""The hysteresis state machine: examples for each rule, then properties over random runs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from oracles.episodes import (
    Change,
    EpisodeEvent,
    EpisodeRule,
    Idle,
    Open,
    dump_state,
    load_state,
    run,
    step,
)
from oracles.verdicts import Verdict

D, U, X = Verdict.DOWN, Verdict.UP, Verdict.UNKNOWN
B0 = 28_333_334  # an arbitrary minute index


def feed(pattern: str, k: int = 2, m: int = 3) -> list[EpisodeEvent]:
    """`pattern` is a string of D/U/X, one character per consecutive minute from B0."""
    table = {"D": D, "U": U, "X": X}
    _, events = run([(B0 + i, table[c]) for i, c in enumerate(pattern)], EpisodeRule(k, m))
    return events


def closed(events: list[EpisodeEvent]) -> list[tuple[int, int, int]]:
    """(start minute offset, end minute offset, down minutes) of closed episodes."""
    return [((e.start // 60) - B0, (e.end // 60) - B0, e.down_seconds // 60)
            for e in events if e.change is Change.CLOSED]


def test_opens_after_k_dated_back_to_first_down() -> None:
    events = feed("UUDDD")
    assert [e.change for e in events] == [Change.OPENED, Change.GREW]
    assert events[0].start == (B0 + 2) * 60  # the first DOWN minute, not the K-th
    assert events[0].end == (B0 + 4) * 60
    assert events[0].down_seconds == 120


def test_fewer_than_k_down_never_opens() -> None:
    assert feed("UDUDUDU", k=2) == []


def test_closes_after_m_up_with_end_at_first_up() -> None:
    assert closed(feed("DDDUUU")) == [(0, 3, 3)]
    assert feed("DDDUU")
    assert not closed(feed("DDDUU"))  # only 2 of M=3 UP minutes


def test_blip_shorter_than_m_does_not_split_or_count() -> None:
    # One episode from 0 to 7; the two UP minutes inside are not downtime.
    assert closed(feed("DDDUUDDUUU")) == [(0, 7, 5)]
    # An UP run of exactly M splits it.
    assert closed(feed("DDDUUUDDUUU")) == [(0, 3, 3), (6, 8, 2)]


def test_unknown_neither_opens_nor_closes() -> None:
    assert feed("DXDXDXD", k=2) == []  # UNKNOWN breaks the opening run
    assert closed(feed("DDXXXXXXUUU")) == [(0, 2, 2)]  # stays open, end not extended
    # UNKNOWN inside the closing run pauses it (neither advances nor resets it).
    assert closed(feed("DDUXUXU")) == [(0, 2, 2)]
    # A DOWN after UNKNOWNs extends the open episode over them.
    assert closed(feed("DDXXDUUU")) == [(0, 5, 3)]


def test_gap_in_buckets_counts_as_unknown() -> None:
    rule = EpisodeRule(2, 2)
    state, events = run([(B0, D), (B0 + 2, D)], rule)  # minute B0+1 missing
    assert isinstance(state, Idle)
    assert events == []
    state, events = run([(B0, D), (B0 + 1, D), (B0 + 5, U), (B0 + 9, U)], rule)
    assert closed(events) == [(0, 2, 2)]


def test_buckets_must_increase() -> None:
    state, _ = step(Idle(), B0, U, EpisodeRule(1, 1))
    try:
        step(state, B0, U, EpisodeRule(1, 1))
    except ValueError:
        return
    raise AssertionError("a repeated bucket must be refused")


# --- properties -------------------------------------------------------------------------------

verdicts = st.lists(st.sampled_from([D, U, X]), max_size=120)
rules = st.builds(EpisodeRule, st.integers(1, 5), st.integers(1, 5))


def reference(seq: list[Verdict], rule: EpisodeRule) -> list[tuple[int, int, int]]:
    """An independent, index-based restatement of the rules: (start, end, down) per closed
    episode, offsets in minutes."""
    out: list[tuple[int, int, int]] = []
    i, n = 0, len(seq)
    while i < n:
        if seq[i] is not D or seq[i:i + rule.open_after] != [D] * rule.open_after:
            i += 1
            continue
        start, last_down, downs, ups, j = i, i, 0, 0, i
        while j < n:
            if seq[j] is D:
                last_down, downs, ups = j, downs + 1, 0
            elif seq[j] is U:
                ups += 1
                if ups >= rule.close_after:
                    break
            j += 1
        if j >= n:
            return out  # still open at the end of the sequence
        out.append((start, last_down + 1, downs))
        i = j + 1
    return out


@settings(max_examples=400, deadline=None)
@given(verdicts, rules)
def test_matches_reference_model(seq: list[Verdict], rule: EpisodeRule) -> None:
    _, events = run([(B0 + i, v) for i, v in enumerate(seq)], rule)
    assert closed(events) == reference(seq, rule)


@settings(max_examples=300, deadline=None)
@given(verdicts, rules)
def test_episode_invariants(seq: list[Verdict], rule: EpisodeRule) -> None:
    _, events = run([(B0 + i, v) for i, v in enumerate(seq)], rule)
    last_end = None
    for e in events:
        s, end = e.start // 60 - B0, e.end // 60 - B0
        # Starts and ends on DOWN minutes; opened by K consecutive DOWNs.
        assert seq[s] is D
        assert seq[end - 1] is D
        assert seq[s:s + rule.open_after] == [D] * rule.open_after
        assert 0 < e.down_seconds <= e.end - e.start
        assert e.down_seconds == 60 * sum(v is D for v in seq[s:end])
        if e.change is Change.OPENED:
            assert last_end is None or e.start >= last_end  # episodes never overlap
        if e.change is Change.CLOSED:
            last_end = e.end
            # No UP run of length M (ignoring UNKNOWN) inside the episode.
            ups = 0
            for v in seq[s:end]:
                ups = 0 if v is D else ups + (v is U)
                assert ups < rule.close_after


@settings(max_examples=200, deadline=None)
@given(verdicts, rules, st.integers(0, 120))
def test_resuming_from_a_saved_state_changes_nothing(seq: list[Verdict], rule: EpisodeRule,
                                                     cut: int) -> None:
    items = [(B0 + i, v) for i, v in enumerate(seq)]
    _, whole = run(items, rule)
    state, first = run(items[:cut], rule)
    restored = load_state(dump_state(state))
    assert restored == state
    _, second = run(items[cut:], rule, restored)
    assert first + second == whole


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5), st.integers(2, 5), st.integers(1, 4), st.integers(1, 4))
def test_blips_shorter_than_m_never_split(k: int, m: int, before: int, after: int) -> None:
    for blip in range(1, m):
        seq = [D] * (k + before) + [U] * blip + [D] * after + [U] * m
        _, events = run([(B0 + i, v) for i, v in enumerate(seq)], EpisodeRule(k, m))
        assert len(closed(events)) == 1
        assert closed(events)[0][2] == k + before + after  # the blip is not downtime


def test_open_state_window() -> None:
    state = Open(last_bucket=B0 + 3, start_bucket=B0, last_down_bucket=B0 + 2, down_buckets=3)
    assert state.window() == (B0 * 60, (B0 + 3) * 60)
    assert state.window(5) == (B0 * 5, (B0 + 3) * 5)
