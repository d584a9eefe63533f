"""Shared setup of the cohort tests: a deployment over a chosen token (plain, refusing or
skimming), a funded pool, an anchored report, a Fixed product, and member/tree helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils import keccak

from contracts import artifacts
from contracts.cohort_records import records_from_logs
from contracts.deploy import DEFAULT_FINALITY_DELAY, DEFAULT_MERGE_GAP, deploy
from contracts.merkle import MultiProof, StandardTree, member_leaf
from contracts.reverts import ContractRevert
from tests.chain import ORACLES, QUORUM, SUBJECT, USD, Actors, Ledger, Signer, events, fast_w3, signer
from tests.contracts.helpers import DAY, FIXED, HOUR, REPORT, SERVICE, product_tuple

AMOUNT = 100 * USD  # per episode
AUTO = 300 * USD  # the product's autoPayLimit: levels 100, 200, 300
FEE = 1 * USD  # cancellation fee per removed member
GRACE, CLAIM = DAY, DAY
LIMITS = (50 * USD, 150 * USD, 250 * USD, 500 * USD)
TOKENS = {"plain": None, "blacklist": "BlacklistToken", "false": "FalseReturnToken", "fee": "FeeOnTransferToken"}


@dataclass
class CohortEnv:
    led: Ledger
    kind: str
    product: int
    report: bytes

    def terms(self, days: int = 30, start: int = 0) -> tuple[Any, ...]:
        return (self.product, start, self.led.now() + days * DAY, SUBJECT, self.report)

    def set_fee(self, bps: int) -> None:
        if self.kind == "fee":
            self.led.send(self.led.token.functions.setFee(bps), self.led.a.owner)

    def refuse(self, who: str, refused: bool = True) -> None:
        """The token refuses `who` (reverting, or returning false), or stops refusing."""
        t = self.led.token.functions
        if self.kind in ("blacklist", "false"):
            fn = t.setBlacklisted if self.kind == "blacklist" else t.setRefused
            self.led.send(fn(who, refused), self.led.a.owner)


def cohort_ledger(kind: str, *, oracles: list[Signer] | None = None, trigger: int = HOUR) -> CohortEnv:
    """A fresh chain and deployment whose payout asset is `kind`'s token (oracle signers:
    `oracles`, quorum QUORUM; product 1's trigger: `trigger` seconds)."""
    oracles = oracles or ORACLES
    w3 = fast_w3()
    actors = Actors.from_accounts(w3.eth.accounts)
    name = TOKENS[kind]
    asset = None
    if name is not None:
        ctor = artifacts.contract(w3, name).constructor(*((0,) if kind == "fee" else ()))
        asset = w3.eth.wait_for_transaction_receipt(ctor.transact({"from": actors.owner}))["contractAddress"]
    dep = deploy(w3, actors.owner, token=asset, oracle_signers=[o.address for o in oracles], quorum=QUORUM,
                 underwriters=[actors.underwriter], distributors=[actors.distributor], claims=[actors.claims])
    led = Ledger(w3, dep, actors) if asset is None else _odd(w3, dep, actors, name, asset)
    led.send(led.registry.functions.setAssessor(actors.assessor, 88), actors.owner)
    return setup_env(led, kind, trigger=trigger)


def _odd(w3: Any, dep: Any, actors: Actors, name: str, asset: str) -> Ledger:
    led = Ledger.__new__(Ledger)
    led.w3, led.dep, led.a = w3, dep, actors
    led.token = artifacts.contract(w3, name, asset)
    for attr, c in (("registry", "AssessmentRegistry"), ("oracle", "OutageOracle"), ("pool", "CoverPool"),
                    ("book", "PolicyBook"), ("cohorts", "CohortBook")):
        setattr(led, attr, dep.contract(w3, c))
    return led


def setup_env(led: Ledger, kind: str = "plain", *, trigger: int = HOUR) -> CohortEnv:
    """Capital, the distributor's funds, the report and product 1 (Fixed, no waiting)."""
    a = led.a
    led.fund(a.owner, 10**7 * USD, led.pool.address)
    led.send(led.pool.functions.deposit(10**6 * USD), a.owner)
    led.fund(a.distributor, 10**6 * USD, led.pool.address)
    led.anchor(REPORT, score_bps=8500, level=1, kind=0, subject=SUBJECT)
    led.send(led.book.functions.createProduct(product_tuple(
        kind=FIXED, trigger=trigger, amount=AMOUNT, auto=AUTO, limit=500 * USD, medium_limit=500 * USD, grace=GRACE,
        claim_seconds=CLAIM, cancellation_fee=FEE)), a.underwriter)
    return CohortEnv(led, kind, int(led.book.functions.productCount().call()), led.anchor_id(REPORT))


