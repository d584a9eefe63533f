"""The policy schedule on a deployed chain: issuance stores it and puts its hash in the record,
`GET /v1/policies/{id}/schedule` serves it (HTML zh/en or the hashed JSON) to whoever may see
the policy, and `cybercover policy verify` finds the policy and checks it: the served file is
valid, one changed byte or one changed number (hash recomputed) is not, bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from eth_utils import keccak
from typer.testing import CliRunner

from contracts.records import PolicyTerms
from contracts.sender import send
from service.commands import policy as policy_cmd
from service.domain import wording
from tests.chain import TEST_GAS, USD
from tests.service.helpers import Api, Chain, issue, unique_service

runner = CliRunner()
HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root() -> None:  # keeps `policy` a sub-command group
        pass

    policy_cmd.register(root)
    return root


@pytest.fixture
def manifest(chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The service chain's manifest; the command's connection is the in-process chain."""
    monkeypatch.setattr(policy_cmd, "_connect", lambda rpc_url: chain.w3)
    path = tmp_path / "deployment.json"
    chain.dep.write(path)
    return path


@pytest.fixture
def issued(api: Api, distributor: tuple[str, dict[str, str]]) -> dict[str, Any]:
    tenant, headers = distributor
    product, policy = issue(api, tenant, headers, unique_service(), name=HOSTILE)
    return {"tenant": tenant, "headers": headers, "product": product, "policy": policy}


