"""Tenancy as one rule (issue 10, finding 2), route by route.

The rule (service.api.deps.Principal): staff keys (admin, underwriter, claims, assessor, accreditor,
auditor) of the insurer's tenant act across tenants; every other key — any key of a client tenant, and the
insurer's own distributor and machine keys — sees and changes only its own tenant's records. A
client tenant holds admin, distributor and auditor keys only; its admin may do what those roles
may do, in its own tenant, and manage its own tenant's keys. Products and verified outages are
insurer-wide: everyone reads them, only the insurer's underwriters change products.

The matrix: every route of the app (read from `app.routes`, so a new route without an entry
fails) × every caller (the insurer's nine roles, two client tenants' three roles, no key),
against records of client tenant A: B is the other tenant.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from service.api.deps import hash_key
from service.api.routes.webhooks import get_resolver
from service.assessment.provider import APPENDIX_B
from service.db import models as m
from tests.service.helpers import (
    HOUR,
    Api,
    Chain,
    assessment_body,
    issue,
    outage,
    product_body,
    unique_service,
    worker,
)
from tests.service.test_incidents import report_body

pytestmark = pytest.mark.postgresql  # on both backends (tests/service/conftest.py)

CLIENT = ("admin", "distributor", "auditor")
STAFF = ("admin", "underwriter", "claims", "assessor", "accreditor", "auditor")
PEOPLE = ("admin", "underwriter", "claims", "distributor", "assessor", "accreditor", "auditor")
MACHINE = ("relay", "monitor")
HOOKS = "https://hooks.example.com/matrix-"  # never delivered to: deactivated at teardown
_n = itertools.count(1)


@dataclass(frozen=True)
class Caller:
    tenant: str  # "P" the insurer, "A" the client owning the records, "B" another client, "" no key
    role: str

    @property
    def name(self) -> str:
        return f"{self.tenant}-{self.role}" if self.role else "anonymous"

    @property
    def scoped(self) -> bool:
        return not (self.tenant == "P" and self.role in STAFF)

    @property
    def sees_a(self) -> bool:
        return not self.scoped or self.tenant == "A"

    def may(self, roles: tuple[str, ...]) -> bool:
        if self.role in roles:
            return True
        return self.role == "admin" and (self.tenant == "P" or bool(set(roles) & set(CLIENT)))


CALLERS = ([Caller("P", r) for r in (*PEOPLE, *MACHINE)] + [Caller(t, r) for t in "AB" for r in CLIENT]
           + [Caller("", "")])


@dataclass
class World:
    api: Api
    tenants: dict[str, str]
    keys: dict[str, dict[str, str]]
    assessment: str
    report_hash: str
    product: int
    quote: str
    policy: int
    claim: int
    service_id: str
    webhook: str

    def headers(self, caller: Caller) -> dict[str, str]:
        return self.keys[caller.name] if caller.role else {}


Request = tuple[str, str, Any]  # method, url, JSON body


@dataclass(frozen=True)
class Case:
    roles: tuple[str, ...] | None  # None: public; () the insurer's admin only (see Caller.may)
    build: Callable[[World, Caller], Request]
    ok: int = 200
    owned: bool = False  # the request names a record of A: a caller who cannot see A gets 404
    # List-like answers: whether A's record is in it, and who should find it there.
    listed: Callable[[World, Any], bool] | None = None
    finds_a: Callable[[Caller], bool] = field(default=lambda c: c.sees_a)
    tenant_only: bool = False  # the record is A's own, hidden even from the insurer's staff
    staff: bool = False  # every insurer staff role may call it too (webhooks: insurer-wide subscriptions)
    insurer_only: bool = False  # the insurer's internal records: a client tenant's key gets 403


def _appendix_b(score: int) -> dict[str, dict[str, int]]:
    return {d.id: {c.id: score for c in d.criteria} for d in APPENDIX_B}


def get(url: str | Callable[[World], str]) -> Callable[[World, Caller], Request]:
    return lambda w, _c: ("GET", url(w) if callable(url) else url, None)


_BATCHES: dict[int, str] = {}


def _batch(w: World) -> Request:
    """A's batch (made once per world), read back."""
    if id(w) not in _BATCHES:
        cover = {"beneficiary": "0x" + "ab" * 20, "holder_ref": "batch-status"}
        _BATCHES[id(w)] = w.api.ok(w.api.c.post("/v1/policies/batch", json={"quote_id": w.quote, "covers": [cover]},
                                                headers=w.keys["A-distributor"]), 202)["id"]
    return "GET", f"/v1/policies/batches/{_BATCHES[id(w)]}", None


def _victim(w: World, _c: Caller) -> Request:
    key_id = w.api.ok(w.api.c.post(f"/v1/tenants/{w.tenants['A']}/keys", json={"role": "auditor"},
                                   headers=w.api.admin), 201)["id"]
    return "DELETE", f"/v1/tenants/{w.tenants['A']}/keys/{key_id}", None


