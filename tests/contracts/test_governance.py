"""A governed deployment (issue 9 item 7, finding 10): the timelock is the only admin, every admin
action waits out its delay in public, the deployer keeps nothing; the treasurer needs no delay."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_utils import keccak

from contracts import artifacts, governance
from contracts.deploy import Deployment, deploy
from contracts.reverts import ContractRevert
from tests.chain import ORACLES, QUORUM, USD, Ledger, events, expect_event, expect_revert, signer

DELAY = 3_600
ZERO32 = b"\x00" * 32
ROLE = {name: keccak(text=name) for name in (
    "BOOK_ROLE", "TREASURER_ROLE", "ACCREDITOR_ROLE", "UNDERWRITER_ROLE", "DISTRIBUTOR_ROLE", "CLAIMS_ROLE",
    "PROPOSER_ROLE", "EXECUTOR_ROLE", "CANCELLER_ROLE", "MAINTENANCE_ADMIN_ROLE")} | {"DEFAULT_ADMIN_ROLE": ZERO32}
READY = (1 << 2).to_bytes(32, "big")  # TimelockController's bitmap of OperationState.Ready
GOVERNED = ("AssessmentRegistry", "OutageOracle", "CoverPool", "PolicyBook", "Governance")


@dataclass
class Governed:
    led: Ledger
    dep: Deployment
    deployer: str
    governor: str  # the insurer's governance account: proposer, canceller, executor, treasurer
    c: dict[str, Any]

    @property
    def timelock(self) -> Any:
        return self.c["Governance"]

    def govern(self, call: Any) -> Any:
        return governance.govern(self.led.w3, self.timelock, call, self.governor)


@pytest.fixture(scope="module")
def gov(_ledger: Ledger) -> Iterator[Governed]:
    """A second, governed deployment on the session chain (its own snapshot for the module)."""
    led, a = _ledger, _ledger.a
    snap = led.tester.take_snapshot()
    try:
        dep = deploy(led.w3, a.outsider, admin=a.owner, oracle_signers=[o.address for o in ORACLES[:3]],
                     quorum=2, underwriters=[a.underwriter], distributors=[a.distributor], claims=[a.claims],
                     governance_delay=DELAY)
        contracts = {name: dep.contract(led.w3, name) for name in (*GOVERNED, "TestToken")}
        yield Governed(led, dep, a.outsider, a.owner, contracts)
    finally:
        led.tester.revert_to_snapshot(snap)


def current_holders(g: Governed) -> set[tuple[str, bytes, str]]:
    """(contract, role, account) for every role ever granted on the deployment and still held."""
    held = set()
    for name in GOVERNED:
        c = g.c[name]
        for log in c.events.RoleGranted().get_logs(from_block=g.dep.first_block):
            role, account = bytes(log["args"]["role"]), log["args"]["account"]
            if c.functions.hasRole(role, account).call():
                held.add((name, role, account))
    return held


def expect_not_ready(fn: Any, sender: str, op_id: bytes) -> None:
    expect_revert(fn, sender, "TimelockUnexpectedOperationState", operationId=op_id, expectedStates=READY)


# --- the deployment ----------------------------------------------------------------------------

def test_governed_deploy_timelock_is_the_only_admin_and_deployer_keeps_nothing(gov) -> None:
    a, tl = gov.led.a, gov.timelock.address
    # CohortBook holds no roles of its own: it reads PolicyBook's (governed above).
    assert set(gov.dep.contracts) == {*GOVERNED, "TestToken", "CohortBook"}
    assert gov.timelock.functions.getMinDelay().call() == DELAY
    r = ROLE
    assert current_holders(gov) == {
        # every admin power: the timelock alone
        ("AssessmentRegistry", r["DEFAULT_ADMIN_ROLE"], tl), ("AssessmentRegistry", r["ACCREDITOR_ROLE"], tl),
        ("OutageOracle", r["DEFAULT_ADMIN_ROLE"], tl),
        ("CoverPool", r["DEFAULT_ADMIN_ROLE"], tl),
        ("PolicyBook", r["DEFAULT_ADMIN_ROLE"], tl),
        # the timelock administers itself (no bootstrap admin); the governor proposes and executes
        ("Governance", r["DEFAULT_ADMIN_ROLE"], tl),
        ("Governance", r["PROPOSER_ROLE"], a.owner), ("Governance", r["CANCELLER_ROLE"], a.owner),
        ("Governance", r["EXECUTOR_ROLE"], a.owner),
        # operational roles, set up directly at deployment
        ("CoverPool", r["TREASURER_ROLE"], a.owner), ("CoverPool", r["BOOK_ROLE"], gov.c["PolicyBook"].address),
        ("CoverPool", r["BOOK_ROLE"], gov.dep.address("CohortBook")),
        ("PolicyBook", r["UNDERWRITER_ROLE"], a.underwriter), ("PolicyBook", r["DISTRIBUTOR_ROLE"], a.distributor),
        ("PolicyBook", r["CLAIMS_ROLE"], a.claims), ("OutageOracle", r["MAINTENANCE_ADMIN_ROLE"], a.underwriter),
    }
    assert not any(account == gov.deployer for _, _, account in current_holders(gov))
    # The deployer did hold the constructors' roles, and gave each of them up itself.
    for name in ("AssessmentRegistry", "OutageOracle", "CoverPool", "PolicyBook"):
        revoked = gov.c[name].events.RoleRevoked().get_logs(from_block=gov.dep.first_block)
        assert any(e["args"]["account"] == gov.deployer and e["args"]["sender"] == gov.deployer for e in revoked)
    assert gov.c["OutageOracle"].functions.config().call()[1:] == [2, [o.address for o in ORACLES[:3]]]


def test_deploy_rejects_a_negative_delay_before_sending_anything(ledger) -> None:
    nonce = ledger.w3.eth.get_transaction_count(ledger.a.outsider)
    with pytest.raises(ValueError, match="governance_delay"):
        deploy(ledger.w3, ledger.a.outsider, governance_delay=-1)
    assert ledger.w3.eth.get_transaction_count(ledger.a.outsider) == nonce


# --- admin actions go through the delay ---------------------------------------------------------

def test_oracle_set_change_through_timelock_fails_before_delay_and_succeeds_after(gov, ledger) -> None:
    oracle, w3, governor = gov.c["OutageOracle"], ledger.w3, gov.governor
    new_set = [o.address for o in ORACLES]
    call = oracle.functions.setConfig(new_set, QUORUM)
    # Nobody can change it directly, not the governor, not the deployer.
    for who in (governor, gov.deployer):
        expect_revert(call, who, "AccessControlUnauthorizedAccount", account=who, neededRole=ZERO32)
    op = governance.schedule(w3, gov.timelock, call, governor)
    scheduled = gov.timelock.events.CallScheduled().get_logs(from_block=w3.eth.block_number)
    assert [(bytes(e["args"]["id"]), e["args"]["target"], e["args"]["delay"]) for e in scheduled] == [
        (op.id, oracle.address, DELAY)]
    assert op.ready_at == ledger.now() + DELAY
    execute = gov.timelock.functions.execute(oracle.address, 0, op.payloads[0], op.predecessor, op.salt)
    expect_not_ready(execute, governor, op.id)
    ledger.travel(DELAY - 10)
    expect_not_ready(execute, governor, op.id)
    assert oracle.functions.config().call()[0] == 1  # unchanged while pending
    governance.wait_until(w3, op.ready_at)
    r = governance.execute(w3, gov.timelock, op, governor)
    expect_event(r, oracle, "OracleConfigSet", version=2, quorum=QUORUM, signers=new_set)
    expect_event(r, gov.timelock, "CallExecuted", id=op.id, target=oracle.address)
    assert oracle.functions.config().call() == [2, QUORUM, new_set]
    # Done once: it cannot be replayed.
    expect_revert(execute, governor, "TimelockUnexpectedOperationState", operationId=op.id)


def test_role_grant_through_timelock_fails_before_delay_and_succeeds_after(gov, ledger) -> None:
    pool, w3, governor = gov.c["CoverPool"], ledger.w3, gov.governor
    rogue = signer("another-book").address
    call = pool.functions.grantRole(ROLE["BOOK_ROLE"], rogue)
    expect_revert(call, governor, "AccessControlUnauthorizedAccount", account=governor, neededRole=ZERO32)
    op = governance.schedule(w3, gov.timelock, call, governor)
    with pytest.raises(ContractRevert) as info:
        governance.execute(w3, gov.timelock, op, governor)
    assert info.value.name == "TimelockUnexpectedOperationState"
    assert not pool.functions.hasRole(ROLE["BOOK_ROLE"], rogue).call()
    governance.wait_until(w3, op.ready_at)
    r = governance.execute(w3, gov.timelock, op, governor)
    expect_event(r, pool, "RoleGranted", role=ROLE["BOOK_ROLE"], account=rogue, sender=gov.timelock.address)
    assert pool.functions.hasRole(ROLE["BOOK_ROLE"], rogue).call()


def test_accreditation_and_book_roles_only_through_timelock(gov, ledger) -> None:
    registry, book = gov.c["AssessmentRegistry"], gov.c["PolicyBook"]
    assessor, governor = ledger.a.assessor, gov.governor
    expect_revert(registry.functions.setAssessor(assessor, 90), governor, "AccessControlUnauthorizedAccount",
                  account=governor, neededRole=ROLE["ACCREDITOR_ROLE"])
    expect_revert(book.functions.grantRole(ROLE["DISTRIBUTOR_ROLE"], ledger.a.bob), governor,
                  "AccessControlUnauthorizedAccount", account=governor, neededRole=ZERO32)
    # Both in one atomic batch.
    r = gov.govern([registry.functions.setAssessor(assessor, 90),
                    book.functions.grantRole(ROLE["DISTRIBUTOR_ROLE"], ledger.a.bob)])
    assert len(events(r, gov.timelock, "CallExecuted")) == 2
    assert registry.functions.hasRole(ROLE["ACCREDITOR_ROLE"], gov.timelock.address).call()
    assert book.functions.hasRole(ROLE["DISTRIBUTOR_ROLE"], ledger.a.bob).call()


def test_excluded_event_only_through_timelock_after_its_delay(gov, ledger) -> None:
    """An excluded event stops auto-pay: only the timelock declares it, visibly ahead of effect."""
    oracle, w3, governor = gov.c["OutageOracle"], ledger.w3, gov.governor
    service, reason = keccak(text="svc"), keccak(text="state-backed attack, public statement #1")
    start = ledger.now() - 7_200
    call = oracle.functions.declareExcludedEvent([service], start, start + 3_600, reason)
    for who in (governor, gov.deployer, ledger.a.underwriter):
        expect_revert(call, who, "AccessControlUnauthorizedAccount", account=who, neededRole=ZERO32)
    op = governance.schedule(w3, gov.timelock, call, governor)
    expect_not_ready(gov.timelock.functions.execute(oracle.address, 0, op.payloads[0], op.predecessor, op.salt),
                     governor, op.id)
    assert oracle.functions.excludedEventCount(service).call() == 0
    governance.wait_until(w3, op.ready_at)
    r = governance.execute(w3, gov.timelock, op, governor)
    expect_event(r, oracle, "ExcludedEventDeclared", serviceId=service, index=0, start=start, end=start + 3_600,
                 reason=reason)
    assert oracle.functions.excludedEventCount(service).call() == 1
    # Maintenance rules are operational: the service account sets them directly.
    ledger.send(oracle.functions.setMaintenanceRules(service, (ledger.a.distributor, 3_600, 36_000)),
                ledger.a.underwriter)
    assert list(oracle.functions.maintenanceRules(service).call()) == [ledger.a.distributor, 3_600, 36_000]


def test_only_the_governor_proposes_and_executes_and_can_cancel(gov, ledger) -> None:
    w3, tl, governor = ledger.w3, gov.timelock, gov.governor
    call = gov.c["CoverPool"].functions.grantRole(ROLE["BOOK_ROLE"], ledger.a.bob)
    for who in (gov.deployer, ledger.a.bob):
        with pytest.raises(ContractRevert) as info:
            governance.schedule(w3, tl, call, who)
        assert (info.value.name, info.value.params["neededRole"]) == (
            "AccessControlUnauthorizedAccount", ROLE["PROPOSER_ROLE"])
    op = governance.schedule(w3, tl, call, governor)
    governance.wait_until(w3, op.ready_at)
    with pytest.raises(ContractRevert) as info:
        governance.execute(w3, tl, op, gov.deployer)
    assert info.value.params["neededRole"] == ROLE["EXECUTOR_ROLE"]
    # Cancelled while ready: it never runs.
    r = governance.cancel(w3, tl, op, governor)
    expect_event(r, tl, "Cancelled", id=op.id)
    with pytest.raises(ContractRevert) as info:
        governance.execute(w3, tl, op, governor)
    assert info.value.name == "TimelockUnexpectedOperationState"
    assert not gov.c["CoverPool"].functions.hasRole(ROLE["BOOK_ROLE"], ledger.a.bob).call()


def test_shorter_delay_refused_and_delay_change_is_itself_delayed(gov, ledger) -> None:
    w3, tl, governor = ledger.w3, gov.timelock, gov.governor
    call = gov.c["OutageOracle"].functions.setConfig([o.address for o in ORACLES], QUORUM)
    with pytest.raises(ContractRevert) as info:
        governance.schedule(w3, tl, call, governor, delay=DELAY - 1)
    assert (info.value.name, info.value.params) == ("TimelockInsufficientDelay", {"delay": DELAY - 1,
                                                                                 "minDelay": DELAY})
    expect_revert(tl.functions.updateDelay(60), governor, "TimelockUnauthorizedCaller", caller=governor)
    r = gov.govern(tl.functions.updateDelay(60))
    expect_event(r, tl, "MinDelayChange", oldDuration=DELAY, newDuration=60)
    assert tl.functions.getMinDelay().call() == 60


def test_treasurer_withdraws_free_capital_without_delay(gov, ledger) -> None:
    pool, token, governor = gov.c["CoverPool"], gov.c["TestToken"], gov.governor
    ledger.send(token.functions.mint(ledger.a.alice, 100 * USD), ledger.a.alice)
    ledger.send(token.functions.approve(pool.address, 2**256 - 1), ledger.a.alice)
    ledger.send(pool.functions.deposit(100 * USD), ledger.a.alice)
    r = ledger.send(pool.functions.withdraw(governor, 40 * USD), governor)
    expect_event(r, pool, "CapitalWithdrawn", to=governor, amount=40 * USD)
    # Granting the treasurer role to someone else, though, is an admin action.
    expect_revert(pool.functions.grantRole(ROLE["TREASURER_ROLE"], ledger.a.bob), governor,
                  "AccessControlUnauthorizedAccount", account=governor, neededRole=ZERO32)


def test_governance_artifact_is_an_unchanged_timelock_controller() -> None:
    names = {i["name"] for i in artifacts.abi("Governance") if i["type"] == "function"}
    assert {"schedule", "scheduleBatch", "execute", "executeBatch", "cancel", "updateDelay", "getMinDelay",
            "hashOperation", "hashOperationBatch", "grantRole"} <= names
