"""Re-rating (service.domain.rerating): an anchored in-policy report supersedes the subject's
report; new issuance on the old report stops (the service's 409 and the chain's refusal),
renewals price on the current report — a worse level dearer, High declined with the reason, a
better level cheaper — and `risk.changed` is published once per superseding anchor.

The in-policy report is built by the engine and anchored through the gateway with `replaces`
(as the in-policy route will), independently of that route. Prices are written out by hand (the
figures) and by a model of the README's pricing rule in fractions, not the service's code.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from math import ceil
from typing import Any

import pytest
from eth_utils import encode_hex, keccak
from fastapi import FastAPI
from sqlalchemy import select, update

from contracts.records import PolicyTerms
from service.assessment import Assessor, Overview, ReportKind, Subject, anchor_fields, assess, build_report
from service.assessment.anchoring import anchor_args, report_anchor_id
from service.assessment.in_policy import InPolicyDetails
from service.db import models as m
from service.domain import rerating
from service.errors import ServiceError
from tests.chain import USD
from tests.service.helpers import RATES, Api, answers, assessment_body, unique_service

DAY = 86400
YEAR = 365 * DAY
COVER = 2 * DAY
BANDS = {"low": (9001, 10000), "lower": (8001, 9000), "medium": (6001, 8000)}


def model_premium(limit: int, level: str, score_bps: int, x: int, seconds: int) -> int:
    """The README's pricing rule in exact fractions, each step rounded up (no min_premium here)."""
    lo, hi = BANDS[level]
    s = min(max(score_bps, lo), hi)
    adj = ceil(Fraction(x * (lo + hi - 2 * s), hi - lo))
    rate = ceil(Fraction(RATES[level] * (10_000 + adj), 10_000))
    return ceil(Fraction(limit * rate * seconds, 10**6 * YEAR))


@pytest.fixture(autouse=True)
def _quiet_outbox(app: FastAPI) -> Any:
    """The database is shared by the session: no delivery of another test is due in ours."""
    with app.state.factory.begin() as s:
        s.execute(update(m.WebhookDelivery).where(m.WebhookDelivery.delivered_at.is_(None)).values(failed=True))


def _hook(app: FastAPI, tenant_id: str, *, scope: str = "tenant") -> str:
    with app.state.factory.begin() as s:
        hook = m.Webhook(id=m.new_id(), tenant_id=tenant_id, url=f"https://hooks.example/{m.new_id()}",
                         events=["risk.changed"], secret_sealed="x", active=True, scope=scope)
        s.add(hook)
        return hook.id


def _queued(app: FastAPI, hook_id: str, subject: str | None = None) -> list[m.WebhookDelivery]:
    """The hook's deliveries (about `subject`: an insurer-wide hook hears of every re-rating the
    shared chain has, other backends' tests' included)."""
    with app.state.factory() as s:
        rows = s.scalars(select(m.WebhookDelivery).where(m.WebhookDelivery.webhook_id == hook_id)
                         .order_by(m.WebhookDelivery.id))
        return [r for r in rows if subject is None or r.payload["data"]["subject"] == subject]


def insured(api: Api, tenant: str, headers: dict[str, str], level: str, **product: Any) -> tuple[dict, dict, dict]:
    """An anchored assessment at `level` (its salt kept), a product, a 2-day policy on it."""
    a = api.ok(api.c.post("/v1/assessments", json=assessment_body(level, tenant_id=tenant), headers=api.admin), 201)
    api.ok(api.c.post(f"/v1/assessments/{a['id']}/anchor", headers=api.admin))
    service = unique_service()
    prod = api.product(service, **product)
    quote = api.quote(prod["id"], a["id"], headers, cover_seconds=COVER)
    body = {"quote_id": quote["id"], "beneficiary": "0x" + keccak(text=service)[:20].hex(), "holder_ref": "c-1"}
    policy = api.ok(api.c.post("/v1/policies", json=body, headers=headers), 201)
    return a, prod, policy


