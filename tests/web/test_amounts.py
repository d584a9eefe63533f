"""Exact token amounts in the console (static/amounts.js): amounts past 2^53 minor units (~9,007
tokens at 18 decimals) are read from the API's JSON as BigInt, shown from their digits and sent
back as bare JSON integers; a typed amount converts to minor units by string arithmetic. Checked
in Chromium against a Python model, and end to end: a partial approval typed with 23 significant
digits reaches the API exactly (the request intercepted with page.route)."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from playwright.sync_api import Page, Request, Route, expect

from tests.service.helpers import Api, worker
from tests.web.conftest import Web
from tests.web.test_console import sign_in, sym

BIG = 123456789012345678901234  # 123,456.789012345678901234 tokens at 18 decimals
JS = "window.cybercoverAmounts"


def model(minor: int, decimals: int) -> str:
    """The console's format, independently: Python ints, "," grouping, no single decimal of two or more."""
    whole, frac = divmod(abs(minor), 10**decimals)
    digits = f"{frac:0{decimals}d}".rstrip("0") if decimals else ""
    if len(digits) == 1 and decimals >= 2:
        digits += "0"
    return ("−" if minor < 0 else "") + f"{whole:,}" + (f".{digits}" if digits else "")


def loaded(page: Page, web: Web) -> Page:
    page.goto(f"{web.url}/console")
    page.wait_for_function(f"!!{JS}")
    return page


def test_format_and_to_minor_are_exact_for_18_decimal_amounts(web: Web, page: Page) -> None:
    loaded(page, web)
    fmt = page.evaluate(f"([m, d]) => {JS}.format(BigInt(m), d)", [str(BIG), 18])
    assert fmt == "123,456.789012345678901234"
    assert page.evaluate(f"{JS}.format('{BIG}', 18)") == fmt  # a decimal string too
    assert page.evaluate(f"{JS}.format({BIG}n * 10n ** 18n, 18)") == "123,456,789,012,345,678,901,234"
    assert page.evaluate(f"{JS}.format(-{BIG}n, 6)") == "−123,456,789,012,345,678.901234"
    assert page.evaluate(f"{JS}.format(50, 2)") == "0.50"  # a safe number too; never a single decimal
    assert page.evaluate(f"{JS}.format(1, 18)") == "0.000000000000000001"
    assert page.evaluate(f"{JS}.format(1234567, null)") == "1,234,567"  # decimals unknown: minor units
    assert page.evaluate(f"String({JS}.toMinor('123,456.789012345678901234', 18))") == str(BIG)
    assert page.evaluate(f"String({JS}.toMinor(' 1234.56 ', 18))") == str(123456 * 10**16)
    assert page.evaluate(f"String({JS}.toMinor('1000', 18))") == str(10**21)  # not 1e+21
    assert page.evaluate(f"typeof {JS}.toMinor('1', 6)") == "bigint"

    def refusal(text: str, decimals: int) -> list[str]:
        return page.evaluate(f"([t, d]) => {{ try {{ return ['ok', String({JS}.toMinor(t, d))]; }} "
                             "catch (e) { return [e.type, e.message]; } }", [text, decimals])

    assert refusal("1.1234567", 6) == ["invalid_amount", "this token has 6 decimals, “1.1234567” has 7"]
    assert refusal("0." + "1" * 19, 18)[1] == f"this token has 18 decimals, “0.{'1' * 19}” has 19"
    assert refusal("1.5", 0) == ["invalid_amount", "this token has no decimals: give a whole number"]
    for bad in ("", "abc", "-1", "1e21", "1.", ".5", "1.2.3", "0x10"):
        kind, message = refusal(bad, 18)
        assert kind == "invalid_amount" and "is not an amount" in message, (bad, message)

    @settings(max_examples=25, deadline=None)
    @given(st.lists(st.tuples(st.integers(min_value=-(2**256), max_value=2**256), st.integers(0, 30)),
                    min_size=1, max_size=40))
    def against_the_model(cases: list[tuple[int, int]]) -> None:
        got = page.evaluate(f"cs => cs.map(([m, d]) => {{ var t = {JS}.format(BigInt(m), d); "
                            f"return [t, m[0] === '-' ? null : String({JS}.toMinor(t, d))]; }})",
                            [[str(m), d] for m, d in cases])
        for (minor, decimals), (text, back) in zip(cases, got, strict=True):
            assert text == model(minor, decimals), (minor, decimals)
            if minor >= 0:
                assert back == str(minor), (minor, decimals, text)  # read back: the same minor units

    against_the_model()


