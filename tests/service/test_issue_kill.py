"""kill -9 of an issuing process with its issue transactions unmined in the node's pool (anvil,
real JSON-RPC), then mining resumes: the reconciler records every cover's owner from the chain
(the salts and references were written ahead) and finishes the batch; nothing is issued twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from eth_utils import keccak
from fastapi import FastAPI

from service.db import models as m
from service.domain import issue_intents
from tests.service.helpers import Api
from tests.service.test_issue_batches import _covers, _quote
from tests.service.test_pipeline_worker import ROOT, _pooled, _rpc, stack  # noqa: F401 - the fixture
from tests.service.test_reorg import AnvilChain

COVERS, CHUNK = 6, 2


def test_kill_9_with_issue_transactions_in_flight_loses_no_owner(
        stack: tuple[Api, FastAPI, AnvilChain, str, str], tmp_path: Path) -> None:  # noqa: F811
    api, app, chain, url, db_url = stack
    tenant = api.tenant()
    headers = api.key(tenant, "distributor")
    quote = _quote(api, tenant, headers)
    covers = _covers(quote["id"] + "k", COVERS)
    manifest = tmp_path / "deployment.json"
    chain.dep.write(manifest)
    env = {**os.environ, "CYBERCOVER_RPC_URL": url, "CYBERCOVER_MANIFEST": str(manifest),
           "CYBERCOVER_DATABASE_URL": db_url, "CYBERCOVER_DATA_DIR": str(tmp_path),
           "CYBERCOVER_OPERATOR_ADDRESS": chain.operator, "CYBERCOVER_ASSESSOR_ADDRESS": chain.assessor}
    spec = {"quote_id": quote["id"], "tenant_id": tenant, "covers": covers, "chunk": CHUNK}
    before = int(chain.book.functions.policyCount().call())

    _rpc(chain, "evm_setAutomine", False)  # the child's issue transactions stay in the pool
    child = subprocess.Popen([sys.executable, "-m", "tests.service.issue_child", json.dumps(spec)], cwd=ROOT,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while _pooled(chain) < COVERS // CHUNK and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    pooled = _pooled(chain)
    os.kill(child.pid, signal.SIGKILL)
    out = child.communicate()[0].decode()
    assert pooled == COVERS // CHUNK and child.returncode == -signal.SIGKILL, out[-3000:]
    batch_id = out.split()[0] if out.split() and len(out.split()[0]) == 32 else None
    with app.state.factory() as s:
        batch = s.query(m.IssueBatch).filter(m.IssueBatch.tenant_id == tenant).one()
        assert batch_id in (None, batch.id), out[-3000:]
        assert batch.status in ("sending", "pending")
        assert s.query(m.PolicyOwner).filter(m.PolicyOwner.quote_id == quote["id"]).count() == 0

    _rpc(chain, "evm_setAutomine", True)
    _rpc(chain, "evm_mine")  # the dead process's transactions land
    assert int(chain.book.functions.policyCount().call()) == before + COVERS
    gw = app.state.gateway
    done = issue_intents.reconcile(app.state.factory, gw, app.state.indexer, stale_after=0)
    assert done.issued == COVERS and done.batches == [batch.id]
    status: dict[str, Any] = api.ok(api.c.get(f"/v1/policies/batches/{batch.id}", headers=headers))
    assert status["status"] == "issued" and len(status["policy_ids"]) == COVERS
    refs = {c["holder_ref"] for c in covers}
    with app.state.factory() as s:
        for pid in status["policy_ids"]:
            owner, policy = s.get(m.PolicyOwner, pid), s.get(m.Policy, pid)
            assert owner is not None and policy is not None and owner.holder_ref in refs
            salt = bytes.fromhex(owner.holder_salt[2:])
            assert "0x" + keccak(salt + owner.holder_ref.encode()).hex() == policy.holder
    again = issue_intents.reconcile(app.state.factory, gw, app.state.indexer, stale_after=0)
    assert again == issue_intents.Reconciled()
    assert int(chain.book.functions.policyCount().call()) == before + COVERS  # nothing issued twice
