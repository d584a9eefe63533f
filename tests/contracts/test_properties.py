"""Property tests on the live contracts: the quorum rule, entitlement and pool solvency."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from contracts.deploy import DEFAULT_FINALITY_DELAY as FINALITY
from contracts.reverts import ContractRevert
from tests.chain import ORACLES, USD, Ledger, signer
from tests.contracts.helpers import HOUR, SERVICE, make_env, snapshot

_SLOW_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
# Contract examples cost real transactions (~40 tx/s on eth-tester): few but meaningful ones,
# except for the quorum rule whose examples are one submission each.
# No shrinking: each example is a chain history; a failure prints its example and seed as is.
NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]
PROPS = settings(max_examples=30, deadline=None, suppress_health_check=_SLOW_OK, phases=NO_SHRINK)
QUORUM_PROPS = settings(max_examples=120, deadline=None, suppress_health_check=_SLOW_OK)


# --- quorum rule ----------------------------------------------------------------------------

LIARS = [signer(f"liar_{i}") for i in range(2)]


@st.composite
def reports_with_liars(draw):  # noqa: ANN001, ANN201
    """A real outage [T0, T1); honest nodes see sub-windows of it; up to f = q-1 liars say anything."""
    t0 = draw(st.integers(1_000, 5_000))
    t1 = t0 + draw(st.integers(60, 5_000))
    honest_n = draw(st.integers(1, 5))
    honest = []
    for _ in range(honest_n):
        s = draw(st.integers(t0, t1 - 1))
        e = draw(st.integers(s + 1, t1))
        honest.append((s, e))
    liars = draw(st.lists(st.tuples(st.integers(0, 20_000), st.integers(1, 20_000)).map(
        lambda p: (min(p), max(p) + 1)), min_size=0, max_size=2))
    return honest, liars


@given(data=reports_with_liars())
@QUORUM_PROPS
def test_no_verified_instant_lacks_an_honest_down_observation(_ledger: Ledger, data) -> None:  # noqa: ANN001
    honest, liars = data
    led = _ledger
    with snapshot(led):
        # Config: 5 honest + 2 liars, q = 4 (a strict majority) > f = 2.
        honest_nodes = [signer(f"honest_{i}") for i in range(5)]
        nodes = honest_nodes + LIARS
        led.send(led.oracle.functions.setConfig([n.address for n in nodes], 4), led.a.owner)
        base = led.now() - 30_000
        reports = [led.signed_report(n, SERVICE, base + s, base + e, version=2)
                   for n, (s, e) in zip(honest_nodes, honest, strict=False)]
        reports += [led.signed_report(n, SERVICE, base + s, base + e, version=2)
                    for n, (s, e) in zip(LIARS, liars, strict=False)]
        try:
            led.send(led.oracle.functions.submit(SERVICE, 2, reports), led.a.relayer)
        except ContractRevert as exc:
            assert exc.name in {"OutageOracleQuorumNotMet", "OutageOracleReportsDisjoint"}
            return
        w = led.oracle.functions.windowAt(SERVICE, 0).call()
        start, end = w[0] - base, w[1] - base
        assert start < end
        # Every instant of [start, end) lies in some honest window: check each boundary piece.
        points = sorted({start, end, *[p for s, e in honest for p in (s, e) if start <= p <= end]})
        for a, b in zip(points, points[1:], strict=False):
            mid2 = a + b  # midpoint doubled, to stay in integers
            assert any(2 * s <= mid2 < 2 * e for s, e in honest), (honest, liars, start, end)


# --- entitlement ----------------------------------------------------------------------------

@given(
    steps=st.lists(
        st.tuples(st.integers(60, 3 * HOUR), st.sampled_from([(0, 1, 2), (1, 2, 3), (0, 2, 3), (0, 1, 2, 3)])),
        min_size=1, max_size=4),
    limit_units=st.integers(1, 10),
)
@PROPS
def test_extensions_and_signer_subsets_never_pay_twice(_ledger: Ledger, steps, limit_units) -> None:  # noqa: ANN001
    led = _ledger
    with snapshot(led):
        env = make_env(led)
        limit = limit_units * 50 * USD
        [pid] = env.issue(env.terms(env.per_unit, led.a.alice, limit=limit))
        start = led.now() + 60
        end = start
        paid_seen = 0
        for grow, subset in steps:
            end += grow
            led.travel(max(1, end - led.now() + 5))
            reports = [led.signed_report(ORACLES[i], SERVICE, start, end, ongoing=True) for i in subset]
            try:
                led.send(led.oracle.functions.submit(SERVICE, 1, reports), led.a.relayer)
            except ContractRevert as exc:
                assert exc.name == "OutageOracleWindowAlreadyCovered"
            led.travel(FINALITY + 1)  # the episode's start is final: it pays
            env.settle(pid)
            env.settle(pid)  # a second settle right away pays nothing more
            rec = env.record(pid)
            assert rec.paid >= paid_seen
            paid_seen = rec.paid
            duration = end - start
            units = max(0, -(-(duration - HOUR) // HOUR)) if duration > HOUR else 0
            expected = min(units * 50 * USD, limit)
            assert rec.settled == expected
            assert rec.paid == min(expected, 150 * USD)  # auto-pay limit; the rest is in review
            assert led.balance(led.a.alice) == rec.paid <= limit


# --- solvency -------------------------------------------------------------------------------

OPS = st.lists(st.one_of(
    st.tuples(st.just("deposit"), st.integers(1, 2_000)),
    st.tuples(st.just("withdraw"), st.integers(1, 2_000)),
    st.tuples(st.just("issue"), st.integers(1, 6)),
    st.tuples(st.just("outage"), st.integers(30 * 60, 6 * HOUR)),
    st.tuples(st.just("settle"), st.just(0)),
    st.tuples(st.just("expire"), st.just(0)),
    st.tuples(st.just("approve"), st.just(0)),
), min_size=3, max_size=10)


@given(ops=OPS)
@PROPS
def test_pool_stays_solvent(_ledger: Ledger, ops) -> None:  # noqa: ANN001
    led = _ledger
    with snapshot(led):
        env = make_env(led)
        led.send(led.pool.functions.withdraw(led.a.owner, 100_000 * USD - 1_000 * USD), led.a.treasurer)
        ids: list[int] = []
        n = 0
        for op, arg in ops:
            try:
                if op == "deposit":
                    led.send(led.pool.functions.deposit(arg * USD), led.a.owner)
                elif op == "withdraw":
                    led.send(led.pool.functions.withdraw(led.a.owner, arg * USD), led.a.treasurer)
                elif op == "issue":
                    ids += env.issue(*[env.terms(env.per_unit, n=n + i, days=1) for i in range(arg)])
                    n += arg
                elif op == "outage":
                    start = led.now() + 30
                    led.travel(arg + 60)
                    led.verify_outage(SERVICE, start, start + arg)
                    led.travel(FINALITY + 1)
                elif op == "settle" and ids:
                    env.settle(*ids)
                elif op == "expire" and ids:
                    led.travel(8 * 86400)
                    env.expire(*ids)
                elif op == "approve":
                    for pid in ids:
                        rec = env.record(pid)
                        if rec.open_claim:
                            env.send_tracked(led.book.functions.approveClaim(
                                rec.open_claim, pid, rec.as_tuple(), env.incident, led.book.functions.claim(
                                    rec.open_claim).call()[1]), led.a.claims)
            except ContractRevert as exc:
                assert exc.name in {"CoverPoolInsufficientFreeCapital", "PolicyBookCoverNotEnded"}, exc
            assets, locked, balance = env.pool_state()
            assert locked <= assets <= balance
            assert led.pool.functions.freeCapital().call() == assets - locked >= 0
            # Locked equals the open collateral of live policies: limits minus what they paid.
            live = [env.record(p) for p in ids if env.record(p).status == 0]
            assert locked == sum(r.limit - r.paid for r in live)


