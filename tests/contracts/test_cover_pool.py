"""CoverPool: deposits, treasurer withdrawals of free capital only, the book's lock / release /
premium / payout, internal accounting vs. token balance, roles; and the TestToken."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
from eth_utils import keccak

from contracts import artifacts
from tests.chain import USD, events, expect_event, expect_revert, signer

ZERO_ADDR = "0x" + "00" * 20
ZERO32 = b"\x00" * 32
U128_MAX = 2**128 - 1
BOOK_ROLE = keccak(text="BOOK_ROLE")
TREASURER_ROLE = keccak(text="TREASURER_ROLE")
PAYEES = [signer(f"payee_{i}").address for i in range(4)]


# --- helpers -----------------------------------------------------------------------------------

def snapshot(led: Any) -> dict[str, int]:
    p = led.pool.functions
    return {"total": p.totalAssets().call(), "locked": p.lockedCapital().call(),
            "free": p.freeCapital().call(), "balance": led.balance(led.pool.address)}


def assert_invariant(led: Any) -> dict[str, int]:
    s = snapshot(led)
    assert s["locked"] <= s["total"] <= s["balance"], s
    assert s["free"] == s["total"] - s["locked"], s
    return s


def deposit(led: Any, who: str, amount: int) -> Any:
    return led.send(led.pool.functions.deposit(amount), who)


@pytest.fixture
def book(ledger) -> str:
    """A test account standing in for the PolicyBook (granted BOOK_ROLE by the admin)."""
    who = ledger.a.claims
    r = ledger.send(ledger.pool.functions.grantRole(BOOK_ROLE, who), ledger.a.owner)
    expect_event(r, ledger.pool, "RoleGranted", role=BOOK_ROLE, account=who,
                 sender=ledger.a.owner)
    return who


@pytest.fixture
def capital(ledger) -> int:
    """Alice funds and approves the pool and deposits 1,000 USD; returns the pool's total."""
    ledger.fund(ledger.a.alice, 10_000 * USD, spender=ledger.pool.address)
    deposit(ledger, ledger.a.alice, 1_000 * USD)
    return int(ledger.pool.functions.totalAssets().call())


# --- deployment, constants, roles --------------------------------------------------------------

def test_session_pool_wiring(ledger) -> None:
    p = ledger.pool.functions
    assert p.asset().call() == ledger.token.address
    assert p.BOOK_ROLE().call() == BOOK_ROLE
    assert p.TREASURER_ROLE().call() == TREASURER_ROLE
    assert p.DEFAULT_ADMIN_ROLE().call() == ZERO32
    assert p.hasRole(ZERO32, ledger.a.owner).call()
    assert p.hasRole(TREASURER_ROLE, ledger.a.owner).call()
    assert p.hasRole(TREASURER_ROLE, ledger.a.treasurer).call()
    assert p.hasRole(BOOK_ROLE, ledger.book.address).call()
    assert not p.hasRole(BOOK_ROLE, ledger.a.owner).call()
    for role in (BOOK_ROLE, TREASURER_ROLE, ZERO32):
        assert p.getRoleAdmin(role).call() == ZERO32
    assert p.supportsInterface(bytes.fromhex("7965db0b")).call()
    assert not p.supportsInterface(bytes.fromhex("ffffffff")).call()
    s = assert_invariant(ledger)
    assert s == {"total": 0, "locked": 0, "free": 0, "balance": 0}


@pytest.mark.parametrize("which", ["asset", "admin", "both"])
def test_constructor_rejects_zero_addresses(ledger, which) -> None:
    factory = artifacts.contract(ledger.w3, "CoverPool")
    asset = ZERO_ADDR if which in ("asset", "both") else ledger.token.address
    admin = ZERO_ADDR if which in ("admin", "both") else ledger.a.alice
    expect_revert(factory.constructor(asset, admin), ledger.a.owner, "CoverPoolZeroAddress")


