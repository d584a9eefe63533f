"""PolicyBook, issue 12: schedule hash, cancellation, renewal, service and event caps — one test
per new custom error, the refund formula on hand-computed figures, and CoverPool.refund."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from contracts.deploy import DEFAULT_FINALITY_DELAY as FINALITY
from contracts.deploy import DEFAULT_MERGE_GAP as MERGE_GAP
from contracts.enums import PolicyStatus
from contracts.records import PolicyRecord
from tests.chain import ORACLES, USD, expect_event, expect_revert
from tests.contracts.helpers import DAY, HOUR, SERVICE, make_env, product_tuple
from tests.contracts.pool_model import deploy_odd_pools


@pytest.fixture
def env(ledger):  # noqa: ANN001, ANN201
    return make_env(ledger)


def _cancel(env, pid: int, sender: str | None = None):  # noqa: ANN001, ANN202
    return env.send_tracked(env.led.book.functions.cancel(pid, env.record(pid).as_tuple()),
                            sender or env.led.a.distributor)


def _renew_terms(env, pid: int, **kw):  # noqa: ANN001, ANN003, ANN202
    rec = env.record(pid)
    t = list(env.terms(rec.product_id, rec.beneficiary, start=rec.cover_end, days=30, **kw))
    t[6] = rec.holder  # the same holder commitment
    return tuple(t)


def _outage(env, start: int, end: int) -> None:  # noqa: ANN001
    env.led.travel(max(1, end - env.led.now() + 1))
    env.led.verify_outage(SERVICE, start, end)
    env.led.travel(max(FINALITY, MERGE_GAP) + 1)


# --- schedule hash ---------------------------------------------------------------------------

def test_schedule_hash_is_in_the_record_and_its_hash(env) -> None:
    schedule = keccak(text='{"cover_end":1,"insurer":"x"}')
    [pid] = env.issue(env.terms(env.fixed, schedule=schedule, premium=7 * USD))
    rec = env.record(pid)
    assert (rec.schedule_hash, rec.premium, rec.renewal_of, rec.renewed_by) == (schedule, 7 * USD, 0, 0)
    book = env.led.book.functions
    assert book.hashPolicy(rec.as_tuple()).call() == book.policyHash(pid).call()
    tampered = PolicyRecord(**{**vars(rec), "schedule_hash": bytes([schedule[0] ^ 1]) + schedule[1:]})
    assert book.hashPolicy(tampered.as_tuple()).call() != book.policyHash(pid).call()


# --- caps ------------------------------------------------------------------------------------

def test_service_cap_spans_products_and_batches(env) -> None:
    led = env.led
    r = led.send(led.book.functions.setServiceCap(SERVICE, 900 * USD), led.a.underwriter)
    expect_event(r, led.book, "ServiceCapSet", serviceId=SERVICE, cap=900 * USD)
    expect_revert(led.book.functions.setServiceCap(SERVICE, 1), led.a.distributor, "AccessControlUnauthorizedAccount")
    env.issue(env.terms(env.fixed, limit=400 * USD))
    batch = [env.terms(env.per_unit, limit=300 * USD, n=1), env.terms(env.fixed, limit=300 * USD, n=2)]
    expect_revert(led.book.functions.issueBatch(batch), led.a.distributor, "PolicyBookServiceCapExceeded",
                  serviceId=SERVICE, exposure=1000 * USD, cap=900 * USD)
    env.issue(*batch[:1], env.terms(env.fixed, limit=200 * USD, n=3))
    assert led.book.functions.serviceExposure(SERVICE).call() == [900 * USD, 900 * USD]


def test_event_cap_sums_what_one_episode_can_pay(env) -> None:
    led = env.led
    # Fixed 100 per episode: a 500 limit exposes 100 to one episode; the cap is 250.
    led.send(led.book.functions.createProduct(product_tuple(event_cap=250 * USD)), led.a.underwriter)
    env.issue(env.terms(3, n=1), env.terms(3, n=2))
    assert led.book.functions.eventExposure(3).call() == 200 * USD
    expect_revert(led.book.functions.issue(env.terms(3, n=3)), led.a.distributor, "PolicyBookEventCapExceeded",
                  productId=3, exposure=300 * USD, cap=250 * USD)
    env.issue(env.terms(3, n=4, limit=50 * USD))  # min(payout 100, limit 50) = 50: fits exactly
    assert led.book.functions.eventExposure(3).call() == 250 * USD


# --- cancellation ----------------------------------------------------------------------------

def test_cancel_refunds_the_unexpired_share_less_the_fee(env) -> None:
    led = env.led
    led.send(led.book.functions.createProduct(product_tuple(cancellation_fee=1 * USD)), led.a.underwriter)
    [pid] = env.issue(env.terms(3, premium=30 * USD + 7, days=30))
    rec = env.record(pid)
    led.travel(10 * DAY)
    before_free, before_issuer = led.pool.functions.freeCapital().call(), led.balance(led.a.distributor)
    r = _cancel(env, pid)
    now = led.w3.eth.get_block(r["blockNumber"])["timestamp"]
    share = (30 * USD + 7) * (rec.cover_end - now) // (rec.cover_end - rec.cover_start)
    expect_event(r, led.book, "PolicyCancelled", policyId=pid, refund=share - 1 * USD, released=500 * USD)
    assert led.balance(led.a.distributor) - before_issuer == share - 1 * USD
    assert led.pool.functions.freeCapital().call() - before_free == 500 * USD - (share - 1 * USD)
    assert env.record(pid).status is PolicyStatus.CANCELLED
    assert led.book.functions.productExposure(3).call() == 0 == led.book.functions.eventExposure(3).call()
    assert led.book.functions.serviceExposure(SERVICE).call()[1] == 0
    assert env.proj.check(led.book, [pid]) == []
    expect_revert(led.book.functions.cancel(pid, env.record(pid).as_tuple()), led.a.distributor,
                  "PolicyBookPolicyClosed", policyId=pid)


def test_cancel_before_start_refunds_all_but_the_fee_and_a_fee_above_the_share_refunds_nothing(env) -> None:
    led = env.led
    led.send(led.book.functions.createProduct(product_tuple(cancellation_fee=20 * USD)), led.a.underwriter)
    [early] = env.issue(env.terms(3, start=led.now() + DAY, premium=25 * USD))
    [late] = env.issue(env.terms(3, premium=25 * USD, n=1))
    expect_event(_cancel(env, early), led.book, "PolicyCancelled", refund=5 * USD)
    led.travel(29 * DAY)
    expect_event(_cancel(env, late, sender=led.a.underwriter), led.book, "PolicyCancelled", refund=0)


def test_cancel_is_for_the_issuer_or_an_underwriter(env) -> None:
    [pid] = env.issue(env.terms(env.fixed))
    expect_revert(env.led.book.functions.cancel(pid, env.record(pid).as_tuple()), env.led.a.outsider,
                  "AccessControlUnauthorizedAccount")


def test_cancel_refused_at_cover_end(env) -> None:
    [pid] = env.issue(env.terms(env.fixed, days=1))
    env.led.travel(DAY)
    rec = env.record(pid)
    expect_revert(env.led.book.functions.cancel(pid, rec.as_tuple()), env.led.a.distributor,
                  "PolicyBookCoverEnded", policyId=pid, coverEnd=rec.cover_end)


def test_cancel_refused_while_an_outage_is_ongoing_or_may_still_grow(env) -> None:
    led = env.led
    [pid] = env.issue(env.terms(env.fixed))
    start = led.now() + 60
    led.travel(600)
    r = [led.signed_report(o, SERVICE, start, start + 300, ongoing=True) for o in ORACLES[:3]]
    led.send(led.oracle.functions.submit(SERVICE, 1, r), led.a.relayer)
    expect_revert(led.book.functions.cancel(pid, env.record(pid).as_tuple()), led.a.distributor,
                  "PolicyBookOutageInProgress", policyId=pid)


def test_cancel_refused_within_merge_gap_of_a_short_outage(env) -> None:
    led = env.led
    [pid] = env.issue(env.terms(env.fixed))
    start = led.now() + 60
    led.travel(200)
    led.verify_outage(SERVICE, start, start + 30)  # below the trigger: pays nothing, but may grow
    led.travel(FINALITY + 1)
    expect_revert(led.book.functions.cancel(pid, env.record(pid).as_tuple()), led.a.distributor,
                  "PolicyBookOutageInProgress", policyId=pid)
    led.travel(MERGE_GAP)
    expect_event(_cancel(env, pid), led.book, "PolicyCancelled", policyId=pid)


def test_cancel_refused_after_a_payout_or_with_entitlement(env) -> None:
    led = env.led
    [paid, owed] = env.issue(env.terms(env.fixed), env.terms(env.fixed, n=1))
    start = led.now() + 60
    _outage(env, start, start + 2 * HOUR)
    expect_revert(led.book.functions.cancel(owed, env.record(owed).as_tuple()), led.a.distributor,
                  "PolicyBookPolicyHasPayout", policyId=owed)  # entitled, not yet settled
    env.settle(paid)
    expect_revert(led.book.functions.cancel(paid, env.record(paid).as_tuple()), led.a.distributor,
                  "PolicyBookPolicyHasPayout", policyId=paid)


# --- renewal ---------------------------------------------------------------------------------

def test_renewal_links_both_records_and_has_no_waiting_period(env) -> None:
    led = env.led
    led.send(led.book.functions.createProduct(product_tuple(waiting=3 * DAY)), led.a.underwriter)
    [old] = env.issue(env.terms(3, days=10))
    led.travel(9 * DAY)
    r = env.send_tracked(led.book.functions.renew(old, env.record(old).as_tuple(), _renew_terms(env, old)),
                         led.a.distributor)
    new = old + 1
    expect_event(r, led.book, "PolicyRenewed", policyId=old, newPolicyId=new)
    assert env.record(old).renewed_by == new and env.record(new).renewal_of == old
    assert env.record(new).cover_start == env.record(old).cover_end
    assert env.proj.check(led.book, [old, new]) == []
    # An outage one day into the renewal pays it: no second waiting period.
    start = env.record(new).cover_start + DAY
    _outage(env, start, start + 2 * HOUR)
    env.settle(old, new)
    assert (env.record(old).paid, env.record(new).paid) == (0, 100 * USD)
    expect_revert(led.book.functions.renew(old, env.record(old).as_tuple(), _renew_terms(env, old)),
                  led.a.distributor, "PolicyBookAlreadyRenewed", policyId=old, renewedBy=new)
    expect_revert(led.book.functions.cancel(old, env.record(old).as_tuple()), led.a.distributor,
                  "PolicyBookAlreadyRenewed", policyId=old, renewedBy=new)


@pytest.mark.parametrize("change", ["start", "holder", "subject", "service"])
def test_renewal_must_continue_the_cover(env, change) -> None:
    led = env.led
    led.send(led.book.functions.createProduct(product_tuple(service=keccak(text="other"))), led.a.underwriter)
    [old] = env.issue(env.terms(env.fixed))
    t = list(_renew_terms(env, old))
    if change == "start":
        t[1] += 1
    elif change == "holder":
        t[6] = keccak(text="someone else")
    elif change == "subject":
        t[7] = keccak(text="another insured")
    else:
        t[0] = 3
    expect_revert(led.book.functions.renew(old, env.record(old).as_tuple(), tuple(t)), led.a.distributor,
                  "PolicyBookRenewalMismatch", policyId=old)


def test_renewal_refused_after_cover_end_and_for_a_cancelled_policy(env) -> None:
    led = env.led
    [a, b] = env.issue(env.terms(env.fixed, days=1), env.terms(env.fixed, days=2, n=1))
    _cancel(env, b)
    expect_revert(led.book.functions.renew(b, env.record(b).as_tuple(), _renew_terms(env, b)), led.a.distributor,
                  "PolicyBookPolicyClosed", policyId=b)
    led.travel(DAY)
    expect_revert(led.book.functions.renew(a, env.record(a).as_tuple(), _renew_terms(env, a)), led.a.distributor,
                  "PolicyBookCoverEnded", policyId=a)


# --- CoverPool.refund ------------------------------------------------------------------------

def test_pool_refund_pays_from_free_capital_or_credits_a_refused_transfer(ledger) -> None:
    led = ledger
    odd = deploy_odd_pools(led)["blacklist"]
    p, book = odd.pool.functions, led.a.claims
    led.send(p.deposit(1_000), led.a.alice)
    expect_revert(p.refund(led.a.outsider, 1), led.a.outsider, "AccessControlUnauthorizedAccount")
    expect_revert(p.refund(led.a.outsider, 1_001), book, "CoverPoolInsufficientFreeCapital",
                  requested=1_001, free=1_000)
    expect_revert(p.refund("0x" + "00" * 20, 1), book, "CoverPoolZeroAddress")
    expect_event(led.send(p.refund(led.a.outsider, 300), book), odd.pool, "PremiumRefunded", to=led.a.outsider,
                 amount=300)
    odd.refuse(led, led.a.relayer, True)
    r = led.send(p.refund(led.a.relayer, 200), book)
    expect_event(r, odd.pool, "PayoutCredited", payee=led.a.relayer, amount=200)
    assert (p.freeCapital().call(), p.owedCapital().call(), p.totalAssets().call()) == (500, 200, 700)
    assert p.claimableOf(led.a.relayer).call() == 200
