"""CoverPool: deposits, treasurer withdrawals of free capital only, the book's lock / release /
premium / payout, failed payouts owed and claimed, internal accounting vs. token balance, roles;
odd tokens (blacklisting, false-returning, fee-on-transfer) against a model; and the TestToken."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from eth_utils import keccak
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from contracts import artifacts
from tests.chain import USD, Ledger, events, expect_event, expect_revert, signer
from tests.contracts.pool_model import KINDS, REFUSING, OddPool, PoolWalk, deploy_odd_pools

ZERO_ADDR = "0x" + "00" * 20
ZERO32 = b"\x00" * 32
U128_MAX = 2**128 - 1
BOOK_ROLE = keccak(text="BOOK_ROLE")
TREASURER_ROLE = keccak(text="TREASURER_ROLE")
PAYEES = [signer(f"payee_{i}").address for i in range(4)]


# --- helpers -----------------------------------------------------------------------------------

def snapshot(led: Any, pool: Any = None, token: Any = None) -> dict[str, int]:
    """The pool's parts and its token balance; owed is reported only when non-zero."""
    pool, token = pool or led.pool, token or led.token
    p = pool.functions
    s = {"total": p.totalAssets().call(), "locked": p.lockedCapital().call(),
         "free": p.freeCapital().call(), "balance": token.functions.balanceOf(pool.address).call()}
    owed = p.owedCapital().call()
    return s | {"owed": owed} if owed else s


def assert_invariant(led: Any, pool: Any = None, token: Any = None) -> dict[str, int]:
    """locked + owed ≤ total assets ≤ balance, and free = total − locked − owed."""
    s = snapshot(led, pool, token)
    owed = s.get("owed", 0)
    assert s["locked"] + owed <= s["total"] <= s["balance"], s
    assert s["free"] == s["total"] - s["locked"] - owed, s
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


@pytest.fixture(scope="module")
def odd_pools(_ledger: Ledger) -> Iterator[dict[str, OddPool]]:
    """A pool over each kind of token (plain, blacklist, false, fee), deployed once for the module
    inside its own snapshot (module fixtures are set up before the per-test snapshot)."""
    snap = _ledger.tester.take_snapshot()
    try:
        yield deploy_odd_pools(_ledger)
    finally:
        _ledger.tester.revert_to_snapshot(snap)


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
    # A zero amount is skipped: no transfer, nothing credited.
    assert [t["value"] for t in events(r, ledger.token, "Transfer")] == [3 * USD, 4 * USD]
    assert events(r, ledger.pool, "PayoutCredited") == []
    assert ledger.balance(PAYEES[0]) == 7 * USD
    assert ledger.balance(PAYEES[1]) == 0
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
    """A zero payee is the caller's bug, not a refused transfer: crediting it would strand the
    money (no one can claim for address(0)), so the whole batch reverts."""
    ledger.send(ledger.pool.functions.lock(10 * USD), book)
    before = snapshot(ledger)
    for amounts in ([1 * USD, 1 * USD], [1 * USD, 0]):
        expect_revert(ledger.pool.functions.payOut([PAYEES[0], ZERO_ADDR], amounts), book,
                      "CoverPoolZeroAddress")
    assert snapshot(ledger) == before
    assert ledger.balance(PAYEES[0]) == 0


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
    # AccessControl's `_roles` is slot 0; the reentrancy guard is transient; then free and locked
    # packed in one slot (all that issuance, expiry and a clean payout touch); owed in the next.
    word = int.from_bytes(ledger.w3.eth.get_storage_at(ledger.pool.address, 1), "big")
    assert word == (123 << 128) | (capital - 123)
    assert ledger.w3.eth.get_storage_at(ledger.pool.address, 2) == ZERO32


# --- odd tokens: finding 4 (a payee that cannot receive) and finding 8 (fee on transfer) -------

def _pool_of(ledger: Ledger, odd: OddPool, capital: int = 0, locked: int = 0) -> Any:
    p = odd.pool.functions
    if capital:
        ledger.send(p.deposit(capital), ledger.a.alice)
    if locked:
        ledger.send(p.lock(locked), ledger.a.claims)
    return p


