"""`cybercover demo`: the whole cycle against a running `cybercover up` (or one it starts).

An insurer product with a 30 s threshold (one DOWN minute exceeds it); an assessed and anchored
report; covers for a SaaS provider's customers issued in batches; a loopback HTTP service watched
by the oracles and taken down past the threshold; the verified outage and its start becoming
final, the automatic payouts (each customer's balance), one larger claim sent to review and
approved (the amount, against an incident report bound to the insured subject and the covered
service), and the auditor's check of the report. Exits 0 only when every check held."""

from __future__ import annotations

import secrets
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import typer

from contracts.errors import ContractsError
from contracts.procs import free_port, wait_for_rpc, wait_http
from contracts.redact import redact
from service.commands.common import setting
from service.stack.launch import private_up

USD = 10**6
THRESHOLD = 30  # seconds; the oracles judge whole minutes, so one DOWN minute pays
DEMO_COVER = 86400  # every demo cover lasts a day


class DemoFailed(Exception):
    pass


class Demo:
    def __init__(self, api: str, data_dir: Path, rpc: str, customers: int, echo: Callable[[str], None]) -> None:
        from contracts.deploy import Deployment

        self.api, self.echo, self.customers = api, echo, customers
        self.admin = {"X-API-Key": (data_dir / "admin.key").read_text().strip()}
        self.http = httpx.Client(base_url=api, timeout=120)
        self.dep = Deployment.load(data_dir / "deployment.json")
        self.w3 = wait_for_rpc(rpc, 0)
        self.token = self.dep.contract(self.w3, "TestToken")
        self.checks: list[tuple[str, bool]] = []
        self.timings: dict[str, float] = {}

    # --- plumbing -----------------------------------------------------------------------------
    def call(self, method: str, path: str, key: dict[str, str] | None = None, **kw: Any) -> Any:
        r = self.http.request(method, path, headers=key or self.admin, **kw)
        if r.status_code >= 400:
            raise DemoFailed(f"{method} {path} → {r.status_code} {r.text[:300]}")
        return r.json()

    def check(self, what: str, ok: bool) -> None:
        self.checks.append((what, ok))
        self.echo(f"  [{'ok' if ok else 'FAIL'}] {what}")

    def wait(self, what: str, probe: Callable[[], Any], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = probe()
            if got:
                return got
            time.sleep(0.5)
        raise DemoFailed(f"timed out after {timeout:.0f} s waiting for {what}")

    def balance(self, who: str) -> int:
        return int(self.token.functions.balanceOf(who).call())

    # --- steps the benchmark and the e2e tests share -------------------------------------------
    def product(self, name: str, service: str, amount: int, auto_pay: int, rates: dict[str, int],
                min_premium: int = 0) -> Any:
        """A fixed-payout product on `service` with the demo's threshold; `rates` are annual, in
        ppm of the limit."""
        return self.call("POST", "/v1/products", json={
            "name": name, "service": service, "threshold_seconds": THRESHOLD, "payout_kind": "fixed",
            "amount": amount, "policy_limit": amount, "auto_pay_limit": auto_pay, "grace_seconds": 3600,
            "rates": rates, "min_premium": min_premium})

    def quote(self, product_id: int, assessment_id: str, key: dict[str, str] | None = None) -> Any:
        """A quote for one day's cover at the product's full limit."""
        return self.call("POST", "/v1/quotes", key, json={"product_id": product_id, "assessment_id": assessment_id,
                                                         "cover_seconds": DEMO_COVER})

    def distributor(self, name: str) -> tuple[dict[str, Any], dict[str, str]]:
        """A new tenant and the header of its distributor key."""
        tenant = self.call("POST", "/v1/tenants", json={"name": name})
        key = self.call("POST", f"/v1/tenants/{tenant['id']}/keys", json={"role": "distributor"})["key"]
        return tenant, {"X-API-Key": key}

    def issue(self, quote: str, beneficiaries: list[str], key: dict[str, str], ref: str, chunk: int
              ) -> list[dict[str, Any]]:
        """The quote's cover (one day) for each beneficiary, `chunk` per batch request; holder refs
        `ref-<i>`."""
        issued: list[dict[str, Any]] = []
        for start in range(0, len(beneficiaries), chunk):
            covers = [{"beneficiary": b, "holder_ref": f"{ref}-{start + i}"}
                      for i, b in enumerate(beneficiaries[start:start + chunk])]
            issued += self.call("POST", "/v1/policies/batch", key,
                                json={"quote_id": quote, "covers": covers})["policies"]
        return issued

    def wait_past_cover_starts(self, policies: list[dict[str, Any]]) -> None:
        """Until the minute after the last of `policies` started: a verified window starts on the
        minute of the first DOWN probe, and a cover pays only outages that start inside it, so an
        outage begun sooner might precede a cover's start."""
        next_minute = -(-max(p["cover_start"] for p in policies) // 60) * 60
        self.wait("the minute after the last cover started", lambda: time.time() >= next_minute + 1, 90)

    # --- the scenario -------------------------------------------------------------------------
    def run(self, target: Any) -> bool:
        echo = self.echo
        echo(f"1. insurer product: {target.url} down > {THRESHOLD} s pays")
        rates = {"low": 100_000, "lower": 150_000, "medium": 250_000}  # 10, 15, 25 % of the limit a year
        micro = self.product("SaaS downtime micro-cover", target.url, 20 * USD, 20 * USD, rates, USD // 100)
        big = self.product("Enterprise downtime cover", target.url, 500 * USD, 100 * USD, rates, USD // 100)

        echo("2. assessment of the SaaS provider (T/SNISA 04002—2025), anchored on-chain")
        from service.assessment import ITEMS

        tenant, dist = self.distributor("Acme SaaS")
        answers = {i.id: "yes" for i in ITEMS if i.part.value in ("base", "business_interruption")}
        answers[sorted(answers)[0]] = "partial"
        a = self.call("POST", "/v1/assessments", json={
            "org_identifier": "91440300MA5DEMO001", "answers": answers, "scenarios": ["business_interruption"],
            "industry": "SaaS", "business_overview": "B2B invoicing platform", "key_assets": ["customer data"],
            "tenant_id": tenant["id"]})
        self.check(f"assessment scored {a['score_bps'] / 100:.2f} → {a['risk_level']} / {a['underwriting']}",
                   a["risk_level"] in ("low", "lower"))
        a = self.call("POST", f"/v1/assessments/{a['id']}/anchor")
        self.check("report anchored", bool(a["anchored"]))

        echo(f"3. the SaaS provider issues covers for its {self.customers} customers in batches")
        quote = self.quote(micro["id"], a["id"], dist)
        self.check(f"quote: {quote['decision']}, premium {quote['premium'] / USD} cUSD for a day "
                   f"(minimum premium applied: {quote['pricing']['minimum_applied']})", quote["decision"] != "decline")
        customers = [self.w3.eth.account.create().address for _ in range(self.customers)]
        t0 = time.monotonic()
        issued = self.issue(quote["id"], customers, dist, "acme-customer", 100)
        self.timings["issue_seconds"] = took = time.monotonic() - t0
        self.check(f"{len(issued)} covers issued in {took:.1f} s", len(issued) == len(customers))
        enterprise = self.w3.eth.account.create().address
        q2 = self.quote(big["id"], a["id"])
        enterprise_policy = self.call("POST", "/v1/policies", json={
            "quote_id": q2["id"], "beneficiary": enterprise, "holder_ref": "enterprise-1"})

        echo(f"4. {target.url} goes down; the oracles watch it")
        self.wait("the oracle nodes to watch the service", lambda: target.hits > 3, 90)
        self.wait_past_cover_starts([*issued, enterprise_policy])
        target.down()
        down_at = time.time()
        service_id = micro["service_id"]

        def episode(final: bool = False) -> Any:
            listed = self.call("GET", "/v1/outages", params={"service_id": service_id})
            return next((e for e in listed["episodes"] if e["down_seconds"] > THRESHOLD and (e["final"] or not final)),
                        None)

        outage = self.wait("a verified outage longer than the threshold", episode, 420)
        self.timings["down_to_verified_seconds"] = time.time() - down_at
        target.up()
        self.check(f"outage verified: [{outage['start']}, {outage['end']}) after "
                   f"{self.timings['down_to_verified_seconds']:.0f} s, {outage['down_seconds']} s down", True)
        outage = self.wait("the outage's start to be final (it pays from then on)", lambda: episode(final=True), 180)
        self.check(f"outage start final since {outage['final_at']} (unchanged for the oracle's finality delay): "
                   "it pays", bool(outage["final"]))

        echo("5. automatic payouts, no claim filed")
        t1 = time.monotonic()
        self.wait("every customer to be paid", lambda: all(self.balance(c) >= 20 * USD for c in customers), 300)
        self.timings["verified_to_all_paid_seconds"] = time.monotonic() - t1
        self.check(f"all {len(customers)} customers hold 20 cUSD ("
                   f"{self.timings['verified_to_all_paid_seconds']:.1f} s after the outage was listed)",
                   all(self.balance(c) == 20 * USD for c in customers))
        payouts = self.call("GET", "/v1/payouts", params={"limit": 500})
        txs = {p["tx"] for p in payouts}
        gas = sum(self.w3.eth.get_transaction_receipt(t)["gasUsed"] for t in txs)
        self.timings["gas_per_policy_paid"] = gas / max(1, len(payouts))
        self.check(f"{len(payouts)} payouts in {len(txs)} transactions, "
                   f"{self.timings['gas_per_policy_paid']:,.0f} gas per policy paid", len(payouts) >= len(customers))

        echo("6. the larger claim goes to review; claims approves it against an incident report")
        def open_claim() -> Any:
            return next(iter(self.call("GET", "/v1/claims", params={"status": "open"})), None)

        claim = self.wait("the enterprise claim", open_claim, 120)
        self.check(f"enterprise cover auto-paid {self.balance(enterprise) / USD:.0f} cUSD, "
                   f"{claim['amount'] / USD:.0f} cUSD sent to review", self.balance(enterprise) == 100 * USD)
        report = self.call("GET", f"/v1/assessments/{a['id']}/report")
        insured = bytes.fromhex(report["subject"]["commitment"].removeprefix("0x"))
        self.check("the policy is bound to the insured subject the report assessed",
                   enterprise_policy["subject"] == "0x" + insured.hex())
        incident = self.anchor_incident(outage, insured)
        approved = self.call("POST", f"/v1/claims/{claim['id']}/approve",
                             json={"incident_report": incident, "amount": claim["amount"],
                                   "reason": "verified outage beyond the threshold; incident report on file"})
        self.check(f"claim approved: {approved['approved'] / USD:.0f} cUSD against incident report "
                   f"{incident[:18]}…", approved["status"] == "approved" and approved["approved"] == claim["amount"])
        self.wait("the approved claim to be paid", lambda: self.balance(enterprise) == 500 * USD, 60)
        self.check("enterprise beneficiary holds 500 cUSD", self.balance(enterprise) == 500 * USD)

        echo("7. the auditor verifies the underwriting report")
        v = self.call("GET", f"/v1/reports/{a['report_hash']}/verification")
        self.check(f"report {a['report_hash'][:18]}… valid, assessor {v.get('assessor')}", bool(v.get("valid")))
        return all(ok for _, ok in self.checks)

    def anchor_incident(self, outage: dict[str, Any], insured: bytes) -> str:
        """The accredited assessor writes and anchors the §8 incident report the claim needs, for the
        subject binding the insured subject to the covered service; returns its anchor id."""
        from datetime import UTC, datetime, timedelta

        from contracts.registry import incident_subject
        from service.assessment import ITEMS, Assessor, Method, Overview, Subject, assess, build_report
        from service.assessment.anchoring import anchor
        from service.assessment.exposure import LossType
        from service.assessment.incident import (
            Cause,
            EntryVector,
            IncidentDetails,
            LossItem,
            Responsibility,
            TimelineEvent,
        )

        assessor = self.w3.eth.accounts[2]
        service = bytes.fromhex(outage["service_id"].removeprefix("0x"))
        started = datetime.fromtimestamp(outage["start"], UTC)
        ended = datetime.fromtimestamp(outage["end"], UTC)
        details = IncidentDetails(
            incident_ref=f"INC-{outage['first_index']}", reported_at=ended,
            response_started_at=ended + timedelta(minutes=5),
            timeline=(TimelineEvent(started, "service stopped answering"), TimelineEvent(ended, "service restored")),
            reconstruction="origin server process stopped; no attacker involvement found",
            currency="USD",
            losses=(LossItem(LossType.BUSINESS_INTERRUPTION, "downtime of the covered platform", 500_00,
                             "contracted parametric amount"),),
            cause=Cause(EntryVector.ENVIRONMENTAL, "origin process crash", "none", ("process crash",), ()),
            responsibility=Responsibility(True, "enterprise downtime cover", "infrastructure failure",
                                          "a verified outage longer than the threshold is within the cover"),
            secondary_risks=(), log_retention_days=365, advice=("add a standby origin",),
        )
        report = build_report(
            kind="incident", report_id=f"INC-{secrets.token_hex(4)}", issued_at=datetime.now(UTC),
            assessor=Assessor("CyberCover Assessment Desk", assessor),
            overview=Overview(objective="Incident assessment for a downtime claim", scope="Covered SaaS platform",
                              started_at=started, ended_at=ended, methods=(Method.QUESTIONNAIRE,),
                              team=("claims desk",)),
            subject=Subject(commitment=incident_subject(insured, service), industry="SaaS",
                            business_overview="B2B invoicing platform", key_assets=("customer data",)),
            assessment=assess({i.id: "yes" for i in ITEMS if i.part.value == "base"}, []),
            incident=details,
        )
        registry = self.dep.contract(self.w3, "AssessmentRegistry")
        return "0x" + anchor(self.w3, registry, assessor, report).anchor_id.hex()


class Target:
    """The SaaS provider's service: a loopback HTTP server that can be taken down and back up."""

    def __init__(self) -> None:
        self.port = free_port()
        self.hits = 0
        self._server: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/health"

    def up(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - stdlib naming
                target.hits += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        if self._server is None:
            self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
            threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def demo_cmd(
    api: str = typer.Option("http://127.0.0.1:8000", help="API of a running `cybercover up`."),
    data_dir: Path = setting("data_dir", "Its data directory (admin key, manifest)."),
    rpc_url: str = setting("rpc_url", "Its chain."),
    customers: int = typer.Option(200, min=1, max=1000, help="SaaS customers to cover."),
) -> None:
    """Run the scripted scenario against a running `up`, or start a private one. Exit 0 iff every check held."""
    target = Target()
    ok = False
    try:
        with ExitStack() as own:
            if not wait_http(f"{api}/healthz", 0):
                tmp = Path(own.enter_context(tempfile.TemporaryDirectory(prefix="cybercover-demo-")))
                typer.echo(f"no API at {api}: starting a private `cybercover up` in {tmp}")
                (api, rpc_url), data_dir = own.enter_context(private_up(tmp)), tmp
            target.up()
            demo = Demo(api, data_dir, rpc_url, customers, typer.echo)
            ok = demo.run(target)
            typer.echo("timings: " + ", ".join(f"{k}={v:,.1f}" for k, v in demo.timings.items()))
    except (DemoFailed, RuntimeError, ContractsError, httpx.HTTPError, OSError) as exc:  # RuntimeError: no stack
        typer.echo(f"error: {redact(str(exc))}", err=True)
    finally:
        target.down()
    typer.echo("demo: every check held" if ok else "demo: FAILED")
    raise typer.Exit(0 if ok else 1)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_cmd)