def _bad_relay(w: World, _c: Caller) -> Request:
    body = w.api.chain.reports(unique_service(), 100, 200)
    body["reports"][0]["signer"] = body["reports"][1]["signer"]  # refused before any transaction
    return "POST", "/v1/oracle/reports", body


def _cover(c: Caller) -> dict[str, str]:
    return {"beneficiary": "0x" + "77" * 20, "holder_ref": f"matrix-{c.name}-{next(_n)}"}


def _cover_page(w: World) -> str:
    """Policy A's cover page link, as its distributor's API answer gives it."""
    return str(w.api.ok(w.api.c.get(f"/v1/policies/{w.policy}", headers=w.api.admin))["cover_page"])


def _ids(items: Any, key: str = "id") -> set[Any]:
    return {i[key] for i in items}


_cohorts: dict[int, int] = {}


def _member(c: Caller) -> dict[str, Any]:
    n = next(_n)
    return {"ref": f"matrix-{c.name}-{n}", "beneficiary": "0x" + f"{n:040x}", "limit": 10**6}


def _cohort(w: World) -> int:
    """A cohort of A's (one per world), issued by A's distributor."""
    if id(w) not in _cohorts:
        body = {"assessment_id": w.assessment, "product_id": w.product, "customers": [_member(Caller("A", "x"))]}
        _cohorts[id(w)] = w.api.ok(w.api.c.post("/v1/cohorts", json=body, headers=w.keys["A-distributor"]), 201)["id"]
    return _cohorts[id(w)]


def _removal(w: World, c: Caller) -> Request:
    cid = _cohort(w)
    member = _member(c)
    w.api.ok(w.api.c.post(f"/v1/cohorts/{cid}/members", json={"customers": [member]},
                          headers=w.keys["A-distributor"]), 201)
    return "DELETE", f"/v1/cohorts/{cid}/members/{member['ref']}", None


def _first_ref(w: World) -> str:
    cid = _cohort(w)
    with w.api.c.app.state.factory() as s:  # type: ignore[attr-defined]
        f = s.scalar(select(m.CohortFile).where(m.CohortFile.cohort_id == cid, m.CohortFile.segment == 0))
        return str(s.scalar(select(m.CohortMember.ref).where(m.CohortMember.file_id == f.id)))


