"""The console in Chromium (issue 15 items 4, 5, 7): the insurer's view approves a claim and the
chain pays it; the distributor's view previews a CSV with a bad row, shows that row's error,
issues nothing until confirmed and then only the good rows. The key lives in sessionStorage
only. The `page` fixture fails a test on any console error and screenshots it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_utils import keccak
from playwright.sync_api import Page, expect

from service.db import models as m
from tests.chain import USD
from tests.service.helpers import HOUR, Api, incident_on_file, issue, outage, unique_service, worker
from tests.web.conftest import Web, shot

KEY = "cybercover.console.key"


def sym(web: Web) -> str:
    return str(web.chain.token.functions.symbol().call())


def sign_in(page: Page, web: Web, key: str) -> None:
    page.goto(f"{web.url}/console")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#who-role")).to_be_visible()


def _open_claim(api: Api, web: Web) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A per-hour policy (50 an hour, auto-pay 150) and a 5 h outage: 150 paid, a 50 claim open."""
    tenant = api.tenant()
    headers = api.key(tenant, "distributor")
    service = unique_service()
    _, policy = issue(api, tenant, headers, service)
    outage(api, service, 5 * HOUR, headers)
    worker(web.app).run_once()
    [claim] = [c for c in api.ok(api.c.get("/v1/claims", params={"status": "open", "limit": 500}, headers=headers))
               if c["policy_id"] == policy["id"]]
    return service, policy, claim


def test_insurer_approves_a_claim_in_part_and_the_chain_pays_it(web: Web, api: Api, page: Page,
                                                                tmp_path: Path) -> None:
    service, policy, claim = _open_claim(api, web)
    ep = api.ok(api.c.get(f"/v1/claims/{claim['id']}", headers=api.admin))["episodes"][0]
    incident = incident_on_file(api, web.app, policy, service, ep["start"], ep["end"])
    before = web.chain.balance(policy["beneficiary"])
    key = api.staff("claims")["X-API-Key"]

    sign_in(page, web, key)
    assert page.locator("#who-role").inner_text() == "claims"
    # The key is in this tab's sessionStorage only: no cookie, nothing in localStorage.
    assert page.evaluate(f"sessionStorage.getItem('{KEY}')") == key
    assert page.evaluate("localStorage.length") == 0
    assert page.context.cookies() == []
    # Capital with its chart over time, products, figures: the insurer's view.
    expect(page.locator("#capital svg.chart polyline")).to_have_count(4)  # free, locked, premiums, payouts
    expect(page.locator("#capital .stat").first).to_contain_text("Free")
    # Token units with thousands separators (the pool holds ~100 million), percentages too.
    expect(page.locator("#capital .stat-value").first).to_have_text(re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)? "))
    expect(page.locator("#figures .stat-value").nth(3)).to_have_text(re.compile(r"^\d{1,3}(,\d{3})*\.\d %$"))
    # Dates in UTC, the visitor's local time (Asia/Shanghai here) on hover.
    stamp = page.locator("#capital time").first
    assert stamp.inner_text().endswith(" UTC") and (stamp.get_attribute("title") or "").startswith("Local time: ")
    expect(page.locator("#products")).to_contain_text(service)
    expect(page.locator("#exposure")).to_contain_text(service)
    expect(page.locator("#figures")).to_contain_text("Loss ratio")
    expect(page.locator("#payouts")).to_contain_text("150")  # the auto-paid part
    shot(page, tmp_path, "insurer")

    item = page.locator(f"#claim-{claim['id']}")
    expect(item).to_contain_text(f"50 {sym(web)} in review")
    item.get_by_role("button", name=f"Review claim {claim['id']}").click()
    expect(item.locator(".incident")).to_contain_text("approvable")
    expect(item.get_by_label("Incident report (anchor id)")).to_have_value(incident)
    item.locator(f"#amt-{claim['id']}").fill("20")
    item.get_by_label("Reason (for a partial approval)").fill("30 USD fell in announced maintenance")
    shot(page, tmp_path, "claim-review")
    item.get_by_role("button", name="Approve and pay").click()
    expect(item.locator(".decision-status")).to_contain_text(
        f"Claim {claim['id']} approved: 20 {sym(web)} paid, 30 {sym(web)} declined.")

    assert web.chain.balance(policy["beneficiary"]) == before + 20 * USD  # the chain paid it
    got = api.ok(api.c.get(f"/v1/claims/{claim['id']}", headers=api.admin))
    assert (got["status"], got["approved"], got["reason"]) == ("approved", 20 * USD,
                                                              "30 USD fell in announced maintenance")
    # The queue and the payouts refresh: the claim leaves the queue, the payout is listed.
    expect(page.locator(f"#claim-{claim['id']}")).to_have_count(0, timeout=10_000)
    expect(page.locator("#payouts tbody tr").first).to_contain_text(f"20 {sym(web)}")
    shot(page, tmp_path, "approved")


