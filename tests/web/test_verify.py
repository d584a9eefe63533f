"""The auditor's page /verify in the browser: "valid" for an anchored report and "invalid" with
the reason for a one-byte-changed copy (the same answer as `cybercover report verify`); an
evidence bundle checked from a file and from a node's URL (and only a configured node's: SSRF);
the deployed contracts against the committed artifacts. No key, no console errors."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from playwright.sync_api import Page, expect

from contracts.deploy import Deployment
from contracts.sender import send
from service.assessment.anchoring import anchor, anchor_batch, verify_deployed
from service.chain.gateway import Gateway
from service.web.verify import BadInput, node_url
from tests.chain import TEST_GAS
from tests.oracles.test_evidence import KEY, make_bundle
from tests.service.assessment.test_anchoring import report_by
from tests.web.conftest import PHONE, Web, free_port, serve, shot


def _drop_text(page: Page, textarea: str, text: str) -> None:
    """Choose the file through the page's file input (what a drop or a chooser does)."""
    page.set_input_files(f"input[data-file='{textarea}']", files=[
        {"name": "file.json", "mimeType": "application/json", "buffer": text.encode()}])
    expect(page.locator(f"#{textarea}")).to_have_value(text)


def test_anchored_report_is_valid_and_a_one_byte_change_is_not(web: Web, page: Page, tmp_path: Path) -> None:
    gw = web.app.state.gateway
    doc = report_by(web.chain.assessor, report_id="RA-WEB-0001")
    anchored = anchor(web.chain.w3, gw.registry, web.chain.assessor, doc)
    text = json.dumps(doc, indent=2, ensure_ascii=False)

    page.goto(f"{web.url}/verify")
    _drop_text(page, "report-text", text)
    page.click("#report-form button")
    verdict = page.locator("#report-result .verdict")
    expect(verdict).to_have_attribute("data-verdict", "valid")
    expect(verdict).to_contain_text(web.chain.assessor)
    result = page.locator("#report-result")
    expect(result.locator(".block")).to_have_text(f"{anchored.block:,}")
    expect(result.locator(".grade")).to_have_text("preferred")
    expect(result.locator(".revoked")).to_have_text("no")
    # The very answer of `cybercover report verify` (the same function, on the same registry).
    cli = json.loads(result.locator("pre.cli").text_content() or "")
    assert cli == verify_deployed(web.chain.w3, gw.deployment, doc) and cli["tx"] == anchored.tx
    shot(page, tmp_path, "valid")

    # One changed byte (a letter of the scope), pasted this time.
    tampered = text.replace("Production platform", "Production platforn", 1)
    assert len(tampered) == len(text) and sum(a != b for a, b in zip(text, tampered, strict=True)) == 1
    page.fill("#report-text", tampered)
    page.click("#report-form button")
    expect(verdict).to_have_attribute("data-verdict", "invalid")
    expect(verdict.locator(".reason")).to_contain_text("not anchored")
    shot(page, tmp_path, "invalid")


def test_batch_bundle_and_revoked_report(web: Web, page: Page) -> None:
    gw = web.app.state.gateway
    docs = [report_by(web.chain.assessor, report_id=f"RA-WEB-B{i}") for i in range(3)]
    b = anchor_batch(web.chain.w3, gw.registry, web.chain.assessor, docs, "file:///batch-web")
    page.goto(f"{web.url}/verify")
    page.fill("#report-text", json.dumps(b.bundle(docs[1])))
    page.click("#report-form button")
    expect(page.locator("#report-result .verdict")).to_have_attribute("data-verdict", "valid")
    expect(page.locator("#report-result")).to_contain_text("0x" + b.root.hex())

    send(web.chain.w3, gw.registry.functions.revokeBatch(b.batch_id), web.chain.assessor, gas=TEST_GAS)
    page.click("#report-form button")
    expect(page.locator("#report-result .verdict .reason")).to_have_text("revoked")
    expect(page.locator("#report-result .revoked")).to_have_text("yes")