CASES: dict[tuple[str, str], Case] = {
    # Public: liveness, metrics and the API's own documentation.
    ("GET", "/healthz"): Case(None, get("/healthz")),
    ("GET", "/metrics"): Case((*PEOPLE, *MACHINE), get("/metrics")),  # any valid key (or the metrics token)
    ("GET", "/openapi.json"): Case(None, get("/openapi.json")),
    ("GET", "/docs"): Case(None, get("/docs")),
    ("GET", "/docs/oauth2-redirect"): Case(None, get("/docs/oauth2-redirect")),
    ("GET", "/redoc"): Case(None, get("/redoc")),
    # The web pages (service/web): public, no key. The console is a shell whose data comes from /v1
    # with the key the user types in; the status pages show only on-chain outage data; the cover
    # page's key is the holder salt in its link (a wrong one is a 404 page: tests/web/test_cover.py).
    ("GET", "/web"): Case(None, get("/web")),
    ("GET", "/console"): Case(None, get("/console")),
    ("GET", "/status"): Case(None, get("/status")),
    ("GET", "/status/{service}"): Case(None, get(lambda w: f"/status/{w.service_id}")),
    ("GET", "/cover/{policy_id}"): Case(None, get(_cover_page)),
    # The auditor's page checks what it is sent against the chain and the nodes, never the database:
    # no key, the same answer for everyone (any JSON is a report judged "Invalid"; a 400 fragment for
    # what is not an evidence bundle or a configured node's URL).
    ("GET", "/verify"): Case(None, get("/verify")),
    ("POST", "/verify/contracts"): Case(None, lambda w, c: ("POST", "/verify/contracts", None)),
    ("POST", "/verify/report"): Case(None, lambda w, c: ("POST", "/verify/report", {"not": "a report"})),  # "Invalid"
    ("POST", "/verify/evidence"): Case(None, lambda w, c: ("POST", "/verify/evidence", {"not": "a bundle"}), ok=400),
    ("POST", "/verify/evidence-url"): Case(
        None, lambda w, c: ("POST", "/verify/evidence-url", {"url": "not a node's"}), ok=400),
    # Tenants: the insurer's admin; keys: a tenant's admin for its own tenant.
    ("POST", "/v1/tenants"): Case((), lambda w, c: ("POST", "/v1/tenants", {"name": f"matrix-{c.name}-{next(_n)}"}),
                                  ok=201),
    ("GET", "/v1/tenants"): Case((), get("/v1/tenants")),
    ("POST", "/v1/tenants/{tenant_id}/keys"): Case(
        ("admin",), lambda w, c: ("POST", f"/v1/tenants/{w.tenants['A']}/keys", {"role": "auditor"}), ok=201,
        owned=True),
    ("GET", "/v1/tenants/{tenant_id}/keys"): Case(("admin",), get(lambda w: f"/v1/tenants/{w.tenants['A']}/keys"),
                                                  owned=True),
    ("DELETE", "/v1/tenants/{tenant_id}/keys/{key_id}"): Case(("admin",), _victim, ok=204, owned=True),
    # Assessments and reports: A's, confidential.
    ("POST", "/v1/assessments"): Case(
        ("assessor", "distributor"),
        lambda w, c: ("POST", "/v1/assessments", assessment_body(tenant_id=w.tenants["A"])), ok=201, owned=True),
    ("GET", "/v1/assessments/{assessment_id}"): Case(PEOPLE, get(lambda w: f"/v1/assessments/{w.assessment}"),
                                                     owned=True),
    ("GET", "/v1/assessments/{assessment_id}/report"): Case(
        PEOPLE, get(lambda w: f"/v1/assessments/{w.assessment}/report"), owned=True),
    # The §7.2.1 due list of A's live policy and the activities recorded for its subject.
    ("GET", "/v1/assessments/due"): Case(PEOPLE, get("/v1/assessments/due"),
                                         listed=lambda w, body: w.policy in _ids(body["policies"], "policy_id")),
    ("POST", "/v1/assessments/activities"): Case(
        ("assessor", "distributor"), lambda w, c: ("POST", "/v1/assessments/activities",
                                                   {"policy_id": w.policy, "activity": "staff_training",
                                                    "note": f"matrix {c.name}"}), ok=201, owned=True),
    ("GET", "/v1/assessments/activities"): Case(
        PEOPLE, get(lambda w: f"/v1/assessments/activities?policy_id={w.policy}")),
    ("POST", "/v1/assessments/{assessment_id}/anchor"): Case(
        ("assessor",), lambda w, c: ("POST", f"/v1/assessments/{w.assessment}/anchor", None), owned=True),
    # Anyone may verify a hash against the chain; only who may see A reads it against A's document.
    ("GET", "/v1/reports/{report_hash}/verification"): Case(
        PEOPLE, get(lambda w: f"/v1/reports/{w.report_hash}/verification"),
        listed=lambda w, body: body["document_on_file"]),
    # Products: insurer-wide; the nodes' monitor key lists them.
    ("POST", "/v1/products"): Case(("underwriter",),
                                   lambda w, c: ("POST", "/v1/products", product_body(unique_service())), ok=201),
    ("GET", "/v1/products"): Case((*PEOPLE, "monitor"), get("/v1/products"),
                                  listed=lambda w, body: w.product in _ids(body), finds_a=lambda c: True),
    ("GET", "/v1/products/{product_id}"): Case(PEOPLE, get(lambda w: f"/v1/products/{w.product}")),
    ("PATCH", "/v1/products/{product_id}"): Case(
        ("underwriter",), lambda w, c: ("PATCH", f"/v1/products/{w.product}", {"active": True})),
    # Quotes and policies: A's.
    ("POST", "/v1/quotes"): Case(
        ("underwriter", "distributor"),
        lambda w, c: ("POST", "/v1/quotes", {"product_id": w.product, "assessment_id": w.assessment}), ok=201,
        owned=True),
    ("GET", "/v1/quotes/{quote_id}"): Case(PEOPLE, get(lambda w: f"/v1/quotes/{w.quote}"), owned=True),
    ("POST", "/v1/policies"): Case(
        ("distributor",), lambda w, c: ("POST", "/v1/policies", {"quote_id": w.quote, **_cover(c)}), ok=201,
        owned=True),
    ("POST", "/v1/policies/batch"): Case(
        ("distributor",), lambda w, c: ("POST", "/v1/policies/batch", {"quote_id": w.quote, "covers": [_cover(c)]}),
        ok=202, owned=True),
    ("GET", "/v1/policies/batches/{batch_id}"): Case(("distributor",), lambda w, c: _batch(w), owned=True),
    # The console's dry run of a CSV bulk issuance: as issuing, on A's quote (nothing is sent).
    ("POST", "/v1/policies/batch/preview"): Case(
        ("distributor",), lambda w, c: ("POST", "/v1/policies/batch/preview", {
            "quote_id": w.quote, "csv": f"holder_ref,beneficiary\n{_cover(c)['holder_ref']},{'0x' + '77' * 20}\n"}),
        owned=True),
    ("GET", "/v1/policies/{policy_id}"): Case(PEOPLE, get(lambda w: f"/v1/policies/{w.policy}"), owned=True),
    ("GET", "/v1/policies/{policy_id}/schedule"): Case(PEOPLE, get(lambda w: f"/v1/policies/{w.policy}/schedule"),
                                                       owned=True),
    ("GET", "/v1/policies"): Case(PEOPLE, get(lambda w: f"/v1/policies?product_id={w.product}&limit=500"),
                                  listed=lambda w, body: w.policy in _ids(body["items"])),
    # Group covers: A's (issued on A's assessment; a member added, then removed, per permitted caller).
    ("POST", "/v1/cohorts"): Case(
        ("distributor",), lambda w, c: ("POST", "/v1/cohorts", {"assessment_id": w.assessment, "product_id": w.product,
                                                                "customers": [_member(c)]}), ok=201, owned=True),
    ("GET", "/v1/cohorts/{cohort_id}"): Case(PEOPLE, get(lambda w: f"/v1/cohorts/{_cohort(w)}"), owned=True),
    ("GET", "/v1/cohorts/{cohort_id}/members/{ref}"): Case(
        PEOPLE, get(lambda w: f"/v1/cohorts/{_cohort(w)}/members/{_first_ref(w)}"), owned=True),
    ("POST", "/v1/cohorts/{cohort_id}/members"): Case(
        ("distributor",), lambda w, c: ("POST", f"/v1/cohorts/{_cohort(w)}/members", {"customers": [_member(c)]}),
        ok=201, owned=True),
    ("DELETE", "/v1/cohorts/{cohort_id}/members/{ref}"): Case(("distributor",), _removal, owned=True),
    # Cancel and renew: A's distributor, or the insurer's underwriter. A's policy has had a payout
    # (409 policy_has_payout), and the renewal names a product of another service (400): nothing moves.
    ("POST", "/v1/policies/{policy_id}/cancel"): Case(
        ("distributor", "underwriter"), lambda w, c: ("POST", f"/v1/policies/{w.policy}/cancel", None), ok=409,
        owned=True),
    ("POST", "/v1/policies/{policy_id}/renew"): Case(
        ("distributor", "underwriter"),
        lambda w, c: ("POST", f"/v1/policies/{w.policy}/renew", {"product_id": _other_product(w)}), ok=400,
        owned=True),
    # Service caps: insurer-wide; only the underwriter sets one (here on a service nobody covers).
    ("PUT", "/v1/services/{service_id}/cap"): Case(
        ("underwriter",), lambda w, c: ("PUT", f"/v1/services/0x{'cd' * 32}/cap", {"cap": 0})),
    ("GET", "/v1/services/{service_id}/cap"): Case(PEOPLE, get(lambda w: f"/v1/services/{w.service_id}/cap")),
    # Verified outages: public on-chain data. Relaying: the relay key and the roles that relay.
    ("GET", "/v1/outages"): Case(PEOPLE, get(lambda w: f"/v1/outages?service_id={w.service_id}"),
                                 listed=lambda w, body: w.service_id in _ids(body["windows"], "service_id")
                                 and w.service_id in _ids(body["episodes"], "service_id"),
                                 finds_a=lambda c: True),
    ("POST", "/v1/oracle/reports"): Case(("relay", "underwriter", "claims", "distributor", "assessor"), _bad_relay,
                                         ok=400),
    # Claims and payouts: A's; decisions are the insurer's claims staff's (400: not an incident report).
    ("GET", "/v1/claims"): Case(PEOPLE, get("/v1/claims?limit=500&status=open"),
                                listed=lambda w, body: w.claim in _ids(body)),
    ("GET", "/v1/claims/{claim_id}"): Case(PEOPLE, get(lambda w: f"/v1/claims/{w.claim}"), owned=True),
    ("POST", "/v1/claims/{claim_id}/approve"): Case(
        ("claims",), lambda w, c: ("POST", f"/v1/claims/{w.claim}/approve", {"incident_report": w.report_hash}),
        ok=400),
    ("POST", "/v1/claims/{claim_id}/reject"): Case(  # an optional incident report is checked like an approval's
        ("claims",), lambda w, c: ("POST", f"/v1/claims/{w.claim}/reject",
                                   {"reason": "matrix", "incident_report": w.report_hash}), ok=400),
    ("GET", "/v1/payouts"): Case(PEOPLE, get(lambda w: f"/v1/payouts?policy_id={w.policy}"),
                                 listed=lambda w, body: w.policy in _ids(body, "policy_id")),
    # The insurer's figures: A's for A's keys and the insurer's staff; another tenant's are a 404.
    # The console's: who the key is (anyone), the pool's capital over time (insurer staff only).
    ("GET", "/v1/me"): Case(PEOPLE, get("/v1/me")),
    ("GET", "/v1/pool/history"): Case(STAFF, get("/v1/pool/history?points=3"), insurer_only=True),
    ("GET", "/v1/figures"): Case(PEOPLE, get(lambda w: f"/v1/figures?tenant_id={w.tenants['A']}"), owned=True),
    # Exclusions: public to every person's key; rules are the underwriter's, windows the maintainer
    # tenant's distributors' (another tenant's: 403, tests/service/test_exclusions.py) or the
    # underwriter's, excluded events the insurer's. Refused before any gas for allowed callers.
    ("PUT", "/v1/services/{service}/maintenance-rules"): Case(
        ("underwriter",), lambda w, c: ("PUT", f"/v1/services/{w.service_id}/maintenance-rules",
                                        {"tenant_id": "nobody", "min_notice_seconds": 0,
                                         "max_seconds_per_period": 60}), ok=404),
    ("GET", "/v1/services/{service}/maintenance"): Case(
        PEOPLE, get(lambda w: f"/v1/services/{w.service_id}/maintenance")),
    ("POST", "/v1/services/{service}/maintenance"): Case(
        ("distributor", "underwriter"),
        lambda w, c: ("POST", f"/v1/services/{w.service_id}/maintenance", {"start": 10, "end": 5}), ok=400),
    ("DELETE", "/v1/services/{service}/maintenance/{index}"): Case(  # the service has no maintenance rules
        ("distributor", "underwriter"), lambda w, c: ("DELETE", f"/v1/services/{w.service_id}/maintenance/0", None),
        ok=409),
    ("GET", "/v1/services/{service}/excluded-events"): Case(
        PEOPLE, get(lambda w: f"/v1/services/{w.service_id}/excluded-events")),
    ("POST", "/v1/excluded-events"): Case(
        ("underwriter",), lambda w, c: ("POST", "/v1/excluded-events", {"services": [w.service_id], "start": 10,
                                                                         "end": 5, "reason": "matrix"}), ok=400),
    ("GET", "/v1/excluded-events/{operation}"): Case(PEOPLE, get("/v1/excluded-events/0x" + "00" * 32), ok=404),
    ("POST", "/v1/excluded-events/{operation}/execute"): Case(
        ("underwriter",), lambda w, c: ("POST", "/v1/excluded-events/0x" + "00" * 32 + "/execute", None), ok=404),
    # Incidents: A's; reported by A's distributors or the insurer's claims and underwriting staff,
    # assessed and reported on by the insurer's assessor (409: the window is not a verified outage).
    ("POST", "/v1/incidents"): Case(
        ("distributor", "claims", "underwriter"),
        lambda w, c: ("POST", "/v1/incidents", {"policy_id": w.policy, "description": f"matrix {c.name}"}),
        ok=201, owned=True),
    ("GET", "/v1/incidents"): Case(PEOPLE, get(lambda w: f"/v1/incidents?policy_id={w.policy}&limit=500"
                                                f"&_={_incident(w)}"),  # A's incident exists before the list
                                   listed=lambda w, body: _incident(w) in _ids(body)),
    ("GET", "/v1/incidents/{incident_id}"): Case(PEOPLE, get(lambda w: f"/v1/incidents/{_incident(w)}"), owned=True),
    ("POST", "/v1/incidents/{incident_id}/assessment"): Case(
        ("assessor",), lambda w, c: ("POST", f"/v1/incidents/{_incident(w)}/assessment", None), owned=True),
    ("POST", "/v1/incidents/{incident_id}/report"): Case(
        ("assessor",), lambda w, c: ("POST", f"/v1/incidents/{_incident(w)}/report",
                                     report_body(outage={"start": 1, "end": 2})), ok=409, owned=True),
    # Accreditations: the insurer's staff read, its accreditors act (refused before any gas here).
    ("POST", "/v1/accreditations"): Case(
        ("accreditor",), lambda w, c: ("POST", "/v1/accreditations", {"assessor": "0x" + "00" * 20,
                                                                       "dimensions": _appendix_b(7)}), ok=400),
    ("GET", "/v1/accreditations"): Case(STAFF, get("/v1/accreditations"), insurer_only=True),
    ("GET", "/v1/accreditations/{accreditation_id}"): Case(STAFF, get("/v1/accreditations/" + "ab" * 16), ok=404,
                                                           insurer_only=True),
    ("POST", "/v1/accreditations/{accreditation_id}/confirm"): Case(
        ("accreditor",), lambda w, c: ("POST", "/v1/accreditations/" + "ab" * 16 + "/confirm", None), ok=404),
    ("POST", "/v1/accreditations/{accreditation_id}/execute"): Case(
        ("accreditor",), lambda w, c: ("POST", "/v1/accreditations/" + "ab" * 16 + "/execute", None), ok=404),
    ("POST", "/v1/accreditations/{accreditation_id}/reject"): Case(
        ("accreditor",), lambda w, c: ("POST", "/v1/accreditations/" + "ab" * 16 + "/reject", {"reason": "matrix"}),
        ok=404),
    # Webhooks: each tenant's own subscriptions; any insurer staff key subscribes insurer-wide.
    ("POST", "/v1/webhooks"): Case(
        ("distributor",), lambda w, c: ("POST", "/v1/webhooks", {"url": f"{HOOKS}{c.name}-{next(_n)}",
                                                                  "events": ["payout.sent"]}), ok=201, staff=True),
    ("GET", "/v1/webhooks"): Case(("distributor",), get("/v1/webhooks"),
                                  listed=lambda w, body: w.webhook in _ids(body), finds_a=lambda c: c.tenant == "A",
                                  staff=True),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): Case(
        ("distributor",), get(lambda w: f"/v1/webhooks/{w.webhook}/deliveries"), tenant_only=True, staff=True),
    ("GET", "/v1/webhooks/{webhook_id}"): Case(("distributor",), get(lambda w: f"/v1/webhooks/{w.webhook}"),
                                               tenant_only=True, staff=True),
    ("POST", "/v1/webhooks/{webhook_id}/pause"): Case(
        ("distributor",), lambda w, c: ("POST", f"/v1/webhooks/{w.webhook}/pause", None), tenant_only=True, staff=True),
    ("POST", "/v1/webhooks/{webhook_id}/resume"): Case(
        ("distributor",), lambda w, c: ("POST", f"/v1/webhooks/{w.webhook}/resume", None), tenant_only=True,
        staff=True),
    ("POST", "/v1/webhooks/{webhook_id}/rotate-secret"): Case(
        ("distributor",), lambda w, c: ("POST", f"/v1/webhooks/{w.webhook}/rotate-secret", None), tenant_only=True,
        staff=True),
    ("DELETE", "/v1/webhooks/{webhook_id}"): Case(
        ("distributor",), lambda w, c: ("DELETE", f"/v1/webhooks/{_delete_victim(w, c)}", None), ok=204,
        tenant_only=True, staff=True),
}

