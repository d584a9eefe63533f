"""`cybercover up` deploys the OutageOracle with a merge gap and finality delay matched to the
local nodes it starts (short buckets and transmit rounds), and products it serves get a grace
period that covers the finality delay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eth_account import Account

from contracts.deploy import Deployment
from oracles.verdicts import BUCKET_SECONDS
from service.commands.up import bootstrap
from service.stack.nodes import (
    FINALITY_DELAY,
    MERGE_GAP,
    MINUTE,
    PROBE,
    TRANSMIT_INTERVAL,
    Target,
    node_config,
)
from tests.anvil import anvil


def test_episode_parameters_match_the_local_nodes(tmp_path: Path) -> None:
    assert MINUTE == BUCKET_SECONDS
    assert PROBE["close_after"] * BUCKET_SECONDS == MERGE_GAP  # a node's longest UP gap inside one outage
    assert FINALITY_DELAY == 4 * TRANSMIT_INTERVAL
    signers = [Account.create().address for _ in range(3)]
    cfg = node_config(0, tmp_path, [9001, 9002, 9003], "http://127.0.0.1:9000", 31337, "0x" + "11" * 20, signers,
                      [Target("https://covered.example/health", 60)], lambda _: None)
    assert cfg.transmit.interval == TRANSMIT_INTERVAL
    with anvil() as (_, w3):
        boot = bootstrap(w3, tmp_path, signers)
        dep = Deployment.from_json(boot["deployment"])
        oracle = dep.contract(w3, "OutageOracle").functions
        assert (oracle.mergeGap().call(), oracle.finalityDelay().call()) == (MERGE_GAP, FINALITY_DELAY) == (120, 20)
        assert bootstrap(w3, tmp_path, signers)["deployment"] == boot["deployment"]  # reused, not redeployed


def test_up_deploys_a_governed_ledger_whose_accreditation_and_exclusion_routes_work(tmp_path: Path) -> None:
    """`cybercover up`'s deployment: a timelock with a short delay holds every admin role, the
    service's operator proposes and executes, the local assessor is accredited directly; the
    accreditation review and an excluded event go through it end to end over the API."""
    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from contracts import eip712
    from service.api.app import create_app
    from service.commands.up import ASSESSOR_CAPABILITY, GOVERNANCE_DELAY
    from service.settings import Settings
    from tests.service.helpers import product_body

    signers = [Account.create().address for _ in range(3)]
    with anvil() as (url, w3):
        insurer, operator, assessor = w3.eth.accounts[:3]
        boot = bootstrap(w3, tmp_path, signers)
        dep = Deployment.from_json(boot["deployment"])
        timelock = dep.contract(w3, "Governance")
        registry, oracle, pool, book = (dep.contract(w3, n) for n in ("AssessmentRegistry", "OutageOracle",
                                                                     "CoverPool", "PolicyBook"))
        assert timelock.functions.getMinDelay().call() == GOVERNANCE_DELAY == 60
        tl = timelock.functions
        for who in (insurer, operator):
            assert all(tl.hasRole(getattr(tl, r)().call(), who).call()
                       for r in ("PROPOSER_ROLE", "EXECUTOR_ROLE", "CANCELLER_ROLE")), who
        for c in (registry, oracle, pool, book):  # the timelock alone administers
            admin = c.functions.DEFAULT_ADMIN_ROLE().call()
            assert c.functions.hasRole(admin, timelock.address).call()
            assert not any(c.functions.hasRole(admin, who).call() for who in (insurer, operator, assessor))
        accreditor = registry.functions.ACCREDITOR_ROLE().call()
        assert registry.functions.hasRole(accreditor, timelock.address).call()
        assert not registry.functions.hasRole(accreditor, insurer).call()
        assert registry.functions.capabilityOf(assessor).call() == ASSESSOR_CAPABILITY  # set before the hand-over
        assert pool.functions.hasRole(pool.functions.TREASURER_ROLE().call(), insurer).call()
        assert pool.functions.freeCapital().call() > 0
        assert book.functions.hasRole(book.functions.UNDERWRITER_ROLE().call(), operator).call()

        settings = Settings(data_dir=tmp_path, rpc_url=url, admin_key=SecretStr("cc_admin_up_test"),
                            operator_address=operator, assessor_address=assessor)
        with TestClient(create_app(settings), raise_server_exceptions=False) as c:
            admin = {"X-API-Key": "cc_admin_up_test"}

            def ok(r: Any, status: int = 200) -> Any:
                assert r.status_code == status, r.text
                return r.json()

            insurer_tenant = next(t["id"] for t in ok(c.get("/v1/tenants", headers=admin)) if t["insurer"])

            def staff(role: str) -> dict[str, str]:
                return {"X-API-Key": ok(c.post(f"/v1/tenants/{insurer_tenant}/keys", json={"role": role},
                                               headers=admin), 201)["key"]}

            def travel(seconds: int) -> None:
                w3.provider.make_request("evm_increaseTime", [seconds])
                w3.provider.make_request("evm_mine", [])

            first, second = staff("accreditor"), staff("accreditor")
            dims = {"robustness": {"years_in_business": 9, "financial_condition": 9, "supply_chain": 8},
                    "service_experience": {"major_clients": 9, "industry_experience": 8, "client_retention": 9},
                    "team_capability": {"team_professionalism": 9, "staff_competence": 8},
                    "technical_strength": {"innovation": 9, "project_management": 9}}
            newcomer = Account.create().address
            p = ok(c.post("/v1/accreditations", json={"assessor": newcomer, "dimensions": dims}, headers=first), 201)
            scheduled = ok(c.post(f"/v1/accreditations/{p['id']}/confirm", headers=second), 202)
            assert scheduled["status"] == "scheduled" and scheduled["operation_state"] == "waiting"
            early = c.post(f"/v1/accreditations/{p['id']}/execute", headers=first)
            assert (early.status_code, early.json()["type"]) == (409, "operation_not_ready")
            travel(GOVERNANCE_DELAY + 1)
            done = ok(c.post(f"/v1/accreditations/{p['id']}/execute", headers=first))
            assert done["status"] == "effective" and done["on_chain_capability"] == p["capability"] == 87
            assert registry.functions.capabilityOf(newcomer).call() == 87

            uw = staff("underwriter")
            service = "https://covered.example/health"
            ok(c.post("/v1/products", json=product_body(service), headers=uw), 201)
            sid = "0x" + eip712.service_id(service).hex()
            now = w3.eth.get_block("latest")["timestamp"]
            body = {"services": [sid], "start": now - 7200, "end": now - 3600, "reason": "state-backed attack"}
            op = ok(c.post("/v1/excluded-events", json=body, headers=uw), 202)
            assert op["state"] == "waiting"
            travel(GOVERNANCE_DELAY + 1)
            assert ok(c.post(f"/v1/excluded-events/{op['operation']}/execute", headers=uw))["state"] == "done"
            [event] = ok(c.get(f"/v1/services/{sid}/excluded-events", headers=uw))
            assert (event["start"], event["end"], event["reason"]) == (now - 7200, now - 3600, "state-backed attack")
    # An ungoverned local ledger is still there for whoever asks for it (the direct-admin fixtures).
    with anvil() as (_, w3):
        direct = Deployment.from_json(bootstrap(w3, tmp_path / "direct", signers, None)["deployment"])
        assert "Governance" not in direct.contracts
        registry = direct.contract(w3, "AssessmentRegistry")
        assert registry.functions.capabilityOf(w3.eth.accounts[2]).call() == ASSESSOR_CAPABILITY
