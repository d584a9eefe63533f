"""CohortBook unit tests: every refusal is a named custom error, and the events say what
happened. The money rules under an adversary are in test_cohort_properties.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_utils import keccak

from contracts import artifacts
from contracts.merkle import StandardTree, member_leaf
from tests.chain import SUBJECT, USD, Ledger, events, expect_event, expect_revert, signer
from tests.contracts.cohort_env import (
    AMOUNT,
    FEE,
    CohortEnv,
    batch,
    book,
    cohort_ledger,
    members,
    setup_env,
    tree,
    try_send,
    unpack,
)
from tests.contracts.helpers import DAY, FIXED, HOUR, INCIDENT, SERVICE, incident_binding, product_tuple, snapshot

ZERO = "0x" + "00" * 20


@pytest.fixture(scope="module")
def env(_ledger: Ledger) -> Iterator[CohortEnv]:
    with snapshot(_ledger):  # the session's deployment, set up once for this module
        yield setup_env(_ledger)


@pytest.fixture
def e(env: CohortEnv) -> Iterator[CohortEnv]:
    with snapshot(env.led):
        yield env


def issue(e: CohortEnv, ms: list[tuple], *, days: int = 30, premium: int | None = None,
          total: int | None = None, root: bytes | None = None, count: int | None = None) -> int:
    led = e.led
    t = tree(ms)
    fn = book(led).issueCohort(e.terms(days), root or t.root, len(ms) if count is None else count,
                                           sum(m[2] for m in ms) if total is None else total,
                                           len(ms) * USD if premium is None else premium)
    led.send(fn, led.a.distributor)
    return int(book(led).cohortCount().call())


def outage(e: CohortEnv) -> None:
    led = e.led
    led.travel(DAY)
    start = led.now() - 3 * HOUR
    led.verify_outage(SERVICE, start, start + 2 * HOUR)
    led.travel(400, mine=True)


def test_issue_pay_twice_and_events(e: CohortEnv) -> None:
    led, c = e.led, book(e.led)
    ms = members(8, "a")
    t = tree(ms)
    assert c.leafOf(ms[3]).call() == t.leaf(3) == member_leaf(*ms[3])
    locked0 = led.pool.functions.lockedCapital().call()
    total = sum(m[2] for m in ms)
    r = led.send(c.issueCohort(e.terms(), t.root, 8, total, 8 * USD), led.a.distributor)
    expect_event(r, led.cohorts, "CohortIssued", cohortId=1, productId=e.product, distributor=led.a.distributor,
                 root=t.root, count=8, totalLimit=total, premium=8 * USD)
    assert led.pool.functions.lockedCapital().call() == locked0 + total
    assert c.locked(1) == total
    outage(e)
    r = led.send(c.settle(1), led.a.relayer)
    expect_event(r, led.cohorts, "RoundOpened", cohortId=1, segment=0, round=1, level=AMOUNT)
    assert c.roundLevel(1, 0, 1).call() == AMOUNT
    mem, mp = batch(t, ms, [0, 1, 2, 5])
    r = led.send(c.payBatch(1, 1, 0, mem, mp.proof, mp.flags), led.a.relayer)
    ev = expect_event(r, led.cohorts, "CohortPaid", cohortId=1, segment=0, round=1, count=4)
    want = {i: min(ms[i][2], AMOUNT) for i in (0, 1, 2, 5)}
    assert sorted(unpack(ev["indices"])) == [0, 1, 2, 5] and ev["amount"] == sum(want.values())
    assert all(led.balance(ms[i][1]) == want[i] for i in want)
    assert c.isPaid(1, 0, 1, 5).call() and not c.isPaid(1, 0, 1, 4).call()
    assert c.paidBitmap(1, 0, 1, 0, 1).call() == [0b100111]
    # Again, and as a pull: nobody is paid twice.
    r = led.send(c.payBatch(1, 1, 0, mem, mp.proof, mp.flags), led.a.relayer)
    expect_event(r, led.cohorts, "CohortPaid", count=0, amount=0, indices=b"")
    r = led.send(c.claim(1, 1, 0, ms[5], t.proof(5)), led.a.alice)
    expect_event(r, led.cohorts, "CohortPaid", count=0, amount=0)
    r = led.send(c.claim(1, 1, 0, ms[4], t.proof(4)), led.a.alice)
    expect_event(r, led.cohorts, "CohortPaid", count=1, amount=min(ms[4][2], AMOUNT), indices=(4).to_bytes(4, "big"))
    assert c.locked(1) == total - sum(want.values()) - min(ms[4][2], AMOUNT)


def test_issuance_refusals(e: CohortEnv) -> None:
    led, c, d = e.led, book(e.led), e.led.a.distributor
    ms = members(4, "r")
    t, total = tree(ms), sum(m[2] for m in ms)
    now = led.now()
    terms = e.terms()
    expect_revert(c.issueCohort(terms, t.root, 4, total, USD), led.a.outsider, "AccessControlUnauthorizedAccount")
    for root, count, tl in ((bytes(32), 4, total), (t.root, 0, total), (t.root, 4, 0), (t.root, 1, 501 * USD)):
        expect_revert(c.issueCohort(terms, root, count, tl, USD), d, "CohortBookInvalidSegment")
    expect_revert(c.issueCohort((e.product, now - 10, now + DAY, SUBJECT, e.report), t.root, 4, total, USD), d,
                  "CohortBookInvalidCover")
    expect_revert(c.issueCohort((e.product, now + 100, now + 100, SUBJECT, e.report), t.root, 4, total, USD), d,
                  "CohortBookInvalidCover")
    expect_revert(c.issueCohort((e.product, 0, now + 401 * DAY, SUBJECT, e.report), t.root, 4, total, USD), d,
                  "CohortBookCoverTooLong")
    expect_revert(c.issueCohort((e.product, now + 31 * DAY, now + 40 * DAY, SUBJECT, e.report), t.root, 4, total,
                                USD), d, "CohortBookStartTooLate")
    expect_revert(c.issueCohort((99, 0, now + DAY, SUBJECT, e.report), t.root, 4, total, USD), d,
                  "CohortBookUnknownProduct", productId=99)
    for report in (bytes(32), keccak(text="never anchored")):
        expect_revert(c.issueCohort((e.product, 0, now + DAY, SUBJECT, report), t.root, 4, total, USD), d,
                      "CohortBookReportNotUnderwritable")
    led.anchor(INCIDENT, score_bps=0, level=3, kind=2, subject=incident_binding())
    expect_revert(c.issueCohort((e.product, 0, now + DAY, incident_binding(), led.anchor_id(INCIDENT)), t.root, 4,
                                total, USD), d, "CohortBookReportNotUnderwritable")
    led.send(led.book.functions.createProduct(product_tuple(kind=FIXED, min_premium=2 * USD)), led.a.underwriter)
    floor_pid = led.book.functions.productCount().call()
    expect_revert(c.issueCohort((floor_pid, 0, now + DAY, SUBJECT, e.report), t.root, 4, total, 7 * USD), d,
                  "CohortBookPremiumBelowFloor", premium=7 * USD, floor=8 * USD)
    led.send(led.book.functions.setProductActive(e.product, False), led.a.underwriter)
    expect_revert(c.issueCohort(terms, t.root, 4, total, USD), d, "CohortBookProductInactive")


def test_lifecycle_refusals(e: CohortEnv) -> None:
    led, c, d = e.led, book(e.led), e.led.a.distributor
    ms = members(4, "l")
    t = tree(ms)
    cid = issue(e, ms, days=2)
    expect_revert(c.settle(9), d, "CohortBookUnknownCohort", cohortId=9)
    expect_revert(c.payBatch(cid, 1, 0, [], [], []), d, "CohortBookInvalidBatch", size=0)
    mem, mp = batch(t, ms, [0, 1])
    expect_revert(c.payBatch(cid, 1, 3, mem, mp.proof, mp.flags), d, "CohortBookUnknownSegment", segment=3)
    expect_revert(c.payBatch(cid, 1, 0, mem, mp.proof, mp.flags), d, "CohortBookUnknownRound", round=1)
    expect_revert(c.claim(cid, 0, 0, ms[0], t.proof(0)), d, "CohortBookUnknownRound", round=0)
    # Malformed multiproofs are refused by name, not by OpenZeppelin's error or a panic.
    for proof, flags in ((mp.proof, mp.flags + [True]), (mp.proof + mp.proof, [False] * (len(mp.flags) + 1)),
                         ([], [True] * (len(mem) - 1)), (mp.proof[:1], [False] * len(mp.flags))):
        expect_revert(c.removeMembers(cid, 0, mem, proof, flags), d, "CohortBookInvalidProof")
    t2 = tree(members(2, "x"))
    expect_revert(c.addSegment(cid, t2.root, 2, 300 * USD, USD), led.a.outsider, "CohortBookNotDistributor")
    expect_revert(c.removeMembers(cid, 0, mem, mp.proof, mp.flags), led.a.outsider, "CohortBookNotDistributor")
    led.send(c.removeMembers(cid, 0, mem, mp.proof, mp.flags), d)
    expect_revert(c.removeMembers(cid, 0, mem, mp.proof, mp.flags), d, "CohortBookNotRemovable", index=0)
    at = c.closesAt(cid).call()
    expect_revert(c.close(cid), d, "CohortBookNotClosable", closesAt=at)
    led.travel(3 * DAY, mine=True)
    expect_revert(c.addSegment(cid, t2.root, 2, 300 * USD, USD), d, "CohortBookCoverEnded")
    mem2, mp2 = batch(t, ms, [2])
    expect_revert(c.removeMembers(cid, 0, mem2, mp2.proof, mp2.flags), d, "CohortBookCoverEnded")
    led.travel(at - led.now() + 1, mine=True)
    r = led.send(c.close(cid), led.a.outsider)
    expect_event(r, led.cohorts, "CohortClosed", cohortId=cid, released=ms[2][2] + ms[3][2])
    for fn in (c.settle(cid), c.close(cid), c.claim(cid, 1, 0, ms[2], t.proof(2))):
        expect_revert(fn, d, "CohortBookClosed", cohortId=cid)


def test_too_many_segments(e: CohortEnv) -> None:
    led, c, d = e.led, book(e.led), e.led.a.distributor
    cid = issue(e, members(1, "g"))
    for k in range(1, 64):
        r = led.send(c.addSegment(cid, keccak(text=f"root{k}"), 1, 50 * USD, USD), d)
        expect_event(r, led.cohorts, "SegmentAdded", cohortId=cid, segment=k, count=1, totalLimit=50 * USD)
    expect_revert(c.addSegment(cid, keccak(text="root64"), 1, 50 * USD, USD), d, "CohortBookTooManySegments")


def test_extension_rounds_count_from_the_segment_start(e: CohortEnv) -> None:
    led, c = e.led, book(e.led)
    a, b = members(3, "e0", [500 * USD] * 3), members(2, "e1", [500 * USD] * 2)
    cid = issue(e, a)
    outage(e)
    tb = tree(b)
    led.send(c.addSegment(cid, tb.root, 2, 1000 * USD, 2 * USD), led.a.distributor)
    outage(e)
    r = led.send(c.settle(cid), led.a.relayer)
    assert [(x["segment"], x["round"], x["level"]) for x in events(r, led.cohorts, "RoundOpened")] == [
        (0, 1, 2 * AMOUNT), (1, 1, AMOUNT)]
    # The old root still proves the old members: segment 0 is untouched by the extension.
    ta = tree(a)
    assert c.records(cid)[1][0][0] == ta.root
    led.send(c.claim(cid, 1, 0, a[0], ta.proof(0)), led.a.alice)
    led.send(c.claim(cid, 1, 1, b[1], tb.proof(1)), led.a.alice)
    assert (led.balance(a[0][1]), led.balance(b[1][1])) == (2 * AMOUNT, AMOUNT)
    # A member of one segment has no proof under another's root.
    expect_revert(c.claim(cid, 1, 1, a[0], ta.proof(0)), led.a.alice, "CohortBookInvalidProof")


def test_removal_pays_what_is_owed_releases_and_refunds(e: CohortEnv) -> None:
    led, c, d = e.led, book(e.led), e.led.a.distributor
    ms = members(4, "rm", [500 * USD, 50 * USD, 150 * USD, 500 * USD])
    t = tree(ms)
    cid = issue(e, ms, days=10, premium=100 * USD)
    outage(e)  # level 100 once settled (removal settles first)
    locked = led.pool.functions.lockedCapital().call()
    mem, mp = batch(t, ms, [0, 1])
    r = led.send(c.removeMembers(cid, 0, mem, mp.proof, mp.flags), d)
    ev = expect_event(r, led.cohorts, "MembersRemoved", cohortId=cid, segment=0, paid=AMOUNT + 50 * USD,
                      released=400 * USD)
    assert unpack(ev["indices"]) == [0, 1]
    rec, segs = c.records(cid)
    start, end, now = segs[0][4], rec[3], led.w3.eth.get_block(r["blockNumber"])["timestamp"]
    share = 100 * USD * 550 * USD * (end - now) // (1200 * USD * (end - start))
    assert ev["refund"] == share - 2 * FEE
    assert c.segment(cid, 0).call()[1] == 550 * USD  # removedLimit
    assert locked - led.pool.functions.lockedCapital().call() == 550 * USD
    assert c.isRemoved(cid, 0, 0).call() and c.removedBitmap(cid, 0, 0, 1).call() == [0b11]
    # A removed member is paid in no later round.
    outage(e)
    led.send(c.settle(cid), led.a.relayer)
    r = led.send(c.claim(cid, 2, 0, ms[0], t.proof(0)), led.a.alice)
    expect_event(r, led.cohorts, "CohortPaid", count=0)
    assert led.balance(ms[0][1]) == AMOUNT


def test_a_lying_distributor_reaches_only_its_own_collateral(e: CohortEnv) -> None:
    """Leaves that sum beyond the stated total: payouts stop at the cohort's collateral."""
    led, c = e.led, book(e.led)
    ms = members(4, "liar", [500 * USD] * 4)
    t = tree(ms)
    cid = issue(e, ms, total=150 * USD)  # states 150, leaves say 2000
    other = led.pool.functions.lockedCapital().call() - 150 * USD
    outage(e)
    led.send(c.settle(cid), led.a.relayer)
    led.send(c.claim(cid, 1, 0, ms[0], t.proof(0)), led.a.alice)
    mem, mp = batch(t, ms, [1, 2])
    expect_revert(c.payBatch(cid, 1, 0, mem, mp.proof, mp.flags), led.a.alice, "CohortBookCollateralExhausted",
                  needed=2 * AMOUNT, locked=50 * USD)
    mem, mp = batch(t, ms, [1])
    expect_revert(c.removeMembers(cid, 0, mem, mp.proof, mp.flags), led.a.distributor,
                  "CohortBookCollateralExhausted")
    assert c.locked(cid) == 50 * USD
    assert led.pool.functions.lockedCapital().call() == other + 50 * USD