_others: dict[int, int] = {}  # per world: a product of another service than A's policy


def _other_product(w: World) -> int:
    if id(w) not in _others:
        _others[id(w)] = w.api.product(unique_service())["id"]
    return _others[id(w)]


_incidents: dict[int, str] = {}  # per world: an incident of A's policy


def _incident(w: World) -> str:
    if id(w) not in _incidents:
        _incidents[id(w)] = w.api.ok(w.api.c.post("/v1/incidents", json={"policy_id": w.policy,
                                                                          "description": "matrix incident"},
                                                  headers=w.keys["A-distributor"]), 201)["id"]
    return _incidents[id(w)]


_victims: dict[int, str | None] = {}  # per world (one per database backend): A's hook to delete next


def _delete_victim(w: World, c: Caller) -> str:
    """A hook of A's to delete: a fresh one whenever an allowed caller deleted the last."""
    _victim_hook = {"id": _victims.get(id(w))}
    if _victim_hook["id"] is None:
        hook = w.api.ok(w.api.c.post("/v1/webhooks", json={"url": f"{HOOKS}victim-{next(_n)}",
                                                           "events": ["payout.sent"]},
                                     headers=w.keys["A-distributor"]), 201)
        _victim_hook["id"] = hook["id"]
    hook_id = _victim_hook["id"]
    _victims[id(w)] = None if c.tenant == "A" and c.may(("distributor",)) else hook_id
    return hook_id