def test_constructor_grants_admin_and_treasurer_only(ledger) -> None:
    factory = artifacts.contract(ledger.w3, "CoverPool")
    r = ledger.send(factory.constructor(ledger.token.address, ledger.a.alice), ledger.a.owner)
    fresh = artifacts.contract(ledger.w3, "CoverPool", r["contractAddress"])
    granted = {(e["role"], e["account"]) for e in events(r, fresh, "RoleGranted")}
    assert granted == {(ZERO32, ledger.a.alice), (TREASURER_ROLE, ledger.a.alice)}
    assert fresh.functions.asset().call() == ledger.token.address
    assert not fresh.functions.hasRole(ZERO32, ledger.a.owner).call()
    assert not fresh.functions.hasRole(BOOK_ROLE, ledger.a.alice).call()
    assert fresh.functions.totalAssets().call() == 0


def test_pool_over_a_non_contract_asset_fails_on_transfer(ledger) -> None:
    """The constructor only rejects address(0); an EOA asset deploys, then SafeERC20 refuses."""
    factory = artifacts.contract(ledger.w3, "CoverPool")
    eoa = signer("not-a-token").address
    r = ledger.send(factory.constructor(eoa, ledger.a.owner), ledger.a.owner)
    fresh = artifacts.contract(ledger.w3, "CoverPool", r["contractAddress"])
    expect_revert(fresh.functions.deposit(5), ledger.a.alice, "SafeERC20FailedOperation",
                  token=eoa)
    assert fresh.functions.totalAssets().call() == 0


def test_role_grant_revoke_and_renounce(ledger, book) -> None:
    p = ledger.pool.functions
    expect_revert(p.grantRole(BOOK_ROLE, ledger.a.outsider), ledger.a.treasurer,
                  "AccessControlUnauthorizedAccount", account=ledger.a.treasurer,
                  neededRole=ZERO32)
    ledger.send(p.lock(0), book)
    r = ledger.send(p.revokeRole(BOOK_ROLE, book), ledger.a.owner)
    expect_event(r, ledger.pool, "RoleRevoked", role=BOOK_ROLE, account=book,
                 sender=ledger.a.owner)
    expect_revert(p.lock(0), book, "AccessControlUnauthorizedAccount", account=book,
                  neededRole=BOOK_ROLE)
    expect_revert(p.renounceRole(TREASURER_ROLE, ledger.a.owner), ledger.a.treasurer,
                  "AccessControlBadConfirmation")
    r = ledger.send(p.renounceRole(TREASURER_ROLE, ledger.a.treasurer), ledger.a.treasurer)
    expect_event(r, ledger.pool, "RoleRevoked", role=TREASURER_ROLE,
                 account=ledger.a.treasurer, sender=ledger.a.treasurer)
    assert not p.hasRole(TREASURER_ROLE, ledger.a.treasurer).call()


# --- deposit -----------------------------------------------------------------------------------

def test_deposit_pulls_tokens_and_emits(ledger) -> None:
    ledger.fund(ledger.a.alice, 500 * USD, spender=ledger.pool.address)
    r = deposit(ledger, ledger.a.alice, 300 * USD)
    expect_event(r, ledger.pool, "CapitalDeposited", **{"from": ledger.a.alice,
                                                        "amount": 300 * USD})
    expect_event(r, ledger.token, "Transfer", **{"from": ledger.a.alice,
                                                 "to": ledger.pool.address, "value": 300 * USD})
    assert ledger.balance(ledger.a.alice) == 200 * USD
    assert assert_invariant(ledger) == {"total": 300 * USD, "locked": 0, "free": 300 * USD,
                                        "balance": 300 * USD}
    # Anyone may add capital (a reinsurer, say), and deposits accumulate.
    ledger.fund(ledger.a.bob, 50 * USD, spender=ledger.pool.address)
    r = deposit(ledger, ledger.a.bob, 50 * USD)
    expect_event(r, ledger.pool, "CapitalDeposited", **{"from": ledger.a.bob, "amount": 50 * USD})
    assert snapshot(ledger)["total"] == snapshot(ledger)["balance"] == 350 * USD


def test_deposit_zero_reverts(ledger) -> None:
    expect_revert(ledger.pool.functions.deposit(0), ledger.a.alice, "CoverPoolZeroAmount")