def members(n: int, tag: str, limits: list[int] | None = None) -> list[tuple]:
    """`n` members of a segment: (index, beneficiary, limit, holder commitment)."""
    limits = limits or [LIMITS[i % len(LIMITS)] for i in range(n)]
    return [(i, signer(f"{tag}-{i}").address, limits[i], keccak(text=f"salt|{tag}-{i}")) for i in range(n)]


def tree(ms: list[tuple]) -> StandardTree:
    return StandardTree([member_leaf(*m) for m in ms])


def batch(t: StandardTree, ms: list[tuple], indices: list[int]) -> tuple[list[tuple], MultiProof]:
    """The members of `indices` in proof order and their multiproof."""
    mp = t.multiproof(sorted(set(indices)))
    return [ms[i] for i in mp.indices], mp


def unpack(indices: bytes) -> list[int]:
    return [int.from_bytes(indices[k:k + 4], "big") for k in range(0, len(indices), 4)]


def try_send(led: Ledger, fn: Any, sender: str) -> tuple[Any, ContractRevert | None]:
    """(receipt, None), or (None, the decoded refusal)."""
    try:
        return led.send(fn, sender), None
    except ContractRevert as e:
        return None, e


NO_COHORT = ("0x" + "00" * 20, 0, 0, 0, 0)
NO_SEGMENT = (bytes(32), 0, 0, 0, 0)


class Book:
    """CohortBook's functions as a caller sends them: the cohort's records (which the book only
    hashes) rebuilt from its events and passed back, so a test names the cohort, round, segment
    and members only. Unknown cohorts and segments get zero records (the book refuses them by
    name). Anything else is `led.cohorts.functions` unchanged."""

    def __init__(self, led: Ledger) -> None:
        self.led, self.f = led, led.cohorts.functions
        self._cache: dict[int, tuple[int, tuple, list[tuple]]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.f, name)

    def records(self, cid: int) -> tuple[tuple, list[tuple]]:
        """(cohort record, [segment records]) from CohortIssued / SegmentAdded."""
        n = int(self.f.cohort(cid).call()[2])
        if n == 0:
            return NO_COHORT, []
        hit = self._cache.get(cid)
        if hit is None or hit[0] != n:
            c, segs = records_from_logs(self.led.cohorts, cid)
            hit = (n, c.as_tuple(), [s.as_tuple() for s in segs])
            self._cache[cid] = hit
        return hit[1], hit[2]

    def _seg(self, cid: int, seg: int) -> tuple[tuple, tuple]:
        c, segs = self.records(cid)
        return c, segs[seg] if seg < len(segs) else NO_SEGMENT

    def locked(self, cid: int) -> int:
        """The cohort's collateral still held: baseLimit + addedLimit − taken."""
        c, _ = self.records(cid)
        taken, added, _, _ = self.f.cohort(cid).call()
        return c[4] + added - taken

    def rounds(self, cid: int, seg: int) -> int:
        return int(self.f.segment(cid, seg).call()[0])

    def settle(self, cid: int) -> Any:
        return self.f.settle(cid, *self.records(cid))

    def payBatch(self, cid: int, rnd: int, seg: int, mem: list, proof: list, flags: list) -> Any:  # noqa: N802
        return self.f.payBatch(cid, rnd, seg, *self._seg(cid, seg), mem, proof, flags)

    def claim(self, cid: int, rnd: int, seg: int, m: tuple, proof: list) -> Any:
        return self.f.claim(cid, rnd, seg, *self._seg(cid, seg), m, proof)

    def addSegment(self, cid: int, root: bytes, count: int, total: int, premium: int) -> Any:  # noqa: N802
        return self.f.addSegment(cid, *self._seg(cid, 0), root, count, total, premium)

    def removeMembers(self, cid: int, seg: int, mem: list, proof: list, flags: list) -> Any:  # noqa: N802
        return self.f.removeMembers(cid, seg, *self.records(cid), mem, proof, flags)

    def close(self, cid: int) -> Any:
        return self.f.close(cid, *self._seg(cid, 0))

    def closesAt(self, cid: int) -> Any:  # noqa: N802
        return self.f.closesAt(self.records(cid)[0])


def book(led: Ledger) -> Book:
    return Book(led)


