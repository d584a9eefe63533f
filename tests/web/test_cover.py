"""The holder's cover page: opened by the link the distributor's API answer carries (the holder
salt is its key), it shows the terms in English and Chinese, the cover period and status, the
verified outage in the cover and the payout it made with its transaction; a wrong ref opens nothing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import select

from contracts.sender import send
from service.db import models as m
from tests.chain import TEST_GAS, USD
from tests.service.helpers import HOUR, Api, issue, outage, unique_service, worker
from tests.web.conftest import PHONE, Web, shot


def test_cover_page_shows_terms_outage_and_payout(web: Web, api: Api, page: Page, tmp_path: Path) -> None:
    tenant = api.tenant()
    dist = api.key(tenant, "distributor")
    name = unique_service()
    _, policy = issue(api, tenant, dist, name)
    link = policy["cover_page"]
    assert link == f"/cover/{policy['id']}?ref={stored_salt(web, policy['id'])}"

    page.goto(web.url + link)
    expect(page.locator("#status")).to_have_text("active")
    expect(page.locator("#no-outages")).to_be_visible()
    expect(page.locator("#no-payouts")).to_be_visible()
    expect(page.locator("#terms")).to_contain_text("Trigger")
    expect(page.locator("#summary")).to_contain_text("500")  # the limit, in token units
    # The cover period in UTC; hovering shows the visitor's local time (the context is Asia/Shanghai, +8 h).
    start = page.locator("#summary time").first
    iso = start.get_attribute("datetime") or ""
    local = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(timezone(timedelta(hours=8)))
    assert start.inner_text().endswith(" UTC")
    assert start.get_attribute("title") == f"Local time: {local:%d/%m/%Y, %H:%M:%S}"
    shot(page, tmp_path, "before")

    outage(api, name, 2 * 3600, dist)  # 2 h down: 1 h above the 1 h trigger → 50 USD
    worker(web.app).run_once()
    paid = api.ok(api.c.get(f"/v1/policies/{policy['id']}", headers=dist))
    assert paid["paid"] == 50 * 10**6 and paid["payouts"]

    page.goto(web.url + link)
    expect(page.locator("#outages tbody tr")).to_have_count(1)
    expect(page.locator("#outages")).to_contain_text("2 h 00 min")
    row = page.locator("#payouts tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator(".amount")).to_contain_text("50")
    assert row.locator("code").get_attribute("title") == paid["payouts"][0]["tx"]
    expect(page.locator("#paid")).to_contain_text("50")
    shot(page, tmp_path, "paid")

    # 中文: the same page in Chinese, the English beside it.
    page.get_by_role("link", name="中文").click()
    expect(page.locator("h1")).to_contain_text("您的保障")
    expect(page.locator("#terms")).to_contain_text("触发条件")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    shot(page, tmp_path, "zh-phone")


def test_wrong_or_missing_ref_opens_nothing(web: Web, api: Api, page: Page) -> None:
    tenant = api.tenant()
    dist = api.key(tenant, "distributor")
    _, policy = issue(api, tenant, dist, unique_service())
    pid = policy["id"]
    salt = policy["cover_page"].split("ref=")[1]
    tampered = salt[:-1] + ("0" if salt[-1] != "0" else "1")
    for url in (f"/cover/{pid}", f"/cover/{pid}?ref={tampered}", f"/cover/{pid}?ref=customer-42",
                f"/cover/{pid + 10_000}?ref={salt}"):
        r = page.request.get(web.url + url)
        assert r.status == 404, url
        assert "Cover not found" in r.text() and "customer-42" not in r.text()
    assert page.request.get(web.url + policy["cover_page"]).status == 200


def stored_salt(web: Web, policy_id: int) -> str:
    with web.app.state.factory() as s:
        return str(s.scalar(select(m.PolicyOwner.holder_salt).where(m.PolicyOwner.policy_id == policy_id)))


def test_claim_in_review_and_claimable_balance_with_how_to_claim(web: Web, api: Api, page: Page,
                                                                 tmp_path: Path) -> None:
    """A 5 h outage on a per-hour cover (50 an hour beyond 1 h, auto-pay up to 150): 150 is paid and
    a 50 claim goes to review. The token refuses the beneficiary, so the 150 is credited on the pool
    instead: the page says how much is claimable and how to pull it (CoverPool.claim(to))."""
    tenant = api.tenant()
    dist = api.key(tenant, "distributor")
    name = unique_service()
    _, policy = issue(api, tenant, dist, name)
    send(web.chain.w3, web.chain.token.functions.setBlacklisted(policy["beneficiary"], True), web.chain.owner,
         gas=TEST_GAS)
    outage(api, name, 5 * HOUR, dist)
    worker(web.app).run_once()
    pool = web.chain.dep.contract(web.chain.w3, "CoverPool")
    assert pool.functions.claimableOf(policy["beneficiary"]).call() == 150 * USD

    page.goto(web.url + policy["cover_page"])
    claimable = page.locator("#claimable")
    expect(claimable).to_contain_text("Claimable balance: 150")
    expect(claimable).to_contain_text(f"claim(to) on CoverPool {pool.address}")
    expect(page.locator("#payouts .badge")).to_have_text("credited")
    review = page.locator(".notice.claim")
    expect(review).to_have_count(1)
    expect(review).to_contain_text("Claim in review")
    expect(review).to_contain_text("50")
    expect(review).to_contain_text("above the automatic payout limit")
    shot(page, tmp_path, "claim-and-claimable")
    page.get_by_role("link", name="中文").click()
    expect(page.locator("#claimable")).to_contain_text("可领取余额")
    expect(page.locator(".notice.claim")).to_contain_text("审核中的理赔")
