"""Screenshots of the four main pages for the README: `.venv/bin/python scripts/screenshots.py`.

A local stack like the browser tests' (tests/web/conftest.py): an eth-tester chain with the
contracts deployed, the in-process app served by uvicorn on a loopback port, a SQLite database in
a temporary folder. The scenario goes through the API as a distributor would: a per-hour cover of
a SaaS service, two verified outages (one three days ago, one today), the payout worker paying the
cover up to its auto-pay limit and opening a claim for the rest. Then Debian's Chromium (the tests'
Playwright harness) saves docs/screenshots/{status,cover,verify,console}.png. A page this build
does not serve is skipped with a message. No network beyond loopback."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from service.api.app import create_app  # noqa: E402
from service.api.routes.webhooks import get_resolver  # noqa: E402
from service.db.session import make_engine  # noqa: E402
from service.settings import Settings  # noqa: E402
from tests.service.helpers import ADMIN_KEY, HOUR, Api, make_chain, outage, worker  # noqa: E402
from tests.web.conftest import CHROMIUM, DESKTOP, Serialized, free_port, no_dns, serve  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SERVICE = "https://api.acme-invoicing.example/health"
DAY = 86400


def scenario(api: Api, app: Any) -> dict[str, Any]:
    """A cover, two verified outages, a payout and an open claim; what the pages need to show them."""
    tenant = api.tenant("Acme Invoicing")
    dist = api.key(tenant, "distributor")
    assessment = api.anchored_assessment(tenant)
    product = api.product(SERVICE, name="SaaS downtime cover")
    quote = api.quote(product["id"], assessment["id"], dist)
    policy = api.ok(api.c.post("/v1/policies", json={
        "quote_id": quote["id"], "beneficiary": "0x" + "c0ffee" * 6 + "c0ff", "holder_ref": "acme-customer-42"},
        headers=dist), 201)
    api.chain.travel(DAY)
    outage(api, SERVICE, 2 * HOUR, dist)  # 2 h: pays one unit past the 1 h threshold
    worker(app).run_once()
    api.chain.travel(3 * DAY)
    outage(api, SERVICE, 4 * HOUR, dist)  # past the auto-pay limit: paid up to it, the rest to review
    worker(app).run_once()
    report = api.ok(api.c.get(f"/v1/assessments/{assessment['id']}/report", headers=api.admin))
    return {"service_id": product["service_id"], "dist": dist,
            "policy": api.ok(api.c.get(f"/v1/policies/{policy['id']}", headers=dist)), "report": report}


def served(url: str) -> bool:
    return httpx.get(url, timeout=30).status_code == 200


def save(page: Page, name: str) -> None:
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"saved {path.relative_to(ROOT)}")


def shoot(page: Page, base: str, facts: dict[str, Any]) -> None:
    page.goto(f"{base}/status/{facts['service_id']}")
    save(page, "status")

    cover = facts["policy"].get("cover_page")
    if cover and served(base + cover):
        page.goto(base + cover)
        save(page, "cover")
    else:
        print("skipped cover.png: this build has no holder's cover page (/cover/{id}?ref=…)")

    page.goto(f"{base}/verify")
    page.fill("#report-text", json.dumps(facts["report"], indent=2, ensure_ascii=False))
    page.click("#report-form button")
    page.wait_for_selector("#report-result .verdict")
    page.click("#contracts-form button")
    page.wait_for_selector("#contracts-result .verdict")
    save(page, "verify")

    if not served(f"{base}/console"):
        print("skipped console.png: this build has no /console")
        return
    page.goto(f"{base}/console")
    key = page.locator("input[type=password]")
    if key.count():  # the console's login: the insurer's admin key, kept in the browser session
        key.first.fill(ADMIN_KEY)
        key.first.press("Enter")
    page.wait_for_load_state("networkidle")
    save(page, "console")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cybercover-shots-") as tmp:
        settings = Settings(data_dir=Path(tmp), admin_key=SecretStr(ADMIN_KEY),
                            database_url=f"sqlite:///{Path(tmp) / 'web.db'}")
        chain = make_chain()
        engine = make_engine(str(settings.database_url))
        app = create_app(settings, gateway=chain.gateway(), engine=engine)
        app.dependency_overrides[get_resolver] = lambda: no_dns
        port = free_port()
        server, thread = serve(Serialized(app), port)
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, timeout=120) as client:
                facts = scenario(Api(client, chain), app)  # type: ignore[arg-type]
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
                context = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id="UTC")
                shoot(context.new_page(), base, facts)
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            engine.dispose()


if __name__ == "__main__":
    main()
