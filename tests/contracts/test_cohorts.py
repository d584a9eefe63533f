"""CohortBook: group covers over Merkle roots, settled in rounds, paid in batches."""

from __future__ import annotations

from eth_utils import keccak

from contracts.merkle import StandardTree, member_leaf
from tests.chain import USD, expect_revert, signer
from tests.contracts.helpers import HOUR, SERVICE, make_env


def members(n: int, limit: int = 500 * USD, tag: str = "m") -> list[tuple]:
    return [(i, signer(f"{tag}{i}").address, limit, keccak(text=f"salt|{tag}{i}")) for i in range(n)]


def tree(ms: list[tuple]) -> StandardTree:
    return StandardTree([member_leaf(*m) for m in ms])


def test_issue_settle_pay_smoke(ledger) -> None:  # noqa: ANN001
    env = make_env(ledger)
    led, a = ledger, ledger.a
    led.fund(a.distributor, 0, led.pool.address)
    ms = members(8)
    t = tree(ms)
    assert led.cohorts.functions.leafOf(ms[3]).call() == t.leaf(3)
    terms = (env.fixed, 0, led.now() + 30 * 86400, keccak(text="subject"), env.report)
    from tests.chain import SUBJECT

    terms = (env.fixed, 0, led.now() + 30 * 86400, SUBJECT, env.report)
    led.send(led.cohorts.functions.issueCohort(terms, t.root, 8, 8 * 500 * USD, 80 * USD), a.distributor)
    assert led.pool.functions.lockedCapital().call() == 8 * 500 * USD
    start = led.now() + 10
    led.travel(3 * HOUR)
    led.verify_outage(SERVICE, start, start + 2 * HOUR)
    led.travel(120, mine=True)
    led.send(led.cohorts.functions.settle(1), a.relayer)
    assert led.cohorts.functions.roundLevel(1, 0, 1).call() == 100 * USD
    mp = t.multiproof(range(8))
    batch = [ms[i] for i in mp.indices]
    led.send(led.cohorts.functions.payBatch(1, 1, 0, batch, mp.proof, mp.flags), a.relayer)
    assert led.balance(ms[0][1]) == 100 * USD
    # Twice: nobody is paid again.
    led.send(led.cohorts.functions.payBatch(1, 1, 0, batch, mp.proof, mp.flags), a.relayer)
    assert led.balance(ms[0][1]) == 100 * USD
    expect_revert(led.cohorts.functions.claim(1, 1, 0, ms[0], t.proof(1)), a.relayer, "CohortBookInvalidProof")
