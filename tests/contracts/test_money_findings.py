"""Regression tests for the money-soundness review (issue 9), one or more per finding.

Each reproduces the attack the review measured on the old contracts and asserts what is paid now.
"""

from __future__ import annotations

import pytest
from eth_utils import keccak

from tests.chain import ORACLES, USD, events, expect_event, expect_revert
from tests.contracts.helpers import DAY, HOUR, SERVICE, SUBJECT, make_env, product_tuple

HONEST, LIAR = ORACLES[:3], ORACLES[3]


@pytest.fixture
def env(ledger):  # noqa: ANN001, ANN201
    return make_env(ledger)


def _submit(led, reports) -> object:  # noqa: ANN001
    """Sends `(signer, start, end, ongoing)` reports as one submission."""
    signed = [led.signed_report(who, SERVICE, s, e, ongoing=ong) for who, s, e, ong in reports]
    return led.send(led.oracle.functions.submit(SERVICE, 1, signed), led.a.relayer)


def _final(led) -> None:  # noqa: ANN001
    led.travel(led.oracle.functions.finalityDelay().call() + 1)


# --- finding 1: one faulty oracle split one outage into many windows -------------------------

def test_finding1_liar_split_outage_pays_fixed_once_per_unit_in_full_and_nothing_to_late_buyer(env) -> None:
    led = env.led
    [fixed] = env.issue(env.terms(env.fixed, led.a.alice))
    [per_unit] = env.issue(env.terms(env.per_unit, led.a.bob, n=1))
    t0 = led.now() + 60
    led.travel(60 + 2 * HOUR)
    _submit(led, [(o, t0, led.now(), True) for o in HONEST])  # the honest network: [t0, now)
    _final(led)
    [late] = env.issue(env.terms(env.fixed, led.a.outsider, n=2))  # bought 2 h into a verified outage
    env.settle(fixed, per_unit, late)
    assert led.balance(led.a.alice) == 100 * USD
    for _ in range(3):  # every hour: two public honest reports + the liar's, dated 10 minutes ago
        now = led.travel(HOUR)
        r = _submit(led, [(HONEST[0], t0, now, True), (HONEST[1], t0, now, True), (LIAR, now - 600, now, True)])
        assert events(r, led.oracle, "OutageVerified")[0]["replaced"] == 0  # a new window, for now
        env.settle(fixed, per_unit, late)  # before the honest transmitter bridges it: not final
        assert led.balance(led.a.alice) == 100 * USD
        assert led.balance(led.a.outsider) == 0
        _submit(led, [(o, t0, led.now(), True) for o in HONEST])  # the honest transmitter's next round
        assert led.oracle.functions.windowCount(SERVICE).call() == 1
    led.travel(HOUR)
    _submit(led, [(o, t0, t0 + 6 * HOUR, False) for o in HONEST])  # closed: 6 h in all
    _final(led)
    env.settle(fixed, per_unit, late)
    assert led.balance(led.a.alice) == 100 * USD  # old code: 500
    assert led.balance(led.a.outsider) == 0  # old code: 400 (a known loss)
    rec = env.record(per_unit)
    assert rec.settled == 5 * 50 * USD  # 6 h down, 5 started hours beyond the 1 h trigger
    assert led.balance(led.a.bob) == 150 * USD
    assert rec.open_claim != 0  # the rest is in review


