"""Property tests of CohortBook against tests/contracts/cohort_model.py.

The adversary picks, per example: the batches (any subset of a segment's members, with
duplicates, in proof order or not, for any round), pulls with single proofs interleaved with
batches, root extensions (new segments) between rounds, removals, outage rounds, proofs for
non-members and wrong limits, and — per token — refused recipients (BlacklistToken: the payout is
credited in the pool) or a transfer fee (FeeOnTransferToken: the payee receives less; the
book's accounting is unchanged). Checked after every step:
- every payout is the model's (who, how much), so no member is paid twice in a round or beyond
  min(limit, autoPayLimit) in all;
- the cohort's collateral is Σ limits − paid − released (the pool's locked capital moves by
  exactly that), and never below what the open rounds still owe;
- a removal releases exactly the removed limits less what the removed members were paid;
- a proof for a non-member or a wrong limit, a duplicate or out-of-order batch is refused with
  CohortBookInvalidProof and changes nothing;
- after the close window, `close` releases all the rest: the pool's locked capital is back.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.chain import USD, events, signer
from tests.contracts.cohort_env import (
    AMOUNT,
    AUTO,
    CLAIM,
    FEE,
    GRACE,
    LIMITS,
    CohortEnv,
    batch,
    book,
    cohort_ledger,
    members,
    payable_outage,
    tree,
    try_send,
    unpack,
)
from tests.contracts.cohort_model import CohortModel
from tests.contracts.helpers import DAY, snapshot

PROPS = settings(max_examples=8, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

SUBSET = st.lists(st.integers(0, 11), min_size=1, max_size=6)
OPS = st.lists(st.one_of(
    st.tuples(st.just("outage"), st.just(0), st.just(())),
    st.tuples(st.just("settle"), st.just(0), st.just(())),
    st.tuples(st.just("batch"), st.integers(0, 7), st.tuples(SUBSET, st.booleans(), st.booleans())),
    st.tuples(st.just("pull"), st.integers(0, 7), st.tuples(st.integers(0, 11))),
    st.tuples(st.just("extend"), st.integers(1, 4), st.just(())),
    st.tuples(st.just("remove"), st.integers(0, 7), st.tuples(SUBSET)),
    st.tuples(st.just("forge"), st.integers(0, 7), st.tuples(st.integers(0, 11), st.booleans())),
    st.tuples(st.just("odd"), st.integers(0, 11), st.just(())),
), min_size=3, max_size=10)


@pytest.fixture(scope="module", params=["blacklist", "fee"])
def env(request: pytest.FixtureRequest) -> Iterator[CohortEnv]:
    yield cohort_ledger(request.param)


class Walk:
    """The chain and the model side by side, for cohort 1."""

    def __init__(self, env: CohortEnv, k0: int) -> None:
        self.env, self.led = env, env.led
        led = self.led
        self.c = book(led)  # passes the records the book hashed, rebuilt from its events
        self.base_locked = led.pool.functions.lockedCapital().call()
        ms = members(k0, "s0")
        self.segs = [(ms, tree(ms))]
        self.end = led.now() + 30 * DAY
        led.send(self.c.issueCohort((env.product, 0, self.end, *env.terms()[3:]), self.segs[0][1].root,
                                                   k0, sum(m[2] for m in ms), k0 * USD), led.a.distributor)
        self.cid = self.c.cohortCount().call()
        self.model = CohortModel(AMOUNT, AUTO, FEE, self.end)
        self.model.add_segment(ms, self.c.records(self.cid)[1][0][4], k0 * USD)
        self.fee_bps = 0
        self.refused: set[str] = set()
        self.received: dict[str, int] = {}  # beneficiary -> token units that arrived
        self.credited: dict[str, int] = {}  # beneficiary -> pool claimable

    # --- operations ---------------------------------------------------------------------
    def outage(self) -> None:
        self.model.episodes.append(payable_outage(self.led))

    def settle(self) -> None:
        r = self.led.send(self.c.settle(self.cid), self.led.a.relayer)
        opened = self.model.settle()
        assert len(events(r, self.led.cohorts, "RoundOpened")) == opened

    def _pick(self, s: int) -> int:
        return s % len(self.segs)

    def batch(self, s: int, subset: list[int], dup: bool, reverse: bool) -> None:
        seg = self._pick(s)
        ms, t = self.segs[seg]
        sm = self.model.segments[seg]
        idx = [i % len(ms) for i in subset]
        rounds = sm.rounds
        if rounds == 0:
            return self._refused(self._pay(seg, 1, *batch(t, ms, idx)), "CohortBookUnknownRound")
        rnd = 1 + subset[0] % rounds
        mem, mp = batch(t, ms, idx)
        if dup or (reverse and len(mem) > 1):
            bad = mem + [mem[0]] if dup else mem[::-1]
            self._refused(self._pay(seg, rnd, bad, mp), "CohortBookInvalidProof")
            if dup:  # the proof cannot carry a duplicate; a second batch of the same members pays nobody
                self._check_paid(seg, rnd, self._pay(seg, rnd, mem, mp), mp.indices)
        self._check_paid(seg, rnd, self._pay(seg, rnd, mem, mp), mp.indices)

    def _pay(self, seg: int, rnd: int, mem: list[tuple], mp: object) -> tuple:
        fn = self.c.payBatch(self.cid, rnd, seg, mem, mp.proof, mp.flags)
        return try_send(self.led, fn, self.led.a.relayer)

    def pull(self, s: int, i: int) -> None:
        seg = self._pick(s)
        ms, t = self.segs[seg]
        i %= len(ms)
        rounds = self.model.segments[seg].rounds
        if rounds == 0:
            return
        rnd = 1 + i % rounds
        fn = self.c.claim(self.cid, rnd, seg, ms[i], t.proof(i))
        self._check_paid(seg, rnd, try_send(self.led, fn, self.led.a.alice), [i])  # anyone may pull

    def extend(self, k: int) -> None:
        led, seg = self.led, len(self.segs)
        ms = members(k, f"s{seg}")
        t = tree(ms)
        self.env.set_fee(0)  # a fee token cannot collect a premium in full
        r = led.send(self.c.addSegment(self.cid, t.root, k, sum(m[2] for m in ms), k * USD),
                     led.a.distributor)
        self.env.set_fee(self.fee_bps)
        ev = events(r, led.cohorts, "SegmentAdded")[0]
        assert ev["segment"] == seg and ev["totalLimit"] == sum(m[2] for m in ms)
        self.segs.append((ms, t))
        self.model.add_segment(ms, self.c.records(self.cid)[1][seg][4], k * USD)

    def remove(self, s: int, subset: list[int]) -> None:
        led, seg = self.led, self._pick(s)
        ms, t = self.segs[seg]
        sm = self.model.segments[seg]
        mem, mp = batch(t, ms, [i % len(ms) for i in subset])
        fn = self.c.removeMembers(self.cid, seg, mem, mp.proof, mp.flags)
        gone = [m[0] for m in mem]
        if any(i in sm.removed for i in gone):
            return self._refused(try_send(led, fn, led.a.distributor), "CohortBookNotRemovable")
        self._refused(try_send(led, fn, led.a.outsider), "CohortBookNotDistributor")
        pool_before = led.pool.functions.lockedCapital().call()
        r, err = try_send(led, fn, led.a.distributor)
        assert err is None, err
        self.model.settle()
        before = {i: sm.paid_so_far(i) for i in gone}
        out, released, refund = self.model.remove(seg, gone, led.w3.eth.get_block(r["blockNumber"])["timestamp"])
        ev = events(r, led.cohorts, "MembersRemoved")[0]
        assert (ev["paid"], ev["released"], ev["refund"]) == (sum(a for _, _, a in out), released, refund)
        assert sorted(unpack(ev["indices"])) == sorted(gone)
        # Exactly the removed limits leave the collateral: what they were paid, and the rest released.
        assert released + sum(a for _, _, a in out) + sum(before.values()) == sum(ms[i][2] for i in gone)
        assert pool_before - led.pool.functions.lockedCapital().call() == released + sum(a for _, _, a in out)
        self._book(out)

    def forge(self, s: int, i: int, wrong_limit: bool) -> None:
        """A non-member (another beneficiary) or a member with a wrong limit, with the real proof."""
        seg = self._pick(s)
        ms, t = self.segs[seg]
        i %= len(ms)
        m = ms[i]
        fake = (m[0], m[1], m[2] + 1, m[3]) if wrong_limit else (m[0], signer("stranger").address, m[2], m[3])
        fns = [self.c.claim(self.cid, 1, seg, fake, t.proof(i))]
        mem, mp = batch(t, ms, [i])
        fns.append(self.c.payBatch(self.cid, 1, seg, [fake], mp.proof, mp.flags))
        fns.append(self.c.removeMembers(self.cid, seg, [fake], mp.proof, mp.flags))
        if self.model.segments[seg].rounds == 0:
            fns = fns[2:]
        for fn in fns:
            self._refused(try_send(self.led, fn, self.led.a.distributor), "CohortBookInvalidProof")

    def odd(self, i: int) -> None:
        """The token turns on its recipients: a refused beneficiary, or a 1 % transfer fee."""
        if self.env.kind == "fee":
            self.fee_bps = 100 if self.fee_bps == 0 else 0
            self.env.set_fee(self.fee_bps)
            return
        ms = self.segs[0][0]
        who = ms[i % len(ms)][1]
        self.env.refuse(who)
        self.refused.add(who)

    # --- checks -------------------------------------------------------------------------
    def _refused(self, result: tuple, error: str) -> None:
        r, err = result
        assert r is None and err is not None and err.name == error, (error, err)
        self.check()

    def _check_paid(self, seg: int, rnd: int, result: tuple, asked: list[int]) -> None:
        r, err = result
        assert err is None, err
        out = self.model.pay(seg, rnd, asked)
        ev = events(r, self.led.cohorts, "CohortPaid")[0]
        assert (ev["segment"], ev["round"], ev["count"]) == (seg, rnd, len(out))
        assert ev["amount"] == sum(a for _, _, a in out)
        assert unpack(ev["indices"]) == [i for i, _, _ in out]
        self._book(out)

    def _book(self, out: list[tuple[int, str, int]]) -> None:
        for _, who, amt in out:
            if who in self.refused:
                self.credited[who] = self.credited.get(who, 0) + amt
            else:
                self.received[who] = self.received.get(who, 0) + amt - amt * self.fee_bps // 10_000
        self.check()

    def check(self) -> None:
        led, m = self.led, self.model
        assert self.c.locked(self.cid) == m.locked >= m.owed_now()
        assert led.pool.functions.lockedCapital().call() == self.base_locked + m.locked
        for s in m.segments:
            for i, _, limit, _ in s.members:
                assert s.paid_so_far(i) <= min(limit, AUTO)
        for who, amt in self.received.items():
            assert led.balance(who) == amt
        for who, amt in self.credited.items():
            assert led.pool.functions.claimableOf(who).call() == amt

    def finish(self) -> None:
        led = self.led
        at = self.c.closesAt(self.cid).call()
        assert at == self.end + GRACE + CLAIM
        led.travel(max(at - led.now(), 0) + 1, mine=True)
        r = led.send(self.c.close(self.cid), led.a.relayer)
        assert events(r, led.cohorts, "CohortClosed")[0]["released"] == self.model.close()
        assert self.c.locked(self.cid) == 0 and self.c.cohort(self.cid).call()[3]
        assert led.pool.functions.lockedCapital().call() == self.base_locked


@PROPS
@given(k0=st.integers(1, 12), ops=OPS)
def test_cohort_money_follows_the_model(env: CohortEnv, k0: int, ops: list[tuple]) -> None:
    with snapshot(env.led):
        w = Walk(env, k0)
        for op, a, rest in ops:
            if op in ("outage", "settle"):
                getattr(w, op)()
            elif op == "extend":
                w.extend(a)
            elif op == "odd":
                w.odd(a)
            else:
                getattr(w, op)(a, *rest)
            w.check()
        w.settle()
        # Everyone still owed is paid by one last batch per segment and round: nothing is lost.
        for seg, (ms, t) in enumerate(w.segs):
            everyone = list(range(len(ms)))
            for rnd in range(1, w.model.segments[seg].rounds + 1):
                w._check_paid(seg, rnd, w._pay(seg, rnd, *batch(t, ms, everyone)), everyone)
        assert w.model.owed_now() == 0
        w.finish()


def test_limits_cover_the_levels() -> None:
    """The strategy reaches every kind of increment: limits below, between and above levels."""
    assert min(LIMITS) < AMOUNT < LIMITS[1] < 2 * AMOUNT < LIMITS[2] < AUTO < LIMITS[3]