def test_deposit_needs_allowance_and_balance(ledger) -> None:
    p = ledger.pool.functions
    ledger.fund(ledger.a.bob, 100 * USD)  # no approval
    expect_revert(p.deposit(10 * USD), ledger.a.bob, "ERC20InsufficientAllowance",
                  spender=ledger.pool.address, allowance=0, needed=10 * USD)
    ledger.send(ledger.token.functions.approve(ledger.pool.address, 2**256 - 1), ledger.a.bob)
    # (`sender` is also expect_revert's own parameter name, so that arg is checked apart.)
    err = expect_revert(p.deposit(101 * USD), ledger.a.bob, "ERC20InsufficientBalance",
                        balance=100 * USD, needed=101 * USD)
    assert err.params["sender"].lower() == ledger.a.bob.lower()
    # The accounting update is rolled back with the failed transfer.
    assert assert_invariant(ledger)["total"] == 0


def test_deposit_beyond_uint128_reverts_amount_too_large(ledger) -> None:
    ledger.fund(ledger.a.alice, 2**130, spender=ledger.pool.address)
    deposit(ledger, ledger.a.alice, 100)
    # The error carries the would-be total, not the requested amount.
    expect_revert(ledger.pool.functions.deposit(U128_MAX), ledger.a.alice,
                  "CoverPoolAmountTooLarge", amount=U128_MAX + 100)
    deposit(ledger, ledger.a.alice, U128_MAX - 100)
    assert assert_invariant(ledger)["total"] == U128_MAX
    expect_revert(ledger.pool.functions.deposit(1), ledger.a.alice, "CoverPoolAmountTooLarge",
                  amount=U128_MAX + 1)


# --- withdraw ----------------------------------------------------------------------------------

@pytest.mark.parametrize("treasurer", ["treasurer", "owner"])
def test_withdraw_free_capital(ledger, capital, treasurer) -> None:
    sender = getattr(ledger.a, treasurer)
    to = PAYEES[0]
    r = ledger.send(ledger.pool.functions.withdraw(to, 400 * USD), sender)
    expect_event(r, ledger.pool, "CapitalWithdrawn", to=to, amount=400 * USD)
    expect_event(r, ledger.token, "Transfer", **{"from": ledger.pool.address, "to": to,
                                                 "value": 400 * USD})
    assert ledger.balance(to) == 400 * USD
    assert ledger.balance(sender) == 0
    assert assert_invariant(ledger)["total"] == capital - 400 * USD


def test_withdraw_only_free_capital(ledger, capital, book) -> None:
    ledger.send(ledger.pool.functions.lock(700 * USD), book)
    free = capital - 700 * USD
    expect_revert(ledger.pool.functions.withdraw(ledger.a.treasurer, free + 1),
                  ledger.a.treasurer, "CoverPoolInsufficientFreeCapital", requested=free + 1,
                  free=free)
    ledger.send(ledger.pool.functions.withdraw(ledger.a.treasurer, free), ledger.a.treasurer)
    s = assert_invariant(ledger)
    assert (s["free"], s["locked"], s["total"]) == (0, 700 * USD, 700 * USD)
    expect_revert(ledger.pool.functions.withdraw(ledger.a.treasurer, 1), ledger.a.treasurer,
                  "CoverPoolInsufficientFreeCapital", requested=1, free=0)
    assert ledger.balance(ledger.a.treasurer) == free


def test_withdraw_argument_checks(ledger, capital) -> None:
    w = ledger.pool.functions.withdraw
    expect_revert(w(ledger.a.treasurer, 0), ledger.a.treasurer, "CoverPoolZeroAmount")
    expect_revert(w(ZERO_ADDR, 5), ledger.a.treasurer, "CoverPoolZeroAddress")
    expect_revert(w(ZERO_ADDR, 0), ledger.a.treasurer, "CoverPoolZeroAddress")  # checked first
    expect_revert(w(ledger.a.treasurer, capital + 1), ledger.a.treasurer,
                  "CoverPoolInsufficientFreeCapital", requested=capital + 1, free=capital)
    assert snapshot(ledger)["total"] == capital


@pytest.mark.parametrize("who", ["outsider", "alice", "claims"])
def test_withdraw_requires_treasurer_role(ledger, capital, book, who) -> None:
    """Not an outsider, not the depositor herself, not the book."""
    sender = getattr(ledger.a, who)
    expect_revert(ledger.pool.functions.withdraw(sender, 1 * USD), sender,
                  "AccessControlUnauthorizedAccount", account=sender, neededRole=TREASURER_ROLE)
    assert snapshot(ledger)["total"] == capital