def test_a_leaf_beyond_the_count_is_skipped_and_not_removable(e: CohortEnv) -> None:
    led, c = e.led, book(e.led)
    ms = members(3, "cnt", [50 * USD] * 3)
    t = tree(ms)
    cid = issue(e, ms, count=2, total=100 * USD)
    outage(e)
    led.send(c.settle(cid), led.a.relayer)
    mem, mp = batch(t, ms, [0, 1, 2])
    r = led.send(c.payBatch(cid, 1, 0, mem, mp.proof, mp.flags), led.a.relayer)
    expect_event(r, led.cohorts, "CohortPaid", count=2, amount=100 * USD)
    mem, mp = batch(t, ms, [2])
    expect_revert(c.removeMembers(cid, 0, mem, mp.proof, mp.flags), led.a.distributor, "CohortBookNotRemovable",
                  index=2)


def test_exposure_is_given_back_exactly(e: CohortEnv) -> None:
    """Removal then close give back this cohort's share of the event cap, not another's."""
    led, c, d = e.led, book(e.led), e.led.a.distributor
    led.send(led.book.functions.createProduct(product_tuple(
        kind=FIXED, amount=AMOUNT, limit=500 * USD, medium_limit=500 * USD, event_cap=6 * AMOUNT, grace=DAY,
        claim_seconds=DAY)), led.a.underwriter)
    pid = led.book.functions.productCount().call()
    capped = CohortEnv(led, e.kind, pid, e.report)
    ma = members(4, "xa", [500 * USD] * 4)  # 400 per episode
    ta = tree(ma)
    a = issue(capped, ma, days=1)
    issue(capped, members(2, "xb", [500 * USD] * 2))  # 200: the cap is full
    mem, mp = batch(ta, ma, [0, 1])
    led.send(c.removeMembers(a, 0, mem, mp.proof, mp.flags), d)
    led.travel(c.closesAt(a).call() - led.now() + 1, mine=True)
    led.send(c.close(a), d)
    # Only b's 200 is left counted: 400 more fits, 500 does not.
    with snapshot(led):
        issue(capped, members(4, "xc", [500 * USD] * 4))
    five = members(5, "xd", [500 * USD] * 5)
    expect_revert(c.issueCohort(capped.terms(), tree(five).root, 5, 2500 * USD, 5 * USD), d,
                  "CohortBookProductCapExceeded", exposure=7 * AMOUNT, cap=6 * AMOUNT)