def served_json(api: Api, policy_id: int, headers: dict[str, str]) -> bytes:
    r = api.c.get(f"/v1/policies/{policy_id}/schedule", headers={**headers, "Accept": "application/json"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    return r.content


def verify(cli: typer.Typer, path: Path, manifest: Path, *extra: str) -> Any:
    return runner.invoke(cli, ["policy", "verify", str(path), "--rpc-url", "http://127.0.0.1:1", "--manifest",
                               str(manifest), *extra])


def on_chain_hash(chain: Chain, policy_id: int) -> bytes:
    [log] = chain.book.events.PolicyIssued.get_logs(argument_filters={"policyId": policy_id}, from_block=0)
    return bytes(log["args"]["policy"]["scheduleHash"])


def test_served_json_is_the_hashed_document_and_verifies(api: Api, chain: Chain, issued: dict[str, Any], cli,
                                                         manifest: Path, tmp_path: Path) -> None:
    pid, headers = issued["policy"]["id"], issued["headers"]
    data = served_json(api, pid, headers)
    assert keccak(data) == on_chain_hash(chain, pid)  # the served bytes are the canonical ones
    doc = json.loads(data)
    assert wording.schedule_hash(doc) == keccak(data)
    assert doc["product"]["name"] == HOSTILE and doc["cover_start"] == "issuance"
    assert doc["cover_end"] == issued["policy"]["cover_end"] and doc["limits"]["limit"] == str(500 * USD)
    assert doc["holder"] == issued["policy"]["holder"] and doc["premium"]["amount"] == str(issued["policy"]["premium"])
    assert doc["premium"]["pricing"]["premium"] == issued["policy"]["premium"]  # the quote's breakdown
    assert doc["token"] == {"address": chain.token.address, "symbol": "cUSD", "decimals": 6}
    assert doc["chain"] == {"chain_id": chain.w3.eth.chain_id, "policy_book": chain.book.address}
    path = tmp_path / "schedule.json"
    path.write_bytes(data)

    found = verify(cli, path, manifest)  # found by scanning PolicyIssued for the hash
    assert found.exit_code == 0, found.output
    assert found.output.startswith(f"valid: policy {pid}")
    by_id = verify(cli, path, manifest, "--policy", str(pid), "--json")
    assert by_id.exit_code == 0, by_id.output
    verdict = json.loads(by_id.output)
    assert verdict["valid"] and verdict["reasons"] == [] and verdict["policy_id"] == pid
    assert verdict["on_chain"]["cover_start"] == issued["policy"]["cover_start"]  # the actual start, reported
    # pretty-printed, the same document still verifies (the hash is over the canonical form)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False))
    assert verify(cli, path, manifest, "--policy", str(pid)).exit_code == 0


def test_one_changed_byte_is_invalid(api: Api, issued: dict[str, Any], cli, manifest: Path, tmp_path: Path) -> None:
    pid = issued["policy"]["id"]
    data = served_json(api, pid, issued["headers"])
    at = data.index(b'"cover_end":') + len(b'"cover_end":')
    digit = data[at:at + 1]
    tampered = data[:at] + (b"1" if digit != b"1" else b"2") + data[at + 1:]
    path = tmp_path / "tampered.json"
    path.write_bytes(tampered)
    by_hash = verify(cli, path, manifest)
    assert by_hash.exit_code == 1 and "no policy on this PolicyBook carries this schedule hash" in by_hash.output
    by_id = verify(cli, path, manifest, "--policy", str(pid), "--json")
    assert by_id.exit_code == 1, by_id.output
    reasons = json.loads(by_id.output)["reasons"]
    assert any("is not the record's scheduleHash" in r for r in reasons)
    assert any(r.startswith("cover_end is ") for r in reasons)
    # a byte that breaks the JSON is bad input, not a verdict
    path.write_bytes(data[:-1])
    broken = verify(cli, path, manifest)
    assert broken.exit_code == 2 and "error:" in broken.output


def test_a_changed_number_with_its_hash_recomputed_disagrees_with_the_record(
        api: Api, chain: Chain, distributor: tuple[str, dict[str, str]], cli, manifest: Path, tmp_path: Path) -> None:
    """The forger issues a cover on-chain whose record carries the hash of a schedule with a
    larger limit than the record's: the hash matches, the numbers do not."""
    tenant, headers = distributor
    _, policy = issue(api, tenant, headers, unique_service())
    doc = json.loads(served_json(api, policy["id"], headers))
    doc["limits"]["limit"] = str(10 * int(doc["limits"]["limit"]))
    doc["trigger"]["threshold_seconds"] = 60
    forged_hash = wording.schedule_hash(doc)
    terms = PolicyTerms(policy["product_id"], 0, policy["cover_end"], policy["limit"], policy["premium"],
                        policy["beneficiary"], bytes.fromhex(policy["holder"][2:]),
                        bytes.fromhex(policy["subject"][2:]), bytes.fromhex(policy["report_hash"][2:]), forged_hash)
    receipt = send(chain.w3, chain.book.functions.issue(terms.as_tuple()), chain.operator, gas=TEST_GAS)
    [event] = chain.book.events.PolicyIssued().process_receipt(receipt)
    forged_id = int(event["args"]["policyId"])
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(doc))
    result = verify(cli, path, manifest, "--json")  # found by its hash: the forged record
    assert result.exit_code == 1, result.output
    verdict = json.loads(result.output)
    assert verdict["policy_id"] == forged_id
    assert not any("scheduleHash" in r for r in verdict["reasons"])
    assert any(r.startswith("limits.limit is '5000000000', the chain has '500000000'") for r in verdict["reasons"])
    assert any(r.startswith("trigger.threshold_seconds is 60, the chain has 3600") for r in verdict["reasons"])
    # the schedule of a policy issued outside the service is not on file
    assert api.c.get(f"/v1/policies/{forged_id}/schedule", headers=api.admin).status_code in (404,)


def test_cli_bad_input_exits_2(api: Api, chain: Chain, issued: dict[str, Any], cli, manifest: Path,
                               tmp_path: Path) -> None:
    good = tmp_path / "schedule.json"
    good.write_bytes(served_json(api, issued["policy"]["id"], issued["headers"]))
    array = tmp_path / "array.json"
    array.write_text("[1, 2]")
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"a": "\xff"}')
    for path, extra, says in ((tmp_path / "missing.json", [], "No such file"), (array, [], "JSON object"),
                              (latin, [], "utf-8"), (good, ["--manifest", str(tmp_path / "none.json")], "manifest")):
        r = verify(cli, path, manifest, *extra)
        assert r.exit_code == 2 and "error:" in r.output and says in r.output, r.output
    wrong = tmp_path / "wrong-chain.json"
    wrong.write_text(json.dumps({**chain.dep.to_json(), "chain_id": 1}))
    r = verify(cli, good, wrong)
    assert r.exit_code == 2 and "the manifest is for 1" in r.output
    r = verify(cli, good, manifest, "--policy", "-1")
    assert r.exit_code == 2
    r = verify(cli, good, manifest, "--policy", str(10**9))
    assert r.exit_code == 1 and f"no policy {10**9}" in r.output
    null = tmp_path / "null.json"
    null.write_text(json.dumps({**json.loads(good.read_text()), "cover_end": None}))
    r = verify(cli, null, manifest)
    assert r.exit_code == 1 and "not allowed" in r.output