def in_policy(api: Api, app: FastAPI, baseline: dict[str, Any], level: str, *, replaces: str | None = None) -> dict:
    """An in-policy report of the baseline's subject at `level` (Appendix A answers), filed as an
    assessment of the baseline's tenant and anchored by the service's assessor with `replaces` the
    baseline's anchor (or `replaces`). Returns the record's id, anchor id and report."""
    gw = app.state.gateway
    with app.state.factory() as s:
        base = s.get(m.AssessmentRecord, baseline["id"])
        assert base is not None
        base_report, tenant, salt, subject = base.report, base.tenant_id, base.subject_salt, base.subject
    baseline_assessment = assess(answers(baseline["risk_level"]), [])  # what insured() assessed it with
    now = datetime.now(UTC).replace(microsecond=0)
    record_id = m.new_id()
    report = build_report(
        kind=ReportKind.IN_POLICY, report_id=f"RA-{record_id}", issued_at=now,
        assessor=Assessor("CyberCover Assessment Desk", gw.assessor.address),
        overview=Overview(objective="In-policy assessment", scope="Production services named in the cover",
                          started_at=now, ended_at=now, methods=("questionnaire",), team=("assessment desk",)),
        subject=Subject(commitment=bytes.fromhex(subject[2:]), industry="software / SaaS",
                        business_overview="B2B invoicing platform", key_assets=("customer database",)),
        assessment=assess(answers(level), []),
        in_policy=InPolicyDetails(policy_ref="all live policies", period_start=now - timedelta(days=30),
                                  period_end=now, baseline_report_hash=bytes.fromhex(baseline["report_hash"][2:]),
                                  baseline=baseline_assessment, advice=("close the open hardening items",)),
    )
    fields = anchor_fields(report)
    with app.state.factory.begin() as s:
        s.add(m.AssessmentRecord(id=record_id, tenant_id=tenant, report=report,
                                 report_hash=encode_hex(fields["report_hash"]), score_bps=fields["score_bps"],
                                 risk_level=level, subject_salt=salt, subject=subject))
    previous = bytes.fromhex((replaces or encode_hex(report_anchor_id(base_report)))[2:])
    receipt = gw.send(gw.registry.functions.anchor(*anchor_args(report, gw.assessor.address, previous)), gw.assessor)
    with app.state.factory.begin() as s:
        s.get(m.AssessmentRecord, record_id).anchor_tx = encode_hex(receipt["transactionHash"])
    app.state.indexer.sync()
    return {"id": record_id, "anchor_id": encode_hex(report_anchor_id(report)), "report": report,
            "score_bps": fields["score_bps"]}


def renew(api: Api, policy: dict[str, Any], headers: dict[str, str], status: int = 201) -> Any:
    return api.ok(api.c.post(f"/v1/policies/{policy['id']}/renew", headers=headers), status)


def issue_body(quote: dict[str, Any]) -> dict[str, Any]:
    return {"quote_id": quote["id"], "beneficiary": "0x" + "11" * 20, "holder_ref": "c-2"}


def effect(base_level: str, level: str) -> dict[str, set[str]]:
    """control_effectiveness by hand from the two sets of answers (all yes / no)."""
    before, after = answers(base_level), answers(level)
    return {"remediated": {i for i in after if before[i] == "no" and after[i] == "yes"},
            "still_open": {i for i in after if before[i] == "no" and after[i] == "no"},
            "regressed": {i for i in after if before[i] == "yes" and after[i] == "no"}}