def test_a_refused_transfer_is_credited() -> None:
    e = cohort_ledger("blacklist")
    led, c = e.led, book(e.led)
    ms = members(2, "bl", [500 * USD] * 2)
    t = tree(ms)
    cid = issue(e, ms)
    e.refuse(ms[1][1])
    outage(e)
    led.send(c.settle(cid), led.a.relayer)
    mem, mp = batch(t, ms, [0, 1])
    r = led.send(c.payBatch(cid, 1, 0, mem, mp.proof, mp.flags), led.a.relayer)
    expect_event(r, led.pool, "PayoutCredited", payee=ms[1][1], amount=AMOUNT)
    assert led.balance(ms[0][1]) == AMOUNT and led.pool.functions.claimableOf(ms[1][1]).call() == AMOUNT


def test_zero_book_is_refused(e: CohortEnv) -> None:
    led = e.led
    ctor = artifacts.contract(led.w3, "CohortBook").constructor(ZERO)
    _, err = try_send(led, ctor, led.a.owner)
    assert err is not None and err.name == "CohortBookZeroAddress"


def test_single_member_tree(e: CohortEnv) -> None:
    led, c = e.led, book(e.led)
    ms = members(1, "one", [500 * USD])
    t = StandardTree([member_leaf(*ms[0])])
    cid = issue(e, ms)
    outage(e)
    led.send(c.settle(cid), led.a.relayer)
    r = led.send(c.payBatch(cid, 1, 0, ms, [], []), led.a.relayer)
    expect_event(r, led.cohorts, "CohortPaid", count=1, amount=AMOUNT)
    assert t.root == member_leaf(*ms[0]) and signer("one-0").address == ms[0][1]