def _addr(seed: str) -> str:
    return "0x" + keccak(text=seed)[:20].hex()


def test_distributor_previews_a_csv_and_issues_only_after_confirming(web: Web, api: Api, page: Page,
                                                                     tmp_path: Path) -> None:
    tenant = api.tenant()
    headers = api.key(tenant, "distributor")
    assessment = api.anchored_assessment(tenant)
    product = api.product(unique_service())
    quote = api.quote(product["id"], assessment["id"], headers)
    with web.app.state.factory.begin() as s:  # a webhook with deliveries (registration checks DNS)
        hook = m.Webhook(tenant_id=tenant, url="https://hooks.example.com/csv", events=["policy.issued"],
                         secret_sealed="sealed", active=True)
        s.add(hook)
        s.flush()
        s.add_all([m.WebhookDelivery(webhook_id=hook.id, event_type="policy.issued", payload={}, attempts=1,
                                     delivered_at=datetime.now(UTC)),
                   m.WebhookDelivery(webhook_id=hook.id, event_type="payout.sent", payload={}, attempts=3,
                                     last_error="HTTP 503 from the destination")])
    csv_text = (f"holder_ref,beneficiary\ncsv-alpha,{_addr('alpha')}\ncsv-broken,0xnot-an-address\n"
                f"csv-gamma,{_addr('gamma')}\n")
    upload = tmp_path / "covers.csv"
    upload.write_text(csv_text)

    sign_in(page, web, headers["X-API-Key"])
    expect(page.locator("#who-role")).to_have_text("distributor")
    expect(page.locator("#webhooks")).to_contain_text("https://hooks.example.com/csv")
    expect(page.locator("#webhooks")).to_contain_text("HTTP 503 from the destination")
    expect(page.locator("#webhooks .badge", has_text="retrying")).to_have_count(1)
    expect(page.locator("#due")).to_be_visible()

    page.get_by_label("Quote (every cover gets its limit, premium and cover length)").fill(quote["id"])
    page.locator("#bulk-file").set_input_files(str(upload))
    expect(page.locator("#bulk-csv")).to_have_value(csv_text)
    page.get_by_role("button", name="Preview").click()
    bad = page.locator(".row-error[data-line='3']")
    expect(bad).to_contain_text("invalid_beneficiary")
    expect(bad).to_contain_text("0xnot-an-address")
    expect(page.locator("#bulk-preview")).to_contain_text("2 of 3 rows can be issued; 1 with errors will be left out")
    expect(page.locator("#bulk-preview")).to_contain_text(f"total premium 3 {sym(web)}")
    shot(page, tmp_path, "csv-preview")

    def issued() -> list[str]:
        page_ = api.ok(api.c.get("/v1/policies", params={"q": "csv-"}, headers=headers))
        return sorted(p["holder_ref"] for p in page_["items"])

    assert issued() == []  # the preview sent nothing
    page.get_by_role("button", name="Issue 2 covers").click()
    expect(page.locator("#bulk-result")).to_contain_text("2 covers issued")
    assert issued() == ["csv-alpha", "csv-gamma"]
    expect(page.get_by_role("button", name="Issue 2 covers")).to_be_disabled()

    # The covers list searches the distributor's own covers.
    page.get_by_label("Search covers").fill("gamma")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#covers tbody tr")).to_have_count(1)
    expect(page.locator("#covers tbody")).to_contain_text("csv-gamma")
    expect(page.locator("#covers tbody")).to_contain_text(f"500 {sym(web)}")
    shot(page, tmp_path, "csv-issued")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API key")).to_be_visible()
    assert page.evaluate(f"sessionStorage.getItem('{KEY}')") is None


def test_console_at_phone_width(web: Web, api: Api, phone_page: Page, tmp_path: Path) -> None:
    sign_in(phone_page, web, api.staff("auditor")["X-API-Key"])
    expect(phone_page.locator("#capital svg.chart").first).to_be_visible()
    # Nothing wider than the screen but the scrollable tables.
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    # An auditor reads the queue but is offered no decision.
    expect(phone_page.locator("#claims")).to_contain_text("Read only")
    expect(phone_page.get_by_role("button", name="Approve and pay")).to_have_count(0)
    shot(phone_page, tmp_path, "phone")