# --- the book's functions ----------------------------------------------------------------------

BOOK_CALLS = {
    "lock": lambda led: led.pool.functions.lock(1),
    "release": lambda led: led.pool.functions.release(0),
    "collectPremium": lambda led: led.pool.functions.collectPremium(led.a.alice, 1),
    "payOut": lambda led: led.pool.functions.payOut([], []),
}


@pytest.mark.parametrize("fn", sorted(BOOK_CALLS))
@pytest.mark.parametrize("who", ["outsider", "owner", "treasurer"])
def test_book_functions_require_book_role(ledger, capital, fn, who) -> None:
    sender = getattr(ledger.a, who)
    expect_revert(BOOK_CALLS[fn](ledger), sender, "AccessControlUnauthorizedAccount",
                  account=sender, neededRole=BOOK_ROLE)


def test_lock_and_release(ledger, capital, book) -> None:
    p = ledger.pool.functions
    r = ledger.send(p.lock(300 * USD), book)
    expect_event(r, ledger.pool, "CollateralLocked", amount=300 * USD, locked=300 * USD)
    r = ledger.send(p.lock(200 * USD), book)
    expect_event(r, ledger.pool, "CollateralLocked", amount=200 * USD, locked=500 * USD)
    s = assert_invariant(ledger)
    assert (s["locked"], s["free"], s["total"]) == (500 * USD, capital - 500 * USD, capital)
    assert ledger.balance(ledger.pool.address) == capital  # no token moves
    r = ledger.send(p.release(120 * USD), book)
    expect_event(r, ledger.pool, "CollateralReleased", amount=120 * USD, locked=380 * USD)
    r = ledger.send(p.release(380 * USD), book)
    expect_event(r, ledger.pool, "CollateralReleased", amount=380 * USD, locked=0)
    assert assert_invariant(ledger) == {"total": capital, "locked": 0, "free": capital,
                                        "balance": capital}


def test_lock_beyond_free_capital(ledger, capital, book) -> None:
    p = ledger.pool.functions
    expect_revert(p.lock(capital + 1), book, "CoverPoolInsufficientFreeCapital",
                  requested=capital + 1, free=capital)
    ledger.send(p.lock(capital - 10), book)
    expect_revert(p.lock(11), book, "CoverPoolInsufficientFreeCapital", requested=11, free=10)
    r = ledger.send(p.lock(10), book)  # exactly the free capital
    expect_event(r, ledger.pool, "CollateralLocked", amount=10, locked=capital)
    expect_revert(p.lock(1), book, "CoverPoolInsufficientFreeCapital", requested=1, free=0)
    assert assert_invariant(ledger)["free"] == 0


def test_lock_and_release_zero_are_no_op_events(ledger, book) -> None:
    r = ledger.send(ledger.pool.functions.lock(0), book)
    expect_event(r, ledger.pool, "CollateralLocked", amount=0, locked=0)
    r = ledger.send(ledger.pool.functions.release(0), book)
    expect_event(r, ledger.pool, "CollateralReleased", amount=0, locked=0)


def test_release_beyond_locked(ledger, capital, book) -> None:
    p = ledger.pool.functions
    expect_revert(p.release(1), book, "CoverPoolInsufficientLocked", requested=1, locked=0)
    ledger.send(p.lock(50 * USD), book)
    expect_revert(p.release(50 * USD + 1), book, "CoverPoolInsufficientLocked",
                  requested=50 * USD + 1, locked=50 * USD)
    assert snapshot(ledger)["locked"] == 50 * USD


def test_collect_premium(ledger, capital, book) -> None:
    payer = ledger.a.bob
    ledger.fund(payer, 40 * USD, spender=ledger.pool.address)
    ledger.send(ledger.pool.functions.lock(100 * USD), book)
    r = ledger.send(ledger.pool.functions.collectPremium(payer, 15 * USD), book)
    expect_event(r, ledger.pool, "PremiumCollected", payer=payer, amount=15 * USD)
    expect_event(r, ledger.token, "Transfer", **{"from": payer, "to": ledger.pool.address,
                                                 "value": 15 * USD})
    # Tokens come from the payer, not from the caller; the premium is free capital.
    assert ledger.balance(payer) == 25 * USD
    s = assert_invariant(ledger)
    assert (s["total"], s["locked"], s["free"]) == (
        capital + 15 * USD, 100 * USD, capital - 85 * USD)