def test_finding1_honest_node_offline_split_is_one_episode(env) -> None:
    """No faulty oracle: node 3 goes offline, node 4 dates the outage from its own later first
    DOWN minute; the set {1, 2, 4} verifies a window starting after the first one's end."""
    led = env.led
    [fixed] = env.issue(env.terms(env.fixed, led.a.alice))
    t0 = led.now() + 60
    led.travel(60 + 2 * HOUR)
    first_end = led.now() - 30
    _submit(led, [(o, t0, first_end, True) for o in ORACLES[:3]])
    now = led.travel(HOUR)
    later_start = first_end + 240  # node 4's canaries had failed until then
    r = _submit(led, [(ORACLES[0], t0, now, True), (ORACLES[1], t0, now, True), (ORACLES[3], later_start, now, True)])
    assert events(r, led.oracle, "OutageVerified")[0]["replaced"] == 0
    _final(led)
    eps, _ = led.episodes(SERVICE)
    assert len(eps) == 1
    assert eps[0].down_seconds == (first_end - t0) + (now - later_start)  # the gap is not downtime
    env.settle(fixed)
    assert led.balance(led.a.alice) == 100 * USD  # old code: 200


# --- finding 2: window spam froze collateral -------------------------------------------------

def test_finding2_settle_and_expire_gas_bounded_whatever_the_window_count(env) -> None:
    led = env.led
    gap = led.oracle.functions.mergeGap().call()

    def spam(n: int) -> None:  # short verified windows, each its own episode (none qualifies)
        for _ in range(n):
            now = led.travel(gap + 5)
            _submit(led, [(o, now - 2, now - 1, False) for o in HONEST])

    [clean] = env.issue(env.terms(env.fixed, led.a.alice, days=30))
    led.travel(HOUR)
    g_clean = env.settle(clean)["gasUsed"]  # a service with no windows at all
    spam(100)
    _final(led)
    g_100 = env.settle(clean)["gasUsed"]
    spam(300)
    _final(led)
    g_400 = env.settle(clean)["gasUsed"]
    [fresh] = env.issue(env.terms(env.fixed, led.a.bob, days=30, n=1))  # starts after all 400
    led.travel(HOUR)
    g_fresh = env.settle(fresh)["gasUsed"]
    assert led.oracle.functions.windowCount(SERVICE).call() == 400
    # Windows inside the cover are read up to MAX_EPISODE_WINDOWS (64): 100 or 400 cost the same
    # but for a longer binary search; windows before the cover cost only that search. Old code:
    # +2.9k per window for every policy that started before them, 8.5 M gas at 1,000.
    assert g_400 - g_100 <= 4 * 2_700, (g_100, g_400)
    assert g_fresh - g_clean <= 12 * 2_700, (g_clean, g_fresh)
    assert g_400 < 600_000
    rec = env.record(clean)
    led.travel(rec.cover_end + 7 * DAY - led.now() + 1)
    r = env.expire(clean)
    expect_event(r, led.book, "PolicyExpired", policyId=clean)
    assert r["gasUsed"] < 600_000


# --- finding 3: an outage verified late was lost ---------------------------------------------

def test_finding3_older_outage_verified_late_is_recorded_in_order_and_paid(env) -> None:
    led = env.led
    [pid] = env.issue(env.terms(env.fixed, led.a.alice))
    t0 = led.now() + 60
    led.travel(10 * HOUR)
    later = (t0 + 6 * HOUR, t0 + 8 * HOUR)
    _submit(led, [(o, *later, False) for o in HONEST])  # the later outage reaches the chain first
    r = _submit(led, [(o, t0, t0 + 2 * HOUR, False) for o in HONEST])  # then the older one
    expect_event(r, led.oracle, "OutageVerified", index=0, start=t0, replaced=0)
    _final(led)
    env.settle(pid)
    assert env.record(pid).settled == 200 * USD  # old code: 100 (the older one reverted)
    assert led.balance(led.a.alice) == 150 * USD  # auto-pay limit 150
    assert env.record(pid).open_claim != 0


# --- finding 5: reportHash = 0 bypassed underwriting -----------------------------------------

def test_finding5_zero_report_hash_refused_single_and_batch(env) -> None:
    led = env.led
    zero = b"\x00" * 32
    expect_revert(led.book.functions.issue(env.terms(env.fixed, report=zero)), led.a.distributor,
                  "PolicyBookZeroReportHash")
    batch = [env.terms(env.fixed, report=zero, n=i) for i in range(3)]
    expect_revert(led.book.functions.issueBatch(batch), led.a.distributor, "PolicyBookZeroReportHash")