def test_worse_in_policy_result_stops_issuance_on_the_old_report_and_reprices_renewals(
        api: Api, app: FastAPI, distributor, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant, headers = distributor
    hook = _hook(app, tenant)
    wide = _hook(app, api.insurer, scope="insurer")
    base, prod, old = insured(api, tenant, headers, "low")
    # 2 days of 3.65 % a year on 500 USD: 500 × 0.0365 × 2 / 365 = 0.10 USD.
    assert old["premium"] == 100_000 == model_premium(500 * USD, "low", base["score_bps"], 0, COVER)
    pending = api.quote(prod["id"], base["id"], headers, cover_seconds=COVER)  # quoted before the re-rating
    new = in_policy(api, app, base, "medium")

    # The baseline is superseded: shown, and no longer quoted or issued on (the service's 409).
    shown = api.ok(api.c.get(f"/v1/assessments/{base['id']}", headers=headers))
    assert (shown["superseded_by"], shown["current_report"]) == (new["anchor_id"], new["anchor_id"])
    assert shown["anchor_id"] == old["report_hash"]
    refused = api.ok(api.c.post("/v1/policies", json=issue_body(pending), headers=headers), 409)
    assert refused["type"] == "report_superseded"
    assert new["anchor_id"] in refused["detail"] and new["id"] in refused["detail"]
    requote = api.ok(api.c.post("/v1/quotes", json={"product_id": prod["id"], "assessment_id": base["id"]},
                                headers=headers), 409)
    assert requote["type"] == "report_superseded"
    assert new["anchor_id"] in requote["detail"]

    # The chain refuses too: issuing on the old anchor id directly reverts.
    gw = app.state.gateway
    now = api.chain.now()
    terms = PolicyTerms(prod["id"], 0, now + COVER + 3600, 500 * USD, 100_000, "0x" + "22" * 20, b"\x01" * 32,
                        bytes.fromhex(old["subject"][2:]), bytes.fromhex(old["report_hash"][2:]), b"\x02" * 32)
    with pytest.raises(ServiceError) as chain:
        gw.send(gw.book.functions.issue(terms.as_tuple()))
    assert chain.value.type == "report_not_underwritable"
    # …and the service maps that refusal (a supersession its own check missed) to the same 409.
    monkeypatch.setattr(rerating, "refuse_superseded", lambda *a, **k: None)
    raced = api.ok(api.c.post("/v1/policies", json=issue_body(pending), headers=headers), 409)
    assert raced["type"] == "report_superseded"
    assert new["anchor_id"] in raced["detail"]
    monkeypatch.undo()

    # The renewal is underwritten on the in-policy report: the Medium rate on the Medium
    # sub-limit (half the product limit): 250 × 0.1095 × 2 / 365 = 0.15 USD.
    renewed = renew(api, old, headers)
    assert (renewed["premium"], renewed["limit"]) == (150_000, 250 * USD)
    length = old["cover_end"] - old["cover_start"]  # a renewal keeps the old cover's length (the chain's)
    assert renewed["cover_end"] - renewed["cover_start"] == length
    assert renewed["premium"] == model_premium(250 * USD, "medium", new["score_bps"], 0, length)
    assert renewed["premium"] > old["premium"]
    assert renewed["report_hash"] == new["anchor_id"]
    # New covers on the current report are quoted at the new level.
    fresh = api.quote(prod["id"], new["id"], headers, cover_seconds=COVER)
    assert (fresh["decision"], fresh["risk_level"], fresh["premium"]) == ("offer", "medium", 150_000)

    # The in-policy report states the effect of the baseline advice: all was yes, now items regressed.
    eff = new["report"]["in_policy"]["control_effectiveness"]
    want = effect("low", "medium")
    assert want["regressed"] and not want["remediated"] and not want["still_open"]
    assert {k: set(eff[k]) for k in want} == want
    assert eff["score_change_bps"] == new["score_bps"] - base["score_bps"] < 0

    # risk.changed: once, to the owning tenant and insurer-wide, with levels, scores, the policy's renewal.
    [notice] = _queued(app, hook)
    [wide_notice] = _queued(app, wide, old["subject"])
    assert wide_notice.event_id != notice.event_id
    assert wide_notice.payload["tenant_ids"] == [tenant]
    assert wide_notice.payload["data"] == notice.payload["data"]
    d = notice.payload["data"]
    assert notice.payload["type"] == "risk.changed"
    assert (d["subject"], d["direction"], d["assessment_id"]) == (old["subject"], "worse", new["id"])
    assert (d["previous"]["risk_level"], d["previous"]["score_bps"], d["previous"]["anchor_id"]) == (
        "low", base["score_bps"], old["report_hash"])
    assert (d["current"]["risk_level"], d["current"]["score_bps"], d["current"]["kind"]) == (
        "medium", new["score_bps"], "in_policy")
    [concerned] = [p for p in d["policies"] if p["policy_id"] == old["id"]]
    assert concerned["renewal"] == {"decision": "offer", "limit": str(250 * USD), "cover_seconds": length,
                                    "rate_ppm": RATES["medium"], "premium": "150000", "previous_premium": "100000"}
    assert {k: set(d["control_effectiveness"][k]) for k in want} == want
    # Once per superseding anchor: a replay of the projection queues nothing new.
    app.state.indexer.rebuild()
    again = api.ok(api.c.get(f"/v1/assessments/{base['id']}", headers=headers))  # the projection rebuilt
    assert (again["superseded_by"], again["current_report"]) == (new["anchor_id"], new["anchor_id"])
    with app.state.factory.begin() as s:
        rerating.notice(s, s.get(m.Anchor, new["anchor_id"]), block=0, tx="0x")
    assert len(_queued(app, hook)) == 1 and len(_queued(app, wide, old["subject"])) == 1


def test_high_in_policy_result_declines_renewal_with_the_reason(api: Api, app: FastAPI, distributor) -> None:
    tenant, headers = distributor
    hook = _hook(app, tenant)
    base, prod, old = insured(api, tenant, headers, "low")
    new = in_policy(api, app, base, "high")
    declined = renew(api, old, headers, 409)
    assert declined["type"] == "renewal_declined"
    assert "high" in declined["detail"]
    assert api.ok(api.c.get(f"/v1/policies/{old['id']}", headers=headers))["renewed_by"] is None
    quote = api.quote(prod["id"], new["id"], headers)
    assert (quote["decision"], quote["premium"]) == ("decline", None)
    assert "high" in quote["reason"]
    assert api.ok(api.c.post("/v1/quotes", json={"product_id": prod["id"], "assessment_id": base["id"]},
                             headers=headers), 409)["type"] == "report_superseded"
    [notice] = _queued(app, hook)
    d = notice.payload["data"]
    assert (d["direction"], d["current"]["risk_level"], d["renewals"]) == ("worse", "high", "declined: risk level high")
    [concerned] = d["policies"]
    assert concerned["renewal"]["decision"] == "decline" and "high" in concerned["renewal"]["reason"]


def test_better_in_policy_result_prices_renewals_lower(api: Api, app: FastAPI, distributor) -> None:
    """With a score adjustment (x = 2,000 bps) so the score within the level counts too."""
    tenant, headers = distributor
    hook = _hook(app, tenant)
    base, prod, old = insured(api, tenant, headers, "medium", score_adjustment_bps=2_000)
    assert old["limit"] == 250 * USD  # the Medium sub-limit
    assert old["premium"] == model_premium(250 * USD, "medium", base["score_bps"], 2_000, COVER)
    new = in_policy(api, app, base, "lower")
    renewed = renew(api, old, headers)
    # The old limit (250 USD) at the Lower rate, adjusted for the in-policy score.
    assert renewed["limit"] == 250 * USD
    length = old["cover_end"] - old["cover_start"]
    assert renewed["premium"] == model_premium(250 * USD, "lower", new["score_bps"], 2_000, length)
    assert renewed["premium"] < old["premium"]
    eff = new["report"]["in_policy"]["control_effectiveness"]
    want = effect("medium", "lower")
    assert want["remediated"] and want["still_open"] and not want["regressed"]
    assert {k: set(eff[k]) for k in want} == want
    [notice] = _queued(app, hook)
    d = notice.payload["data"]
    assert (d["direction"], d["previous"]["risk_level"], d["current"]["risk_level"]) == ("better", "medium", "lower")
    assert d["policies"][0]["renewal"]["premium"] == str(renewed["premium"])
    assert {k: set(d["control_effectiveness"][k]) for k in want} == want


def test_a_second_re_rating_names_the_current_report(api: Api, app: FastAPI, distributor) -> None:
    tenant, headers = distributor
    base, prod, _ = insured(api, tenant, headers, "low")
    first = in_policy(api, app, base, "lower")
    second = in_policy(api, app, base, "low", replaces=first["anchor_id"])
    shown = api.ok(api.c.get(f"/v1/assessments/{base['id']}", headers=headers))
    assert (shown["superseded_by"], shown["current_report"]) == (first["anchor_id"], second["anchor_id"])
    refused = api.ok(api.c.post("/v1/quotes", json={"product_id": prod["id"], "assessment_id": base["id"]},
                                headers=headers), 409)
    assert refused["type"] == "report_superseded"
    assert first["anchor_id"] in refused["detail"] and second["anchor_id"] in refused["detail"]
    assert api.ok(api.c.post("/v1/quotes", json={"product_id": prod["id"], "assessment_id": first["id"]},
                             headers=headers), 409)["type"] == "report_superseded"
    # The chain refuses superseding a superseded report again (mapped to 409 by the revert table).
    gw = app.state.gateway
    with pytest.raises(ServiceError) as again:
        gw.send(gw.registry.functions.anchor(keccak(text=m.new_id()), 9500, 0, bytes.fromhex(base["subject"][2:]),
                                             bytes.fromhex(first["anchor_id"][2:]), 1), gw.assessor)
    assert (again.value.status, again.value.type) == (409, "already_superseded")