def test_collect_premium_zero_is_silent(ledger, capital, book) -> None:
    before = snapshot(ledger)
    r = ledger.send(ledger.pool.functions.collectPremium(ledger.a.outsider, 0), book)
    assert r["logs"] == []  # no PremiumCollected, no Transfer
    assert snapshot(ledger) == before


def test_collect_premium_needs_payer_allowance(ledger, capital, book) -> None:
    ledger.fund(ledger.a.bob, 40 * USD)
    expect_revert(ledger.pool.functions.collectPremium(ledger.a.bob, 1 * USD), book,
                  "ERC20InsufficientAllowance", spender=ledger.pool.address, allowance=0,
                  needed=1 * USD)
    ledger.send(ledger.token.functions.approve(ledger.pool.address, 5 * USD), ledger.a.bob)
    expect_revert(ledger.pool.functions.collectPremium(ledger.a.bob, 6 * USD), book,
                  "ERC20InsufficientAllowance", spender=ledger.pool.address, allowance=5 * USD,
                  needed=6 * USD)
    assert snapshot(ledger)["total"] == capital


def test_collect_premium_beyond_uint128(ledger, book) -> None:
    ledger.fund(ledger.a.alice, 2**129, spender=ledger.pool.address)
    deposit(ledger, ledger.a.alice, U128_MAX)
    expect_revert(ledger.pool.functions.collectPremium(ledger.a.alice, 1), book,
                  "CoverPoolAmountTooLarge", amount=2**128)


def test_pay_out(ledger, capital, book) -> None:
    p = ledger.pool.functions
    ledger.send(p.lock(300 * USD), book)
    amounts = [100 * USD, 50 * USD, 25 * USD]
    r = ledger.send(p.payOut(PAYEES[:3], amounts), book)
    expect_event(r, ledger.pool, "CollateralPaidOut", amount=175 * USD, payees=3)
    transfers = events(r, ledger.token, "Transfer")
    assert [(t["from"], t["to"], t["value"]) for t in transfers] == [
        (ledger.pool.address, to, v) for to, v in zip(PAYEES[:3], amounts, strict=True)]
    assert [ledger.balance(a) for a in PAYEES[:3]] == amounts
    s = assert_invariant(ledger)
    # Paid from locked collateral: free capital is untouched.
    assert (s["locked"], s["total"], s["free"]) == (
        125 * USD, capital - 175 * USD, capital - 300 * USD)


def test_pay_out_same_payee_twice_and_zero_amounts(ledger, capital, book) -> None:
    p = ledger.pool.functions
    ledger.send(p.lock(10 * USD), book)
    r = ledger.send(p.payOut([PAYEES[0], PAYEES[0], PAYEES[1]], [3 * USD, 4 * USD, 0]), book)
    expect_event(r, ledger.pool, "CollateralPaidOut", amount=7 * USD, payees=3)
    assert ledger.balance(PAYEES[0]) == 7 * USD and ledger.balance(PAYEES[1]) == 0
    assert snapshot(ledger)["locked"] == 3 * USD


def test_pay_out_empty(ledger, book) -> None:
    r = ledger.send(ledger.pool.functions.payOut([], []), book)
    expect_event(r, ledger.pool, "CollateralPaidOut", amount=0, payees=0)
    assert events(r, ledger.token, "Transfer") == []


def test_pay_out_beyond_locked(ledger, capital, book) -> None:
    p = ledger.pool.functions
    ledger.send(p.lock(100 * USD), book)
    # Plenty of free capital does not help: payouts come from locked collateral only.
    expect_revert(p.payOut(PAYEES[:2], [60 * USD, 40 * USD + 1]), book,
                  "CoverPoolInsufficientLocked", requested=100 * USD + 1, locked=100 * USD)
    r = ledger.send(p.payOut(PAYEES[:2], [60 * USD, 40 * USD]), book)  # exactly the locked
    expect_event(r, ledger.pool, "CollateralPaidOut", amount=100 * USD, payees=2)
    expect_revert(p.payOut([PAYEES[0]], [1]), book, "CoverPoolInsufficientLocked", requested=1,
                  locked=0)
    assert assert_invariant(ledger)["total"] == capital - 100 * USD