def expected(case: Case, caller: Caller) -> int:
    if case.roles is None:
        return case.ok
    if not caller.role:
        return 401
    if not (caller.may(case.roles) or (case.staff and caller.tenant == "P" and caller.role in STAFF)):
        return 403
    if case.insurer_only and caller.tenant != "P":
        return 403
    if case.owned and not caller.sees_a:
        return 404
    if case.tenant_only and caller.tenant != "A":
        return 404
    return case.ok


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of every route the app serves, included routers flattened."""
    try:  # FastAPI >= 0.165 keeps included routers nested in app.routes
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI: app.routes is already flat
        routes: Any = app.routes
    else:
        routes = iter_route_contexts(app.routes)
    return {(method, route.path_format) for route in routes for method in (route.methods or set()) - {"HEAD"}}


@pytest.fixture(scope="module")
def world(client: TestClient, chain: Chain, app: FastAPI) -> Iterator[World]:
    # Registration checks each webhook destination: answer for the matrix's names with a
    # public address (never connected to: the matrix's hooks never deliver).
    previous = app.dependency_overrides[get_resolver]
    def resolve(host: str, port: int) -> list[str]:
        return ["93.184.216.34"] if host == "hooks.example.com" else previous()(host, port)

    app.dependency_overrides[get_resolver] = lambda: resolve
    api = Api(client, chain)
    tenants = {"P": api.insurer, "A": api.tenant(), "B": api.tenant()}
    keys = {c.name: api.key(tenants[c.tenant], c.role) for c in CALLERS if c.role}
    service = unique_service()
    prod, policy = issue(api, tenants["A"], keys["A-distributor"], service)
    outage(api, service, 5 * HOUR, api.admin)  # 200 due: 150 auto-paid, a 50 claim opened
    worker(app).run_once()
    [claim] = [c for c in api.ok(api.c.get("/v1/claims?limit=500", headers=api.admin))
               if c["policy_id"] == policy["id"]]
    with app.state.factory() as s:
        owner = s.get(m.PolicyOwner, policy["id"])
        quote = s.get(m.Quote, owner.quote_id)
        assessment, report_hash = quote.assessment_id, quote.report_hash
    hook = api.ok(api.c.post("/v1/webhooks", json={"url": f"{HOOKS}a-own", "events": ["payout.sent"]},
                             headers=keys["A-distributor"]), 201)
    yield World(api, tenants, keys, assessment, report_hash, prod["id"], quote.id, policy["id"], claim["id"],
                prod["service_id"], hook["id"])
    with app.state.factory.begin() as s:
        s.execute(update(m.Webhook).where(m.Webhook.url.startswith(HOOKS)).values(active=False))
    app.dependency_overrides[get_resolver] = previous


def test_every_route_has_a_tenancy_entry(app: FastAPI) -> None:
    """A new route fails here until CASES says who may call it."""
    assert app_routes(app) == set(CASES)


def pg_callers(route: tuple[str, str]) -> list[Caller]:
    """The callers the matrix runs on PostgreSQL for a route: the first caller (in CALLERS order)
    of each distinct (answer, whether A's record is listed, caller's tenant, scoped or not).

    Who may call a route is decided in Python (service.api.deps), the same code on both backends,
    so SQLite runs the whole matrix; what the database decides is which rows a scoped or unscoped
    key finds, which every route reaches on PostgreSQL too through one caller of each outcome and
    each tenant (the insurer, A, B, no key): two fifths of the cases, every route, every outcome.
    (Issue 14: the full matrix on both backends was the suite's largest file.)"""
    case, seen, out = CASES[route], set(), []
    for c in CALLERS:
        outcome = (expected(case, c), case.listed is not None and case.finds_a(c), c.tenant, c.scoped)
        if outcome not in seen:
            seen.add(outcome)
            out.append(c)
    return out


def wrong_answer(world: World, route: tuple[str, str], caller: Caller) -> str | None:
    """The route's request by the caller; what is wrong with its answer, or None."""
    case = CASES[route]
    method, url, body = case.build(world, caller)
    r = world.api.c.request(method, url, json=body, headers=world.headers(caller))
    want = expected(case, caller)
    if r.status_code != want:
        return f"{caller.name} {method} {url}: {r.status_code}, want {want}: {r.text[:300]}"
    if want in (401, 403, 404):
        kind = {401: "unauthorized", 403: "forbidden", 404: "not_found"}[want]
        if r.json()["type"] != kind:
            return f"{caller.name} {method} {url}: type {r.json()['type']!r}, want {kind!r}"
    elif case.listed is not None and case.listed(world, r.json()) is not case.finds_a(caller):
        return f"{caller.name} {method} {url}: A's record listed is {not case.finds_a(caller)}: {r.text[:300]}"
    return None


# One test per route, its callers in a loop (every wrong answer reported, not just the first): a
# test item per route and caller cost more in pytest and xdist bookkeeping than its one request.
@pytest.mark.parametrize("route", sorted(CASES), ids=lambda r: f"{r[0]} {r[1]}")
def test_route_by_role_by_tenant(world: World, backend: str, route: tuple[str, str]) -> None:
    callers = CALLERS if backend == "sqlite" else pg_callers(route)
    wrong = [w for c in callers if (w := wrong_answer(world, route, c)) is not None]
    assert not wrong, "\n".join(wrong)


def test_postgresql_sample_reaches_every_route_and_outcome() -> None:
    for route, case in CASES.items():
        sample = pg_callers(route)
        assert {expected(case, c) for c in sample} == {expected(case, c) for c in CALLERS}, route
        assert {c.tenant for c in sample} == {c.tenant for c in CALLERS}, route


# --- regression tests of finding 2 ---------------------------------------------------------------


def test_finding2_client_tenants_cannot_hold_insurer_staff_or_machine_roles(world: World) -> None:
    api, a = world.api, world.tenants["A"]
    for role in ("underwriter", "claims", "assessor", "accreditor", "relay", "monitor"):
        for minter in (api.admin, world.keys["A-admin"]):
            r = api.c.post(f"/v1/tenants/{a}/keys", json={"role": role}, headers=minter)
            assert r.status_code == 400, r.text
            assert r.json()["type"] == "role_not_for_tenant", r.text
    # A client admin may mint the client roles in its own tenant, and a client admin is still scoped.
    for role in CLIENT:
        api.ok(api.c.post(f"/v1/tenants/{a}/keys", json={"role": role}, headers=world.keys["A-admin"]), 201)


def test_finding2_client_assessor_cannot_read_other_tenant_report(world: World, app: FastAPI) -> None:
    """A client tenant's assessor minted before the rule (the finding's key) is void now."""
    with app.state.factory.begin() as s:
        s.add(m.ApiKey(tenant_id=world.tenants["B"], role="assessor", key_hash=hash_key("legacy-b-assessor"),
                       prefix="legacy"))
    legacy = {"X-API-Key": "legacy-b-assessor"}
    for url in (f"/v1/assessments/{world.assessment}/report", f"/v1/assessments/{world.assessment}"):
        r = world.api.c.get(url, headers=legacy)
        assert r.status_code == 403
        assert "insurer's tenant" in r.json()["detail"]
    r = world.api.c.post("/v1/assessments", json=assessment_body(tenant_id=world.tenants["A"]), headers=legacy)
    assert r.status_code == 403


def test_finding2_client_auditor_and_distributor_cannot_read_other_tenant_report(world: World) -> None:
    for who in ("B-auditor", "B-distributor", "B-admin"):
        r = world.api.c.get(f"/v1/assessments/{world.assessment}/report", headers=world.keys[who])
        assert r.status_code == 404
        assert r.json()["type"] == "not_found"
    assert world.api.c.get(f"/v1/assessments/{world.assessment}/report",
                           headers=world.keys["A-auditor"]).status_code == 200


def test_finding2_client_cannot_create_assessment_in_other_tenant(world: World) -> None:
    for who in ("B-distributor", "B-admin"):
        r = world.api.c.post("/v1/assessments", json=assessment_body(tenant_id=world.tenants["A"]),
                             headers=world.keys[who])
        assert r.status_code == 404
        assert r.json()["type"] == "not_found"
        r = world.api.c.post("/v1/assessments", json=assessment_body(tenant_id=world.tenants["P"]),
                             headers=world.keys[who])
        assert r.status_code == 404
    own = world.api.ok(world.api.c.post("/v1/assessments", json=assessment_body(), headers=world.keys["B-admin"]),
                       201)
    assert own["tenant_id"] == world.tenants["B"]


def test_finding2_client_admin_cannot_list_or_create_tenants(world: World) -> None:
    admin_b = world.keys["B-admin"]
    assert world.api.c.get("/v1/tenants", headers=admin_b).status_code == 403
    assert world.api.c.post("/v1/tenants", json={"name": "rogue"}, headers=admin_b).status_code == 403


def test_finding2_client_admin_cannot_mint_keys_in_other_tenants(world: World) -> None:
    admin_b = world.keys["B-admin"]
    r = world.api.c.post(f"/v1/tenants/{world.tenants['P']}/keys", json={"role": "admin"}, headers=admin_b)
    assert r.status_code == 404
    assert r.json()["type"] == "not_found"
    r = world.api.c.post(f"/v1/tenants/{world.tenants['A']}/keys", json={"role": "distributor"}, headers=admin_b)
    assert r.status_code == 404
    assert world.api.c.get(f"/v1/tenants/{world.tenants['P']}/keys", headers=admin_b).status_code == 404


def test_finding2_client_admin_cannot_revoke_insurer_keys(world: World, app: FastAPI) -> None:
    api = world.api
    victim = api.ok(api.c.post(f"/v1/tenants/{world.tenants['P']}/keys", json={"role": "auditor"},
                               headers=api.admin), 201)
    for tenant in ("P", "B"):  # naming the insurer's tenant, or its own with the insurer's key id
        r = api.c.delete(f"/v1/tenants/{world.tenants[tenant]}/keys/{victim['id']}", headers=world.keys["B-admin"])
        assert r.status_code == 404, r.text
    with app.state.factory() as s:
        assert s.scalar(select(m.ApiKey.revoked).where(m.ApiKey.id == victim["id"])) is False
    assert api.c.get("/v1/products", headers={"X-API-Key": victim["key"]}).status_code == 200


def test_finding2_client_admin_manages_its_own_keys(world: World) -> None:
    api, b, admin_b = world.api, world.tenants["B"], world.keys["B-admin"]
    minted = api.ok(api.c.post(f"/v1/tenants/{b}/keys", json={"role": "distributor"}, headers=admin_b), 201)
    listed = api.ok(api.c.get(f"/v1/tenants/{b}/keys", headers=admin_b))
    assert minted["id"] in _ids(listed)
    assert {k["tenant_id"] for k in listed} == {b}
    assert api.c.delete(f"/v1/tenants/{b}/keys/{minted['id']}", headers=admin_b).status_code == 204
    assert api.c.get("/v1/policies", headers={"X-API-Key": minted["key"]}).status_code == 401
    # Its admin key acts within the tenant: it sees B's records only.
    assert world.policy not in _ids(api.ok(api.c.get("/v1/policies?limit=500", headers=admin_b))["items"])