def test_finding4_blacklisted_payee_credits_claimable_and_batch_proceeds(ledger, odd_pools) -> None:
    odd = odd_pools["blacklist"]
    p, book, owner = _pool_of(ledger, odd, 1_000 * USD, 300 * USD), ledger.a.claims, ledger.a.owner
    barred = ledger.a.outsider
    odd.refuse(ledger, barred, True)
    amounts = [100 * USD, 50 * USD, 25 * USD]
    r = ledger.send(p.payOut([PAYEES[0], barred, PAYEES[1]], amounts), book)
    assert r["status"] == 1
    expect_event(r, odd.pool, "CollateralPaidOut", amount=175 * USD, payees=3)
    assert events(r, odd.pool, "PayoutCredited") == [{"payee": barred, "amount": 50 * USD}]
    # The payees around the refused one were paid in the same transaction.
    assert [(t["to"], t["value"]) for t in events(r, odd.token, "Transfer")] == [
        (PAYEES[0], 100 * USD), (PAYEES[1], 25 * USD)]
    assert (p.claimableOf(barred).call(), p.owedCapital().call()) == (50 * USD, 50 * USD)
    assert assert_invariant(ledger, odd.pool, odd.token) == {
        "total": 875 * USD, "locked": 125 * USD, "owed": 50 * USD, "free": 700 * USD,
        "balance": 875 * USD}
    # Owed money is neither free nor surplus: the treasurer cannot take it.
    expect_revert(p.withdraw(owner, 700 * USD + 1), owner, "CoverPoolInsufficientFreeCapital",
                  requested=700 * USD + 1, free=700 * USD)
    ledger.send(p.withdraw(owner, 700 * USD), owner)
    expect_revert(p.recoverSurplus(owner), owner, "CoverPoolZeroAmount")
    expect_revert(p.lock(1), book, "CoverPoolInsufficientFreeCapital", requested=1, free=0)
    # The payee pulls it: not to itself while barred (and it stays owed), elsewhere at once.
    expect_revert(p.claim(barred), barred, "BlacklistTokenBlacklisted", account=barred)
    expect_revert(p.claim(ZERO_ADDR), barred, "CoverPoolZeroAddress")
    expect_revert(p.claim(ledger.a.relayer), ledger.a.relayer, "CoverPoolNothingOwed",
                  payee=ledger.a.relayer)  # nobody else can take it
    assert p.claim(PAYEES[2]).call({"from": barred}) == 50 * USD
    r = ledger.send(p.claim(PAYEES[2]), barred)
    expect_event(r, odd.pool, "PayoutClaimed", payee=barred, to=PAYEES[2], amount=50 * USD)
    expect_event(r, odd.token, "Transfer", **{"from": odd.pool.address, "to": PAYEES[2],
                                              "value": 50 * USD})
    assert (p.claimableOf(barred).call(), p.owedCapital().call()) == (0, 0)
    assert assert_invariant(ledger, odd.pool, odd.token) == {
        "total": 125 * USD, "locked": 125 * USD, "free": 0, "balance": 125 * USD}
    expect_revert(p.claim(PAYEES[2]), barred, "CoverPoolNothingOwed", payee=barred)


def test_finding4_pool_itself_barred_credits_every_payee(ledger, odd_pools) -> None:
    """A token-wide refusal (the pool blacklisted, or the token paused) stops no batch: every
    payout is owed, and claimable once the token lets the pool send again."""
    odd = odd_pools["blacklist"]
    p = _pool_of(ledger, odd, 100 * USD, 60 * USD)
    payees = [ledger.a.outsider, ledger.a.relayer, ledger.a.outsider]
    odd.refuse(ledger, odd.pool.address, True)
    r = ledger.send(p.payOut(payees, [10 * USD, 20 * USD, 5 * USD]), ledger.a.claims)
    assert [(e["payee"], e["amount"]) for e in events(r, odd.pool, "PayoutCredited")] == [
        (ledger.a.outsider, 10 * USD), (ledger.a.relayer, 20 * USD), (ledger.a.outsider, 5 * USD)]
    assert events(r, odd.token, "Transfer") == []
    assert [p.claimableOf(a).call() for a in payees[:2]] == [15 * USD, 20 * USD]
    assert assert_invariant(ledger, odd.pool, odd.token)["owed"] == 35 * USD
    odd.refuse(ledger, odd.pool.address, False)
    ledger.send(p.claim(ledger.a.outsider), ledger.a.outsider)
    assert odd.token.functions.balanceOf(ledger.a.outsider).call() == 15 * USD
    assert assert_invariant(ledger, odd.pool, odd.token)["owed"] == 20 * USD