@pytest.fixture
def node(web: Web, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A loopback oracle node serving one evidence bundle, configured as KEY's node; `hits` counts
    what it was asked."""
    bundle = make_bundle(tmp_path)
    state: dict[str, Any] = {"bundle": bundle, "hits": []}
    app = FastAPI()

    @app.get("/v1/evidence/{episode}")
    def evidence(episode: str, seq: int | None = None) -> Any:
        state["hits"].append((episode, seq))
        return state["bundle"]

    port = free_port()
    server, thread = serve(app, port)
    state["base"] = f"http://127.0.0.1:{port}"
    monkeypatch.setattr(web.app.state.settings, "oracle_nodes", {KEY.address: state["base"]})
    yield state
    server.should_exit = True
    thread.join(timeout=10)


def test_evidence_from_a_node_url_and_from_a_file(web: Web, page: Page, node: dict[str, Any],
                                                  tmp_path: Path) -> None:
    bundle = node["bundle"]
    page.goto(f"{web.url}/verify")
    page.fill("#evidence-url", f"{node['base']}/v1/evidence/{bundle['episode_id']}?seq=4&x=1")
    page.click("#evidence-url-form button")
    verdict = page.locator("#evidence-result .verdict")
    expect(verdict).to_have_attribute("data-verdict", "valid")
    expect(verdict).to_contain_text(f"{len(bundle['observations']):,} observations by {KEY.address}")
    assert node["hits"] == [(bundle["episode_id"], 4)]  # rebuilt from the configured base: no `x`
    # The chain's view: this test key is no oracle signer, and no window of the service is verified.
    expect(page.locator("#evidence-result .signer-on-chain")).to_contain_text("not an oracle signer")
    expect(page.locator("#evidence-result .window-on-chain")).to_contain_text("no verified window")
    shot(page, tmp_path, "evidence-url")

    # The same bundle with one observation's body changed, uploaded as a file.
    bad = copy.deepcopy(bundle)
    bad["observations"][3]["body"]["detail"] = "status 200 (edited)"
    _drop_text(page, "evidence-text", json.dumps(bad))
    page.click("#evidence-file-form button")
    expect(verdict).to_have_attribute("data-verdict", "invalid")
    expect(page.locator("#evidence-result .problems")).to_contain_text("hash does not match its body")

    # A node answering with another signer's bundle for this node's URL: not this node's evidence.
    node["bundle"] = {**bundle, "node": web.chain.w3.to_checksum_address("0x" + "11" * 20)}
    page.click("#evidence-url-form button")
    expect(verdict).to_have_attribute("data-verdict", "invalid")
    expect(page.locator("#evidence-result .problems")).to_contain_text(f"not {KEY.address}")


def test_an_evidence_url_off_the_configured_nodes_is_never_fetched(web: Web, node: dict[str, Any]) -> None:
    # (over HTTP, not in the page: a 400 answer is logged by the browser as a console error)
    other = f"http://127.0.0.1:{free_port()}"
    for url in (f"{other}/v1/evidence/x", f"{node['base']}/v1/reports", "file:///etc/passwd",
                f"http://user:pw@{node['base'][7:]}/v1/evidence/x", f"{node['base']}/v1/evidence/a/../../x",
                f"{node['base']}/v1/evidence/a%2F..%2Fb"):
        r = httpx.post(f"{web.url}/verify/evidence-url", content=url)
        assert r.status_code == 400, url
        assert 'data-verdict="error"' in r.text
    assert node["hits"] == []
    assert "only from the oracle nodes" in httpx.post(f"{web.url}/verify/evidence-url", content=other).text


def test_node_url_keeps_only_the_episode_and_seq() -> None:
    nodes = {"0xA": "http://127.0.0.1:9101", "0xB": "https://node.example/oracle/"}
    assert node_url("http://127.0.0.1:9101/v1/evidence/api%40170?seq=2&a=b#f", nodes) == \
        ("0xA", "http://127.0.0.1:9101/v1/evidence/api%40170?seq=2")
    assert node_url("https://node.example:443/oracle/v1/evidence/e1", nodes) == \
        ("0xB", "https://node.example/oracle/v1/evidence/e1")
    for bad in ("http://127.0.0.1:9102/v1/evidence/e", "https://127.0.0.1:9101/v1/evidence/e",
                "http://node.example/oracle/v1/evidence/e", "https://node.example/v1/evidence/e",
                "http://127.0.0.1:9101/v1/evidence/", "http://127.0.0.1:9101/v1/evidence/e?seq=x",
                "http://127.0.0.1:9101/v1/evidence/e?seq=1&seq=2", "http://127.0.0.1:99999/v1/evidence/e",
                "http://[::1/v1/evidence/e", "gopher://127.0.0.1:9101/v1/evidence/e"):
        with pytest.raises(BadInput):
            node_url(bad, nodes)


def test_contracts_match_the_artifacts_and_a_swapped_address_does_not(web: Web, page: Page, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    page.goto(f"{web.url}/verify")
    page.click("#contracts-form button")
    verdict = page.locator("#contracts-result .verdict")
    expect(verdict).to_have_attribute("data-verdict", "valid")
    gw: Gateway = web.app.state.gateway
    rows = page.locator("#contracts-result tr[data-contract]")
    expect(rows).to_have_count(len(gw.deployment.contracts))
    expect(page.locator("#contracts-result tr[data-contract='PolicyBook'] .badge")).to_have_text("matches")
    shot(page, tmp_path, "contracts")

    # A deployment whose PolicyBook address holds the CoverPool's code: that row differs.
    swapped = dict(gw.deployment.contracts)
    swapped["PolicyBook"] = dataclasses.replace(swapped["PolicyBook"], address=swapped["CoverPool"].address)
    fake = dataclasses.replace(gw, deployment=Deployment(gw.deployment.chain_id, gw.deployment.deployer, swapped))
    monkeypatch.setitem(web.app.state._state, "gateway", fake)  # (setattr on a State would not undo)
    page.click("#contracts-form button")
    expect(verdict).to_have_attribute("data-verdict", "invalid")
    expect(page.locator("#contracts-result tr[data-contract='PolicyBook'] .badge")).to_have_text("differs")
    expect(page.locator("#contracts-result tr[data-contract='CoverPool'] .badge")).to_have_text("matches")


def test_bad_input_is_a_400_with_the_reason(web: Web) -> None:
    for path, body, said in (("/verify/report", b"", "nothing to check"), ("/verify/report", b"[1]", "JSON object"),
                             ("/verify/report", b"{not json", "not a JSON report"),
                             ("/verify/report", b'{"report": {}, "batch": {}}', "bundle"),
                             ("/verify/report", b'{"report": {}, "batch": {"root": "0x12", "proof": []}}',
                              "the batch root must be a 32-byte hex hash"),
                             ("/verify/report", b'{"report": {}, "batch": {"root": "%s", "proof": ["0x12"]}}'
                              % ("0x" + "11" * 32).encode(), "proof element 0 must be a 32-byte hex hash"),
                             ("/verify/evidence", b'{"format": "x"}', "not an evidence bundle"),
                             ("/verify/evidence", b"\xff\xfe", "not JSON")):
        r = httpx.post(web.url + path, content=body)
        assert r.status_code == 400 and said in r.text, (path, body, r.text)


def test_a_bundle_with_an_impossible_window_is_invalid_not_an_error(web: Web, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    bundle["window"] = {"start": 10**20, "end": 10**20 + 60}
    r = httpx.post(f"{web.url}/verify/evidence", content=json.dumps(bundle))
    assert r.status_code == 200 and 'data-verdict="invalid"' in r.text, r.text


def test_pages_stay_out_of_the_api_schema(web: Web) -> None:
    paths = httpx.get(f"{web.url}/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/verify", "/status", "/web"))]


def test_the_page_fits_a_phone(web: Web, phone_page: Page, tmp_path: Path) -> None:
    phone_page.goto(f"{web.url}/verify")
    phone_page.click("#contracts-form button")
    expect(phone_page.locator("#contracts-result .verdict")).to_have_attribute("data-verdict", "valid")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone_page, tmp_path, "phone")
