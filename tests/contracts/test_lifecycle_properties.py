"""Property tests of cancellation, renewal and the aggregate caps against tests/contracts/policy_model.py.

The adversary picks the order and timing of issue / settle / cancel / renew / expire and of
verified outages (ongoing or not, touching or apart). Properties, checked after every step:
- a cancellation is refused exactly when the model says so (cover over, outage in progress or
  not final, ended within the merge gap, anything paid / settled / claimed / owed, renewed,
  not active), and otherwise refunds exactly floor(premium × unexpired / cover) − fee (≥ 0),
  never more than the premium, and releases the collateral once;
- settlement follows the model's dN / dE rule exactly (settled, paid, under review);
- a renewal starts at its predecessor's end with no waiting period, so each final episode is
  owned by exactly one cover of the pair, and a policy is renewed at most once;
- the pool's parts sum to its assets, and locked == Σ (limit − paid) over active policies;
- no batch mix ever takes a product, event or service exposure above its cap.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from contracts.deploy import DEFAULT_FINALITY_DELAY as FINALITY
from contracts.deploy import DEFAULT_MERGE_GAP as MERGE_GAP
from contracts.enums import ClaimReason, PolicyStatus
from contracts.records import Claim
from contracts.reverts import ContractRevert
from tests.chain import USD, Ledger, events
from tests.contracts.helpers import DAY, HOUR, SERVICE, make_env, product_tuple, snapshot
from tests.contracts.outage_model import OutageModel
from tests.contracts.policy_model import FIXED, PER_UNIT, Cover, Exposure, Terms, episodes, refund

PROPS = settings(max_examples=25, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

FEE = 2 * USD
PRODUCT = Terms(kind=PER_UNIT, trigger=HOUR, unit=HOUR, amount=50 * USD, waiting=HOUR, auto_pay=150 * USD, fee=FEE)

OPS = st.lists(st.one_of(
    st.tuples(st.just("issue"), st.integers(1, 3), st.sampled_from([0, 600, DAY])),
    st.tuples(st.just("outage"), st.integers(-3 * HOUR, 0), st.integers(60, 4 * HOUR), st.booleans()),
    st.tuples(st.just("travel"), st.sampled_from([30, MERGE_GAP, 2 * HOUR, DAY, 3 * DAY]), st.just(0)),
    st.tuples(st.just("settle"), st.just(0), st.just(0)),
    st.tuples(st.just("cancel"), st.integers(0, 9), st.just(0)),
    st.tuples(st.just("renew"), st.integers(0, 9), st.just(0)),
    st.tuples(st.just("expire"), st.just(0), st.just(0)),
), min_size=4, max_size=12)


class Walk:
    """The chain and the model side by side."""

    def __init__(self, led: Ledger) -> None:
        self.led, self.env = led, make_env(led)
        led.send(led.book.functions.createProduct(product_tuple(
            kind=PER_UNIT, amount=PRODUCT.amount, waiting=PRODUCT.waiting, auto=PRODUCT.auto_pay,
            cancellation_fee=FEE, grace=7 * DAY, claim_seconds=DAY)), led.a.underwriter)
        self.pid = 3
        self.outages = OutageModel(MERGE_GAP, FINALITY)
        self.covers: dict[int, Cover] = {}
        self.renewed: dict[int, int] = {}
        self.n = 0

    def windows(self) -> list[tuple[int, int, int, bool]]:
        return [(w.start, w.end, w.start_since, w.ongoing) for w in self.outages.windows]

    def eps(self) -> list:
        return episodes(self.windows(), MERGE_GAP, FINALITY, self.led.now())

    def active(self) -> list[int]:
        return [i for i in sorted(self.covers) if self.env.record(i).status is PolicyStatus.ACTIVE]

    # --- operations ---------------------------------------------------------------------
    def issue(self, k: int, delay: int) -> None:
        now = self.led.now()
        terms = [self.env.terms(self.pid, start=now + delay if delay else 0, days=2, n=self.n + i,
                                premium=(7 + i) * USD + 3) for i in range(k)]
        self.n += k
        for i in self.env.issue(*terms):
            r = self.env.record(i)
            self.covers[i] = Cover(r.cover_start, r.cover_end, r.limit, r.premium)

    def outage(self, offset: int, length: int, ongoing: bool) -> None:
        now = self.led.now()
        start = now + offset - length
        end = min(start + length, now)
        if end <= start:
            return
        if not self.outages.submit(start, end, now + 1, ongoing):
            return
        self.led.verify_outage(SERVICE, start, end, ongoing=ongoing)

    def settle(self) -> None:
        ids = self.active()
        if not ids:
            return
        self.env.settle(*ids)
        eps = self.eps()
        for i in ids:
            self.covers[i].settle(PRODUCT, eps)
        self.check_records(ids)

    def cancel_refusals(self, i: int) -> set[str]:
        rec, c, now = self.env.record(i), self.covers[i], self.led.now() + 1
        if rec.status is not PolicyStatus.ACTIVE:
            return {"PolicyBookPolicyClosed"}
        if rec.renewed_by:
            return {"PolicyBookAlreadyRenewed"}
        if now >= rec.cover_end:
            return {"PolicyBookCoverEnded"}
        out = set()
        ws = self.outages.windows
        if ws and (ws[-1].ongoing or ws[-1].start_since + FINALITY > now or ws[-1].end + MERGE_GAP > now):
            out.add("PolicyBookOutageInProgress")
        eps = episodes(self.windows(), MERGE_GAP, FINALITY, now)
        if any(not e.final or e.ongoing for e in eps if c.owns(PRODUCT, e)):
            out.add("PolicyBookOutageInProgress")
        if c.settled or c.paid or c.entitlement(PRODUCT, eps)[1]:
            out.add("PolicyBookPolicyHasPayout")
        return out

    def cancel(self, k: int) -> None:
        ids = sorted(self.covers)
        if not ids:
            return
        i = ids[k % len(ids)]
        refused = self.cancel_refusals(i)
        free, locked = self.led.pool.functions.freeCapital().call(), self.led.pool.functions.lockedCapital().call()
        try:
            r = self.env.send_tracked(self.led.book.functions.cancel(i, self.env.record(i).as_tuple()),
                                      self.led.a.distributor)
        except ContractRevert as exc:
            assert exc.name in refused, (exc, refused)
            return
        assert not refused, refused
        c = self.covers[i]
        now = self.led.w3.eth.get_block(r["blockNumber"])["timestamp"]
        [ev] = events(r, self.led.book, "PolicyCancelled")
        assert ev["refund"] == refund(c, PRODUCT, now) <= c.premium
        assert ev["released"] == c.limit
        assert self.led.pool.functions.lockedCapital().call() == locked - c.limit
        assert self.led.pool.functions.freeCapital().call() == free + c.limit - ev["refund"]

    def renew(self, k: int) -> None:
        ids = sorted(self.covers)
        if not ids:
            return
        i = ids[k % len(ids)]
        rec = self.env.record(i)
        t = list(self.env.terms(self.pid, rec.beneficiary, start=rec.cover_end, days=2, n=self.n, premium=9 * USD))
        t[6] = rec.holder
        self.n += 1
        ok = rec.status is PolicyStatus.ACTIVE and not rec.renewed_by and self.led.now() + 1 < rec.cover_end
        try:
            self.env.send_tracked(self.led.book.functions.renew(i, rec.as_tuple(), tuple(t)), self.led.a.distributor)
        except ContractRevert as exc:
            assert not ok and exc.name in {"PolicyBookPolicyClosed", "PolicyBookAlreadyRenewed",
                                           "PolicyBookCoverEnded"}, exc
            return
        assert ok and i not in self.renewed
        new = max(self.env.proj.policies)
        r = self.env.record(new)
        assert r.renewal_of == i and self.env.record(i).renewed_by == new and r.cover_start == rec.cover_end
        self.renewed[i] = new
        self.covers[new] = Cover(r.cover_start, r.cover_end, r.limit, r.premium, renewal=True)

    def expire(self) -> None:
        self.led.travel(2 * DAY + 7 * DAY + 1)
        self.settle()
        now = self.led.now() + 1
        ids = [i for i in self.active() if self.env.record(i).cover_end + 7 * DAY <= now]  # past grace
        if ids:
            self.env.expire(*ids)

    # --- invariants -------------------------------------------------------------------------
    def check_records(self, ids: list[int]) -> None:
        for i in ids:
            rec, c = self.env.record(i), self.covers[i]
            assert (rec.settled, rec.event_settled, rec.paid) == (c.settled, c.event_settled, c.paid), (i, rec, c)

    def check_pool(self) -> None:
        p = self.led.pool.functions
        assets, locked, free, owed = (p.totalAssets().call(), p.lockedCapital().call(), p.freeCapital().call(),
                                      p.owedCapital().call())
        assert free + locked + owed == assets <= self.led.balance(self.led.pool.address)
        assert locked == sum(self.env.record(i).limit - self.env.record(i).paid for i in self.active())
        assert self.env.proj.check(self.led.book, self.covers) == []

    def check_pairs(self) -> None:
        eps = self.eps()
        for old, new in self.renewed.items():
            a, b = self.covers[old], self.covers[new]
            assert a.end == b.start == b.count_from(PRODUCT)  # no gap, no overlap
            for e in eps:
                assert not (a.owns(PRODUCT, e) and b.owns(PRODUCT, e))


@given(ops=OPS)
@PROPS
def test_cancel_renew_settle_expire_against_the_model(_ledger: Ledger, ops) -> None:  # noqa: ANN001
    with snapshot(_ledger):
        w = Walk(_ledger)
        for op, a, b, *rest in ops:
            if op == "issue":
                w.issue(a, b)
            elif op == "outage":
                w.outage(a, b, rest[0])
            elif op == "travel":
                w.led.travel(a)
            elif op == "settle":
                w.settle()
            elif op == "cancel":
                w.cancel(a)
            elif op == "renew":
                w.renew(a)
            elif op == "expire":
                w.expire()
            w.check_pool()
            w.check_pairs()
        # In the end every outage is final and over: each episode paid at most once across a pair.
        w.led.travel(FINALITY + MERGE_GAP + 1)
        w.settle()
        w.check_pairs()


# --- caps -----------------------------------------------------------------------------------

BATCHES = st.lists(st.lists(st.tuples(st.sampled_from([3, 4, 5]), st.integers(1, 10)), min_size=1, max_size=6),
                   min_size=1, max_size=6)


@given(batches=BATCHES, caps=st.tuples(st.integers(0, 30), st.integers(0, 20), st.integers(0, 40)),
       cancel_every=st.integers(0, 3))
@PROPS
def test_no_batch_mix_exceeds_a_cap(_ledger: Ledger, batches, caps, cancel_every) -> None:  # noqa: ANN001
    """Products 3 (Fixed 100, event cap), 4 (PerUnit, event cap) and 5 (Fixed, other service)
    share caps; limits are multiples of 50 USD; a batch is all or nothing."""
    other = b"\x22" * 32
    product_cap, event_cap, service_cap = (c * 50 * USD for c in caps)
    with snapshot(_ledger):
        led = _ledger
        env = make_env(led)
        terms = {3: (Terms(FIXED, HOUR, HOUR, 100 * USD), SERVICE), 4: (Terms(PER_UNIT, HOUR, HOUR, 50 * USD), SERVICE),
                 5: (Terms(FIXED, HOUR, HOUR, 100 * USD), other)}
        for t, service in terms.values():  # created as products 3, 4, 5
            led.send(led.book.functions.createProduct(product_tuple(
                kind=t.kind, amount=t.amount, service=service, exposure_cap=product_cap, event_cap=event_cap)),
                led.a.underwriter)
        led.send(led.book.functions.setServiceCap(SERVICE, service_cap), led.a.underwriter)
        model = Exposure()
        live: list[tuple[int, int, int]] = []  # (policy id, product, limit)
        n = 0
        for k, batch in enumerate(batches):
            trial = Exposure({p: list(v) for p, v in model.products.items()}, dict(model.services))
            refusal = None
            for pid, units in batch:
                t, service = terms[pid]
                cap = service_cap if service == SERVICE else 0
                refusal = refusal or trial.fits(pid, service, t, units * 50 * USD, product_cap=product_cap,
                                                event_cap=event_cap, service_cap=cap)
                trial.add(pid, service, t, units * 50 * USD)
            sent = [env.terms(pid, limit=units * 50 * USD, n=n + i) for i, (pid, units) in enumerate(batch)]
            n += len(batch)
            try:
                ids = env.issue(*sent)
            except ContractRevert as exc:
                assert refusal == exc.name, (refusal, exc)
                continue
            assert refusal is None
            model = trial
            live += [(i, pid, units * 50 * USD) for i, (pid, units) in zip(ids, batch, strict=True)]
            if cancel_every and k % cancel_every == 0 and live:
                i, pid, limit = live.pop(0)
                env.send_tracked(led.book.functions.cancel(i, env.record(i).as_tuple()), led.a.distributor)
                model.add(pid, terms[pid][1], terms[pid][0], limit, sign=-1)
            for pid in terms:
                lim, per = model.products.get(pid, [0, 0])
                assert led.book.functions.productExposure(pid).call() == lim <= (product_cap or lim)
                assert led.book.functions.eventExposure(pid).call() == per <= (event_cap or per)
            exposure = led.book.functions.serviceExposure(SERVICE).call()[1]
            assert exposure == model.services.get(SERVICE, 0) <= (service_cap or exposure)


# --- excluded events ------------------------------------------------------------------------

EVENT_OPS = st.lists(st.one_of(
    st.tuples(st.just("outage"), st.integers(0, 40), st.integers(1, 5 * 60)),  # start (h), length (min)
    st.tuples(st.just("event"), st.integers(0, 40), st.integers(1, 10)),  # start (h), length (h)
    st.tuples(st.just("settle"), st.just(0), st.just(0)),
    st.tuples(st.just("travel"), st.sampled_from([37, FINALITY + 1, 2 * HOUR]), st.just(0)),
), min_size=3, max_size=12)


@given(ops=EVENT_OPS, limits=st.tuples(st.integers(1, 10), st.integers(1, 10)))
@PROPS
def test_excluded_event_entitlement_never_auto_pays_and_nothing_pays_twice(_ledger: Ledger, ops, limits) -> None:  # noqa: ANN001
    """Outages and event declarations in any order and timing, an event declared before or after
    the payment of an episode it covers: each settle moves the records exactly as the model's
    dN / dE rule says; auto-pay never exceeds the normal part; every claim holding event
    entitlement says so; settled never passes the limit or goes down."""
    product = Terms(kind=PER_UNIT, trigger=HOUR, unit=HOUR, amount=50 * USD, auto_pay=150 * USD)
    with snapshot(_ledger):
        led = _ledger
        env = make_env(led)
        t0 = led.now() + 1
        ids = env.issue(*[env.terms(env.per_unit, start=0, days=30, limit=u * 50 * USD, n=k)
                          for k, u in enumerate(limits)])
        covers = {i: Cover(env.record(i).cover_start, env.record(i).cover_end, env.record(i).limit, 0) for i in ids}
        outages = OutageModel(MERGE_GAP, FINALITY)
        declared: list[tuple[int, int]] = []
        for op, a, b in ops:
            if op == "outage":
                start, end = t0 + a * HOUR, t0 + a * HOUR + b * 60
                if end > led.now():
                    led.travel(end - led.now() + 1)
                if outages.submit(start, end, led.now() + 1):
                    led.verify_outage(SERVICE, start, end)
            elif op == "event":
                period = (t0 + a * HOUR, t0 + (a + b) * HOUR)
                led.send(led.oracle.functions.declareExcludedEvent([SERVICE], *period, b"\x01" * 32), led.a.owner)
                declared.append(period)
            elif op == "travel":
                led.travel(a)
            else:
                before = {i: env.record(i) for i in ids}
                r = env.settle(*ids)
                windows = [(w.start, w.end, w.start_since, w.ongoing) for w in outages.windows]
                eps = episodes(windows, MERGE_GAP, FINALITY, led.now(), tuple(declared))
                reviewed = {e["policyId"]: e["amount"] for e in events(r, led.book, "ExcludedEventReviewed")}
                for i in ids:
                    pay, review, d_e = covers[i].settle(product, eps)
                    rec, c = env.record(i), covers[i]
                    assert (rec.settled, rec.event_settled, rec.paid) == (c.settled, c.event_settled, c.paid), i
                    assert before[i].settled <= rec.settled <= rec.limit
                    # What this settle paid at once came out of the normal part it handled.
                    normal_handled = (rec.settled - rec.event_settled) - (before[i].settled - before[i].event_settled)
                    assert rec.paid - before[i].paid == pay <= normal_handled
                    assert reviewed.get(i, 0) == d_e and rec.settled - before[i].settled == pay + review
                    if d_e:
                        assert env.proj.claims[rec.open_claim]["reason"] is ClaimReason.EXCLUDED_EVENT
                        claim = Claim.decode(led.book.functions.claim(rec.open_claim).call())
                        assert claim.reason is ClaimReason.EXCLUDED_EVENT