def test_pay_out_length_mismatch(ledger, capital, book) -> None:
    p = ledger.pool.functions
    ledger.send(p.lock(10), book)
    expect_revert(p.payOut(PAYEES[:2], [1]), book, "CoverPoolLengthMismatch", payees=2, amounts=1)
    expect_revert(p.payOut([], [1]), book, "CoverPoolLengthMismatch", payees=0, amounts=1)
    expect_revert(p.payOut(PAYEES[:3], []), book, "CoverPoolLengthMismatch", payees=3, amounts=0)


def test_pay_out_overflowing_total_panics(ledger, capital, book) -> None:
    ledger.send(ledger.pool.functions.lock(10), book)
    expect_revert(ledger.pool.functions.payOut(PAYEES[:2], [2**256 - 1, 2]), book, "Panic",
                  code=0x11)
    assert snapshot(ledger)["locked"] == 10


def test_pay_out_to_zero_address_rolls_back(ledger, capital, book) -> None:
    ledger.send(ledger.pool.functions.lock(10 * USD), book)
    before = snapshot(ledger)
    expect_revert(ledger.pool.functions.payOut([PAYEES[0], ZERO_ADDR], [1 * USD, 1 * USD]),
                  book, "ERC20InvalidReceiver", receiver=ZERO_ADDR)
    assert snapshot(ledger) == before and ledger.balance(PAYEES[0]) == 0


# --- accounting vs. balance --------------------------------------------------------------------

def test_donation_does_not_become_free_capital(ledger, capital, book) -> None:
    ledger.fund(ledger.a.bob, 500 * USD)
    ledger.send(ledger.token.functions.transfer(ledger.pool.address, 500 * USD), ledger.a.bob)
    s = assert_invariant(ledger)
    assert s["balance"] == capital + 500 * USD
    assert (s["total"], s["free"]) == (capital, capital)
    # Neither the treasurer nor the book can use the donated tokens.
    expect_revert(ledger.pool.functions.withdraw(ledger.a.treasurer, capital + 1),
                  ledger.a.treasurer, "CoverPoolInsufficientFreeCapital", requested=capital + 1,
                  free=capital)
    expect_revert(ledger.pool.functions.lock(capital + 1), book,
                  "CoverPoolInsufficientFreeCapital", requested=capital + 1, free=capital)
    ledger.send(ledger.pool.functions.withdraw(ledger.a.treasurer, capital), ledger.a.treasurer)
    s = assert_invariant(ledger)
    assert (s["total"], s["balance"]) == (0, 500 * USD)  # only the donation is left