# --- CohortBook calls ----------------------------------------------------------------------
# The adversary tests (test_cohort_adversary.py) reach CohortBook only through these (over a
# `Book`, which passes the records back), so that a change of its calling convention is adapted
# here. Each transaction returns try_send's (receipt, refusal). A walk starts with `fresh_book`:
# after a snapshot revert the same cohort id may name other records than the Book cached.

Result = tuple[Any, ContractRevert | None]
_BOOKS: dict[int, Book] = {}


def fresh_book(e: CohortEnv) -> Book:
    _BOOKS[id(e)] = Book(e.led)
    return _BOOKS[id(e)]


def _book(e: CohortEnv) -> Book:
    return _BOOKS.get(id(e)) or fresh_book(e)


def issue_cohort(e: CohortEnv, root: bytes, count: int, total: int, premium: int, *, start: int = 0,
                 end: int = 0, sender: str | None = None) -> tuple[int | None, Result]:
    """(the new cohort's id or None, the result) of `issueCohort` on e's product and report."""
    led = e.led
    fn = led.cohorts.functions.issueCohort((e.product, start, end or led.now() + 30 * DAY, SUBJECT, e.report),
                                           root, count, total, premium)
    res = try_send(led, fn, sender or led.a.distributor)
    return (int(led.cohorts.functions.cohortCount().call()) if res[1] is None else None), res


def add_segment(e: CohortEnv, cid: int, root: bytes, count: int, total: int, premium: int,
                sender: str | None = None) -> Result:
    return try_send(e.led, _book(e).addSegment(cid, root, count, total, premium),
                    sender or e.led.a.distributor)


def settle_cohort(e: CohortEnv, cid: int, sender: str) -> Result:
    return try_send(e.led, _book(e).settle(cid), sender)


def pay_batch(e: CohortEnv, cid: int, rnd: int, seg: int, mem: list[tuple], mp: MultiProof, sender: str) -> Result:
    return try_send(e.led, _book(e).payBatch(cid, rnd, seg, mem, mp.proof, mp.flags), sender)


def claim_member(e: CohortEnv, cid: int, rnd: int, seg: int, m: tuple, proof: list[bytes], sender: str) -> Result:
    return try_send(e.led, _book(e).claim(cid, rnd, seg, m, proof), sender)


def remove_members(e: CohortEnv, cid: int, seg: int, mem: list[tuple], mp: MultiProof,
                   sender: str | None = None) -> Result:
    return try_send(e.led, _book(e).removeMembers(cid, seg, mem, mp.proof, mp.flags),
                    sender or e.led.a.distributor)


def close_cohort(e: CohortEnv, cid: int, sender: str) -> Result:
    return try_send(e.led, _book(e).close(cid), sender)


def cohort_locked(e: CohortEnv, cid: int) -> int:
    return _book(e).locked(cid)


def segment_start(e: CohortEnv, cid: int, seg: int) -> int:
    return int(_book(e).records(cid)[1][seg][4])


def closes_at(e: CohortEnv, cid: int) -> int:
    return int(_book(e).closesAt(cid).call())


def cohort_events(e: CohortEnv, receipt: Any, name: str) -> list[dict[str, Any]]:
    """The CohortBook events `name` of a receipt."""
    return events(receipt, e.led.cohorts, name)


def claim_credit(e: CohortEnv, who: str, to: str) -> Result:
    """`who` pulls what the pool credited it (a refused payout or refund), sent to `to`."""
    return try_send(e.led, e.led.pool.functions.claim(to), who)


def customer_accounts(e: CohortEnv, n: int) -> list[str]:
    """`n` chain accounts with ether, for customers who send their own claims. Call outside any
    snapshot that will be reverted (the ether would go, the account would stay)."""
    tester, w3 = e.led.tester, e.led.w3
    out = []
    for i in range(n):
        s = signer(f"customer-{i}")
        if s.address not in w3.eth.accounts:
            tester.add_account("0x" + s.key.hex())
            w3.eth.send_transaction({"from": e.led.a.owner, "to": s.address, "value": 10**18})
        out.append(s.address)
    return out


def payable_outage(led: Ledger) -> int:
    """A day on, a verified 2-hour outage of SERVICE that ended an hour ago, then the finality
    delay and the merge gap passed: final and payable. Returns its start."""
    led.travel(DAY)
    start = led.now() - 3 * HOUR
    led.verify_outage(SERVICE, start, start + 2 * HOUR)
    led.travel(DEFAULT_FINALITY_DELAY + DEFAULT_MERGE_GAP + 1, mine=True)
    return start
