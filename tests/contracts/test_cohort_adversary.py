"""Adversarial property tests of CohortBook's money paths, each against independent Python
models (tests/contracts/cohort_model.py, and outage_model.py for the verified-outage rule).
CohortBook is reached only through cohort_env's call helpers.

1. Lying oracle signers: five signers, quorum three, up to two of them (q − 1, any subset) sign
   false windows wherever they like, combined with any public honest reports and submitted by
   any account at any time; honest nodes report real outages (dated up to 20 s late, seen up to
   8 s late). Cohort payouts follow the model's windows and episodes exactly, whatever batches,
   pulls and settles (by anyone, before finality too) the adversary interleaves; no member is
   ever paid beyond what the real outages longer than the trigger inside its cover allow, and at
   the end every member has been paid exactly that, once.
2. A hostile or careless distributor (see `test_hostile_distributor_reaches_only_its_own_collateral`).
3. A token that refuses or skims transfers (see `test_refused_and_skimmed_payouts_are_owed_once`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_utils import keccak
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from contracts.deploy import DEFAULT_MERGE_GAP as MERGE_GAP
from tests.chain import ORACLES, QUORUM, USD, signer
from tests.contracts.cohort_env import (
    AMOUNT,
    AUTO,
    FEE,
    LIMITS,
    CohortEnv,
    Result,
    add_segment,
    batch,
    claim_credit,
    claim_member,
    close_cohort,
    closes_at,
    cohort_events,
    cohort_ledger,
    cohort_locked,
    customer_accounts,
    fresh_book,
    issue_cohort,
    members,
    pay_batch,
    payable_outage,
    remove_members,
    segment_start,
    settle_cohort,
    setup_env,
    tree,
    unpack,
)
from tests.contracts.cohort_model import CohortModel, Refused, payable_starts
from tests.contracts.helpers import DAY, SERVICE, snapshot
from tests.contracts.outage_model import OutageModel, verified_window

PROPS = settings(max_examples=6, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                        HealthCheck.data_too_large])


def block_time(e: CohortEnv, receipt: object) -> int:
    return int(e.led.w3.eth.get_block(receipt["blockNumber"])["timestamp"])  # type: ignore[index]


def senders(e: CohortEnv) -> list[str]:
    a = e.led.a
    return [a.relayer, a.alice, a.bob, a.outsider, a.distributor, a.owner]


# --- 1. lying oracle signers --------------------------------------------------------------

SIGNERS = [*ORACLES, signer("oracle_5")]  # five, quorum QUORUM = 3: two may lie
TRIGGER = 120
JITTER, LAG = 20, 8  # an honest node dates an outage at most JITTER s late and sees it LAG s late


@dataclass(frozen=True)
class Outage:
    start: int
    end: int

    @property
    def long(self) -> bool:
        return self.end - self.start > TRIGGER


@pytest.fixture(scope="module")
def oracle_env() -> Iterator[CohortEnv]:
    yield cohort_ledger("plain", oracles=SIGNERS, trigger=TRIGGER)


WHO = st.integers(0, 5)
RARELY = st.integers(0, 3).map(lambda k: k == 3)
# A false window: "wrap" contains the real outage (up to a minute either side), "inside" lies
# within it, "free" is anywhere near it; or, with no outage picked, it ends now. And its flag.
LIE = st.tuples(st.sampled_from(["wrap", "inside", "free"]), st.integers(0, 300), st.integers(0, 300), st.booleans())
DT = st.one_of(st.integers(5, 40), st.integers(41, 300))  # seconds that pass: within finality, or beyond
# Per step: the seconds that pass, whether the honest transmitter gets through this time (the
# adversary may delay it; at the end it always does), and the adversary's move.
ORACLE_OPS = st.lists(st.tuples(DT, st.booleans(), st.one_of(
    st.tuples(st.just("lie"), st.tuples(st.lists(LIE, min_size=QUORUM - 1, max_size=QUORUM - 1),
                                        st.lists(st.integers(0, 4), max_size=4), RARELY, st.integers(0, 4), WHO)),
    st.tuples(st.just("submit"), st.tuples(st.lists(st.integers(0, 4), min_size=1, max_size=5), st.integers(0, 3),
                                           WHO)),
    st.tuples(st.just("settle"), st.tuples(WHO)),
    st.tuples(st.just("batch"), st.tuples(st.lists(st.integers(0, 7), min_size=1, max_size=6), st.integers(0, 3),
                                          st.integers(0, 2), WHO)),
    st.tuples(st.just("pull"), st.tuples(st.integers(0, 7), st.integers(0, 3), st.integers(0, 2), WHO)),
    st.tuples(st.just("extend"), st.tuples(st.integers(1, 6))),
)), min_size=8, max_size=22)


@st.composite
def oracle_scenario(draw):  # noqa: ANN001, ANN201
    n = draw(st.integers(3, 4))
    # Lengths clearly below or above the trigger (the honest dating blurs an outage by JITTER s);
    # gaps beyond the merge gap, so each real outage is one episode; the first soon.
    lengths = [draw(st.one_of(st.integers(40, TRIGGER), st.integers(TRIGGER + 3 * JITTER, TRIGGER + 300)))
               for _ in range(n)]
    gaps = [draw(st.integers(100, 250))] + [draw(st.integers(MERGE_GAP + 2 * JITTER, MERGE_GAP + 200))
                                            for _ in range(n - 1)]
    k = draw(st.sampled_from([QUORUM - 1, 1, QUORUM - 1, 0]))
    liars = draw(st.lists(st.integers(0, len(SIGNERS) - 1), min_size=k, max_size=k, unique=True))
    jitter = [draw(st.integers(0, JITTER)) for _ in SIGNERS]
    lag = [draw(st.integers(0, LAG)) for _ in SIGNERS]
    shape = (draw(st.booleans()), draw(st.booleans()), draw(st.integers(1, 8)))  # late start, early end, members
    return lengths, gaps, sorted(liars), jitter, lag, shape, draw(ORACLE_OPS)


class PayingWalk:
    """What the walks share: a round picked among the model's, and a payout (a batch or a pull)
    checked against the model. `REFUSALS`: whether the model may refuse a payout whole (a hostile
    distributor's shapes); elsewhere a refusal is a failure."""

    REFUSALS = False

    def _round(self, seg: int, pick: int) -> int:
        rounds = self.model.segments[seg].rounds
        return 1 + pick % rounds if rounds else 0

    def _paid(self, seg: int, rnd: int, res: Result, positions: list[int]) -> None:
        r, err = res
        if rnd == 0:
            assert r is None and err is not None and err.name == "CohortBookUnknownRound", err
            return
        try:
            out = self.model.pay(seg, rnd, positions)
        except Refused as x:
            if not self.REFUSALS:
                raise
            assert r is None and err is not None and err.name == x.error, (err, x.error)
            return
        assert err is None, err
        [ev] = cohort_events(self.e, r, "CohortPaid")
        assert (ev["segment"], ev["round"], ev["count"], ev["amount"]) == (seg, rnd, len(out), sum(a for *_, a in out))
        assert unpack(ev["indices"]) == [i for i, _, _ in out]
        for _, who, amt in out:
            self.received[who] = self.received.get(who, 0) + amt
            self.dirty.add(who)


class OracleWalk(PayingWalk):
    """The chain, the outage model and the cohort model side by side."""

    ACCEPTED = {"OutageOracleQuorumNotMet", "OutageOracleReportsDisjoint"}  # reports that verify nothing

    def __init__(self, e: CohortEnv, sc: tuple) -> None:
        lengths, gaps, liars, self.jitter, self.lag, (late, early, k0), self.ops = sc
        self.e, self.led = e, e.led
        led = self.led
        # After a snapshot revert the next block may be dated by the wall clock, past `now`:
        # one block first, so that times planned from `now` are the chain's.
        led.travel(1, mine=True)
        fresh_book(e)
        self.liars = [SIGNERS[i] for i in liars]
        self.honest = [i for i in range(len(SIGNERS)) if i not in liars]
        t = led.now()
        self.outages: list[Outage] = []
        for length, gap in zip(lengths, gaps, strict=True):
            t += gap
            self.outages.append(Outage(t, t + length))
            t += length
        o = self.outages
        start = (o[0].end + o[1].start) // 2 if late else led.now() + 60
        self.end = (o[-2].end + o[-1].start) // 2 if early else o[-1].end + 200
        oracle = led.oracle.functions
        self.om = OutageModel(oracle.mergeGap().call(), oracle.finalityDelay().call())
        self.base_locked = led.pool.functions.lockedCapital().call()
        self.model = CohortModel(AMOUNT, AUTO, FEE, self.end)
        self.segs: list[tuple[list[tuple], object]] = []
        ms = members(k0, "o0")
        t0 = tree(ms)
        cid, (_, err) = issue_cohort(e, t0.root, k0, sum(m[2] for m in ms), k0 * USD, start=start, end=self.end)
        assert err is None, err
        self.cid = cid
        self._add(ms, t0)
        self.received: dict[str, int] = {}
        self.dirty: set[str] = set()  # accounts whose balance changed since the last check

    def _add(self, ms: list[tuple], t: object) -> None:
        seg = len(self.segs)
        self.segs.append((ms, t))
        self.model.add_segment(ms, segment_start(self.e, self.cid, seg), len(ms) * USD)

    # --- the oracle side ----------------------------------------------------------------
    def honest_report(self, i: int, o: Outage, now: int) -> tuple[object, int, int, bool] | None:
        seen = now - self.lag[i]
        start, end = o.start + self.jitter[i], min(seen, o.end)
        return (SIGNERS[i], start, end, seen < o.end) if end > start else None

    def submit(self, reports: list[tuple[object, int, int, bool]], sender: str, *, skip_known: bool = False,
               padded: bool = False) -> None:
        led = self.led
        v = verified_window([(s, e) for _, s, e, _ in reports], QUORUM)
        ongoing = sum(1 for *_, ong in reports if ong) >= QUORUM
        if skip_known and v is not None and not copy.deepcopy(self.om).submit(*v, led.now(), ongoing):
            return  # the honest transmitter sees the chain has it
        signed = [led.signed_report(who, SERVICE, s, e, ongoing=ong) for who, s, e, ong in reports]
        try:
            r = led.send(led.oracle.functions.submit(SERVICE, 1, signed), sender)
        except Exception as exc:  # noqa: BLE001 - the decoded refusal is checked below
            name = getattr(exc, "name", None)
            if padded:  # a repeated signer never makes a quorum
                short = len(reports) < QUORUM
                assert name == ("OutageOracleQuorumNotMet" if short else "OutageOracleDuplicateSigner"), exc
            elif name == "OutageOracleWindowAlreadyCovered":
                assert v is not None and not copy.deepcopy(self.om).submit(*v, led.now(), ongoing)
            else:
                assert name in self.ACCEPTED and v is None, (exc, v)
            return
        assert not padded and v is not None
        assert self.om.submit(v[0], v[1], block_time(self.e, r), ongoing), "the chain took what the model calls nothing"
        oracle = led.oracle.functions
        chain = [tuple(oracle.windowAt(SERVICE, i).call()[:2]) for i in range(oracle.windowCount(SERVICE).call())]
        assert chain == [(w.start, w.end) for w in self.om.windows]

    def honest_round(self, now: int) -> None:
        """The honest transmitter: every honest report of each outage, once a quorum has one."""
        for o in self.outages:
            reps = [r for i in self.honest if (r := self.honest_report(i, o, now)) is not None]
            if len(reps) >= QUORUM:
                self.submit(reps, self.led.a.relayer, skip_known=True)

    def _seen(self, now: int, pick: int) -> Outage | None:
        started = [o for o in self.outages if o.start + JITTER + LAG < now]
        return started[-1 - pick % len(started)] if started else None

    def lie(self, lies: list[tuple], picks: list[int], pad: bool, pick: int, who: int) -> None:
        """The liars sign windows of their choosing around a real outage (from well before it to
        well after it, up to now) or around now, next to any public honest reports of that
        outage, padded with a repeated honest report if the adversary likes."""
        now = self.led.now()
        o = self._seen(now, pick)
        honest = [r for i in self.honest if o and (r := self.honest_report(i, o, now)) is not None]
        chosen = list({id(r): r for r in (honest[p % len(honest)] for p in picks)}.values()) if honest else []
        reps = []
        for liar, (kind, x, y, ong) in zip(self.liars, lies, strict=False):
            if o is None or pick >= 3:
                start, end = now - 1 - x, now
            elif kind == "wrap":
                start, end = o.start - x % 61, min(o.end + y % 61, now)
            elif kind == "inside":
                start = o.start + x % (o.end - o.start)
                end = min(start + 1 + y, o.end, now)
            else:
                start, end = o.start + x - 150, min(o.end + y - 150, now)
            if end > start:
                reps.append((liar, start, end, ong))
        reps += chosen
        padded = pad and bool(chosen)
        if padded:
            reps.append(chosen[0])
        if reps:
            self.submit(reps, senders(self.e)[who], padded=padded)

    def honest_subset(self, picks: list[int], pick: int, who: int) -> None:
        """Anyone submits any subset of the public honest reports, whenever it likes."""
        now = self.led.now()
        o = self._seen(now, pick)
        reps = [r for i in self.honest if o and (r := self.honest_report(i, o, now)) is not None]
        chosen = list({id(r): r for r in (reps[p % len(reps)] for p in picks)}.values()) if reps else []
        if chosen:
            self.submit(chosen, senders(self.e)[who])

    # --- the cohort side ----------------------------------------------------------------
    def settle(self, who: int) -> None:
        r, err = settle_cohort(self.e, self.cid, senders(self.e)[who])
        assert err is None, err
        ts = block_time(self.e, r)
        self.model.episodes = payable_starts(self.om.episodes(ts), TRIGGER)
        before = [s.rounds for s in self.model.segments]
        self.model.settle()
        opened = [(k, s.rounds, s.levels[-1]) for k, s in enumerate(self.model.segments) if s.rounds > before[k]]
        got = [(ev["segment"], ev["round"], ev["level"]) for ev in cohort_events(self.e, r, "RoundOpened")]
        assert got == opened, (got, opened, self.om.windows)
        # Whatever the liars signed: a level counts only real outages beyond the trigger.
        for s in self.model.segments:
            real = sum(1 for o in self.outages if o.long and s.start <= o.start < self.end and o.start + TRIGGER < ts)
            assert s.levels[-1] <= AMOUNT * real, (s.levels, real, self.outages, self.om.windows)

    def pay(self, subset: list[int], pick: int, seg: int, who: int) -> None:
        seg %= len(self.segs)
        ms, t = self.segs[seg]
        mem, mp = batch(t, ms, [i % len(ms) for i in subset])
        rnd = self._round(seg, pick)
        res = pay_batch(self.e, self.cid, max(rnd, 1), seg, mem, mp, senders(self.e)[who])
        self._paid(seg, rnd, res, mp.indices)

    def pull(self, i: int, pick: int, seg: int, who: int) -> None:
        seg %= len(self.segs)
        ms, t = self.segs[seg]
        i %= len(ms)
        rnd = self._round(seg, pick)
        self._paid(seg, rnd, claim_member(self.e, self.cid, max(rnd, 1), seg, ms[i], t.proof(i),
                                          senders(self.e)[who]), [i])

    def extend(self, k: int) -> None:
        """New customers, joining at a time no real outage is near (a cover bought mid-outage
        is the known-loss rule's business, tested elsewhere)."""
        now = int(self.led.w3.eth.get_block("pending")["timestamp"])  # when the segment would start
        if len(self.segs) >= 3 or now >= self.end - 60 or any(o.start - 60 <= now <= o.end + 60 for o in self.outages):
            return
        ms = members(k, f"o{len(self.segs)}")
        t = tree(ms)
        _, err = add_segment(self.e, self.cid, t.root, k, sum(m[2] for m in ms), k * USD)
        assert err is None, err
        self._add(ms, t)

    # --- checks -------------------------------------------------------------------------
    def check(self, everyone: bool = False) -> None:
        led, m = self.led, self.model
        assert cohort_locked(self.e, self.cid) == m.locked >= m.owed_now()
        assert led.pool.functions.lockedCapital().call() == self.base_locked + m.locked
        for who in self.received if everyone else self.dirty:
            assert led.balance(who) == self.received[who]
        self.dirty.clear()

    def entitled(self, seg: int, limit: int) -> int:
        s = self.model.segments[seg]
        real = sum(1 for o in self.outages if o.long and s.start <= o.start < self.end)
        return min(limit, AUTO, AMOUNT * real)


# The honest network dates an outage (its third-earliest node, 20 s late); once it is long enough
# and final, two liars with the earliest honest node's public report move its start earlier, so
# it is no longer final: a settle then opens nothing, one after finality does. Batches and a
# pull by strangers, an extension in a gap.
LIARS_MOVE_START = (
    [300, 60, 300], [150, 400, 400], [3, 4], [0, 5, 20, 0, 0], [0, 4, 8, 0, 0], (False, False, 4),
    [(160, False, ("settle", (0,))),
     (60, False, ("settle", (1,))),
     (200, False, ("settle", (2,))),
     (10, True, ("lie", ([("wrap", 60, 0, True), ("wrap", 30, 0, True)], [0], False, 0, 1))),
     (10, True, ("settle", (3,))),
     (100, False, ("settle", (4,))),
     (5, False, ("batch", ([0, 1, 2], 0, 0, 1))),
     (5, True, ("pull", (3, 0, 0, 2))),
     (300, False, ("extend", (2,))),
     (200, False, ("settle", (5,)))])


@settings(PROPS, max_examples=5)  # besides the explicit example
@given(sc=oracle_scenario())
@example(sc=LIARS_MOVE_START)
def test_lying_signers_cannot_change_what_a_cohort_is_paid(oracle_env: CohortEnv, sc: tuple) -> None:
    e, led = oracle_env, oracle_env.led
    snap = led.tester.take_snapshot()
    try:
        w = OracleWalk(e, sc)
        for dt, delayed, (op, args) in w.ops:
            led.travel(dt, mine=True)
            {"lie": w.lie, "submit": w.honest_subset, "settle": w.settle, "batch": w.pay, "pull": w.pull,
             "extend": w.extend}[op](*args)
            if not delayed:
                w.honest_round(led.now())
            w.check()
        # The outages end and the honest network reports them; their starts become final.
        for o in w.outages:
            if led.now() < o.end + 2 * LAG:
                led.travel(o.end + 2 * LAG - led.now(), mine=True)
            w.honest_round(led.now())
        led.travel(w.om.finality + 1, mine=True)
        w.settle(0)
        for seg, (ms, _) in enumerate(w.segs):
            for rnd in range(1, w.model.segments[seg].rounds + 1):
                w.pay(list(range(len(ms))), rnd - 1, seg, 0)
            for i, who, limit, _ in ms:  # each member exactly what the real outages owe it, once
                assert w.model.segments[seg].paid_so_far(i) == w.received.get(who, 0) == w.entitled(seg, limit)
        w.check(everyone=True)
        at = closes_at(e, w.cid)
        led.travel(max(at - led.now(), 0) + 1, mine=True)
        r, err = close_cohort(e, w.cid, led.a.outsider)
        assert err is None, err
        assert cohort_events(e, r, "CohortClosed")[0]["released"] == w.model.close()
        assert led.pool.functions.lockedCapital().call() == w.base_locked
    finally:
        led.tester.revert_to_snapshot(snap)


# --- 2. a hostile or careless distributor --------------------------------------------------

ZERO = "0x" + "00" * 20
CAP = 500 * USD  # the product's policy limit: a segment's total is at most count × CAP
# How the distributor shapes a segment: as its leaves say, or with a count or total that
# disagrees with them, a leaf twice, an index given to a second customer, a leaf without payee,
# the old segment's customers re-listed to other payees; or a shape the book must refuse.
SHAPES = ["honest", "count_low", "count_high", "total_low", "total_high", "dup_leaf", "dup_index", "dup_limit",
          "no_payee", "relist", "over_cap", "zero_count", "zero_total", "zero_root"]
REFUSED_SHAPES = {"over_cap", "zero_count", "zero_total", "zero_root"}
SHAPE = st.tuples(st.sampled_from(SHAPES), st.integers(1, 8), st.integers(1, 4))  # shape, leaves, degree


@pytest.fixture(scope="module")
def book_env(_ledger: object) -> Iterator[CohortEnv]:
    with snapshot(_ledger):  # the session's deployment, set up once for this module
        yield setup_env(_ledger)


def shaped(shape: tuple[str, int, int], tag: str, old: list[tuple] | None) -> tuple[list[tuple], int, int, bool]:
    """(leaves by tree position, stated count, stated total, whether the root is zeroed)."""
    kind, n, d = shape
    ms = members(n, tag)
    if kind == "relist" and old:
        ms = [(m[0], signer(f"{tag}-relist-{m[0]}").address, m[2], m[3]) for m in old]
    if kind == "dup_leaf":
        ms = ms + [ms[d % n]]
    if kind == "dup_index":
        j = d % n
        ms = ms + [(j, signer(f"{tag}-dup").address, ms[j][2], keccak(text=f"salt|{tag}-dup"))]
    if kind == "dup_limit":  # the index's second leaf names another limit: which one pays is the caller's pick
        j = d % n
        other = LIMITS[(LIMITS.index(ms[j][2]) + d % 3 + 1) % len(LIMITS)]
        ms = ms + [(j, signer(f"{tag}-dup").address, other, keccak(text=f"salt|{tag}-dup"))]
    if kind == "no_payee":
        j = d % n
        ms[j] = (j, ZERO, ms[j][2], ms[j][3])
    count = len({m[0] for m in ms})
    total = sum(m[2] for m in ms if m[0] < count) - (ms[-1][2] if kind in ("dup_leaf", "dup_index", "dup_limit") else 0)
    if kind == "count_low":
        count = max(1, count - d)
    elif kind == "count_high":
        count += d
    elif kind == "total_low":
        total = max(USD, total * d // 8)
    elif kind == "total_high":
        total = min(total + d * 50 * USD, count * CAP)
    elif kind == "over_cap":
        total = count * CAP + 1
    elif kind == "zero_count":
        count = 0
    elif kind == "zero_total":
        total = 0
    return ms, count, total, kind == "zero_root"


HOSTILE_OPS = st.lists(st.one_of(
    st.tuples(st.just("outage"), st.tuples()),
    st.tuples(st.just("settle"), st.tuples(WHO)),
    st.tuples(st.just("batch"), st.tuples(st.integers(0, 3), st.lists(st.integers(0, 9), min_size=1, max_size=6),
                                          st.integers(0, 3), WHO)),
    st.tuples(st.just("pull"), st.tuples(st.integers(0, 3), st.integers(0, 9), st.integers(0, 3), WHO)),
    st.tuples(st.just("extend"), st.tuples(SHAPE, st.booleans())),
    st.tuples(st.just("remove"), st.tuples(st.integers(0, 3), st.lists(st.integers(0, 9), min_size=1, max_size=4),
                                           RARELY)),
), min_size=4, max_size=14)


class HostileWalk(PayingWalk):
    """A cohort whose distributor shapes its segments as it likes, against the cohort model."""

    REFUSALS = True

    def __init__(self, e: CohortEnv, shape: tuple[str, int, int]) -> None:
        self.e, self.led = e, e.led
        led = self.led
        led.travel(1, mine=True)  # (as in OracleWalk)
        fresh_book(e)
        self.base_locked = led.pool.functions.lockedCapital().call()
        self.dist0 = led.balance(led.a.distributor)
        self.premiums = self.refunds = 0
        self.end = led.now() + 30 * DAY
        self.model = CohortModel(AMOUNT, AUTO, FEE, self.end)
        self.segs: list[tuple[list[tuple], object]] = []
        self.received: dict[str, int] = {}
        self.dirty: set[str] = set()  # accounts whose balance changed since the last check
        self.cid = 0
        ms, count, total, zero = shaped(("honest", *shape[1:]) if shape[0] in REFUSED_SHAPES else shape, "h0", None)
        self._segment(ms, count, total, zero)

    def _segment(self, ms: list[tuple], count: int, total: int, zero_root: bool, sender: str | None = None) -> None:
        e, t, seg = self.e, tree(ms), len(self.segs)
        root = bytes(32) if zero_root else t.root
        premium = max(count, 1) * USD
        if self.cid == 0:
            cid, (_, err) = issue_cohort(e, root, count, total, premium, end=self.end)
        else:
            cid, (_, err) = self.cid, add_segment(e, self.cid, root, count, total, premium, sender)
        if sender not in (None, self.led.a.distributor):
            assert err is not None and err.name == "CohortBookNotDistributor", err
            return
        if zero_root or count == 0 or total == 0 or total > count * CAP:
            assert err is not None and err.name == "CohortBookInvalidSegment", err
            return
        assert err is None, err
        self.cid = cid
        self.segs.append((ms, t))
        self.premiums += premium
        self.model.add_segment(ms, segment_start(e, cid, seg), premium, count=count, total=total)

    # --- operations ---------------------------------------------------------------------
    def outage(self) -> None:
        self.model.episodes.append(payable_outage(self.led))

    def settle(self, who: int) -> None:
        r, err = settle_cohort(self.e, self.cid, senders(self.e)[who])
        assert err is None, err
        assert len(cohort_events(self.e, r, "RoundOpened")) == self.model.settle()

    def pay(self, seg: int, subset: list[int], pick: int, who: int) -> None:
        seg %= len(self.segs)
        ms, t = self.segs[seg]
        mem, mp = batch(t, ms, [i % len(ms) for i in subset])
        rnd = self._round(seg, pick)
        self._paid(seg, rnd, pay_batch(self.e, self.cid, max(rnd, 1), seg, mem, mp, senders(self.e)[who]), mp.indices)

    def pull(self, seg: int, p: int, pick: int, who: int) -> None:
        seg %= len(self.segs)
        ms, t = self.segs[seg]
        p %= len(ms)
        rnd = self._round(seg, pick)
        self._paid(seg, rnd, claim_member(self.e, self.cid, max(rnd, 1), seg, ms[p], t.proof(p),
                                          senders(self.e)[who]), [p])

    def extend(self, shape: tuple[str, int, int], by_stranger: bool) -> None:
        if len(self.segs) >= 4:
            return
        sender = self.led.a.outsider if by_stranger else None
        self._segment(*shaped(shape, f"h{len(self.segs)}", self.segs[0][0]), sender=sender)

    def remove(self, seg: int, subset: list[int], by_stranger: bool) -> None:
        led, e = self.led, self.e
        seg %= len(self.segs)
        ms, t = self.segs[seg]
        mem, mp = batch(t, ms, [i % len(ms) for i in subset])
        if by_stranger:
            _, err = remove_members(e, self.cid, seg, mem, mp, led.a.outsider)
            assert err is not None and err.name == "CohortBookNotDistributor", err
            return
        r, err = remove_members(e, self.cid, seg, mem, mp)
        saved = copy.deepcopy(self.model)  # a refused removal undoes its settle too
        self.model.settle()
        sm = self.model.segments[seg]
        before = {ms[p][0]: sm.paid_so_far(ms[p][0]) for p in mp.indices}
        try:
            out, released, refund = self.model.remove(seg, mp.indices, block_time(e, r) if r else led.now())
        except Refused as x:
            self.model = saved
            assert r is None and err is not None and err.name == x.error, (err, x.error)
            return
        assert err is None, err
        [ev] = cohort_events(e, r, "MembersRemoved")
        assert (ev["paid"], ev["released"], ev["refund"]) == (sum(a for *_, a in out), released, refund)
        # What was owed is paid first; then exactly the removed limits have left the collateral.
        paid_now = {i: a for i, _, a in out}
        for p in mp.indices:
            i, who, limit, _ = ms[p]
            assert before[i] + paid_now.get(i, 0) == (min(limit, sm.levels[-1]) if who != ZERO else before[i])
        assert released + sum(paid_now.values()) + sum(before.values()) == sum(ms[p][2] for p in mp.indices)
        for _, who, amt in out:
            self.received[who] = self.received.get(who, 0) + amt
            self.dirty.add(who)
        self.refunds += refund

    # --- checks -------------------------------------------------------------------------
    def check(self, everyone: bool = False) -> None:
        led, m = self.led, self.model
        assert cohort_locked(self.e, self.cid) == m.locked
        assert led.pool.functions.lockedCapital().call() == self.base_locked + m.locked
        assert led.balance(led.a.distributor) == self.dist0 - self.premiums + self.refunds
        if all(s.total_limit >= sum(mm[2] for mm in s.members if mm[0] < s.count) for s in m.segments):
            assert m.locked >= m.owed_now()  # a fully collateralised cohort can always pay what it owes
        for s in m.segments:
            for i, paid in s.paid_to.items():  # never beyond a limit its leaves give it, nor the auto-pay limit
                assert paid <= min(max(mm[2] for mm in s.members if mm[0] == i), AUTO)
        for who in self.received if everyone else self.dirty:
            assert led.balance(who) == self.received[who]
        self.dirty.clear()


@settings(PROPS, max_examples=4)  # besides the explicit examples
@given(shape=SHAPE, ops=HOSTILE_OPS)
# An index given to two customers: paid once a round; removed twice in one batch, then once
# (paid), then again; the old customers re-listed; a removal once an outage is payable, unsettled.
# An index listed twice with different limits (50 and 500 USD): round 1 paid through one leaf,
# later rounds through the other, pulls of both, and a removal through either.
@example(shape=("dup_limit", 1, 1), ops=[
    ("outage", ()), ("settle", (0,)), ("pull", (0, 0, 0, 1)), ("outage", ()), ("settle", (2,)),
    ("batch", (0, [1], 1, 2)), ("pull", (0, 0, 1, 3)), ("pull", (0, 1, 0, 0)), ("outage", ()),
    ("batch", (0, [1, 0], 2, 1)), ("remove", (0, [0], False)), ("remove", (0, [1], False))])
@example(shape=("dup_limit", 3, 2), ops=[
    ("outage", ()), ("settle", (1,)), ("batch", (0, [3, 0, 1], 0, 2)), ("outage", ()), ("outage", ()),
    ("settle", (0,)), ("batch", (0, [2, 3], 1, 1)), ("remove", (0, [2], False)), ("pull", (0, 3, 2, 0)),
    ("batch", (0, [0, 1, 2, 3], 2, 3))])
@example(shape=("dup_index", 4, 1), ops=[
    ("outage", ()), ("settle", (1,)), ("batch", (0, [0, 1, 2, 3, 4], 0, 2)), ("remove", (0, [1, 4], False)),
    ("remove", (0, [1], False)), ("remove", (0, [4], False)), ("extend", (("relist", 1, 1), False)),
    ("outage", ()), ("remove", (1, [0, 2], False)), ("pull", (1, 1, 0, 3)), ("pull", (0, 4, 1, 3))])
# Too little collateral: batches refused, single pulls until it runs out, a removal beyond the
# total; phantom and out-of-range members; strangers try the distributor's calls.
@example(shape=("total_low", 4, 2), ops=[
    ("outage", ()), ("outage", ()), ("settle", (0,)), ("batch", (0, [0, 1, 2, 3], 1, 1)),
    ("pull", (0, 3, 1, 1)), ("pull", (0, 2, 1, 1)), ("pull", (0, 1, 0, 1)), ("remove", (0, [0, 1, 2, 3], False)),
    ("extend", (("count_low", 5, 2), False)), ("extend", (("count_high", 3, 2), True)),
    ("extend", (("count_high", 3, 2), False)), ("outage", ()), ("remove", (1, [4], False)),
    ("remove", (2, [0], True)), ("batch", (1, [0, 1, 2, 3, 4], 0, 4))])
def test_hostile_distributor_reaches_only_its_own_collateral(book_env: CohortEnv, shape: tuple,
                                                            ops: list[tuple]) -> None:
    """The distributor shapes segments as it likes (count or total disagreeing with the leaves,
    duplicates, a leaf without payee, old customers re-listed, shapes the book must refuse),
    removes members at any time (twice, paid ones, out-of-range or duplicate indices, beyond the
    stated total), and strangers try its calls; anyone settles, pays and pulls. After each step
    the cohort's collateral is the model's Σ totals − paid − released (the pool's locked capital
    moves by exactly that), no index is paid twice in a round or beyond its limit, and a removal
    first pays what the rounds owe and then releases exactly the rest of the removed limits.
    At the end, whatever the shapes, `close` releases everything still locked."""
    e, led = book_env, book_env.led
    with snapshot(led):
        w = HostileWalk(e, shape)
        for op, args in ops:
            getattr(w, {"batch": "pay"}.get(op, op))(*args)
            w.check()
        w.settle(0)
        for seg, (ms, _) in enumerate(w.segs):  # everyone still owed is paid, as far as collateral goes
            for rnd in range(1, w.model.segments[seg].rounds + 1):
                w.pay(seg, list(range(len(ms))), rnd - 1, 0)
        w.check(everyone=True)
        led.travel(w.end - led.now() + 1, mine=True)
        ms, t = w.segs[0]
        mem, mp = batch(t, ms, [0])
        assert remove_members(e, w.cid, 0, mem, mp)[1].name == "CohortBookCoverEnded"
        assert add_segment(e, w.cid, t.root, 1, USD, USD)[1].name == "CohortBookCoverEnded"
        assert close_cohort(e, w.cid, led.a.outsider)[1].name == "CohortBookNotClosable"
        led.travel(closes_at(e, w.cid) - led.now() + 1, mine=True)
        r, err = close_cohort(e, w.cid, led.a.outsider)
        assert err is None, err
        assert cohort_events(e, r, "CohortClosed")[0]["released"] == w.model.close()
        assert cohort_locked(e, w.cid) == 0
        assert led.pool.functions.lockedCapital().call() == w.base_locked


# --- 3. a token that refuses or skims transfers ----------------------------------------------

@pytest.fixture(scope="module", params=["blacklist", "false", "fee"])
def token_env(request: pytest.FixtureRequest) -> Iterator[tuple[CohortEnv, list[str]]]:
    e = cohort_ledger(request.param)
    yield e, customer_accounts(e, 5)


TOKEN_OPS = st.lists(st.one_of(
    st.tuples(st.just("outage"), st.tuples()),
    st.tuples(st.just("settle"), st.tuples(WHO)),
    st.tuples(st.just("batch"), st.tuples(st.lists(st.integers(0, 4), min_size=1, max_size=5), st.integers(0, 3), WHO)),
    st.tuples(st.just("pull"), st.tuples(st.integers(0, 4), st.integers(0, 3), WHO)),
    st.tuples(st.just("odd"), st.tuples(st.integers(0, 5), st.booleans())),  # 5: the distributor
    st.tuples(st.just("claim"), st.tuples(st.integers(0, 5), st.booleans())),
    st.tuples(st.just("remove"), st.tuples(st.lists(st.integers(0, 4), min_size=1, max_size=2))),
), min_size=4, max_size=10)


class TokenWalk:
    """Cohort payouts, removal refunds and pool claims over an odd token, against the cohort
    model and a model of the token and the pool's credits: a transfer to a refused account moves
    nothing and credits its amount to the payee in the pool; a fee token delivers value − ⌊value ×
    bps / 10⁴⌋; a claim pays out the whole credit once, and a refused claim keeps it."""

    def __init__(self, e: CohortEnv, custs: list[str]) -> None:
        self.e, self.led = e, e.led
        led = self.led
        led.travel(1, mine=True)  # (as in OracleWalk)
        fresh_book(e)
        self.base_locked = led.pool.functions.lockedCapital().call()
        self.base_owed = led.pool.functions.owedCapital().call()
        self.ms = [(i, who, LIMITS[i % len(LIMITS)], keccak(text=f"salt|cust-{i}")) for i, who in enumerate(custs)]
        self.t = tree(self.ms)
        self.end = led.now() + 30 * DAY
        e.set_fee(0)  # the premium arrives in full
        self.cid, (_, err) = issue_cohort(e, self.t.root, len(self.ms), sum(m[2] for m in self.ms), 5 * USD,
                                          end=self.end)
        assert err is None, err
        self.model = CohortModel(AMOUNT, AUTO, FEE, self.end)
        self.model.add_segment(self.ms, segment_start(e, self.cid, 0), 5 * USD)
        self.accounts = [*custs, led.a.distributor]
        self.wallet = {a: led.balance(a) for a in self.accounts}
        self.sinks = [signer(f"sink-{i}").address for i in range(len(self.accounts))]  # claims sent elsewhere
        self.wallet.update({s: 0 for s in self.sinks})
        self.credit = {a: 0 for a in self.accounts}
        self.refused: set[str] = set()
        self.bps = 0
        self.dirty: set[str] = set()  # accounts whose balance or credit changed since the last check

    def _fee(self, value: int) -> int:
        return value * self.bps // 10_000

    def _arrive(self, who: str, value: int) -> None:
        self.dirty.add(who)
        if who in self.refused:
            self.credit[who] += value
        else:
            self.wallet[who] += value - self._fee(value)

    # --- operations ---------------------------------------------------------------------
    outage = HostileWalk.outage
    settle = HostileWalk.settle

    def pay(self, subset: list[int], pick: int, who: int) -> None:
        mem, mp = batch(self.t, self.ms, subset)
        rnd = self._round(pick)
        self._paid(rnd, pay_batch(self.e, self.cid, max(rnd, 1), 0, mem, mp, senders(self.e)[who]), mp.indices)

    def pull(self, i: int, pick: int, who: int) -> None:
        rnd = self._round(pick)
        res = claim_member(self.e, self.cid, max(rnd, 1), 0, self.ms[i], self.t.proof(i), senders(self.e)[who])
        self._paid(rnd, res, [i])

    def _round(self, pick: int) -> int:
        rounds = self.model.segments[0].rounds
        return 1 + pick % rounds if rounds else 0

    def _paid(self, rnd: int, res: Result, positions: list[int]) -> None:
        r, err = res
        if rnd == 0:
            assert err is not None and err.name == "CohortBookUnknownRound", err
            return
        assert err is None, err
        out = self.model.pay(0, rnd, positions)
        [ev] = cohort_events(self.e, r, "CohortPaid")
        assert (ev["count"], ev["amount"]) == (len(out), sum(a for *_, a in out))
        for _, who, amt in out:
            self._arrive(who, amt)

    def odd(self, k: int, on: bool) -> None:
        """The token turns on an account (refuses it, or stops), or its fee is switched."""
        if self.e.kind == "fee":
            self.bps = 150 * k if on else 0
            self.e.set_fee(self.bps)
            return
        who = self.accounts[k]
        self.e.refuse(who, on)
        (self.refused.add if on else self.refused.discard)(who)

    def claim(self, k: int, to_self: bool) -> None:
        who = self.accounts[k]
        to = who if to_self else self.sinks[k]
        r, err = claim_credit(self.e, who, to)
        self.dirty |= {who, to}
        if self.credit[who] == 0:
            assert err is not None and err.name == "CoverPoolNothingOwed", err
        elif to in self.refused:  # the credit stays for a later claim
            assert r is None and err is not None, err
        else:
            assert err is None, err
            self.wallet[to] += self.credit[who] - self._fee(self.credit[who])
            self.credit[who] = 0

    def remove(self, subset: list[int]) -> None:
        e, led = self.e, self.led
        mem, mp = batch(self.t, self.ms, subset)
        r, err = remove_members(e, self.cid, 0, mem, mp)
        saved = copy.deepcopy(self.model)
        self.model.settle()
        try:
            out, released, refund = self.model.remove(0, mp.indices, block_time(e, r) if r else led.now())
        except Refused as x:
            self.model = saved
            assert err is not None and err.name == x.error, (err, x.error)
            return
        assert err is None, err
        [ev] = cohort_events(e, r, "MembersRemoved")
        assert (ev["paid"], ev["released"], ev["refund"]) == (sum(a for *_, a in out), released, refund)
        for _, who, amt in out:
            self._arrive(who, amt)
        if refund:
            self._arrive(led.a.distributor, refund)

    # --- checks -------------------------------------------------------------------------
    def check(self, everyone: bool = False) -> None:
        led, m, p = self.led, self.model, self.led.pool.functions
        assert cohort_locked(self.e, self.cid) == m.locked >= m.owed_now()
        assert p.lockedCapital().call() == self.base_locked + m.locked
        for a in self.wallet if everyone else self.dirty:
            assert led.balance(a) == self.wallet[a], a
        for a in self.credit if everyone else self.dirty & set(self.credit):  # credited once, only while refused
            assert p.claimableOf(a).call() == self.credit[a], a
        assert p.owedCapital().call() == self.base_owed + sum(self.credit.values())
        self.dirty.clear()


@settings(PROPS, max_examples=3)  # per token, besides the explicit example
@given(ops=TOKEN_OPS)
@example(ops=[("odd", (1, True)), ("odd", (5, True)), ("outage", ()), ("settle", (0,)), ("batch", ([0, 1, 2], 0, 1)),
              ("batch", ([1, 2], 0, 2)), ("claim", (1, True)), ("claim", (1, False)), ("claim", (1, False)),
              ("outage", ()), ("pull", (1, 1, 3)), ("remove", ([1, 3],)), ("odd", (1, False)), ("claim", (1, True)),
              ("claim", (5, True))])
def test_refused_and_skimmed_payouts_are_owed_once(token_env: tuple[CohortEnv, list[str]], ops: list[tuple]) -> None:
    """A refused payout (or removal refund) is credited to its payee in the pool, once, and the
    payee can claim it later (elsewhere while refused, or to itself once accepted); a fee token
    skims what arrives, never the book's or the pool's accounting. At the end, with no account
    refused, everyone owed is paid and every credit claimed: nothing is left owed."""
    e, custs = token_env
    led = e.led
    with snapshot(led):
        w = TokenWalk(e, custs)
        for op, args in ops:
            getattr(w, {"batch": "pay"}.get(op, op))(*args)
            w.check()
        for k in range(len(w.accounts)):
            w.odd(k, False)
        w.settle(0)
        for rnd in range(1, w.model.segments[0].rounds + 1):
            w.pay(list(range(len(w.ms))), rnd - 1, 0)
        for k, who in enumerate(w.accounts):
            if w.credit[who]:
                w.claim(k, True)
        w.check(everyone=True)
        assert w.model.owed_now() == 0 and sum(w.credit.values()) == 0
        assert led.pool.functions.owedCapital().call() == w.base_owed
