"""Adversarial property test of the money path "one real outage pays a fixed cover once".

The adversary controls one faulty signer of four (q = 3), who submits and when, which honest
public reports it combines with the liar's, and when a late buyer takes a cover during an outage
it can already see. The honest transmitter submits the full honest set at least every
`finality / 2` seconds (the liveness the finality delay is sized for). After every step the
chain's windows must equal an independent Python model's (tests/contracts/outage_model.py), each
policy's entitlement must equal the model's, and no payout may exceed what the real outages
allow: one fixed payout per real outage, nothing for an outage begun before the cover, and no
per-unit payout for time no honest node saw down. At the end every real outage has been paid.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from contracts.reverts import ContractRevert
from tests.chain import ORACLES, USD, Ledger
from tests.contracts.helpers import SERVICE, make_env, product_tuple, snapshot
from tests.contracts.outage_model import FIXED, PER_UNIT, OutageModel, verified_window

HONEST, LIAR = ORACLES[:3], ORACLES[3]
QUORUM = 3
TRIGGER, UNIT, AMOUNT, UNIT_AMOUNT, LIMIT = 120, 60, 100 * USD, 10 * USD, 1_000 * USD
ACCEPTABLE = {"OutageOracleQuorumNotMet", "OutageOracleReportsDisjoint", "OutageOracleWindowAlreadyCovered",
              "OutageOracleInvalidWindow", "OutageOracleWindowInFuture"}

ADVERSARY = settings(max_examples=12, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                            HealthCheck.data_too_large])


@dataclass(frozen=True)
class Outage:
    start: int
    end: int


@st.composite
def scenario(draw):  # noqa: ANN001, ANN201
    first = draw(st.integers(200, 700))
    gap = draw(st.integers(400, 900))  # more than the merge gap: two real outages
    second = draw(st.integers(200, 600))
    jitter = [draw(st.integers(0, 20)) for _ in HONEST]  # honest nodes date an outage slightly apart
    lag = [draw(st.integers(0, 8)) for _ in HONEST]  # and see it up to a few seconds late
    steps = draw(st.lists(st.tuples(
        st.integers(5, 30),  # seconds that pass
        st.sampled_from(["none", "liar", "subset", "buy", "settle"]),
        st.one_of(st.integers(1, 40), st.integers(1, 400)),  # liar start, seconds before now
        st.integers(0, 60),  # liar end, seconds before now
        st.sampled_from([(0, 1), (0, 2), (1, 2), (0, 1, 2)]),
        st.booleans(),  # the adversary settles at once, before the honest transmitter's next round
    ), min_size=15, max_size=45))
    return first, gap, second, jitter, lag, steps


@given(sc=scenario())
@ADVERSARY
def test_faulty_signer_and_hostile_submitter_cannot_change_what_is_paid(_ledger: Ledger, sc) -> None:  # noqa: ANN001
    first, gap, second, jitter, lag, steps = sc
    led = _ledger
    with snapshot(led):
        env = make_env(led)
        oracle = led.oracle.functions
        model = OutageModel(oracle.mergeGap().call(), oracle.finalityDelay().call())
        for kind, amount in ((FIXED, AMOUNT), (PER_UNIT, UNIT_AMOUNT)):
            led.send(led.book.functions.createProduct(product_tuple(
                kind=kind, trigger=TRIGGER, unit=UNIT, amount=amount, auto=LIMIT, limit=LIMIT,
                grace=model.finality + 600, medium_limit=0)), led.a.underwriter)
        fixed_id, unit_id = 3, 4
        [fixed_pid] = env.issue(env.terms(fixed_id, led.a.alice, limit=LIMIT, days=1))
        [unit_pid] = env.issue(env.terms(unit_id, led.a.bob, limit=LIMIT, days=1, n=1))
        late: list[tuple[int, int]] = []  # (policy id, cover start) of covers bought mid-outage
        owed: dict[int, int] = {}  # per policy, the model's entitlement at its best settle so far

        t0 = led.now() + 100
        outages = [Outage(t0, t0 + first), Outage(t0 + first + gap, t0 + first + gap + second)]

        def honest_report(i: int, o: Outage, now: int) -> tuple[int, int, bool] | None:
            start, end = o.start + jitter[i], min(now - lag[i], o.end)
            return (start, end, now < o.end) if end > start else None

        def submit(reports: list[tuple[object, int, int, bool]], *, skip_known: bool = False) -> None:
            v = verified_window([(s, e) for _, s, e, _ in reports], QUORUM)
            ongoing = sum(1 for *_, ong in reports if ong) >= QUORUM
            if skip_known and v is not None and not copy.deepcopy(model).submit(*v, led.now(), ongoing):
                return  # the honest transmitter knows the chain has it (saves a transaction)
            signed = [led.signed_report(who, SERVICE, s, e, ongoing=ong) for who, s, e, ong in reports]
            try:
                r = led.send(oracle.submit(SERVICE, 1, signed), led.a.relayer)
            except ContractRevert as exc:
                assert exc.name in ACCEPTABLE, exc
                if exc.name == "OutageOracleWindowAlreadyCovered":
                    assert v is not None
                    assert not copy.deepcopy(model).submit(*v, led.now(), ongoing)
                return
            assert v is not None
            ts = led.w3.eth.get_block(r["blockNumber"])["timestamp"]
            assert model.submit(v[0], v[1], ts, ongoing), "the chain accepted what the model calls nothing new"
            chain = [tuple(oracle.windowAt(SERVICE, i).call()[:2]) for i in range(oracle.windowCount(SERVICE).call())]
            assert chain == [(w.start, w.end) for w in model.windows]

        def honest_round(now: int) -> None:
            for o in outages:
                reps = [honest_report(i, o, now) for i in range(len(HONEST))]
                if all(reps):
                    submit([(HONEST[i], *reps[i]) for i in range(len(HONEST))], skip_known=True)  # type: ignore[misc]

        def settle_and_check() -> None:
            ids = [fixed_pid, unit_pid] + [p for p, _ in late]
            r = env.settle(*ids)
            ts = led.w3.eth.get_block(r["blockNumber"])["timestamp"]
            for pid in ids:
                rec = env.record(pid)
                kind = FIXED if rec.product_id == fixed_id else PER_UNIT
                expected = model.entitlement(kind=kind, trigger=TRIGGER, unit=UNIT,
                                             amount=AMOUNT if kind == FIXED else UNIT_AMOUNT, limit=LIMIT,
                                             cover_from=rec.cover_start, cover_end=rec.cover_end, now=ts)
                # What was handled never goes back: the most the model ever owed at a settle.
                owed[pid] = max(owed.get(pid, 0), expected)
                assert rec.settled == owed[pid], (pid, rec.settled, expected, ts, model.windows)
                # The chain dates an outage no later than the honest set does (the latest honest
                # start, q = 3 honest nodes): a cover bought before that may be paid for it, one
                # bought after it never is; that is the known-loss rule.
                started_in_cover = [o for o in outages if o.start + max(jitter) >= rec.cover_start and o.start < ts]
                if kind == FIXED:
                    # At most once per real outage, never one that began before the cover.
                    assert rec.paid <= AMOUNT * len(started_in_cover)
                else:
                    # No instant no honest node saw down: per real outage, at most its downtime so far.
                    bound = sum(-(-max(0, min(o.end, ts) - o.start - TRIGGER) // UNIT) for o in started_in_cover)
                    assert rec.paid <= UNIT_AMOUNT * bound

        led.travel(t0 - led.now())
        for dt, action, liar_back, liar_end_back, subset, settle_now in steps:
            now = led.travel(dt, mine=True)
            if action == "liar":
                # Public honest reports of two nodes plus the liar's window, wherever it likes.
                for o in outages:
                    reps = [(HONEST[i], *r) for i in subset[:2] if (r := honest_report(i, o, now)) is not None]
                    if len(reps) == 2 and liar_end_back < liar_back:
                        submit([*reps, (LIAR, now - liar_back, now - liar_end_back, True)])  # type: ignore[list-item]
                if settle_now:
                    settle_and_check()
            elif action == "subset":
                for o in outages:
                    reps = [(HONEST[i], *r) for i in subset if (r := honest_report(i, o, now)) is not None]
                    if len(reps) >= QUORUM:
                        submit(reps)  # type: ignore[arg-type]
            elif action == "buy" and any(o.start + max(jitter) < now < o.end for o in outages) and len(late) < 3:
                # Into an outage the honest network has already dated: a known loss.
                [pid] = env.issue(env.terms(fixed_id, led.a.outsider, limit=LIMIT, days=1, n=10 + len(late)))
                late.append((pid, env.record(pid).cover_start))
            elif action == "settle":
                settle_and_check()
            honest_round(led.now())
        # The outages end, the honest network reports them, their starts become final: all paid.
        end = outages[-1].end + 30
        if led.now() < end:
            led.travel(end - led.now(), mine=True)
        honest_round(led.now())
        led.travel(model.finality + 1, mine=True)
        settle_and_check()
        assert env.record(fixed_pid).paid == AMOUNT * len(outages)
        for pid, start in late:  # bought mid-outage: never that one, always the next one
            assert env.record(pid).paid == AMOUNT * sum(1 for o in outages if o.start > start)
        assert len(model.episodes(led.now())) == len(outages)