def test_html_by_default_in_both_languages_escaped(api: Api, issued: dict[str, Any]) -> None:
    pid, headers = issued["policy"]["id"], issued["headers"]
    url = f"/v1/policies/{pid}/schedule"
    en = api.c.get(url, headers=headers)
    assert en.status_code == 200 and en.headers["content-type"].startswith("text/html")
    assert "Accept" in en.headers["vary"] and "default-src 'none'" in en.headers["content-security-policy"]
    page = en.text
    assert "Policy schedule" in page and "Trigger" in page and "Exclusions" in page
    assert "<script" not in page and "<img" not in page and "&lt;script&gt;" in page
    assert 'href="?lang=zh"' in page and 'href="?lang=en"' in page
    assert issued["policy"]["tx"] in page and str(issued["policy"]["cover_start"]) in page
    zh = api.c.get(url, params={"lang": "zh"}, headers=headers).text
    assert "保险单明细表" in zh and "触发条件" in zh and "除外责任" in zh and "&lt;script&gt;" in zh
    assert "<script" not in zh
    negotiated = api.c.get(url, headers={**headers, "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}).text
    assert negotiated == zh
    assert api.c.get(url, params={"lang": "en"}, headers={**headers, "Accept-Language": "zh"}).text == page
    assert api.c.get(url, params={"lang": "fr"}, headers=headers).status_code == 422
    html_first = api.c.get(url, headers={**headers, "Accept": "text/html, application/json"})
    assert html_first.headers["content-type"].startswith("text/html")


def test_visibility_follows_the_policy(api: Api, issued: dict[str, Any]) -> None:
    pid = issued["policy"]["id"]
    url = f"/v1/policies/{pid}/schedule"
    other = api.key(api.tenant(), "distributor")
    hidden = api.c.get(url, headers=other)
    assert hidden.status_code == 404 and hidden.json()["type"] == "not_found"
    assert api.c.get(f"/v1/policies/{pid}", headers=other).status_code == 404  # the same rule
    auditor = api.staff("auditor")
    assert api.c.get(url, headers={**auditor, "Accept": "application/json"}).status_code == 200
    own_auditor = api.key(issued["tenant"], "auditor")
    assert api.c.get(url, headers=own_auditor).status_code == 200
    for missing in (10**9, 2**63, 2**70):
        r = api.c.get(f"/v1/policies/{missing}/schedule", headers=api.admin)
        assert r.status_code == 404 and r.json()["detail"] == f"no policy {missing}"
    assert api.c.get(url).status_code == 401


def test_a_batch_stores_one_schedule_per_cover(api: Api, chain: Chain, distributor: tuple[str, dict[str, str]]) -> None:
    tenant, headers = distributor
    service = unique_service()
    assessment = api.anchored_assessment(tenant)
    product = api.product(service)
    quote = api.quote(product["id"], assessment["id"], headers)
    covers = [{"beneficiary": "0x" + keccak(text=f"{service}-{i}")[:20].hex(), "holder_ref": f"c-{i}"}
              for i in range(5)]
    batch = api.ok(api.c.post("/v1/policies/batch?wait=true", json={"quote_id": quote["id"], "covers": covers},
                              headers=headers), 201)
    docs = [json.loads(served_json(api, p["id"], headers)) for p in batch["policies"]]
    assert [d["holder"] for d in docs] == [p["holder"] for p in batch["policies"]]
    assert [d["beneficiary"] for d in docs] == [p["beneficiary"] for p in batch["policies"]]
    assert all(wording.schedule_hash(d) == on_chain_hash(chain, p["id"]) for d, p in zip(docs, batch["policies"],
                                                                                          strict=True))
    shared = [{k: v for k, v in d.items() if k not in wording.PER_COVER} for d in docs]
    assert all(s == shared[0] for s in shared)


def test_openapi_documents_both_media_types(api: Api) -> None:
    doc = api.c.get("/openapi.json").json()
    op = doc["paths"]["/v1/policies/{policy_id}/schedule"]["get"]
    assert set(op["responses"]["200"]["content"]) == {"text/html", "application/json"}
    assert {"401", "403", "404", "422"} <= set(op["responses"])


def test_a_renewal_has_its_own_schedule_that_verifies(api: Api, distributor: tuple[str, dict[str, str]], cli,
                                                      manifest: Path, tmp_path: Path) -> None:
    """The follow-on cover states its explicit start (the old cover end), no waiting period and
    `renewal_of`; its served JSON verifies against the renewed record."""
    from tests.service.test_lifecycle import insured, renew

    tenant, headers = distributor
    _, _, old = insured(api, tenant, headers, unique_service(), waiting_seconds=86400)
    new = renew(api, old, headers)
    data = served_json(api, new["id"], headers)
    doc = json.loads(data)
    assert (doc["renewal_of"], doc["cover_start"], doc["cover_end"]) == (old["id"], old["cover_end"], new["cover_end"])
    assert doc["periods"]["waiting_seconds"] == 0 and "renewal has no waiting period" in doc["periods"]["en"]
    assert doc["holder"] == old["holder"] and doc["premium"]["amount"] == str(new["premium"])
    old_doc = json.loads(served_json(api, old["id"], headers))
    assert old_doc["cover_start"] == "issuance" and "renewal_of" not in old_doc
    path = tmp_path / "renewal.json"
    path.write_bytes(data)
    result = verify(cli, path, manifest, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["policy_id"] == new["id"]
