"""The service under test: its own eth-tester chain and deployment (so snapshot reverts of the
contract tests never rewind under the service's database), a database per backend, an app.

Tests share one chain and one database per backend for the session; each test creates its own
covered service (a unique name) so tests stay independent."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak
from fastapi import FastAPI
from fastapi.testclient import TestClient
from web3 import Web3

from contracts import artifacts, eip712, registry
from contracts.deploy import ZERO_ADDRESS, Deployed, Deployment, deploy
from contracts.sender import Account, send
from service.assessment import ITEMS, assess
from service.assessment.template import Part
from service.chain.gateway import Gateway
from service.worker.payouts import PayoutWorker
from tests.chain import ORACLES, QUORUM, TEST_GAS, USD, fast_w3

ADMIN_KEY = "test-admin-key-0123456789"
_names = itertools.count(1)


@dataclass
class Chain:
    w3: Web3
    dep: Deployment
    owner: str
    operator: str
    assessor: str
    token: Any
    registry: Any
    oracle: Any
    book: Any

    @property
    def tester(self) -> Any:
        return self.w3.provider.ethereum_tester  # type: ignore[attr-defined]

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def travel(self, seconds: int) -> int:
        # The pending block may already stand past it (re-created at the wall clock after a
        # snapshot revert): eth-tester refuses to travel back, and the next block is that one.
        target = max(self.now() + seconds, int(self.w3.eth.get_block("pending")["timestamp"]))
        self.tester.time_travel(target)
        return target

    def balance(self, who: str) -> int:
        return int(self.token.functions.balanceOf(Web3.to_checksum_address(who)).call())

    def gateway(self) -> Gateway:
        return Gateway(self.w3, self.dep, Account(self.operator), Account(self.assessor), gas=TEST_GAS)

    def insured_subject(self, report_id: str) -> bytes:
        """The full subject of an anchored report (ReportAnchored carries it; storage keeps 128 bits)."""
        for log in self.registry.events.ReportAnchored.get_logs(from_block=0):
            if "0x" + registry.anchor_id(log["args"]["assessor"], log["args"]["reportHash"]).hex() == report_id:
                return bytes(log["args"]["subject"])
        raise AssertionError(f"no anchor {report_id}")

    def anchor_incident(self, text: str, policy: dict[str, Any], service: str) -> str:
        """Anchors a §8 incident report on the policy's insured subject and covered service;
        returns its anchor id (what a claim decision takes)."""
        h = keccak(text=text)
        insured = bytes.fromhex(policy["subject"][2:])
        assert insured == self.insured_subject(policy["report_hash"])  # the report was anchored for it
        subject = registry.incident_subject(insured, eip712.service_id(service))
        send(self.w3, self.registry.functions.anchor(h, 0, 3, subject, b"\x00" * 32, 2), self.assessor,
             gas=TEST_GAS)
        return "0x" + registry.anchor_id(self.assessor, h).hex()

    def reports(self, service: str, start: int, end: int, *, ongoing: bool = False,
                signers: list[Any] | None = None) -> dict[str, Any]:
        """The relay body: quorum co-signed reports, as oracle nodes would hand them over."""
        sid = eip712.service_id(service)
        dom = eip712.oracle_domain(self.w3.eth.chain_id, self.oracle.address)
        out = []
        for o in signers or ORACLES[:QUORUM]:
            root = keccak(text=f"evidence-{o.name}-{start}-{end}")
            msg = eip712.outage_report_message(sid, 1, start, end, ongoing, root, 1)
            sig = eip712.sign_outage_report(o.key, dom, msg)
            out.append({"start": start, "end": end, "ongoing": ongoing, "evidence_root": "0x" + root.hex(), "seq": 1,
                        "r": "0x" + sig.r.hex(), "vs": "0x" + sig.vs.hex(), "signer": sig.signer})
        return {"service_id": "0x" + sid.hex(), "config_version": 1, "reports": out}


def make_chain(w3: Web3 | None = None, cls: type[Chain] = Chain, token_artifact: str | None = None) -> Chain:
    """A deployment on `w3` (default: a fresh eth-tester chain), funded and with roles set. The
    payout asset is a TestToken, or a fresh `token_artifact` (e.g. "BlacklistToken")."""
    w3 = w3 or fast_w3()
    owner, operator, assessor = w3.eth.accounts[:3]
    asset = None
    if token_artifact is not None:
        asset = send(w3, artifacts.contract(w3, token_artifact).constructor(), owner,  # type: ignore[union-attr]
                     gas=TEST_GAS)["contractAddress"]
    dep = deploy(w3, owner, token=asset, oracle_signers=[o.address for o in ORACLES], quorum=QUORUM,
                 underwriters=[operator], distributors=[operator], claims=[operator])
    pool = dep.contract(w3, "CoverPool")
    token = dep.contract(w3, "TestToken") if asset is None else artifacts.contract(w3, token_artifact, asset)
    registry = dep.contract(w3, "AssessmentRegistry")
    _add_timelock(w3, dep, owner, operator)
    for fn, who in ((registry.functions.setAssessor(assessor, 88), owner),
                    (token.functions.mint(owner, 10**9 * USD), owner),
                    (token.functions.approve(pool.address, 2**256 - 1), owner),
                    (pool.functions.deposit(10**8 * USD), owner),
                    (token.functions.mint(operator, 10**8 * USD), operator),
                    (token.functions.approve(pool.address, 2**256 - 1), operator)):
        send(w3, fn, who, gas=TEST_GAS)
    return cls(w3, dep, owner, operator, assessor, token, registry, dep.contract(w3, "OutageOracle"),
               dep.contract(w3, "PolicyBook"))


GOVERNANCE_DELAY = 3600


def _add_timelock(w3: Web3, dep: Deployment, owner: str, operator: str) -> None:
    """A governance timelock whose proposer and executor is the service's account, holding
    OutageOracle's DEFAULT_ADMIN_ROLE beside the owner (who keeps it, so the other fixtures stay
    direct): what the service's timelocked actions (excluded events) go through."""
    factory = artifacts.contract(w3, "Governance")
    receipt = send(w3, factory.constructor(GOVERNANCE_DELAY, [operator], [operator], ZERO_ADDRESS),  # type: ignore[union-attr]
                   owner, gas=TEST_GAS)
    dep.contracts["Governance"] = Deployed(receipt["contractAddress"], receipt["blockNumber"],
                                           receipt["transactionHash"].to_0x_hex(),
                                           artifacts.artifact_sha256("Governance"))
    oracle = dep.contract(w3, "OutageOracle")
    send(w3, oracle.functions.grantRole(oracle.functions.DEFAULT_ADMIN_ROLE().call(), receipt["contractAddress"]),
         owner, gas=TEST_GAS)