def test_parse_keeps_large_integers_exact_and_stringify_sends_them_bare(web: Web, page: Page) -> None:
    loaded(page, web)
    text = json.dumps({"amount": BIG, "neg": -BIG, "edge": 2**53, "safe": 2**53 - 1, "ratio": 0.25,
                       "float": 1e300, "id": str(BIG), "list": [BIG, 7, None]})
    got = page.evaluate(f"t => {{ var v = {JS}.parse(t); var out = {{}}; "
                        "Object.keys(v).forEach(k => { out[k] = [typeof v[k], String(v[k])]; }); "
                        "out.list0 = [typeof v.list[0], String(v.list[0])]; out.list1 = typeof v.list[1]; "
                        "return out; }", text)
    assert got["amount"] == ["bigint", str(BIG)] and got["neg"] == ["bigint", str(-BIG)]
    assert got["edge"] == ["bigint", str(2**53)] and got["safe"] == ["number", str(2**53 - 1)]
    assert got["ratio"] == ["number", "0.25"] and got["float"][0] == "number"
    assert got["id"] == ["string", str(BIG)]
    assert got["list0"] == ["bigint", str(BIG)] and got["list1"] == "number"

    sent = page.evaluate(f"() => {JS}.stringify({{amount: {BIG}n, reason: 'a \"quote\"', "
                         "list: [1n, null, undefined, true], skip: undefined, n: 1.5, at: new Date(0)})")
    assert sent == (f'{{"amount":{BIG},"reason":"a \\"quote\\"","list":[1,null,null,true],"n":1.5,'
                    '"at":"1970-01-01T00:00:00.000Z"}')
    assert json.loads(sent)["amount"] == BIG
    # A number that already lost its digits is refused, never sent as 1e+21.
    refused = page.evaluate(f"() => {{ try {{ return {JS}.stringify({{amount: 1e21}}); }} "
                            "catch (e) { return 'refused: ' + e.message; } }")
    assert refused.startswith("refused: refusing to send an inexact integer")
    back = json.dumps({k: v for k, v in json.loads(text).items() if k != "float"}, separators=(",", ":"))
    assert page.evaluate(f"t => {JS}.stringify({JS}.parse(t))", back) == back  # a round trip, exact


CLAIM_ID = 987_654_321  # no real claim has it: the routes below answer for it


def _route_claim(page: Page, web: Web, sent: list[Request]) -> tuple[int, int]:
    """/v1/me with an 18-decimal token and one open claim of BIG minor units; the approval is recorded."""
    approved = 12_345_678_901_234_567_890_123  # 12,345.678901234567890123 tokens
    claim: dict[str, Any] = {"id": CLAIM_ID, "policy_id": 1, "amount": BIG, "review_reason": "above_auto_pay",
                             "deadline": 1_900_000_000, "deadlines": {"seconds_left": 3600}, "status": "open"}
    detail = dict(claim, entitlement=BIG, auto_pay_limit=10**22, policy_paid=10**22, episodes=[],
                  incident={"anchor_id": "0x" + "ab" * 32, "outage": None, "quantified_loss": None,
                            "verification": {"approvable": True, "problems": []}})

    def me(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        body["token"]["decimals"] = 18
        route.fulfill(response=response, json=body)

    def answer(body: Any) -> Any:
        return lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    def approve(route: Route) -> None:
        sent.append(route.request)
        route.fulfill(status=200, content_type="application/json", body=json.dumps(
            dict(detail, status="approved", approved=approved, declined=BIG - approved)))

    page.route(re.compile(r"/v1/me$"), me)
    page.route(re.compile(r"/v1/claims\?status=open"), answer([claim]))
    page.route(re.compile(rf"/v1/claims/{CLAIM_ID}$"), answer(detail))
    page.route(re.compile(rf"/v1/claims/{CLAIM_ID}/approve$"), approve)
    return approved, BIG - approved


def test_a_partial_approval_typed_with_many_digits_reaches_the_api_exactly(web: Web, api: Api, page: Page) -> None:
    sent: list[Request] = []
    approved, declined = _route_claim(page, web, sent)
    worker(web.app).run_once()  # the indexer reaches the pool's deployment: the figures can be read
    sign_in(page, web, api.staff("claims")["X-API-Key"])
    unit = sym(web)
    item = page.locator(f"#claim-{CLAIM_ID}")
    expect(item).to_contain_text(f"123,456.789012345678901234 {unit} in review")
    item.get_by_role("button", name=f"Review claim {CLAIM_ID}").click()
    expect(item).to_contain_text(f"Claim 123,456.789012345678901234 {unit} (entitlement 123,456.789012345678901234")
    amount = item.locator(f"#amt-{CLAIM_ID}")
    expect(amount).to_have_value("123,456.789012345678901234")

    amount.fill("12,345.6789012345678901234")  # 19 decimals: refused in the page, nothing sent
    item.get_by_role("button", name="Approve and pay").click()
    expect(item.locator(".decision-status")).to_contain_text(
        f"invalid_amount: this token has 18 decimals, “12,345.6789012345678901234” has 19 (an amount in {unit})")
    assert sent == []

    amount.fill("12,345.678901234567890123")
    item.get_by_label("Reason (for a partial approval)").fill("part fell in maintenance")
    item.get_by_role("button", name="Approve and pay").click()
    expect(item.locator(".decision-status")).to_contain_text(
        f"Claim {CLAIM_ID} approved: 12,345.678901234567890123 {unit} paid, "
        f"{model(declined, 18)} {unit} declined.")
    [request] = sent
    raw = request.post_data or ""
    assert f'"amount":{approved}' in raw, raw  # a bare JSON integer, every digit
    assert json.loads(raw) == {"incident_report": "0x" + "ab" * 32, "amount": approved,
                               "reason": "part fell in maintenance"}
    assert request.headers.get("idempotency-key")