def test_a_full_segment_blocks_neither_settlement_nor_removal(e: CohortEnv) -> None:
    """255 rounds (a PerUnit product and an outage growing unit by unit): the next growth is
    skipped, not a revert that would block the cohort's other segments and every removal."""
    led, c, d = e.led, book(e.led), e.led.a.distributor
    led.send(led.book.functions.createProduct(product_tuple(
        kind=1, trigger=60, unit=60, amount=USD, auto=500 * USD, limit=500 * USD, medium_limit=500 * USD)),
        led.a.underwriter)
    per_unit = CohortEnv(led, e.kind, led.book.functions.productCount().call(), e.report)
    ms = members(2, "full", [500 * USD] * 2)
    t = tree(ms)
    cid = issue(per_unit, ms)
    s = led.now() + 10
    led.travel(400 * 60, mine=True)
    k = 0
    while c.rounds(cid, 0) < 255 and k < 320:  # (an extension may land in the same unit)
        k += 1
        led.verify_outage(SERVICE, s, s + 60 + 60 * k)
        led.send(c.settle(cid), led.a.relayer)
    top = c.roundLevel(cid, 0, 255).call()
    assert c.rounds(cid, 0) == 255 and top >= 255 * USD
    led.verify_outage(SERVICE, s, s + 60 + 60 * (k + 2))  # the level grows again
    r = led.send(c.settle(cid), led.a.relayer)
    assert events(r, led.cohorts, "RoundOpened") == [] and c.rounds(cid, 0) == 255
    mem, mp = batch(t, ms, [0])
    r = led.send(c.removeMembers(cid, 0, mem, mp.proof, mp.flags), d)
    expect_event(r, led.cohorts, "MembersRemoved", paid=top, released=500 * USD - top)


