"""OutageOracle exclusions: declared maintenance windows and excluded events (issue 12, item 2).

Properties (the adversary is the maintainer and the submitters: it picks when it declares, what,
in which order, what it cancels and when, where the outages fall and in which order they are
verified, and where the excluded events lie), each checked against the independent model in
tests/contracts/outage_model.py after every step:

(a) an outage entirely inside a declared, uncancelled window has downSeconds 0 and pays nothing;
(b) one that overlaps a window counts (and pays) only the part outside it;
(c) no window starts before its declaration time + minNotice (never retroactive), and a window
    that is cancelled or has started never changes again;
(d) per budget period: at most MAX_MAINTENANCE_PER_PERIOD windows and maxSecondsPerPeriod
    seconds of uncancelled ones;
(e) excludedEvent flags exactly the episodes the model flags, with the lowest overlapping event.
(a) and (b) are also checked against a second, model-free measure (elementary segments).
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from contracts import eip712
from contracts.deploy import DEFAULT_FINALITY_DELAY as FINALITY
from contracts.records import ExcludedEvent, Maintenance, MaintenanceRules
from contracts.reverts import ContractRevert, Refusal
from service.chain.gateway import chain_error
from tests.chain import USD, Ledger, events, expect_event, expect_revert
from tests.contracts.helpers import DAY, HOUR, SERVICE, make_env, snapshot
from tests.contracts.outage_model import (
    MAINTENANCE_PERIOD,
    MAX_MAINTENANCE_PER_PERIOD,
    PER_UNIT,
    MaintenanceModel,
    OutageModel,
)

NOTICE = HOUR
# Each example is a chain history (~40 tx/s): few, unshrunk, as in test_properties.
PROPS = settings(max_examples=30, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
REASON = keccak(text="state-backed attack on the provider, public attribution #1")


def set_rules(led: Ledger, budget: int, *, notice: int = NOTICE, service: bytes = SERVICE,
              maintainer: str | None = None) -> None:
    rules = (maintainer or led.a.distributor, notice, budget)
    led.send(led.oracle.functions.setMaintenanceRules(service, rules), led.a.underwriter)


def chain_maintenance(led: Ledger, service: bytes = SERVICE) -> list[Maintenance]:
    o = led.oracle.functions
    return [Maintenance.decode(o.maintenanceAt(service, i).call()) for i in range(o.maintenanceCount(service).call())]


def refused(led: Ledger, fn: Any, sender: str, error: str, **params: Any) -> ContractRevert:
    """Sends at the chain's next timestamp (unlike `expect_revert`'s estimate) and expects `error`."""
    with pytest.raises(ContractRevert) as info:
        led.send(fn, sender)
    assert info.value.name == error, info.value
    for k, v in params.items():
        got = info.value.params[k]
        if isinstance(got, str) and isinstance(v, str):
            got, v = got.lower(), v.lower()
        assert got == v, (k, info.value.params)
    return info.value


def inside_measure(windows: list[tuple[int, int]], maintenance: list[tuple[int, int]]) -> int:
    """Seconds of the windows inside the maintenance windows, by elementary segments (model-free)."""
    points = sorted({p for s, e in windows + maintenance for p in (s, e)})
    total = 0
    for a, b in zip(points, points[1:], strict=False):
        if any(s <= a and b <= e for s, e in windows) and any(s <= a and b <= e for s, e in maintenance):
            total += b - a
    return total


# --- (c), (d): the declaration rules ------------------------------------------------------------

WAIT = st.one_of(st.integers(1, 600), st.integers(600, 3 * DAY))
DECLARATIONS = st.lists(st.one_of(
    # start relative to now + notice (around the boundary, or days ahead), or to the last window's
    # end (or now + notice if later): bursts of short windows fill a period's count
    st.tuples(st.just("declare"), st.just("notice"), st.one_of(st.integers(-HOUR, HOUR), st.integers(0, 20 * DAY)),
              st.one_of(st.integers(0, 1_800), st.integers(1_800, 4 * HOUR)), WAIT),
    *[st.tuples(st.just("declare"), st.just("last"), st.integers(0, 600),
                st.one_of(st.integers(1, 120), st.integers(600, 3_600)), st.integers(1, 60))] * 3,
    st.tuples(st.just("declare"), st.just("last"), st.integers(-HOUR, -1), st.integers(1, 900), st.integers(1, 60)),
    st.tuples(st.just("cancel"), st.just(""), st.integers(0, 12), st.just(0), WAIT),
    st.tuples(st.just("burst"), st.just(""), st.integers(2, 9), st.integers(1, 120), st.just(1)),
), min_size=4, max_size=10).map(lambda ops: [
    step for op in ops for step in (
        [("declare", "last", 0, op[3], 1)] * op[2] if op[0] == "burst" else [op])])  # a burst: back-to-back windows


@given(ops=DECLARATIONS, budget=st.sampled_from([HOUR, 2 * HOUR, 6 * HOUR]))
@PROPS
def test_declarations_are_never_retroactive_and_stay_within_count_and_budget(_ledger: Ledger, ops, budget) -> None:  # noqa: ANN001
    led = _ledger
    with snapshot(led):
        set_rules(led, budget)
        model = MaintenanceModel(NOTICE, budget)
        o = led.oracle.functions
        frozen: list[Maintenance] = []  # the list at the last full read, at block time frozen_at
        frozen_at = [0]

        def full_check(now: int) -> None:
            chain = chain_maintenance(led)
            assert chain == [Maintenance(m.start, m.end, m.declared_at, m.cancelled) for m in model.windows]
            # (c) never retroactive; sorted and disjoint; once cancelled or started, frozen for good.
            assert all(m.start >= m.declared_at + NOTICE for m in chain)
            assert all(a.end <= b.start for a, b in zip(chain, chain[1:], strict=False))
            for i, old in enumerate(frozen):
                if old.cancelled or frozen_at[0] >= old.start:
                    assert chain[i] == old
            frozen[:], frozen_at[0] = chain, now
            # (d) count and budget of every period.
            for period in {m.start // MAINTENANCE_PERIOD for m in chain}:
                same = [m for m in chain if m.start // MAINTENANCE_PERIOD == period]
                assert len(same) <= MAX_MAINTENANCE_PER_PERIOD
                assert sum(m.end - m.start for m in same if not m.cancelled) <= budget

        for step, (op, base, delta, length, wait) in enumerate(ops):
            now = led.travel(wait + 1)  # the next transaction's block time, exactly (never the same second:
            # after a snapshot revert eth-tester may refuse a travel to the current time)
            if op == "declare":
                last = max(model.windows[-1].end if model.windows else 0, now + NOTICE)
                start = max(0, (now + NOTICE if base == "notice" else last) + delta)
                expected: int | str | None = model.declare(start, start + length, now)
                fn = o.declareMaintenance(SERVICE, start, start + length)
            else:
                index = delta % (len(model.windows) + 1)  # one past the end: an unknown window
                expected = model.cancel(index, now)
                fn = o.cancelMaintenance(SERVICE, index)
            try:
                r = led.send(fn, led.a.distributor)
            except ContractRevert as exc:
                assert exc.name == expected, (exc, expected)
                event(exc.name)
            else:
                event(f"{op} accepted")
                assert not isinstance(expected, str), expected
                if op == "declare":
                    expect_event(r, led.oracle, "MaintenanceDeclared", serviceId=SERVICE, index=expected,
                                 start=start, end=start + length)
                else:
                    expect_event(r, led.oracle, "MaintenanceCancelled", serviceId=SERVICE, index=index)
            assert o.maintenanceCount(SERVICE).call() == len(model.windows)
            if step % 6 == 5:  # a full read is O(n) calls: every few steps, and at the end
                full_check(now)
        full_check(led.now())


# --- (a), (b), (e): what episodes count and flag, and what pays ---------------------------------

@st.composite
def exclusion_scenario(draw):  # noqa: ANN001, ANN201
    maintenance = draw(st.lists(st.tuples(
        st.integers(0, 3 * HOUR),  # gap after the previous window (or after now + notice)
        st.integers(30 * 60, 3 * HOUR),  # length: long enough that an outage inside would pay
        st.integers(1, 2 * HOUR),  # seconds the maintainer waits before declaring it
        st.sampled_from([False, False, True]),  # and whether it cancels it before it starts
    ), min_size=1, max_size=4))
    outages = draw(st.lists(st.tuples(
        st.integers(0, 3),  # the maintenance window it is placed against
        st.sampled_from(["inside", "inside", "around", "across_start", "across_end", "free"]),
        st.integers(0, 4 * HOUR), st.integers(60, 4 * HOUR),
    ), min_size=1, max_size=5))
    order = draw(st.permutations(range(len(outages))))
    events_ = draw(st.lists(st.tuples(
        st.integers(0, 4),  # the outage it is placed against
        st.integers(-2 * HOUR, 2 * HOUR), st.integers(1, 2 * HOUR),
        st.integers(0, 5),  # declared after this many outage submissions
    ), min_size=0, max_size=3))
    return maintenance, outages, order, events_


def place(kind: str, m: tuple[int, int], a: int, b: int) -> tuple[int, int]:
    """An outage window relative to maintenance window `m` = [ms, me)."""
    ms, me = m
    if kind == "inside":
        s = ms + a % (me - ms)
        return s, s + 1 + b % (me - s)
    if kind == "around":
        return ms - 1 - a, me + b
    if kind == "across_start":
        return ms - 1 - a, ms + 1 + b % (me - ms)
    if kind == "across_end":
        return ms + a % (me - ms), me + b
    return me + 600 + a, me + 600 + a + b


@given(sc=exclusion_scenario())
@PROPS
def test_maintenance_never_pays_and_excluded_events_are_flagged_as_the_model_says(_ledger: Ledger, sc) -> None:  # noqa: ANN001
    maintenance, outages, order, declared_events = sc
    led = _ledger
    with snapshot(led):
        env = make_env(led)
        o = led.oracle.functions
        set_rules(led, 24 * HOUR)
        rules = MaintenanceModel(NOTICE, 24 * HOUR)
        model = OutageModel(o.mergeGap().call(), o.finalityDelay().call(), maintenance=rules.windows)
        [pid] = env.issue(env.terms(env.per_unit, led.a.alice, days=60))
        # The maintainer declares (and perhaps cancels) ahead, each with the notice.
        start = led.now() + NOTICE
        for gap, length, wait, cancel in maintenance:
            now = led.travel(wait)
            start = max(start, now + NOTICE) + gap
            index = rules.declare(start, start + length, now)
            assert isinstance(index, int), index
            led.send(o.declareMaintenance(SERVICE, start, start + length), led.a.distributor)
            if cancel:  # a second later, long before it starts
                assert rules.cancel(index, led.travel(1)) is None
                led.send(o.cancelMaintenance(SERVICE, index), led.a.distributor)
            start += length
        anchors = [(m.start, m.end) for m in rules.windows] or [(start + HOUR, start + 2 * HOUR)]
        spans = [place(kind, anchors[i % len(anchors)], a, b) for i, kind, a, b in outages]
        # Outages happen after the declarations: verified later, in the adversary's order.
        led.travel(max(e for _, e in spans) + 60 - led.now(), mine=True)
        def declare_events(k: int) -> None:  # those due after k submissions (the last ones at the end)
            for target, offset, length, _ in [e for e in declared_events if min(e[3], len(order)) == k]:
                s = spans[target % len(spans)][0] + offset
                led.send(o.declareExcludedEvent([SERVICE], s, s + length, REASON), led.a.owner)
                model.excluded.append((s, s + length))

        def check() -> None:
            eps, truncated = led.episodes(SERVICE)
            assert not truncated
            now = led.now()
            assert [(e.start, e.end, e.down_seconds, e.maintenance_seconds, e.windows, e.excluded_event)
                    for e in eps] == [(e.start, e.end, e.down, e.maintenance, e.windows, e.excluded)
                                      for e in model.episodes(now)]
            # (a), (b) without the model: downtime inside uncancelled windows is never downSeconds.
            live = [(m.start, m.end) for m in rules.windows if not m.cancelled]
            for e in eps:
                event("episode: " + ("no maintenance" if not e.maintenance_seconds else
                                     "all maintenance" if not e.down_seconds else "partly maintenance"))
                event(f"episode: excluded event {e.excluded_event}")
                ws = [(w.start, w.end) for w in model.windows if e.start <= w.start < e.end]
                assert e.maintenance_seconds == inside_measure(ws, live)
                assert e.down_seconds + e.maintenance_seconds == sum(b - a for a, b in ws)

        declare_events(0)
        for k, i in enumerate(order, start=1):
            s, e = spans[i]
            try:
                led.verify_outage(SERVICE, s, e)
            except ContractRevert as exc:
                assert exc.name == "OutageOracleWindowAlreadyCovered"
                assert not model.submit(s, e, led.now())
            else:
                assert model.submit(s, e, led.now())
            declare_events(k)
            check()
        # What pays: the per-unit cover is settled on downSeconds only.
        led.travel(FINALITY + 1, mine=True)
        r = env.settle(pid)
        ts = led.w3.eth.get_block(r["blockNumber"])["timestamp"]
        rec = env.record(pid)
        expected = model.entitlement(kind=PER_UNIT, trigger=HOUR, unit=HOUR, amount=50 * USD, limit=500 * USD,
                                     cover_from=rec.cover_start, cover_end=rec.cover_end, now=ts)
        assert rec.settled == expected
        if all(inside_measure([w], [(m.start, m.end) for m in rules.windows if not m.cancelled]) == w[1] - w[0]
               for w in spans):
            assert rec.settled == 0  # (a): every outage inside a declared window: nothing is owed
            event("every outage inside maintenance")
        event("paid nothing" if rec.settled == 0 else "paid")


# --- unit tests: each rule and each error -------------------------------------------------------

def test_rules_set_by_the_maintenance_admin_only(ledger) -> None:
    o = ledger.oracle.functions
    assert MaintenanceRules.decode(o.maintenanceRules(SERVICE).call()) == MaintenanceRules("0x" + "00" * 20, 0, 0)
    r = ledger.send(o.setMaintenanceRules(SERVICE, (ledger.a.distributor, NOTICE, 4 * HOUR)), ledger.a.underwriter)
    ev = expect_event(r, ledger.oracle, "MaintenanceRulesSet", serviceId=SERVICE)
    assert tuple(ev["rules"].values()) == (ledger.a.distributor, NOTICE, 4 * HOUR)
    assert MaintenanceRules.decode(o.maintenanceRules(SERVICE).call()) == MaintenanceRules(
        ledger.a.distributor, NOTICE, 4 * HOUR)
    role = o.MAINTENANCE_ADMIN_ROLE().call()
    assert role == keccak(text="MAINTENANCE_ADMIN_ROLE")
    for who in (ledger.a.distributor, ledger.a.outsider):
        expect_revert(o.setMaintenanceRules(SERVICE, (who, 0, HOUR)), who, "AccessControlUnauthorizedAccount",
                      account=who, neededRole=role)
    expect_revert(o.setMaintenanceRules(SERVICE, (ledger.a.distributor, 0, 30 * DAY + 1)), ledger.a.underwriter,
                  "OutageOracleInvalidMaintenanceRules", maxSecondsPerPeriod=30 * DAY + 1)
    assert (o.MAINTENANCE_PERIOD().call(), o.MAX_MAINTENANCE_PER_PERIOD().call(), o.MAX_EXCLUDED_EVENTS().call()) == (
        MAINTENANCE_PERIOD, MAX_MAINTENANCE_PER_PERIOD, 32)


def test_only_the_maintainer_declares_and_cancels(ledger) -> None:
    o, t = ledger.oracle.functions, ledger.now() + 2 * NOTICE
    refused(ledger, o.declareMaintenance(SERVICE, t, t + 60), ledger.a.distributor, "OutageOracleNotMaintainer",
            serviceId=SERVICE)  # no rules yet: nobody may
    set_rules(ledger, 4 * HOUR)
    for who in (ledger.a.outsider, ledger.a.underwriter, ledger.a.owner):
        refused(ledger, o.declareMaintenance(SERVICE, t, t + 60), who, "OutageOracleNotMaintainer", caller=who)
    ledger.send(o.declareMaintenance(SERVICE, t, t + 60), ledger.a.distributor)
    refused(ledger, o.cancelMaintenance(SERVICE, 0), ledger.a.outsider, "OutageOracleNotMaintainer",
            caller=ledger.a.outsider)
    assert chain_error(ContractRevert("OutageOracleNotMaintainer")).status == 403


def test_notice_is_measured_from_the_declaring_block(ledger) -> None:
    set_rules(ledger, 4 * HOUR)
    o = ledger.oracle.functions
    now = ledger.travel(10)
    refused(ledger, o.declareMaintenance(SERVICE, now + NOTICE - 1, now + NOTICE + 60), ledger.a.distributor,
            "OutageOracleMaintenanceNoticeTooShort", start=now + NOTICE - 1, earliest=now + NOTICE)
    now = ledger.travel(10)
    r = ledger.send(o.declareMaintenance(SERVICE, now + NOTICE, now + NOTICE + 60), ledger.a.distributor)
    expect_event(r, ledger.oracle, "MaintenanceDeclared", index=0, start=now + NOTICE, end=now + NOTICE + 60)
    assert chain_maintenance(ledger) == [Maintenance(now + NOTICE, now + NOTICE + 60, now, False)]
    # In the past is the same refusal: never retroactive.
    refused(ledger, o.declareMaintenance(SERVICE, now - 3600, now - 60), ledger.a.distributor,
            "OutageOracleMaintenanceNoticeTooShort")
    err = chain_error(ContractRevert("OutageOracleMaintenanceNoticeTooShort"))
    assert (err.status, err.type) == (409, "maintenance_notice_too_short")  # the clock made it too soon


def test_invalid_window_and_order(ledger) -> None:
    set_rules(ledger, 4 * HOUR)
    o, t = ledger.oracle.functions, ledger.now() + 2 * NOTICE
    refused(ledger, o.declareMaintenance(SERVICE, t, t), ledger.a.distributor,
            "OutageOracleInvalidMaintenanceWindow", start=t, end=t)
    ledger.send(o.declareMaintenance(SERVICE, t, t + 600), ledger.a.distributor)
    refused(ledger, o.declareMaintenance(SERVICE, t + 599, t + 900), ledger.a.distributor,
            "OutageOracleMaintenanceOutOfOrder", start=t + 599, lastEnd=t + 600)
    ledger.send(o.cancelMaintenance(SERVICE, 0), ledger.a.distributor)
    # A cancelled window keeps its place: the list stays sorted.
    refused(ledger, o.declareMaintenance(SERVICE, t - 60, t), ledger.a.distributor,
            "OutageOracleMaintenanceOutOfOrder", lastEnd=t + 600)
    ledger.send(o.declareMaintenance(SERVICE, t + 600, t + 900), ledger.a.distributor)  # touching is fine
    assert [(m.start, m.end, m.cancelled) for m in chain_maintenance(ledger)] == [(t, t + 600, True),
                                                                               (t + 600, t + 900, False)]


def _next_period_start(led: Ledger) -> int:
    return (led.now() + 2 * NOTICE) // MAINTENANCE_PERIOD * MAINTENANCE_PERIOD + MAINTENANCE_PERIOD


def test_no_declaration_while_an_outage_is_in_progress(ledger) -> None:
    """A hostile maintainer cannot lay a window over an outage already running: while the latest
    window is ongoing or may still merge (ended < mergeGap ago), declaring is refused."""
    set_rules(ledger, 4 * HOUR)
    o = ledger.oracle.functions
    gap = o.mergeGap().call()
    now = ledger.now()
    ledger.verify_outage(SERVICE, now - 600, now - 1, ongoing=True)
    t = ledger.now() + 2 * NOTICE
    refused(ledger, o.declareMaintenance(SERVICE, t, t + 600), ledger.a.distributor,
            "OutageOracleMaintenanceDuringOutage", lastWindowEnd=now - 1)
    now = ledger.travel(60)
    ledger.verify_outage(SERVICE, now - 600, now - 1)  # closed: it may still merge for mergeGap
    refused(ledger, o.declareMaintenance(SERVICE, t, t + 600), ledger.a.distributor,
            "OutageOracleMaintenanceDuringOutage")
    ledger.travel(gap + 1, mine=True)
    ledger.send(o.declareMaintenance(SERVICE, t + gap, t + gap + 600), ledger.a.distributor)
    err = chain_error(ContractRevert("OutageOracleMaintenanceDuringOutage"))
    assert err.status == 409


def test_budget_per_period_and_cancel_returns_it(ledger) -> None:
    set_rules(ledger, 2 * HOUR)
    o, p0 = ledger.oracle.functions, _next_period_start(ledger)
    period = p0 // MAINTENANCE_PERIOD
    ledger.send(o.declareMaintenance(SERVICE, p0, p0 + HOUR), ledger.a.distributor)
    refused(ledger, o.declareMaintenance(SERVICE, p0 + HOUR, p0 + 2 * HOUR + 1), ledger.a.distributor,
            "OutageOracleMaintenanceBudgetExceeded", serviceId=SERVICE, period=period, total=2 * HOUR + 1,
            budget=2 * HOUR)
    ledger.send(o.declareMaintenance(SERVICE, p0 + HOUR, p0 + 2 * HOUR), ledger.a.distributor)  # exactly the budget
    ledger.send(o.cancelMaintenance(SERVICE, 1), ledger.a.distributor)
    ledger.send(o.declareMaintenance(SERVICE, p0 + 3 * HOUR, p0 + 4 * HOUR), ledger.a.distributor)  # freed
    # A window counts in the period of its start, even when it runs into the next one.
    p1 = p0 + MAINTENANCE_PERIOD
    refused(ledger, o.declareMaintenance(SERVICE, p1 - 60, p1 + HOUR), ledger.a.distributor,
            "OutageOracleMaintenanceBudgetExceeded", period=period)
    ledger.send(o.declareMaintenance(SERVICE, p1, p1 + 2 * HOUR), ledger.a.distributor)  # the next period's own
    err = chain_error(ContractRevert("OutageOracleMaintenanceBudgetExceeded"))
    assert (err.status, err.type) == (409, "maintenance_budget_exceeded")


def test_count_per_period_includes_cancelled_windows(ledger) -> None:
    set_rules(ledger, 4 * HOUR)
    o, p0 = ledger.oracle.functions, _next_period_start(ledger)
    for i in range(MAX_MAINTENANCE_PER_PERIOD):
        ledger.send(o.declareMaintenance(SERVICE, p0 + 100 * i, p0 + 100 * i + 10), ledger.a.distributor)
    ledger.send(o.cancelMaintenance(SERVICE, 3), ledger.a.distributor)
    refused(ledger, o.declareMaintenance(SERVICE, p0 + 10_000, p0 + 10_010), ledger.a.distributor,
            "OutageOracleMaintenanceCountExceeded", serviceId=SERVICE, period=p0 // MAINTENANCE_PERIOD)
    ledger.send(o.declareMaintenance(SERVICE, p0 + MAINTENANCE_PERIOD, p0 + MAINTENANCE_PERIOD + 10),
                ledger.a.distributor)
    assert o.maintenanceCount(SERVICE).call() == MAX_MAINTENANCE_PER_PERIOD + 1
    assert Maintenance.decode(o.maintenanceAt(SERVICE, 99).call()) == Maintenance(0, 0, 0, False)


def test_cancel_only_before_start_and_once(ledger) -> None:
    set_rules(ledger, 4 * HOUR)
    o = ledger.oracle.functions
    t = ledger.now() + 2 * NOTICE
    ledger.send(o.declareMaintenance(SERVICE, t, t + 600), ledger.a.distributor)
    ledger.send(o.declareMaintenance(SERVICE, t + 600, t + 1200), ledger.a.distributor)
    refused(ledger, o.cancelMaintenance(SERVICE, 2), ledger.a.distributor, "OutageOracleUnknownMaintenance",
            serviceId=SERVICE, index=2)
    r = ledger.send(o.cancelMaintenance(SERVICE, 1), ledger.a.distributor)
    expect_event(r, ledger.oracle, "MaintenanceCancelled", serviceId=SERVICE, index=1)
    refused(ledger, o.cancelMaintenance(SERVICE, 1), ledger.a.distributor, "OutageOracleMaintenanceAlreadyCancelled",
            index=1)
    ledger.travel(t - ledger.now())  # the next block is at `start` exactly
    refused(ledger, o.cancelMaintenance(SERVICE, 0), ledger.a.distributor, "OutageOracleMaintenanceStarted",
            serviceId=SERVICE, index=0, start=t)
    assert [m.cancelled for m in chain_maintenance(ledger)] == [False, True]


def test_excluded_events_admin_only_bounded_and_listed(ledger) -> None:
    o = ledger.oracle.functions
    other = eip712.service_id("https://other.example")
    now = ledger.now()
    expect_revert(o.declareExcludedEvent([SERVICE], now - 100, now, REASON), ledger.a.underwriter,
                  "AccessControlUnauthorizedAccount", account=ledger.a.underwriter)
    refused(ledger, o.declareExcludedEvent([SERVICE], now, now, REASON), ledger.a.owner,
            "OutageOracleInvalidExcludedEvent", start=now, end=now)
    refused(ledger, o.declareExcludedEvent([], now - 100, now, REASON), ledger.a.owner, "OutageOracleNoServices")
    r = ledger.send(o.declareExcludedEvent([SERVICE, other], now - 100, now + 100, REASON), ledger.a.owner)
    found = events(r, ledger.oracle, "ExcludedEventDeclared")
    assert [(e["serviceId"], e["index"], e["start"], e["end"], e["reason"]) for e in found] == [
        (SERVICE, 0, now - 100, now + 100, REASON), (other, 0, now - 100, now + 100, REASON)]
    block_time = ledger.w3.eth.get_block(r["blockNumber"])["timestamp"]
    assert ExcludedEvent.decode(o.excludedEventAt(other, 0).call()) == ExcludedEvent(
        now - 100, now + 100, REASON, block_time)
    assert ExcludedEvent.decode(o.excludedEventAt(other, 1).call()) == ExcludedEvent(0, 0, b"\x00" * 32, 0)
    for i in range(1, 32):
        ledger.send(o.declareExcludedEvent([SERVICE], i, i + 1, REASON), ledger.a.owner)
    assert o.excludedEventCount(SERVICE).call() == 32
    refused(ledger, o.declareExcludedEvent([other, SERVICE], 1, 2, REASON), ledger.a.owner,
            "OutageOracleTooManyExcludedEvents", serviceId=SERVICE)
    assert o.excludedEventCount(other).call() == 1  # the whole call reverted


def test_episode_fields_across_windows_events_and_cancelled_maintenance(ledger) -> None:
    """One episode of three windows across two maintenance windows (one cancelled) and two events."""
    set_rules(ledger, 6 * HOUR)
    o = ledger.oracle.functions
    t = ledger.now() + 2 * NOTICE
    ledger.send(o.declareMaintenance(SERVICE, t, t + HOUR), ledger.a.distributor)
    ledger.send(o.declareMaintenance(SERVICE, t + 2 * HOUR, t + 3 * HOUR), ledger.a.distributor)
    ledger.send(o.declareMaintenance(SERVICE, t + 3 * HOUR, t + 4 * HOUR), ledger.a.distributor)
    ledger.send(o.cancelMaintenance(SERVICE, 1), ledger.a.distributor)
    ledger.travel(t + 6 * HOUR - ledger.now(), mine=True)
    gap = o.mergeGap().call()
    # [t-30m, t+30m): its second half in #0; [t+30m+gap, t+2h30m): in #0 until t+1h, then outside
    # and in cancelled #1; [t+2h30m+gap, t+3h30m): in cancelled #1, then its last half hour in #2.
    ledger.verify_outage(SERVICE, t - 1800, t + 1800)
    ledger.verify_outage(SERVICE, t + 1800 + gap, t + 9000)
    ledger.verify_outage(SERVICE, t + 9000 + gap, t + 12_600)
    [ep], _ = ledger.episodes(SERVICE)
    total = 3600 + (9000 - 1800 - gap) + (12_600 - 9000 - gap)
    inside = 1800 + (1800 - gap) + 1800
    assert (ep.windows, ep.maintenance_seconds, ep.down_seconds) == (3, inside, total - inside)
    assert ep.excluded_event == 0
    # Events: #0 overlaps nothing, #1 touches the last window's end only, #2 overlaps the second window.
    for s, e in ((t + 5 * HOUR, t + 6 * HOUR), (t + 12_600, t + 13_000), (t + 7000, t + 7001)):
        ledger.send(o.declareExcludedEvent([SERVICE], s, e, REASON), ledger.a.owner)
    [ep], _ = ledger.episodes(SERVICE)
    assert ep.excluded_event == 3
    ledger.send(o.declareExcludedEvent([SERVICE], t - 1800, t - 1799, REASON), ledger.a.owner)
    [ep], _ = ledger.episodes(SERVICE)
    assert ep.excluded_event == 3  # the lowest index wins, not the earliest period
    other = eip712.service_id("https://other.example")
    ledger.send(o.declareExcludedEvent([other], t - 10 * HOUR, t + 10 * HOUR, REASON), ledger.a.owner)
    [ep], _ = ledger.episodes(SERVICE)
    assert ep.excluded_event == 3  # another service's event changes nothing


def _episodes_gas(led: Ledger, service: bytes, start: int) -> int:
    return int(led.oracle.functions.episodesIn(service, start, 2**64 - 1, 64).estimate_gas())


def test_episodes_gas_does_not_grow_with_the_maintenance_history(ledger) -> None:
    """Finding 2 kept: one binary search into the maintenance list, whatever its length."""
    short, long = eip712.service_id("https://short.example"), eip712.service_id("https://long.example")
    o = ledger.oracle.functions
    for s in (short, long):
        set_rules(ledger, 4 * HOUR, service=s)
    p0 = _next_period_start(ledger)
    ledger.send(o.declareMaintenance(short, p0, p0 + 10), ledger.a.distributor)
    for k in range(12):
        base = p0 + k * MAINTENANCE_PERIOD
        for i in range(MAX_MAINTENANCE_PER_PERIOD):
            ledger.send(o.declareMaintenance(long, base + 100 * i, base + 100 * i + 10), ledger.a.distributor)
    last = p0 + 12 * MAINTENANCE_PERIOD
    for s in (short, long):
        ledger.send(o.declareMaintenance(s, last, last + HOUR), ledger.a.distributor)
    ledger.travel(last + 2 * HOUR - ledger.now(), mine=True)
    for s in (short, long):
        ledger.verify_outage(s, last - 1800, last + 1800)
    assert [(e.down_seconds, e.maintenance_seconds) for e in ledger.episodes(long)[0]] == [(1800, 1800)]
    assert [(e.down_seconds, e.maintenance_seconds) for e in ledger.episodes(short)[0]] == [(1800, 1800)]
    g_short, g_long = _episodes_gas(ledger, short, last - HOUR), _episodes_gas(ledger, long, last - HOUR)
    # 2 vs 98 windows: a handful more reads of the binary search (cold slots, ~2.1k gas each).
    assert g_long - g_short < 8 * 2_200, (g_short, g_long)


def test_refusal_classes() -> None:
    from contracts.reverts import REFUSALS

    assert REFUSALS["OutageOracleNotMaintainer"] is Refusal.FORBIDDEN
    for name in ("OutageOracleMaintenanceNoticeTooShort", "OutageOracleMaintenanceDuringOutage",
                 "OutageOracleMaintenanceBudgetExceeded", "OutageOracleMaintenanceCountExceeded",
                 "OutageOracleMaintenanceOutOfOrder", "OutageOracleMaintenanceStarted",
                 "OutageOracleMaintenanceAlreadyCancelled", "OutageOracleTooManyExcludedEvents"):
        assert REFUSALS[name] is Refusal.CONFLICT, name