def test_finding4_false_returning_transfer_credits_claimable(ledger, odd_pools) -> None:
    odd = odd_pools["false"]
    p, payee = _pool_of(ledger, odd, 500 * USD, 100 * USD), ledger.a.relayer
    odd.refuse(ledger, payee, True)
    r = ledger.send(p.payOut([payee, PAYEES[0]], [30 * USD, 20 * USD]), ledger.a.claims)
    assert events(r, odd.pool, "PayoutCredited") == [{"payee": payee, "amount": 30 * USD}]
    assert odd.token.functions.balanceOf(PAYEES[0]).call() == 20 * USD
    assert odd.token.functions.balanceOf(payee).call() == 0
    assert assert_invariant(ledger, odd.pool, odd.token) == {
        "total": 480 * USD, "locked": 50 * USD, "owed": 30 * USD, "free": 400 * USD,
        "balance": 480 * USD}
    # A claim whose transfer returns false reverts as a whole and leaves the credit in place.
    expect_revert(p.claim(payee), payee, "SafeERC20FailedOperation", token=odd.token.address)
    assert p.claimableOf(payee).call() == 30 * USD
    odd.refuse(ledger, payee, False)
    r = ledger.send(p.claim(payee), payee)
    expect_event(r, odd.pool, "PayoutClaimed", payee=payee, to=payee, amount=30 * USD)
    assert odd.token.functions.balanceOf(payee).call() == 30 * USD
    assert assert_invariant(ledger, odd.pool, odd.token)["total"] == 450 * USD


def test_finding4_credit_accumulates_and_refused_zero_amount_is_skipped(ledger, odd_pools) -> None:
    odd = odd_pools["blacklist"]
    p, payee = _pool_of(ledger, odd, 100 * USD, 100 * USD), ledger.a.assessor
    odd.refuse(ledger, payee, True)
    ledger.send(p.payOut([payee, payee], [7 * USD, 0]), ledger.a.claims)
    r = ledger.send(p.payOut([payee], [3 * USD]), ledger.a.claims)
    expect_event(r, odd.pool, "PayoutCredited", payee=payee, amount=3 * USD)
    assert p.claimableOf(payee).call() == p.owedCapital().call() == 10 * USD
    # owed is the slot after the packed free/locked pair.
    slot2 = ledger.w3.eth.get_storage_at(odd.pool.address, 2)
    assert int.from_bytes(slot2, "big") == 10 * USD


def test_finding8_fee_on_transfer_deposit_credits_delta(ledger, odd_pools) -> None:
    odd = odd_pools["fee"]
    p, alice = odd.pool.functions, ledger.a.alice
    ledger.send(odd.token.functions.setFee(100), alice)  # 1 %
    assert p.deposit(1_000 * USD).call({"from": alice}) == 990 * USD
    r = ledger.send(p.deposit(1_000 * USD), alice)
    expect_event(r, odd.pool, "CapitalDeposited", **{"from": alice, "amount": 990 * USD})
    expect_event(r, odd.token, "Transfer", **{"from": alice, "to": odd.pool.address,
                                              "value": 990 * USD})
    # Credited what arrived: assets equal the balance, not the 1,000 asked.
    assert assert_invariant(ledger, odd.pool, odd.token) == {
        "total": 990 * USD, "locked": 0, "free": 990 * USD, "balance": 990 * USD}
    # All of it can leave again (the recipient bears the fee on the way out).
    ledger.send(p.withdraw(PAYEES[0], 990 * USD), ledger.a.owner)
    assert odd.token.functions.balanceOf(PAYEES[0]).call() == 990 * USD - 9_900_000
    assert assert_invariant(ledger, odd.pool, odd.token)["balance"] == 0


def test_finding8_deposit_delivering_nothing_is_refused(ledger, odd_pools) -> None:
    odd = odd_pools["fee"]
    ledger.send(odd.token.functions.setFee(10_000), ledger.a.alice)  # everything is burnt
    expect_revert(odd.pool.functions.deposit(5 * USD), ledger.a.alice, "CoverPoolTransferShortfall",
                  expected=5 * USD, received=0)
    assert snapshot(ledger, odd.pool, odd.token)["total"] == 0


