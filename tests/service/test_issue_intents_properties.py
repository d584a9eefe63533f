"""The write-ahead issuance log against a model, with the adversary choosing the interleaving.

Each chunk of a batch is written ahead with its nonce, then its nonce is consumed by the chain
(the chunk mined, or another transaction taking the nonce) or never; the live issuing thread
records the receipts of mined chunks until it dies at a chosen point; reconciler passes (stale
or not) run anywhere in between, on a chain the test controls. Whatever the order:

- every mined cover ends with exactly one owner (its salt and reference) and its schedule;
- no unmined cover has an owner, and none is called not issued while its nonce is unspent;
- the batch is finished only once no cover's outcome is open, and then lists exactly the mined
  covers, `not_issued_from` the first cover that is not on-chain.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from contracts.eip55 import to_checksum_address
from service.db import models as m
from service.db.migrate import upgrade
from service.db.session import make_sessionmaker, transaction
from service.domain import issue_intents
from service.domain.issue_intents import Intent
from service.domain.wording.document import for_cover, schedule_hash
from tests.service.conftest import fresh_engine

SHARED = {"schema": "test", "product": {"id": 1, "name": "p"}, "limit": "1000"}
TENANT = "t" * 32


@pytest.fixture(scope="module")
def factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    engine = fresh_engine("sqlite", tmp_path_factory.mktemp("intents"), "intents")
    upgrade(engine)
    f = make_sessionmaker(engine)
    with transaction(f) as s:
        s.add(m.Tenant(id=TENANT, name="props"))
    yield f
    engine.dispose()


@dataclass
class Chain:
    """Nonces consumed in order; each consumption mines its chunk's policies or not."""

    count: int = 0
    next_id: int = 1
    policies: dict[str, int] = field(default_factory=dict)  # holder commitment → policy id

    def gateway(self) -> Any:
        eth = SimpleNamespace(get_transaction_count=lambda _address, _block: self.count)
        return SimpleNamespace(w3=SimpleNamespace(eth=eth), operator=SimpleNamespace(address="0x" + "aa" * 20))


def _policy(pid: int, c: Intent) -> m.Policy:
    return m.Policy(id=pid, product_id=1, issuer="0x" + "aa" * 20, cover_start=0, cover_end=1, limit=1000,
                    beneficiary=c.beneficiary, holder=c.key, subject="0x" + "00" * 32, report_hash="0x" + "00" * 32,
                    schedule_hash="0x" + schedule_hash(for_cover(SHARED, c.holder, c.beneficiary)).hex(),
                    premium=10, renewal_of=0, renewed_by=0, settled=0, paid=0, open_claim=0, event_settled=0,
                    status=0, block=pid, tx="0x" + pid.to_bytes(32, "big").hex())


def _intent(position: int, tag: int) -> Intent:
    salt = keccak(text=f"salt/{tag}/{position}")
    ref = f"ref-{tag}-{position}"
    beneficiary = to_checksum_address("0x" + keccak(text=ref)[:20].hex())
    return Intent(position, keccak(salt + ref.encode()), ref, salt, beneficiary)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[int], int, list[str], int, int]:
    sizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=4))
    written = draw(st.integers(0, len(sizes)))  # the process died before writing the rest
    fates: list[str] = []
    for _ in range(written):  # nonces are consumed in order: once one is unspent, so are the later ones
        fates.append("open" if fates and fates[-1] == "open" else draw(st.sampled_from(["mined", "taken", "open"])))
    live_until = draw(st.integers(0, written))  # the live thread records receipts of chunks before this one
    seed = draw(st.integers(0, 2**32 - 1))
    return sizes, written, fates, live_until, seed