def unique_service() -> str:
    return f"https://saas-{next(_names)}.example/status"


def answers(level: str) -> dict[str, str]:
    """Base-part answers scoring in the given Table 6 band."""
    base = [i.id for i in ITEMS if i.part is Part.BASE]
    target = {"low": range(0, 1), "lower": range(1, 200), "medium": range(1, 200), "high": range(1, 200)}[level]
    for n_no in target:
        a = {item: ("no" if k < n_no else "yes") for k, item in enumerate(base)}
        if assess(a, []).risk_level.value == level:
            return a
    raise AssertionError(f"no answers found for {level}")


def assessment_body(level: str = "low", **extra: Any) -> dict[str, Any]:
    return {"org_identifier": "91440300MA5EXAMPLE", "answers": answers(level), "scenarios": [],
            "industry": "software / SaaS", "business_overview": "B2B invoicing platform",
            "key_assets": ["customer database"], **extra}


# Annual rates (ppm of the limit): 3.65 %, 7.3 %, 10.95 % a year, so 30 days of a 500 USD limit
# cost exactly 1.5, 3 and (250 USD: Medium's sub-limit) 2.25 USD.
RATES = {"low": 36_500, "lower": 73_000, "medium": 109_500}
LOW_30_DAYS = 3 * USD // 2


