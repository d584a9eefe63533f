"""`cybercover up` deploys the OutageOracle with a merge gap and finality delay matched to the
local nodes it starts (short buckets and transmit rounds), and products it serves get a grace
period that covers the finality delay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from contracts.deploy import Deployment
from oracles.config import NodeConfig
from oracles.verdicts import BUCKET_SECONDS
from service.commands.up import bootstrap, deployed_bucket, up_cmd
from service.stack.nodes import (
    FINALITY_DELAY,
    MERGE_GAP,
    MINUTE,
    PROBE,
    TRANSMIT_INTERVAL,
    Target,
    Timing,
    node_config,
)
from tests.anvil import anvil

SIGNERS = [Account.create().address for _ in range(3)]


def _config(tmp_path: Path, timing: Timing, i: int = 0) -> NodeConfig:
    return node_config(i, tmp_path, [9001, 9002, 9003], "http://127.0.0.1:9000", 31337, "0x" + "11" * 20, SIGNERS,
                       [Target("https://covered.example/health", 60)], lambda _: None,
                       rpc_url="http://127.0.0.1:8545", timing=timing)


def test_episode_parameters_match_the_local_nodes(tmp_path: Path) -> None:
    assert MINUTE == BUCKET_SECONDS
    assert PROBE["close_after"] * BUCKET_SECONDS == MERGE_GAP  # a node's longest UP gap inside one outage
    assert FINALITY_DELAY == 4 * TRANSMIT_INTERVAL
    # The 60 s defaults are the timings `up` always had.
    assert (PROBE["interval"], PROBE["timeout"], TRANSMIT_INTERVAL, MERGE_GAP, FINALITY_DELAY) == (5, 3, 5, 120, 20)
    cfg = _config(tmp_path, Timing(60))
    assert cfg.transmit.interval == TRANSMIT_INTERVAL
    assert (cfg.chain.bucket_seconds, cfg.chain.rpc_url) == (60, "http://127.0.0.1:8545")
    assert (cfg.canaries[0].interval, cfg.canaries[0].timeout) == (10, 3)
    with anvil() as (_, w3):
        boot = bootstrap(w3, tmp_path, SIGNERS)
        dep = Deployment.from_json(boot["deployment"])
        oracle = dep.contract(w3, "OutageOracle").functions
        assert (oracle.mergeGap().call(), oracle.finalityDelay().call()) == (MERGE_GAP, FINALITY_DELAY) == (120, 20)
        assert deployed_bucket(w3, boot["deployment"]) == 60
        assert bootstrap(w3, tmp_path, SIGNERS)["deployment"] == boot["deployment"]  # reused, not redeployed


@pytest.mark.parametrize("bucket", [4, 5, 6, 10, 15, 30, 60, 61, 600, 3600])
def test_every_bucket_up_accepts_gives_nodes_that_can_judge_it(tmp_path: Path, bucket: int) -> None:
    """The derived timings pass the node's own validation for every bucket length `up` accepts:
    enough probes per bucket for `min_samples` with one to spare, a canary sample in every
    bucket, timeouts shorter than intervals; the merge gap covers the close-after UP buckets and
    the finality delay four transmit rounds."""
    t = Timing(bucket)
    for i in range(3):
        cfg = _config(tmp_path, t, i)  # raises if the node would refuse it
        target, canary = cfg.targets[0], cfg.canaries[0]
        assert cfg.chain.bucket_seconds == bucket
        assert bucket // target.interval >= target.min_samples + 1
        assert bucket // canary.interval >= 2
        assert target.timeout < target.interval and canary.timeout < canary.interval
    assert t.merge_gap == PROBE["close_after"] * bucket
    assert t.finality_delay == 4 * t.transmit_interval
    assert 1 <= t.transmit_interval <= 5


def test_a_new_deployment_declares_the_bucket_and_a_reused_one_keeps_its_own(tmp_path: Path) -> None:
    with anvil() as (_, w3):
        boot = bootstrap(w3, tmp_path, SIGNERS, None, 5)
        oracle = Deployment.from_json(boot["deployment"]).contract(w3, "OutageOracle").functions
        assert (oracle.bucketSeconds().call(), oracle.mergeGap().call(), oracle.finalityDelay().call()) == (5, 10, 8)
        again = bootstrap(w3, tmp_path, SIGNERS, None, 60)
        assert again["deployment"] == boot["deployment"]
        assert deployed_bucket(w3, again["deployment"]) == 5


def test_up_takes_the_bucket_from_a_flag_or_its_variable_and_refuses_what_nodes_cannot_judge(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import typer
    from typer.testing import CliRunner

    from service.commands import up as up_module

    seen: list[int] = []

    def fake_bootstrap(w3: object, data_dir: Path, signers: list[str], delay: int | None, bucket: int) -> None:
        seen.append(bucket)
        raise RuntimeError("stop here")

    monkeypatch.setattr(up_module, "bootstrap", fake_bootstrap)
    monkeypatch.setattr(up_module, "wait_for_rpc", lambda url, proc=None: object())
    for name in ("private_umask", "restore_recursion_limit"):  # process-wide: not in a test process
        monkeypatch.setattr(up_module, name, lambda: None)
    monkeypatch.setattr(up_module.signal, "signal", lambda *_: None)
    app = typer.Typer()
    app.command()(up_cmd)
    runner = CliRunner()
    base = ["--data-dir", str(tmp_path), "--rpc-url", "http://127.0.0.1:1"]
    assert runner.invoke(app, base).exit_code == 1
    assert runner.invoke(app, [*base, "--bucket-seconds", "5"]).exit_code == 1
    assert runner.invoke(app, base, env={"CYBERCOVER_UP_BUCKET_SECONDS": "7"}).exit_code == 1
    assert seen == [60, 5, 7]
    for bad in ("0", "3", "3601"):
        refused = runner.invoke(app, [*base, "--bucket-seconds", bad])
        assert refused.exit_code == 2, refused.output
    assert seen == [60, 5, 7]
    [option] = [o for o in typer.main.get_command(app).params if o.name == "bucket_seconds"]
    assert (option.envvar, option.show_envvar, option.default) == ("CYBERCOVER_UP_BUCKET_SECONDS", True, 60)


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

    signers = SIGNERS
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