# --- finding 6: a distributor key could lock all free capital for nothing --------------------

def test_finding6_zero_premium_endless_cover_and_far_start_refused(env) -> None:
    led = env.led
    d = led.a.distributor
    led.send(led.book.functions.createProduct(product_tuple(min_premium=2 * USD, min_rate_ppm=50_000,
                                                            max_cover=365 * DAY, max_delay=7 * DAY)),
             led.a.underwriter)
    product = 3
    expect_revert(led.book.functions.issue(env.terms(product, premium=0)), d, "PolicyBookPremiumBelowFloor")
    # 5 % a year on a 500 USD limit for 30 days: 2.054794.. USD, rounded up.
    floor = -(-500 * USD * 50_000 * 30 * DAY // (10**6 * 365 * DAY))
    start = led.now() + 100  # an exact 30-day cover
    expect_revert(led.book.functions.issue(env.terms(product, start=start, premium=floor - 1)), d,
                  "PolicyBookPremiumBelowFloor", premium=floor - 1, floor=floor)
    led.send(led.book.functions.issue(env.terms(product, start=start, premium=floor)), d)
    t = list(env.terms(product, premium=100 * USD))
    t[2] = 2**40 - 1
    expect_revert(led.book.functions.issue(tuple(t)), d, "PolicyBookCoverTooLong")
    far = led.now() + 30 * DAY
    expect_revert(led.book.functions.issue(env.terms(product, start=far, premium=100 * USD)), d,
                  "PolicyBookStartTooLate")


def test_finding6_issuer_and_product_exposure_caps(env) -> None:
    led = env.led
    d = led.a.distributor
    led.send(led.book.functions.setIssuerCap(d, 1_000 * USD), led.a.owner)
    expect_revert(led.book.functions.setIssuerCap(d, 0), d, "AccessControlUnauthorizedAccount")
    env.issue(env.terms(env.fixed), env.terms(env.fixed, n=1))
    expect_revert(led.book.functions.issue(env.terms(env.fixed, n=2)), d, "PolicyBookIssuerCapExceeded",
                  exposure=1_500 * USD, cap=1_000 * USD)
    assert led.book.functions.issuerExposure(d).call() == [1_000 * USD, 1_000 * USD]
    led.send(led.book.functions.setIssuerCap(d, 0), led.a.owner)
    led.send(led.book.functions.createProduct(product_tuple(exposure_cap=600 * USD)), led.a.underwriter)
    env.issue(env.terms(3, limit=400 * USD))
    expect_revert(led.book.functions.issue(env.terms(3, limit=300 * USD)), d, "PolicyBookProductCapExceeded",
                  productId=3, exposure=700 * USD, cap=600 * USD)
    # Expiry gives the exposure back.
    [pid] = env.issue(env.terms(3, limit=200 * USD, days=1, n=5))
    led.travel(8 * DAY + 10)
    env.expire(pid)
    assert led.book.functions.productExposure(3).call() == 400 * USD


# --- finding 7: claims held collateral indefinitely ------------------------------------------

def _claim(env, pid: int) -> int:  # noqa: ANN001
    led = env.led
    t0 = led.now() + 60
    led.travel(60 + 5 * HOUR)
    _submit(led, [(o, t0, t0 + 5 * HOUR, False) for o in HONEST])  # 200 due: 150 auto, 50 claimed
    _final(led)
    env.settle(pid)
    return env.record(pid).open_claim


def test_finding7_undecided_claim_lapses_to_payment_by_anyone(env) -> None:
    led = env.led
    [pid] = env.issue(env.terms(env.per_unit, led.a.alice, days=1))
    claim = _claim(env, pid)
    deadline = led.book.functions.claim(claim).call()[3]
    rec = env.record(pid).as_tuple()
    expect_revert(led.book.functions.closeLapsedClaim(claim, pid, rec), led.a.outsider,
                  "PolicyBookClaimDecisionPending", claimId=claim, deadline=deadline)
    led.travel(deadline - led.now() + 1)
    expect_revert(led.book.functions.rejectClaim(claim, pid, rec, keccak(text="late")), led.a.claims,
                  "PolicyBookClaimDeadlinePassed")
    r = env.send_tracked(led.book.functions.closeLapsedClaim(claim, pid, rec), led.a.outsider)
    expect_event(r, led.book, "ClaimLapsed", claimId=claim, amount=50 * USD)
    assert led.balance(led.a.alice) == 200 * USD
    led.travel(8 * DAY)
    expect_event(env.expire(pid), led.book, "PolicyExpired", released=300 * USD)
    assert led.pool.functions.lockedCapital().call() == 0


def test_finding7_expire_closes_a_lapsed_claim_and_releases(env) -> None:
    led = env.led
    [pid] = env.issue(env.terms(env.per_unit, led.a.alice, days=1))
    claim = _claim(env, pid)
    led.travel(30 * DAY)
    r = env.expire(pid)
    expect_event(r, led.book, "ClaimLapsed", claimId=claim)
    expect_event(r, led.book, "PolicyExpired", released=300 * USD)
    assert led.pool.functions.lockedCapital().call() == 0


def test_finding7_rejection_needs_no_incident_report_and_approval_a_bound_one(env) -> None:
    led = env.led
    [pid] = env.issue(env.terms(env.per_unit, led.a.alice, days=1))
    claim = _claim(env, pid)
    rec = env.record(pid).as_tuple()
    other = keccak(text="incident report of someone else")
    led.anchor(other, score_bps=0, level=3, kind=2, subject=keccak(text="another subject"))
    expect_revert(led.book.functions.approveClaim(claim, pid, rec, led.anchor_id(other), 10 * USD), led.a.claims,
                  "PolicyBookInvalidIncidentReport", reportHash=led.anchor_id(other))
    expect_revert(led.book.functions.approveClaim(claim, pid, rec, env.incident, 51 * USD), led.a.claims,
                  "PolicyBookInvalidApprovalAmount", amount=51 * USD, claimed=50 * USD)
    r = env.send_tracked(led.book.functions.approveClaim(claim, pid, rec, env.incident, 20 * USD), led.a.claims)
    expect_event(r, led.book, "ClaimApproved", amount=20 * USD)
    assert led.balance(led.a.alice) == 170 * USD
    assert env.proj.check(led.book, [pid]) == []
    # A second claim, rejected with only a reason (no incident report exists for it).
    t1 = led.now() + 60
    led.travel(60 + 5 * HOUR)
    _submit(led, [(o, t1, t1 + 5 * HOUR, False) for o in HONEST])
    _final(led)
    env.settle(pid)
    second = env.record(pid).open_claim
    r = env.send_tracked(led.book.functions.rejectClaim(second, pid, env.record(pid).as_tuple(),
                                                        keccak(text="reason")), led.a.claims)
    expect_event(r, led.book, "ClaimRejected", claimId=second, reason=keccak(text="reason"))


# --- finding 9: the underwriting gate accepted the wrong report ------------------------------

def test_finding9_medium_risk_sub_limit_enforced_on_chain(env) -> None:
    led = env.led
    medium = keccak(text="medium risk report")
    led.anchor(medium, score_bps=7000, level=2, subject=SUBJECT)
    expect_revert(led.book.functions.issue(env.terms(env.fixed, report=led.anchor_id(medium), limit=201 * USD)),
                  led.a.distributor, "PolicyBookLimitAboveRiskLevel", limit=201 * USD, levelLimit=200 * USD)
    env.issue(env.terms(env.fixed, report=led.anchor_id(medium), limit=200 * USD))