def product_body(service: str, **extra: Any) -> dict[str, Any]:
    return {"name": "Downtime cover", "service": service, "threshold_seconds": 3600, "payout_kind": "per_unit",
            "amount": 50 * USD, "unit_seconds": 3600, "policy_limit": 500 * USD, "auto_pay_limit": 150 * USD,
            "waiting_seconds": 0, "grace_seconds": 7 * 86400,
            "rates": RATES, **extra}


class Api:
    """Thin helpers over a TestClient: key creation and the steps every flow repeats."""

    def __init__(self, client: TestClient, chain: Chain) -> None:
        self.c = client
        self.chain = chain
        self.admin = {"X-API-Key": ADMIN_KEY}

    def ok(self, response: Any, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()

    def tenant(self, name: str | None = None) -> str:
        body = {"name": name or f"tenant-{next(_names)}"}
        return str(self.ok(self.c.post("/v1/tenants", json=body, headers=self.admin), 201)["id"])

    def key(self, tenant_id: str, role: str) -> dict[str, str]:
        r = self.ok(self.c.post(f"/v1/tenants/{tenant_id}/keys", json={"role": role}, headers=self.admin), 201)
        return {"X-API-Key": r["key"]}

    @property
    def insurer(self) -> str:
        """The insurer's own tenant (the bootstrap admin key's): only its staff act across tenants."""
        tenants = self.ok(self.c.get("/v1/tenants", headers=self.admin))
        return str(next(t["id"] for t in tenants if t["insurer"]))

    def staff(self, role: str) -> dict[str, str]:
        """A key of the insurer's staff (underwriter, claims, assessor, auditor, admin) or machines."""
        return self.key(self.insurer, role)

    def anchored_assessment(self, tenant_id: str, level: str = "low") -> dict[str, Any]:
        a = self.ok(self.c.post("/v1/assessments", json=assessment_body(level, tenant_id=tenant_id),
                                headers=self.admin), 201)
        return dict(self.ok(self.c.post(f"/v1/assessments/{a['id']}/anchor", headers=self.admin)))

    def product(self, service: str, **extra: Any) -> dict[str, Any]:
        return dict(self.ok(self.c.post("/v1/products", json=product_body(service, **extra), headers=self.admin),
                            201))

    def quote(self, product_id: int, assessment_id: str, headers: dict[str, str], **extra: Any) -> dict[str, Any]:
        body = {"product_id": product_id, "assessment_id": assessment_id, **extra}
        return dict(self.ok(self.c.post("/v1/quotes", json=body, headers=headers), 201))


HOUR = 3600


def worker(app: FastAPI) -> PayoutWorker:
    s = app.state
    return PayoutWorker(s.gateway, s.factory, s.indexer, batch=50)


def issue(api: Api, tenant: str, headers: dict[str, str], service: str, **product: object) -> tuple[dict, dict]:
    assessment = api.anchored_assessment(tenant)
    prod = api.product(service, **product)
    quote = api.quote(prod["id"], assessment["id"], headers)
    assert quote["decision"] == "offer"
    assert quote["premium"] == LOW_30_DAYS
    assert quote["limit"] == 500 * USD
    beneficiary = "0x" + keccak(text=service)[:20].hex()
    body = {"quote_id": quote["id"], "beneficiary": beneficiary, "holder_ref": "customer-42"}
    policy = api.ok(api.c.post("/v1/policies", json=body, headers=headers), 201)
    return prod, policy


def finality(chain: Chain) -> int:
    return int(chain.oracle.functions.finalityDelay().call())


def outage(api: Api, service: str, duration: int, headers: dict[str, str], *, final: bool = True) -> dict:
    """Relays a verified outage [now + 60, now + 60 + duration) of `service`; with `final`, the
    chain's clock then passes the oracle's finality delay, so the episode pays."""
    start = api.chain.now() + 60
    api.chain.travel(60 + duration + 30)
    body = api.chain.reports(service, start, start + duration)
    verified = dict(api.ok(api.c.post("/v1/oracle/reports", json=body, headers=headers)))
    if final:
        api.chain.travel(finality(api.chain) + 1)
    return verified


def incident_on_file(api: Api, app: FastAPI, policy: dict[str, Any], service: str, start: int, end: int, *,
                     tenant: str | None = None, outage_service: str | None = None, anchored: bool = True,
                     loss_minor: int = 500_00, currency: str = "USD") -> str:
    """A §8 incident report built by the engine about the outage window [start, end) of
    `outage_service` (default `service`), for the subject binding the policy's insured subject to
    `service`, kept on file as an assessment record (as the incident routes keep one) and, with
    `anchored`, anchored by the service's assessor; its one loss is `loss_minor` minor units of
    `currency`; returns its anchor id."""
    import secrets
    from datetime import UTC, datetime, timedelta

    from eth_utils import encode_hex
    from sqlalchemy import select as _select

    from contracts import eip712 as _eip712
    from contracts.registry import incident_subject
    from service.assessment import ITEMS as _ITEMS
    from service.assessment import Assessor, Method, Overview, Subject, build_report
    from service.assessment import assess as _assess
    from service.assessment.anchoring import anchor, report_anchor_id
    from service.assessment.canonical import report_hash
    from service.assessment.exposure import LossType
    from service.assessment.incident import (
        Cause,
        EntryVector,
        IncidentDetails,
        LossItem,
        OutageWindow,
        Responsibility,
        TimelineEvent,
    )
    from service.db import models as m

    insured = bytes.fromhex(policy["subject"][2:])
    sid = _eip712.service_id(service)
    t0, t1 = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
    details = IncidentDetails(
        incident_ref=f"INC-{secrets.token_hex(3)}", reported_at=t1, response_started_at=t1 + timedelta(minutes=5),
        timeline=(TimelineEvent(t0, "service stopped answering"), TimelineEvent(t1, "service restored")),
        reconstruction="origin process stopped", currency=currency,
        losses=(LossItem(LossType.BUSINESS_INTERRUPTION, "downtime", loss_minor, "contracted parametric amount"),),
        cause=Cause(EntryVector.ENVIRONMENTAL, "origin process crash", "none", ("process crash",), ()),
        responsibility=Responsibility(True, "downtime cover", "infrastructure failure", "within the cover"),
        secondary_risks=(), log_retention_days=365, advice=("add a standby origin",),
        outage=OutageWindow(_eip712.service_id(outage_service or service), start, end))
    report = build_report(
        kind="incident", report_id=f"INC-{secrets.token_hex(4)}", issued_at=datetime.now(UTC),
        assessor=Assessor("CyberCover Assessment Desk", api.chain.assessor),
        overview=Overview(objective="Incident assessment for a downtime claim", scope="Covered SaaS platform",
                          started_at=t0, ended_at=t1, methods=(Method.QUESTIONNAIRE,), team=("claims desk",)),
        subject=Subject(commitment=incident_subject(insured, sid), industry="SaaS",
                        business_overview="B2B invoicing platform", key_assets=("customer data",)),
        assessment=_assess({i.id: "yes" for i in _ITEMS if i.part.value == "base"}, []),
        incident=details)
    tx = anchor(api.chain.w3, api.chain.registry, api.chain.assessor, report).tx if anchored else None
    with app.state.factory.begin() as s:
        owner = tenant or s.scalar(_select(m.PolicyOwner.tenant_id).where(m.PolicyOwner.policy_id == policy["id"]))
        s.add(m.AssessmentRecord(tenant_id=owner, report=report, report_hash=encode_hex(report_hash(report)),
                                 score_bps=report["scores"]["score_bps"], risk_level=report["result"]["risk_level"],
                                 subject_salt="0x" + "00" * 32, subject=report["subject"]["commitment"],
                                 anchor_tx=tx))
    app.state.indexer.sync()  # the anchoring projected, as the worker's loop would have it
    return "0x" + report_anchor_id(report).hex()