def test_finding8_fee_on_transfer_premium_shortfall_reverts(ledger, odd_pools) -> None:
    odd = odd_pools["fee"]
    p, book, payer = _pool_of(ledger, odd, 1_000 * USD), ledger.a.claims, ledger.a.bob
    ledger.send(odd.token.functions.setFee(100), ledger.a.alice)
    before = snapshot(ledger, odd.pool, odd.token)
    expect_revert(p.collectPremium(payer, 10 * USD), book, "CoverPoolTransferShortfall",
                  expected=10 * USD, received=9_900_000)
    assert snapshot(ledger, odd.pool, odd.token) == before
    # An amount whose fee rounds to zero arrives in full and is accepted.
    r = ledger.send(p.collectPremium(payer, 99), book)
    expect_event(r, odd.pool, "PremiumCollected", payer=payer, amount=99)
    ledger.send(odd.token.functions.setFee(0), ledger.a.alice)
    ledger.send(p.collectPremium(payer, 10 * USD), book)
    assert assert_invariant(ledger, odd.pool, odd.token)["total"] == before["total"] + 10 * USD + 99


def test_finding8_fee_switched_on_later_keeps_invariant(ledger, odd_pools) -> None:
    """Capital taken in without a fee; the fee starts afterwards (as a stablecoin may allow):
    what leaves is debited in full from the pool, the recipient bears the fee."""
    odd = odd_pools["fee"]
    p = _pool_of(ledger, odd, 1_000 * USD, 400 * USD)
    ledger.send(odd.token.functions.setFee(50), ledger.a.alice)  # 0.5 %
    ledger.send(p.payOut([PAYEES[0]], [200 * USD]), ledger.a.claims)
    assert odd.token.functions.balanceOf(PAYEES[0]).call() == 199 * USD
    assert assert_invariant(ledger, odd.pool, odd.token) == {
        "total": 800 * USD, "locked": 200 * USD, "free": 600 * USD, "balance": 800 * USD}
    ledger.send(p.withdraw(PAYEES[1], 600 * USD), ledger.a.owner)
    expect_revert(p.recoverSurplus(PAYEES[1]), ledger.a.owner, "CoverPoolZeroAmount")
    assert assert_invariant(ledger, odd.pool, odd.token)["total"] == 200 * USD


# --- the model: a seeded random walk and a hypothesis state machine ---------------------------

def _amount(rng: random.Random, cap: int) -> int:
    return rng.choice([0, 1, cap, cap + 1, rng.randint(1, max(cap, 1)), rng.randint(1, max(cap, 1))])


def _walk_step(w: PoolWalk, rng: random.Random) -> str:
    ops = ["deposit", "deposit", "withdraw", "lock", "lock", "release", "premium", "payout",
           "payout", "claim", "donate", "recover"]
    if w.kind in REFUSING:
        ops += ["payout", "claim", "claim", "refuse"]
    if w.kind == "fee":
        ops += ["fee", "premium"]
    op = rng.choice(ops)
    if op == "deposit":
        return w.deposit(_amount(rng, 2_000 * USD))
    if op == "withdraw":
        return w.withdraw(_amount(rng, w.free))
    if op == "lock":
        return w.lock(_amount(rng, w.free))
    if op == "release":
        return w.release(_amount(rng, w.locked))
    if op == "premium":
        return w.premium(rng.choice([0, 1, 99, 100, rng.randint(1, 50 * USD)]))
    if op == "payout":
        total = _amount(rng, w.locked)
        n = rng.randint(1, 3)
        cuts = sorted(rng.randint(0, total) for _ in range(n - 1))
        amounts = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
        return w.payout([(rng.randrange(3), amt) for amt in amounts])
    if op == "claim":  # mostly a payee that is owed something
        owed = [i for i, x in enumerate(w.payees) if w.claimable[x]]
        return w.claim(rng.choice(owed) if owed and rng.random() < 0.8 else rng.randrange(3),
                       rng.random() < 0.5)
    if op == "donate":
        return w.donate(rng.choice([0, rng.randint(1, 100 * USD)]))
    if op == "recover":
        return w.recover()
    if op == "refuse":
        return w.refuse(rng.randrange(4), rng.random() < 0.7)
    return w.set_fee(rng.choice([0, 1, 100, 100, 250, 10_000]))


# Seeds whose 80 steps reach every path the coverage asserts below name (found by trying 0, 1, …).
WALK_SEEDS = {"plain": 0, "blacklist": 3, "false": 1, "fee": 1}