def test_records_are_bound_to_the_stored_hash(e: CohortEnv) -> None:
    """The records rebuilt from the events hash to what the book stored; any other record, a
    segment's record under another segment, or a missing segment is refused by name."""
    led, c, d = e.led, book(e.led), e.led.a.distributor
    ms = members(4, "rec")
    t = tree(ms)
    cid = issue(e, ms, days=10)
    t1 = tree(members(2, "rec1", [500 * USD] * 2))
    led.send(c.addSegment(cid, t1.root, 2, 1000 * USD, 2 * USD), d)
    rec, segs = c.records(cid)
    for k in (0, 1):
        assert c.recordHash(cid, k).call() == c.hashRecord(rec, segs[k]).call() != bytes(32)
    assert tuple(c.cohort(cid).call()) == (0, 1000 * USD, 2, False)
    outage(e)
    mem, mp = batch(t, ms, [0, 1])
    f = led.cohorts.functions
    richer = (*rec[:4], rec[4] + 1)  # a larger base limit would free collateral
    expect_revert(f.payBatch(cid, 1, 0, richer, segs[0], mem, mp.proof, mp.flags), d, "CohortBookRecordMismatch",
                  segment=0)
    expect_revert(f.payBatch(cid, 1, 0, rec, segs[1], mem, mp.proof, mp.flags), d, "CohortBookRecordMismatch")
    expect_revert(f.close(cid, rec, (t.root, *segs[0][1:4], segs[0][4] - 1)), d, "CohortBookRecordMismatch")
    expect_revert(f.settle(cid, rec, segs[:1]), d, "CohortBookSegmentsMismatch", given=1, segmentCount=2)
    expect_revert(f.removeMembers(cid, 0, rec, [segs[1], segs[0]], mem, mp.proof, mp.flags), d,
                  "CohortBookRecordMismatch")
    expect_revert(f.payBatch(cid + 1, 1, 0, rec, segs[0], mem, mp.proof, mp.flags), d, "CohortBookUnknownCohort")
    led.send(c.settle(cid), led.a.relayer)
    r = led.send(c.payBatch(cid, 1, 0, mem, mp.proof, mp.flags), led.a.relayer)
    paid = expect_event(r, led.cohorts, "CohortPaid", count=2)["amount"]
    assert c.cohort(cid).call()[0] == paid and c.locked(cid) == sum(m[2] for m in ms) + 1000 * USD - paid