_counter = iter(range(10**9))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenarios())
def test_every_mined_cover_gets_one_owner_and_the_batch_ends_as_the_chain_says(
        factory: sessionmaker[Session], scenario: tuple[list[int], int, list[str], int, int]) -> None:
    sizes, written, fates, live_until, seed = scenario
    rnd = random.Random(seed)
    tag = next(_counter)
    with transaction(factory) as s:
        for table in (m.IssueIntent, m.IssueRun, m.PolicySchedule, m.PolicyOwner, m.Policy, m.IssueBatch):
            s.execute(delete(table))
        batch = m.IssueBatch(tenant_id=TENANT, quote_id="q", status="pending", total=sum(sizes), policy_ids=[])
        s.add(batch)
    starts = [sum(sizes[:k]) for k in range(len(sizes))]
    chunks = [[_intent(starts[k] + j, tag) for j in range(sizes[k])] for k in range(len(sizes))]
    chain = Chain()
    gw = chain.gateway()
    indexer = SimpleNamespace(sync=lambda: 0, block=lambda: 0)
    live = factory()
    wal = issue_intents.WriteAhead(live, tenant_id=TENANT, quote_id="q", batch_id=batch.id, shared=SHARED)

    written_ok = written  # chunks actually written: a batch finished meanwhile refuses the rest
    done: set[tuple[str, int]] = set()

    def enabled() -> list[tuple[str, int]]:
        """What may happen next: write k after k−1; consume k after write k and consume k−1;
        the live claim of a mined k after its consumption."""
        out = []
        for k in range(written_ok):
            if ("write", k) not in done and (k == 0 or ("write", k - 1) in done):
                out.append(("write", k))
            if (fates[k] != "open" and ("consume", k) not in done and ("write", k) in done
                    and (k == 0 or ("consume", k - 1) in done)):
                out.append(("consume", k))
            if fates[k] == "mined" and k < live_until and ("claim", k) not in done and ("consume", k) in done:
                out.append(("claim", k))
        return out

    minted: dict[str, tuple[int, Intent]] = {}
    reconciles = rnd.randint(0, 5)
    while True:
        options = enabled()
        if not options and not reconciles:
            break
        if reconciles and (not options or rnd.random() < 0.4):
            reconciles -= 1
            issue_intents.reconcile(factory, gw, indexer,  # type: ignore[arg-type]
                                    stale_after=rnd.choice([0, 3600]))
            _no_wrong_verdict(factory, minted, chunks, fates, chain.count)
            continue
        kind, k = rnd.choice(options)
        done.add((kind, k))
        if kind == "write":
            try:
                wal.hook(chunks[k])(k)  # chunk k's nonce is k
            except issue_intents.BatchClosed:  # finished as dead: this chunk and the later ones are never sent
                live.rollback()
                written_ok = k
        elif kind == "consume":
            assert chain.count == k
            chain.count += 1
            if fates[k] == "mined":
                with transaction(factory) as s:
                    for c in chunks[k]:
                        pid = chain.next_id
                        chain.next_id += 1
                        s.add(_policy(pid, c))
                        minted[c.key] = (pid, c)
        else:  # the live thread's receipt of chunk k, as issuance.landed records it
            claimed = wal.claim([(c, minted[c.key][0]) for c in chunks[k]])
            issue_intents.record(live, tenant_id=TENANT, quote_id="q", batch_id=batch.id, product_id=1, limit=1000,
                                 premium=10, rows=[(pid, c, for_cover(SHARED, c.holder, c.beneficiary),
                                                    schedule_hash(for_cover(SHARED, c.holder, c.beneficiary)))
                                                   for c, pid in claimed], block=1, tx="0x" + "11" * 32)
            live.commit()
    written = written_ok
    live.close()
    # The thread is dead: a stale pass, then the model's verdict.
    issue_intents.reconcile(factory, gw, indexer, stale_after=0)  # type: ignore[arg-type]
    _no_wrong_verdict(factory, minted, chunks, fates, chain.count)

    with factory() as s:
        owners = {o.policy_id: o for o in s.scalars(select(m.PolicyOwner))}
        schedules = {p.policy_id: p for p in s.scalars(select(m.PolicySchedule))}
        assert set(owners) == {pid for pid, _ in minted.values()}  # one row a policy: the primary key
        for pid, c in minted.values():
            assert (owners[pid].holder_ref, owners[pid].holder_salt) == (c.holder_ref, "0x" + c.salt.hex())
            assert schedules[pid].schedule_hash == s.get(m.Policy, pid).schedule_hash  # type: ignore[union-attr]
        row = s.get(m.IssueBatch, batch.id)
        assert row is not None
        still_open = any(fates[k] == "open" for k in range(written))
        if still_open:
            assert row.status == "pending"
            return
        mined_positions = {c.position for _, c in minted.values()}
        missing = [p for p in range(sum(sizes)) if p not in mined_positions]
        assert row.status == ("issued" if not missing else "partial" if minted else "failed")
        assert row.policy_ids == sorted(pid for pid, _ in minted.values())
        assert (row.error or {}).get("not_issued_from") == (missing[0] if missing else None)
        assert s.scalar(select(func.count()).select_from(m.IssueIntent)) == 0  # forgotten once final


def _no_wrong_verdict(factory: sessionmaker[Session], minted: dict[str, tuple[int, Intent]],
                      chunks: list[list[Intent]], fates: list[str], count: int) -> None:
    """No intent is called not issued while it is (or may still be) on-chain."""
    with factory() as s:
        for k, chunk in enumerate(chunks):
            for c in chunk:
                row = s.get(m.IssueIntent, c.key)
                if row is None:
                    continue
                if c.key in minted:
                    assert row.outcome in (None, "issued")
                if row.outcome == "not_issued":
                    assert fates[k] == "taken" and k < count