def test_recover_surplus_sweeps_only_the_donation(ledger, capital, book) -> None:
    ledger.send(ledger.pool.functions.lock(capital // 2), book)
    expect_revert(ledger.pool.functions.recoverSurplus(ledger.a.treasurer), ledger.a.treasurer, "CoverPoolZeroAmount")
    ledger.fund(ledger.a.bob, 500 * USD)
    ledger.send(ledger.token.functions.transfer(ledger.pool.address, 500 * USD), ledger.a.bob)
    expect_revert(ledger.pool.functions.recoverSurplus(ledger.a.outsider), ledger.a.outsider,
                  "AccessControlUnauthorizedAccount", account=ledger.a.outsider)
    expect_revert(ledger.pool.functions.recoverSurplus(ZERO_ADDR), ledger.a.treasurer, "CoverPoolZeroAddress")
    before = assert_invariant(ledger)
    r = ledger.send(ledger.pool.functions.recoverSurplus(ledger.a.claims), ledger.a.treasurer)
    expect_event(r, ledger.pool, "SurplusRecovered", to=ledger.a.claims, amount=500 * USD)
    after = assert_invariant(ledger)
    assert ledger.balance(ledger.a.claims) == 500 * USD
    assert (after["total"], after["locked"], after["balance"]) == (before["total"], before["locked"], capital)


def test_accounting_packs_into_one_slot(ledger, capital, book) -> None:
    ledger.send(ledger.pool.functions.lock(123), book)
    # AccessControl's `_roles` is slot 0; the reentrancy guard is transient; then the packed pair.
    word = int.from_bytes(ledger.w3.eth.get_storage_at(ledger.pool.address, 1), "big")
    assert word == (123 << 128) | capital
    assert ledger.w3.eth.get_storage_at(ledger.pool.address, 2) == ZERO32


def test_random_operations_keep_invariant_and_match_model(ledger, book) -> None:
    """A seeded random walk over every state-changing call (valid, boundary and invalid
    amounts), checked against a Python model and locked ≤ totalAssets ≤ balance at every step."""
    rng = random.Random(42)
    p = ledger.pool.functions
    for who in (ledger.a.alice, ledger.a.bob):
        ledger.fund(who, 10**6 * USD, spender=ledger.pool.address)
    model = {"total": 0, "locked": 0, "balance": 0}
    outcomes: Counter[tuple[str, str]] = Counter()
    for _ in range(60):
        op = rng.choice(["deposit", "withdraw", "lock", "release", "premium", "payout", "donate"])
        free = model["total"] - model["locked"]
        cap = {"withdraw": free, "lock": free, "release": model["locked"],
               "payout": model["locked"]}.get(op, 2_000 * USD)
        amt = rng.choice([0, 1, cap, cap + 1, rng.randint(1, max(cap, 1)),
                          rng.randint(1, max(cap, 1))])
        ok = True
        if op == "deposit":
            if amt == 0:
                ok = False
                expect_revert(p.deposit(0), ledger.a.alice, "CoverPoolZeroAmount")
            else:
                deposit(ledger, ledger.a.bob, amt)
                model["total"] += amt
                model["balance"] += amt
        elif op == "withdraw":
            ok = 0 < amt <= free
            if amt == 0:
                expect_revert(p.withdraw(PAYEES[3], 0), ledger.a.treasurer, "CoverPoolZeroAmount")
            elif amt > free:
                expect_revert(p.withdraw(PAYEES[3], amt), ledger.a.treasurer,
                              "CoverPoolInsufficientFreeCapital", requested=amt, free=free)
            else:
                ledger.send(p.withdraw(PAYEES[3], amt), ledger.a.treasurer)
                model["total"] -= amt
                model["balance"] -= amt
        elif op == "lock":
            ok = amt <= free
            if ok:
                ledger.send(p.lock(amt), book)
                model["locked"] += amt
            else:
                expect_revert(p.lock(amt), book, "CoverPoolInsufficientFreeCapital",
                              requested=amt, free=free)
        elif op == "release":
            ok = amt <= model["locked"]
            if ok:
                ledger.send(p.release(amt), book)
                model["locked"] -= amt
            else:
                expect_revert(p.release(amt), book, "CoverPoolInsufficientLocked",
                              requested=amt, locked=model["locked"])
        elif op == "premium":
            ledger.send(p.collectPremium(ledger.a.alice, amt), book)
            model["total"] += amt
            model["balance"] += amt
        elif op == "payout":
            split = rng.randrange(0, amt + 1)
            parts = [split, amt - split]
            ok = amt <= model["locked"]
            if ok:
                ledger.send(p.payOut(PAYEES[:2], parts), book)
                model["locked"] -= amt
                model["total"] -= amt
                model["balance"] -= amt
            else:
                expect_revert(p.payOut(PAYEES[:2], parts), book, "CoverPoolInsufficientLocked",
                              requested=amt, locked=model["locked"])
        elif amt:  # a plain donation: balance only
            ledger.send(ledger.token.functions.transfer(ledger.pool.address, amt), ledger.a.alice)
            model["balance"] += amt
        outcomes[op, "ok" if ok and amt else "zero" if ok else "rejected"] += 1
        s = assert_invariant(ledger)
        assert {k: s[k] for k in model} == model, op
    # The walk really exercised each call's success path and each limit's rejection path.
    for op in ("deposit", "withdraw", "lock", "release", "premium", "payout", "donate"):
        assert outcomes[op, "ok"] > 0, outcomes
    for op in ("deposit", "withdraw", "lock", "release", "payout"):
        assert outcomes[op, "rejected"] > 0, outcomes
    assert model["locked"] > 0 and model["balance"] > model["total"]


# --- TestToken ---------------------------------------------------------------------------------

def test_token_metadata(ledger) -> None:
    t = ledger.token.functions
    assert (t.name().call(), t.symbol().call(), t.decimals().call()) == (
        "CyberCover Test USD", "cUSD", 6)
    assert 10 ** t.decimals().call() == USD
    factory = artifacts.contract(ledger.w3, "TestToken")
    r = ledger.send(factory.constructor("Other", "OTH", 18), ledger.a.owner)
    other = artifacts.contract(ledger.w3, "TestToken", r["contractAddress"]).functions
    assert (other.name().call(), other.symbol().call(), other.decimals().call()) == (
        "Other", "OTH", 18)
    assert other.totalSupply().call() == 0


def test_token_mint_by_anyone(ledger) -> None:
    t = ledger.token.functions
    supply = t.totalSupply().call()
    r = ledger.send(t.mint(ledger.a.bob, 7 * USD), ledger.a.outsider)
    expect_event(r, ledger.token, "Transfer", **{"from": ZERO_ADDR, "to": ledger.a.bob,
                                                 "value": 7 * USD})
    assert t.balanceOf(ledger.a.bob).call() == 7 * USD
    assert t.totalSupply().call() == supply + 7 * USD
    expect_revert(t.mint(ZERO_ADDR, 1), ledger.a.outsider, "ERC20InvalidReceiver",
                  receiver=ZERO_ADDR)


def test_token_transfer(ledger) -> None:
    t = ledger.token.functions
    ledger.fund(ledger.a.alice, 10 * USD)
    r = ledger.send(t.transfer(ledger.a.bob, 4 * USD), ledger.a.alice)
    expect_event(r, ledger.token, "Transfer", **{"from": ledger.a.alice, "to": ledger.a.bob,
                                                 "value": 4 * USD})
    assert (ledger.balance(ledger.a.alice), ledger.balance(ledger.a.bob)) == (6 * USD, 4 * USD)
    err = expect_revert(t.transfer(ledger.a.bob, 6 * USD + 1), ledger.a.alice,
                        "ERC20InsufficientBalance", balance=6 * USD, needed=6 * USD + 1)
    assert err.params["sender"].lower() == ledger.a.alice.lower()
    expect_revert(t.transfer(ZERO_ADDR, 1), ledger.a.alice, "ERC20InvalidReceiver",
                  receiver=ZERO_ADDR)


def test_token_approve_and_transfer_from(ledger) -> None:
    t = ledger.token.functions
    ledger.fund(ledger.a.alice, 10 * USD)
    r = ledger.send(t.approve(ledger.a.bob, 3 * USD), ledger.a.alice)
    expect_event(r, ledger.token, "Approval", owner=ledger.a.alice, spender=ledger.a.bob,
                 value=3 * USD)
    assert t.allowance(ledger.a.alice, ledger.a.bob).call() == 3 * USD
    r = ledger.send(t.transferFrom(ledger.a.alice, PAYEES[0], 2 * USD), ledger.a.bob)
    expect_event(r, ledger.token, "Transfer", **{"from": ledger.a.alice, "to": PAYEES[0],
                                                 "value": 2 * USD})
    assert t.allowance(ledger.a.alice, ledger.a.bob).call() == 1 * USD
    expect_revert(t.transferFrom(ledger.a.alice, PAYEES[0], 2 * USD), ledger.a.bob,
                  "ERC20InsufficientAllowance", spender=ledger.a.bob, allowance=1 * USD,
                  needed=2 * USD)
    expect_revert(t.approve(ZERO_ADDR, 1), ledger.a.alice, "ERC20InvalidSpender",
                  spender=ZERO_ADDR)
    # An unlimited allowance is not decreased.
    ledger.send(t.approve(ledger.a.bob, 2**256 - 1), ledger.a.alice)
    ledger.send(t.transferFrom(ledger.a.alice, PAYEES[0], 1 * USD), ledger.a.bob)
    assert t.allowance(ledger.a.alice, ledger.a.bob).call() == 2**256 - 1
    assert ledger.balance(PAYEES[0]) == 3 * USD