@pytest.mark.parametrize("kind", KINDS)
def test_random_operations_keep_invariant_and_match_model(ledger, odd_pools, kind) -> None:
    """A seeded random walk over every state-changing call (valid, boundary and invalid amounts;
    payouts to payees the token refuses; claims; fees switched on and off), checked against the
    independent model in pool_model.py and locked + owed ≤ assets ≤ balance after every step."""
    w = PoolWalk(ledger, odd_pools[kind])
    rng = random.Random(f"cover-pool-{kind}-{WALK_SEEDS[kind]}")
    for step in range(1, 81):
        _walk_step(w, rng)
        w.check()
        if step % 10 == 0:
            w.check_views()
    # The walk really exercised each call's success path and each limit's rejection path.
    o = w.outcomes
    for op in ("withdraw", "lock", "release", "premium", "donate", "recover"):
        assert o[op, "ok"] > 0, (op, o)
    for op in ("deposit", "withdraw", "lock", "release", "payout", "claim"):
        assert o[op, "rejected"] + o[op, "zero"] > 0, (op, o)
    assert o["deposit", "ok"] + o["deposit", "fee"] > 0, o
    assert o["payout", "ok"] > 0, o
    if kind in REFUSING:
        assert o["payout", "credited"] > 0, o
        assert o["claim", "ok"] > 0, o
        assert o["claim", "refused"] > 0, o
    if kind == "fee":
        assert o["deposit", "fee"] > 0, o
        assert o["premium", "rejected"] > 0, o


AMOUNTS = st.one_of(st.sampled_from([0, 1, 99, 100 * USD]), st.integers(0, 3_000 * USD))
EIGHTHS = st.integers(0, 9)  # an amount as a share of its limit: 8/8 is the limit, 9/8 beyond it
MACHINE_OPS = ["payout", "claim", "refuse", "lock", "deposit", "premium", "withdraw", "release", "donate",
               "recover", "fee"]


class PoolMachine(RuleBasedStateMachine):
    """The same operations chosen and shrunk by hypothesis, on one kind of token per example;
    every example starts from the module's fresh pools (snapshot at start, revert at teardown)."""

    led: Ledger
    pools: dict[str, OddPool]

    def __init__(self) -> None:
        super().__init__()
        self.snap = self.led.tester.take_snapshot()
        self.w: PoolWalk | None = None
        self.checks = 0

    @initialize(kind=st.sampled_from(KINDS), capital=st.integers(1, 5_000 * USD), share=EIGHTHS,
                refused=st.lists(st.booleans(), min_size=3, max_size=3))
    def start(self, kind: str, capital: int, share: int, refused: list[bool]) -> None:
        """Starts funded, part locked and (refusing tokens) some payees refused, so that few
        steps reach payouts, credits and claims."""
        self.w = w = PoolWalk(self.led, self.pools[kind])
        w.deposit(capital)
        w.lock(min(w.free, w.free * share // 8))
        if kind in REFUSING:
            for i, on in enumerate(refused):
                if on:
                    w.refuse(i, True)

    @rule(op=st.sampled_from(MACHINE_OPS), amount=AMOUNTS, share=EIGHTHS, nudge=st.sampled_from([-1, 0, 1]),
          who=st.integers(0, 3), flag=st.booleans(),
          parts=st.lists(st.tuples(st.integers(0, 2), EIGHTHS), min_size=1, max_size=3))
    def act(self, op: str, amount: int, share: int, nudge: int, who: int, flag: bool,
            parts: list[tuple[int, int]]) -> None:
        """One rule for every operation, so hypothesis's swarm testing (which disables whole
        rules per example) cannot switch payouts or claims off."""
        w = self.w
        assert w is not None
        if op == "deposit":
            w.deposit(amount)
        elif op == "premium":
            w.premium(amount % (5 * USD))
        elif op in ("withdraw", "lock"):
            getattr(w, op)(max(0, w.free * share // 8 + nudge))
        elif op == "release":
            w.release(w.locked * share // 8)
        elif op == "payout":
            w.payout([(i, w.locked * s // (8 * len(parts))) for i, s in parts])
        elif op == "claim":
            w.claim(who % 3, flag)
        elif op == "donate":
            w.donate(amount % (10 * USD))
        elif op == "recover":
            w.recover()
        elif op == "refuse" and w.kind in REFUSING:
            w.refuse(who, flag)
        elif op == "fee" and w.kind == "fee":
            w.set_fee([0, 1, 100, 10_000][share % 4])

    @invariant()
    def agrees_with_model(self) -> None:
        if self.w is not None:
            self.w.check()
            self.checks += 1
            if self.checks % 5 == 0:
                self.w.check_views()

    def teardown(self) -> None:
        self.led.tester.revert_to_snapshot(self.snap)


def test_pool_state_machine_matches_model(ledger, odd_pools) -> None:
    machine = type("BoundPoolMachine", (PoolMachine,), {"led": ledger, "pools": odd_pools})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=10, stateful_step_count=15, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))

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
