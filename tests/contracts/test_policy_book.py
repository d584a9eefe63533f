"""PolicyBook: products, issuance, settlement, claims review, expiry — the money paths."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from contracts import artifacts
from tests.chain import USD, events, expect_event, expect_revert, signer
from tests.contracts.helpers import (
    HOUR,
    PER_UNIT,
    SERVICE,
    make_env,
    product_tuple,
)

REASON = keccak(text="claim review: outage caused by the insured's own change")


@pytest.fixture
def env(ledger):  # noqa: ANN001, ANN201
    return make_env(ledger)


# --- products -------------------------------------------------------------------------------

def test_create_product_event_and_view(env) -> None:
    led = env.led
    r = led.send(led.book.functions.createProduct(product_tuple(trigger=120)), led.a.underwriter)
    ev = expect_event(r, led.book, "ProductCreated", productId=3, serviceId=SERVICE)
    assert ev["product"]["triggerSeconds"] == 120
    assert led.book.functions.productCount().call() == 3
    assert led.book.functions.product(3).call()[6] is True


@pytest.mark.parametrize("bad", [
    {"service": b"\x00" * 32}, {"amount": 0}, {"limit": 0}, {"auto": 600 * USD},
    {"kind": PER_UNIT, "unit": 0},
])
def test_invalid_products(env, bad) -> None:
    expect_revert(env.led.book.functions.createProduct(product_tuple(**bad)), env.led.a.underwriter,
                  "PolicyBookInvalidProduct")


def test_product_roles_and_activation(env) -> None:
    led = env.led
    expect_revert(led.book.functions.createProduct(product_tuple()), led.a.distributor,
                  "AccessControlUnauthorizedAccount")
    r = led.send(led.book.functions.setProductActive(env.fixed, False), led.a.underwriter)
    expect_event(r, led.book, "ProductActivationChanged", productId=env.fixed, active=False)
    expect_revert(led.book.functions.issue(env.terms(env.fixed)), led.a.distributor,
                  "PolicyBookProductInactive", productId=env.fixed)
    expect_revert(led.book.functions.setProductActive(99, True), led.a.underwriter,
                  "PolicyBookUnknownProduct", productId=99)
    expect_revert(led.book.functions.issue(env.terms(99)), led.a.distributor,
                  "PolicyBookUnknownProduct", productId=99)


# --- issuance -------------------------------------------------------------------------------

def test_issue_takes_premium_and_locks_full_limit(env) -> None:
    led = env.led
    assets0, locked0, _ = env.pool_state()
    dist0 = led.balance(led.a.distributor)
    r = led.send(led.book.functions.issue(env.terms(env.fixed, led.a.alice, premium=7 * USD)), led.a.distributor)
    ev = expect_event(r, led.book, "PolicyIssued", policyId=1, productId=env.fixed, issuer=led.a.distributor)
    assert ev["premium"] == 7 * USD
    assert led.balance(led.a.distributor) == dist0 - 7 * USD
    assets, locked, bal = env.pool_state()
    assert (assets, locked) == (assets0 + 7 * USD, locked0 + 500 * USD)
    assert locked <= assets <= bal
    env.proj.apply_receipt(led.book, r)
    assert env.proj.check(led.book, [1]) == []
    assert led.book.functions.policyCount().call() == 1
    rec = env.record(1)
    assert rec.cover_start == led.now()
    assert rec.beneficiary == led.a.alice
    assert rec.report_hash == env.report


def test_issue_validation_errors(env) -> None:
    led, now = env.led, env.led.now()
    d = led.a.distributor
    expect_revert(led.book.functions.issue(env.terms(env.fixed)), led.a.outsider,
                  "AccessControlUnauthorizedAccount", account=led.a.outsider)
    expect_revert(led.book.functions.issue(env.terms(env.fixed, start=now - 100)), d, "PolicyBookInvalidCover")
    t = list(env.terms(env.fixed))
    t[2] = now - 1
    expect_revert(led.book.functions.issue(tuple(t)), d, "PolicyBookInvalidCover")
    expect_revert(led.book.functions.issue(env.terms(env.fixed, limit=501 * USD)), d,
                  "PolicyBookLimitAboveProduct", limit=501 * USD, productLimit=500 * USD)
    expect_revert(led.book.functions.issue(env.terms(env.fixed, limit=0)), d, "PolicyBookLimitAboveProduct")
    expect_revert(led.book.functions.issue(env.terms(env.fixed, "0x" + "00" * 20)), d,
                  "PolicyBookZeroBeneficiary")


def test_issue_requires_live_underwritable_report(env) -> None:
    led = env.led
    d = led.a.distributor
    unknown = keccak(text="never anchored")
    expect_revert(led.book.functions.issue(env.terms(env.fixed, report=unknown)), d,
                  "PolicyBookReportNotUnderwritable", reportHash=unknown)
    high = keccak(text="high risk")
    led.anchor(high, score_bps=5500, level=3)
    expect_revert(led.book.functions.issue(env.terms(env.fixed, report=led.anchor_id(high))), d,
                  "PolicyBookReportNotUnderwritable")
    expect_revert(led.book.functions.issue(env.terms(env.fixed, report=env.incident)), d,
                  "PolicyBookReportNotUnderwritable")
    newer = keccak(text="report v2")
    led.anchor(newer, replaces=env.report)
    expect_revert(led.book.functions.issue(env.terms(env.fixed)), d, "PolicyBookReportNotUnderwritable")
    led.send(led.registry.functions.revoke(led.anchor_id(newer)), led.a.assessor)
    expect_revert(led.book.functions.issue(env.terms(env.fixed, report=led.anchor_id(newer))), d,
                  "PolicyBookReportNotUnderwritable")


def test_issue_never_overcommits_the_pool(env) -> None:
    led = env.led
    free = led.pool.functions.freeCapital().call()
    # One premium of 5 USD per policy; each locks 500 USD. Ask for more than free capital allows.
    n = free // (495 * USD) + 1
    batch = [env.terms(env.fixed, n=i, premium=5 * USD) for i in range(n)]
    expect_revert(led.book.functions.issueBatch(batch), led.a.distributor, "CoverPoolInsufficientFreeCapital")
    assert led.pool.functions.lockedCapital().call() == 0


def test_issue_batch(env) -> None:
    led = env.led
    ids = env.issue(*[env.terms(env.fixed, n=i) for i in range(5)])
    assert ids == [1, 2, 3, 4, 5]
    assert led.pool.functions.lockedCapital().call() == 5 * 500 * USD
    assert env.proj.check(led.book, ids) == []
    expect_revert(led.book.functions.issueBatch([]), led.a.distributor, "PolicyBookEmptyBatch")
    too_many = [env.terms(env.fixed, n=0)] * 1001
    expect_revert(led.book.functions.issueBatch(too_many), led.a.distributor,
                  "PolicyBookBatchTooLarge", size=1001, max=1000)


# --- settlement -----------------------------------------------------------------------------

def _outage(env, start_offset: int, duration: int, **kw):  # noqa: ANN001, ANN202
    """A verified outage starting `start_offset` s after now, lasting `duration` s."""
    led = env.led
    start = led.now() + start_offset
    led.travel(start_offset + duration + 10)
    r = led.verify_outage(SERVICE, start, start + duration, **kw)
    final(env)
    return r, start


def final(env) -> None:  # noqa: ANN001
    """Lets the oracle's finality delay pass: an episode's start is final, so it pays."""
    env.led.travel(env.led.oracle.functions.finalityDelay().call() + 1)


def test_fixed_payout_once_and_never_twice(env) -> None:
    led = env.led
    [pid] = env.issue(env.terms(env.fixed, led.a.alice))
    before = led.balance(led.a.alice)
    _outage(env, 60, 2 * HOUR)
    r = env.settle(pid)
    expect_event(r, led.book, "PayoutSent", policyId=pid, amount=100 * USD, entitlement=100 * USD)
    assert led.balance(led.a.alice) == before + 100 * USD
    assert led.pool.functions.lockedCapital().call() == 400 * USD
    r2 = env.settle(pid)
    assert events(r2, led.book, "PayoutSent") == []
    assert led.balance(led.a.alice) == before + 100 * USD
    assert env.proj.check(led.book, [pid]) == []


def test_no_payout_without_verified_trigger(env) -> None:
    led = env.led
    [pid] = env.issue(env.terms(env.fixed, led.a.alice))
    r = env.settle(pid)
    assert events(r, led.book, "PayoutSent") == []
    _outage(env, 60, HOUR)  # exactly the threshold: not "longer than"
    r = env.settle(pid)
    assert events(r, led.book, "PayoutSent") == []
    assert led.balance(led.a.alice) == 0
    assert led.book.functions.entitlementOf(env.record(pid).as_tuple()).call() == 0


def test_outage_begun_before_cover_start_is_excluded(env) -> None:
    led = env.led
    start = led.now() - 10
    led.travel(20)
    led.verify_outage(SERVICE, start, start + 15, ongoing=True)
    [pid] = env.issue(env.terms(env.fixed, led.a.alice))
    led.travel(3 * HOUR)
    led.verify_outage(SERVICE, start, start + 2 * HOUR)  # the same outage grows past the trigger
    env.settle(pid)
    assert led.balance(led.a.alice) == 0


def test_waiting_period_excludes_early_outages(env) -> None:
    led = env.led
    led.send(led.book.functions.createProduct(product_tuple(waiting=2 * HOUR)), led.a.underwriter)
    [pid] = env.issue(env.terms(3, led.a.alice))
    _outage(env, 60, 2 * HOUR)
    env.settle(pid)
    assert led.balance(led.a.alice) == 0
    _outage(env, 3 * HOUR, 2 * HOUR)
    env.settle(pid)
    assert led.balance(led.a.alice) == 100 * USD


def test_per_unit_growth_and_other_signer_subsets_pay_only_the_difference(env) -> None:
    led = env.led
    [pid] = env.issue(env.terms(env.per_unit, led.a.alice))
    start = led.now() + 60
    led.travel(60 + HOUR + 30 * 60)
    led.verify_outage(SERVICE, start, start + HOUR + 1800, ongoing=True)  # 1 started hour beyond
    final(env)
    env.settle(pid)
    assert led.balance(led.a.alice) == 50 * USD
    led.travel(2 * HOUR)
    led.verify_outage(SERVICE, start, start + 3 * HOUR + 1, ongoing=True, signers=None)  # 3 started hours
    env.settle(pid)
    assert led.balance(led.a.alice) == 150 * USD  # auto-pay limit reached exactly
    from tests.chain import ORACLES

    # Another subset of oracles reports the same outage closed: accepted (it closes the window)
    # but adds no entitlement; resubmitting it is a no-op the contract refuses.
    reports = [led.signed_report(o, SERVICE, start, start + 3 * HOUR + 1) for o in ORACLES[1:]]
    r = led.send(led.oracle.functions.submit(SERVICE, 1, reports), led.a.relayer)
    expect_event(r, led.oracle, "OutageVerified", index=0, ongoing=False)
    expect_revert(led.oracle.functions.submit(SERVICE, 1, reports), led.a.relayer,
                  "OutageOracleWindowAlreadyCovered")
    env.settle(pid)
    assert led.balance(led.a.alice) == 150 * USD


def test_above_auto_pay_opens_claim_then_approval_pays(env) -> None:
    led = env.led
    [pid] = env.issue(env.terms(env.per_unit, led.a.alice))
    _outage(env, 60, 5 * HOUR)  # 4 started hours beyond 1 h: 200 USD, auto-pay 150
    r = env.settle(pid)
    expect_event(r, led.book, "PayoutSent", policyId=pid, amount=150 * USD, entitlement=200 * USD)
    ev = expect_event(r, led.book, "ClaimOpened", policyId=pid, amount=50 * USD, entitlement=200 * USD)
    claim_id = ev["claimId"]
    assert led.balance(led.a.alice) == 150 * USD
    assert tuple(led.book.functions.claim(claim_id).call())[:3] == (pid, 50 * USD, 1)
    rec = env.record(pid).as_tuple()
    expect_revert(led.book.functions.approveClaim(claim_id, pid, rec, env.incident, 50 * USD), led.a.distributor,
                  "AccessControlUnauthorizedAccount")
    expect_revert(led.book.functions.approveClaim(claim_id, pid, rec, env.report, 50 * USD), led.a.claims,
                  "PolicyBookInvalidIncidentReport", reportHash=env.report)
    expect_revert(led.book.functions.approveClaim(claim_id, pid + 1, rec, env.incident, 50 * USD), led.a.claims,
                  "PolicyBookClaimPolicyMismatch", claimId=claim_id, policyId=pid + 1)
    r = env.send_tracked(led.book.functions.approveClaim(claim_id, pid, rec, env.incident, 50 * USD), led.a.claims)
    expect_event(r, led.book, "ClaimApproved", claimId=claim_id, amount=50 * USD, incidentReport=env.incident)
    assert led.balance(led.a.alice) == 200 * USD
    expect_revert(led.book.functions.approveClaim(claim_id, pid, env.record(pid).as_tuple(), env.incident, 1),
                  led.a.claims, "PolicyBookClaimNotOpen", claimId=claim_id)
    env.settle(pid)
    assert led.balance(led.a.alice) == 200 * USD
    assert env.proj.check(led.book, [pid]) == []


def test_claim_grows_with_outage_and_rejection_is_final(env) -> None:
    led = env.led
    [pid] = env.issue(env.terms(env.per_unit, led.a.alice))
    start = led.now() + 60
    led.travel(60 + 5 * HOUR)
    led.verify_outage(SERVICE, start, start + 5 * HOUR, ongoing=True)
    final(env)
    env.settle(pid)
    led.travel(2 * HOUR)
    led.verify_outage(SERVICE, start, start + 7 * HOUR)
    r = env.settle(pid)
    ev = expect_event(r, led.book, "ClaimIncreased", policyId=pid, amount=150 * USD, entitlement=300 * USD)
    r = env.send_tracked(led.book.functions.rejectClaim(ev["claimId"], pid, env.record(pid).as_tuple(), REASON),
                         led.a.claims)
    expect_event(r, led.book, "ClaimRejected", amount=150 * USD, reason=REASON)
    env.settle(pid)
    assert led.balance(led.a.alice) == 150 * USD
    assert env.record(pid).open_claim == 0


def test_total_paid_never_exceeds_limit(env) -> None:
    led = env.led
    [pid] = env.issue(env.terms(env.fixed, led.a.alice, limit=250 * USD))
    for _ in range(4):
        _outage(env, HOUR, 2 * HOUR)  # separate outages: an hour apart, more than the merge gap
    env.settle(pid)
    rec = env.record(pid)
    assert rec.settled == 250 * USD
    assert rec.paid == 150 * USD
    assert rec.open_claim != 0
    env.send_tracked(led.book.functions.approveClaim(rec.open_claim, pid, rec.as_tuple(), env.incident, 100 * USD),
                     led.a.claims)
    _outage(env, HOUR, 2 * HOUR)
    env.settle(pid)
    assert led.balance(led.a.alice) == 250 * USD


def test_settle_rejects_forged_or_unknown_records(env) -> None:
    led = env.led
    [pid] = env.issue(env.terms(env.fixed, led.a.alice))
    rec = list(env.record(pid).as_tuple())
    rec[4] = led.a.bob  # redirect the payout
    expect_revert(led.book.functions.settle([pid], [tuple(rec)]), led.a.relayer, "PolicyBookPolicyMismatch",
                  policyId=pid)
    expect_revert(led.book.functions.settle([99], [env.record(pid).as_tuple()]), led.a.relayer,
                  "PolicyBookUnknownPolicy", policyId=99)
    expect_revert(led.book.functions.settle([pid, pid], [env.record(pid).as_tuple()]), led.a.relayer,
                  "PolicyBookLengthMismatch")


def test_duplicate_id_in_one_batch_cannot_pay_twice(env) -> None:
    led = env.led
    [pid] = env.issue(env.terms(env.fixed, led.a.alice))
    _outage(env, 60, 2 * HOUR)
    rec = env.record(pid).as_tuple()
    expect_revert(led.book.functions.settle([pid, pid], [rec, rec]), led.a.relayer, "PolicyBookPolicyMismatch")
    assert led.balance(led.a.alice) == 0


def test_batch_mixing_products_limits_and_periods_pays_each_its_own(env) -> None:
    """One settle batch interleaving products, limits and cover periods: the book caches the
    episodes and the entitlement per run of equal keys, so each key change must recompute."""
    led = env.led
    who = [signer(f"mixed-{i}").address for i in range(7)]
    early = env.issue(env.terms(env.fixed, who[0], n=1), env.terms(env.per_unit, who[1], n=2),
                      env.terms(env.fixed, who[2], limit=60 * USD, n=3), env.terms(env.fixed, who[3], n=4),
                      env.terms(env.per_unit, who[6], n=7))
    led.travel(HOUR)  # a later cover start: another counting period, the same service
    late = env.issue(env.terms(env.fixed, who[4], n=5), env.terms(env.per_unit, who[5], limit=120 * USD, n=6))
    locked0 = led.pool.functions.lockedCapital().call()
    _outage(env, 60, 4 * HOUR)  # trigger 1 h: fixed pays 100 (≤ limit), per unit 3 × 50 (≤ limit)
    order = [early[0], early[1], early[2], early[3], late[0], late[1], early[4]]
    due = [100, 150, 60, 100, 100, 120, 150]
    r = env.settle(*order)
    paid = {e["policyId"]: e["amount"] for e in events(r, led.book, "PayoutSent")}
    assert paid == {pid: d * USD for pid, d in zip(order, due, strict=True)}
    assert [led.balance(w) for w in (who[0], who[1], who[2], who[3], who[4], who[5], who[6])] == \
        [d * USD for d in due]
    assert led.pool.functions.lockedCapital().call() == locked0 - sum(due) * USD
    assert all(env.record(pid).paid == d * USD for pid, d in zip(order, due, strict=True))
    r = env.settle(*reversed(order))  # the same outage again, the keys in the other order: nothing
    assert events(r, led.book, "PayoutSent") == []


# --- expiry ---------------------------------------------------------------------------------

def test_expire_releases_unused_collateral_after_grace(env) -> None:
    led = env.led
    [pid] = env.issue(env.terms(env.fixed, led.a.alice, days=1))
    _outage(env, 60, 2 * HOUR)
    env.settle(pid)
    rec = env.record(pid)
    expires_at = rec.cover_end + 7 * 86400
    expect_revert(led.book.functions.expire([pid], [rec.as_tuple()]), led.a.relayer,
                  "PolicyBookCoverNotEnded", policyId=pid, expiresAt=expires_at)
    led.travel(expires_at - led.now() + 1)
    free0 = led.pool.functions.freeCapital().call()
    r = env.expire(pid)
    expect_event(r, led.book, "PolicyExpired", policyId=pid, released=400 * USD)
    assert led.pool.functions.lockedCapital().call() == 0
    assert led.pool.functions.freeCapital().call() == free0 + 400 * USD
    r = env.expire(pid)  # already expired: skipped, nothing released twice
    assert events(r, led.book, "PolicyExpired") == []
    _outage(env, 60, 2 * HOUR)
    env.settle(pid)
    assert led.balance(led.a.alice) == 100 * USD


def test_expire_pays_late_report_in_grace_and_waits_for_open_claim(env) -> None:
    led = env.led
    [pid] = env.issue(env.terms(env.per_unit, led.a.alice, days=1))
    rec = env.record(pid)
    start = rec.cover_end - 6 * HOUR
    led.travel(rec.cover_end + 7 * 86400 - led.now() + 1)
    led.verify_outage(SERVICE, start, start + 5 * HOUR)  # reported late, inside grace
    final(env)
    r = env.expire(pid)
    expect_event(r, led.book, "PayoutSent", policyId=pid, amount=150 * USD)
    assert events(r, led.book, "PolicyExpired") == []  # open claim keeps it active
    claim = env.record(pid).open_claim
    env.send_tracked(led.book.functions.rejectClaim(claim, pid, env.record(pid).as_tuple(), REASON), led.a.claims)
    r = env.expire(pid)
    expect_event(r, led.book, "PolicyExpired", released=350 * USD)
    assert led.pool.functions.lockedCapital().call() == 0


def test_views_and_constructor_checks(env, w3, actors) -> None:
    led = env.led
    assert led.book.functions.pool().call() == led.pool.address
    assert led.book.functions.oracle().call() == led.oracle.address
    assert led.book.functions.registry().call() == led.registry.address
    zero = "0x" + "00" * 20
    factory = artifacts.contract(w3, "PolicyBook")
    with pytest.raises(Exception) as info:
        factory.constructor(zero, led.oracle.address, led.registry.address, actors.owner).transact(
            {"from": actors.owner})
    from contracts.reverts import decode_exception

    assert decode_exception(info.value).name == "PolicyBookZeroAddress"
    assert signer("x").address != zero
