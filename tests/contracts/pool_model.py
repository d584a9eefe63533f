"""An independent Python model of CoverPool over odd ERC-20s, and a driver that applies one call
to both the chain and the model and checks they agree (pool parts, claimables, every token
balance involved) and that locked + owed ≤ assets ≤ balance.

The model is written from the specification (ICoverPool NatSpec and the test tokens' rules), not
from the contract: capital is free, locked or owed; credits are what arrived; a refused payout
transfer is owed to its payee; transfers of a fee token deliver value − ⌊value·bps/10⁴⌋.
Used by the seeded random walk and the hypothesis state machine in test_cover_pool.py.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from eth_tester.backends.pyevm.main import _get_vm_for_block_number
from eth_utils import keccak, to_canonical_address

from contracts import artifacts
from tests.chain import Ledger, events, expect_event, expect_revert, signer

KINDS = ("plain", "blacklist", "false", "fee")
REFUSING = ("blacklist", "false")  # kinds whose token can refuse a recipient
TOKEN_CONTRACT = {"plain": "TestToken", "blacklist": "BlacklistToken", "false": "FalseReturnToken",
                  "fee": "FeeOnTransferToken"}
FUNDS = 10**15  # each of funder and payer, per token


@dataclass
class OddPool:
    """A fresh CoverPool over one kind of token; the `claims` account stands in for the book."""

    kind: str
    token: Any
    pool: Any

    def refuse(self, led: Ledger, who: str, refused: bool) -> None:
        t = self.token.functions
        fn = t.setBlacklisted if self.kind == "blacklist" else t.setRefused
        led.send(fn(who, refused), led.a.alice)


def _deploy(led: Ledger, name: str, *args: Any) -> Any:
    r = led.send(artifacts.contract(led.w3, name).constructor(*args), led.a.owner)
    return artifacts.contract(led.w3, name, r["contractAddress"])


def deploy_odd_pools(led: Ledger) -> dict[str, OddPool]:
    """One token and one pool per kind (admin and treasurer: owner; book: claims); alice (funder)
    and bob (premium payer) hold FUNDS of each token and have approved the pool."""
    out = {}
    for kind in KINDS:
        args = {"plain": ("Plain Test USD", "pUSD", 6), "fee": (0,)}.get(kind, ())
        token = _deploy(led, TOKEN_CONTRACT[kind], *args)
        pool = _deploy(led, "CoverPool", token.address, led.a.owner)
        led.send(pool.functions.grantRole(pool.functions.BOOK_ROLE().call(), led.a.claims), led.a.owner)
        for who in (led.a.alice, led.a.bob):
            led.send(token.functions.mint(who, FUNDS), who)
            led.send(token.functions.approve(pool.address, 2**256 - 1), who)
        out[kind] = OddPool(kind, token, pool)
    return out


class PoolWalk:
    """Drives one pool through the book's, the treasurer's, payees' and outsiders' calls. Each
    operation predicts the outcome from the model, checks the chain did exactly that (revert
    error and arguments, or events), updates the model and returns an outcome label."""

    def __init__(self, led: Ledger, odd: OddPool) -> None:
        a = led.a
        self.led, self.odd, self.kind = led, odd, odd.kind
        self.p, self.t = odd.pool.functions, odd.token.functions
        self.book, self.treasurer, self.funder, self.payer = a.claims, a.owner, a.alice, a.bob
        self.payees = [a.outsider, a.relayer, a.assessor]  # they hold ether, so they can claim
        self.elsewhere = signer("claim-elsewhere").address  # a claim's other destination
        self.vault = signer("treasury-vault").address  # withdrawals and sweeps; never refused
        self.tracked = [odd.pool.address, self.funder, self.payer, *self.payees, self.elsewhere,
                        self.vault]
        self.free = self.locked = self.owed = 0
        self.claimable: Counter[str] = Counter()
        self.bal = {x: int(self.t.balanceOf(x).call()) for x in self.tracked}
        self.refused: set[str] = set()
        self.fee_bps = int(self.t.feeBps().call()) if self.kind == "fee" else 0
        self.outcomes: Counter[tuple[str, str]] = Counter()

    # --- the model's token -------------------------------------------------------------
    @property
    def pool(self) -> str:
        return str(self.odd.pool.address)

    @property
    def total(self) -> int:
        return self.free + self.locked + self.owed

    def fee(self, value: int) -> int:
        return value * self.fee_bps // 10_000

    def move(self, src: str, dst: str, value: int) -> None:
        self.bal[src] -= value
        self.bal[dst] += value - self.fee(value)

    def _record(self, op: str, outcome: str) -> str:
        self.outcomes[op, outcome] += 1
        return outcome

    def _refusal(self, to: str) -> tuple[str, dict[str, Any]]:
        """The revert a pull-side `safeTransfer` to a refused recipient produces."""
        if self.kind == "blacklist":
            return "BlacklistTokenBlacklisted", {"account": to}
        return "SafeERC20FailedOperation", {"token": self.odd.token.address}

    # --- operations ----------------------------------------------------------------------
    def deposit(self, amount: int) -> str:
        fn = self.p.deposit(amount)
        if amount == 0:
            expect_revert(fn, self.funder, "CoverPoolZeroAmount")
            return self._record("deposit", "zero")
        received = amount - self.fee(amount)
        if received == 0:
            expect_revert(fn, self.funder, "CoverPoolTransferShortfall", expected=amount, received=0)
            return self._record("deposit", "rejected")
        r = self.led.send(fn, self.funder)
        expect_event(r, self.odd.pool, "CapitalDeposited", **{"from": self.funder, "amount": received})
        self.free += received
        self.move(self.funder, self.pool, amount)
        return self._record("deposit", "ok" if received == amount else "fee")

    def premium(self, amount: int) -> str:
        fn = self.p.collectPremium(self.payer, amount)
        if amount == 0:
            assert self.led.send(fn, self.book)["logs"] == []
            return self._record("premium", "zero")
        received = amount - self.fee(amount)
        if received < amount:
            expect_revert(fn, self.book, "CoverPoolTransferShortfall", expected=amount, received=received)
            return self._record("premium", "rejected")
        r = self.led.send(fn, self.book)
        expect_event(r, self.odd.pool, "PremiumCollected", payer=self.payer, amount=amount)
        self.free += amount
        self.move(self.payer, self.pool, amount)
        return self._record("premium", "ok")

    def withdraw(self, amount: int) -> str:
        fn = self.p.withdraw(self.vault, amount)
        if amount == 0:
            expect_revert(fn, self.treasurer, "CoverPoolZeroAmount")
            return self._record("withdraw", "zero")
        if amount > self.free:
            expect_revert(fn, self.treasurer, "CoverPoolInsufficientFreeCapital", requested=amount,
                          free=self.free)
            return self._record("withdraw", "rejected")
        r = self.led.send(fn, self.treasurer)
        expect_event(r, self.odd.pool, "CapitalWithdrawn", to=self.vault, amount=amount)
        self.free -= amount
        self.move(self.pool, self.vault, amount)
        return self._record("withdraw", "ok")

    def lock(self, amount: int) -> str:
        fn = self.p.lock(amount)
        if amount > self.free:
            expect_revert(fn, self.book, "CoverPoolInsufficientFreeCapital", requested=amount,
                          free=self.free)
            return self._record("lock", "rejected")
        r = self.led.send(fn, self.book)
        self.free -= amount
        self.locked += amount
        expect_event(r, self.odd.pool, "CollateralLocked", amount=amount, locked=self.locked)
        return self._record("lock", "ok" if amount else "zero")

    def release(self, amount: int) -> str:
        fn = self.p.release(amount)
        if amount > self.locked:
            expect_revert(fn, self.book, "CoverPoolInsufficientLocked", requested=amount,
                          locked=self.locked)
            return self._record("release", "rejected")
        r = self.led.send(fn, self.book)
        self.locked -= amount
        self.free += amount
        expect_event(r, self.odd.pool, "CollateralReleased", amount=amount, locked=self.locked)
        return self._record("release", "ok" if amount else "zero")

    def payout(self, parts: list[tuple[int, int]]) -> str:
        """`parts`: (payee index, amount) pairs, paid as one batch."""
        payees = [self.payees[i] for i, _ in parts]
        amounts = [amt for _, amt in parts]
        total = sum(amounts)
        fn = self.p.payOut(payees, amounts)
        if total > self.locked:
            expect_revert(fn, self.book, "CoverPoolInsufficientLocked", requested=total,
                          locked=self.locked)
            return self._record("payout", "rejected")
        r = self.led.send(fn, self.book)
        expect_event(r, self.odd.pool, "CollateralPaidOut", amount=total, payees=len(parts))
        self.locked -= total
        credits = []
        for payee, amt in zip(payees, amounts, strict=True):
            if amt == 0:
                continue
            if payee in self.refused:
                credits.append((payee, amt))
                self.claimable[payee] += amt
                self.owed += amt
            else:
                self.move(self.pool, payee, amt)
        got = [(e["payee"], e["amount"]) for e in events(r, self.odd.pool, "PayoutCredited")]
        assert got == credits, (got, credits)
        return self._record("payout", "credited" if credits else "ok" if total else "zero")

    def claim(self, index: int, to_self: bool) -> str:
        payee = self.payees[index]
        to = payee if to_self else self.elsewhere
        owed = self.claimable[payee]
        fn = self.p.claim(to)
        if owed == 0:
            expect_revert(fn, payee, "CoverPoolNothingOwed", payee=payee)
            return self._record("claim", "rejected")
        if to in self.refused:
            error, args = self._refusal(to)
            expect_revert(fn, payee, error, **args)
            return self._record("claim", "refused")
        r = self.led.send(fn, payee)
        expect_event(r, self.odd.pool, "PayoutClaimed", payee=payee, to=to, amount=owed)
        self.claimable[payee] = 0
        self.owed -= owed
        self.move(self.pool, to, owed)
        return self._record("claim", "ok")

    def donate(self, amount: int) -> str:
        if amount:
            self.led.send(self.t.transfer(self.pool, amount), self.funder)
            self.move(self.funder, self.pool, amount)
        return self._record("donate", "ok" if amount else "zero")

    def recover(self) -> str:
        surplus = self.bal[self.pool] - self.total
        fn = self.p.recoverSurplus(self.vault)
        if surplus == 0:
            expect_revert(fn, self.treasurer, "CoverPoolZeroAmount")
            return self._record("recover", "zero")
        r = self.led.send(fn, self.treasurer)
        expect_event(r, self.odd.pool, "SurplusRecovered", to=self.vault, amount=surplus)
        self.move(self.pool, self.vault, surplus)
        return self._record("recover", "ok")

    def refuse(self, index: int, refused: bool) -> str:
        """The token starts or stops refusing a payee (index 3: the claim's other destination)."""
        assert self.kind in REFUSING
        who = [*self.payees, self.elsewhere][index]
        self.odd.refuse(self.led, who, refused)
        (self.refused.add if refused else self.refused.discard)(who)
        return self._record("refuse", "on" if refused else "off")

    def set_fee(self, bps: int) -> str:
        assert self.kind == "fee"
        self.led.send(self.t.setFee(bps), self.funder)
        self.fee_bps = bps
        return self._record("fee", "set")

    # --- the checks --------------------------------------------------------------------
    def check(self) -> None:
        """After every step: the pool's parts, every claimable and every tracked token balance
        equal the model's, and locked + owed ≤ assets ≤ balance. Read straight from the EVM
        state (a view call costs ~40 ms on eth-tester, a slot read microseconds); `check_views`
        proves the same through the public views, so the two readings are tied together."""
        state = _get_vm_for_block_number(self.led.tester.backend.chain, "latest").state
        pool, token = to_canonical_address(self.pool), to_canonical_address(self.odd.token.address)
        packed = state.get_storage(pool, POOL_SLOT_FREE_LOCKED)
        chain = {"free": packed & (2**128 - 1), "locked": packed >> 128,
                 "owed": state.get_storage(pool, POOL_SLOT_OWED)}
        assert chain == {"free": self.free, "locked": self.locked, "owed": self.owed}, (chain, self.outcomes)
        claimable = [state.get_storage(pool, _mapping_slot(x, POOL_SLOT_CLAIMABLE)) for x in self.payees]
        assert claimable == [self.claimable[x] for x in self.payees]
        balances = {x: state.get_storage(token, _mapping_slot(x, ERC20_SLOT_BALANCES)) for x in self.tracked}
        assert balances == self.bal
        assert self.locked + self.owed <= self.total <= balances[self.pool]

    def check_views(self) -> None:
        """The same through the pool's views and the token's balanceOf."""
        p = self.p
        chain = {"free": p.freeCapital().call(), "locked": p.lockedCapital().call(),
                 "owed": p.owedCapital().call(), "total": p.totalAssets().call()}
        assert chain == {"free": self.free, "locked": self.locked, "owed": self.owed, "total": self.total}
        assert [p.claimableOf(x).call() for x in self.payees] == [self.claimable[x] for x in self.payees]
        assert {x: int(self.t.balanceOf(x).call()) for x in self.tracked} == self.bal
        assert chain["locked"] + chain["owed"] <= chain["total"] <= self.bal[self.pool]


# Storage layout (pinned by test_accounting_packs_into_one_slot): AccessControl's roles at 0,
# then free | locked << 128, owed, the claimable mapping. OpenZeppelin ERC20 balances at 0.
POOL_SLOT_FREE_LOCKED, POOL_SLOT_OWED, POOL_SLOT_CLAIMABLE = 1, 2, 3
ERC20_SLOT_BALANCES = 0


def _mapping_slot(key: str, slot: int) -> int:
    return int.from_bytes(keccak(to_canonical_address(key).rjust(32, b"\0") + slot.to_bytes(32, "big")), "big")
