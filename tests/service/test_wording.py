"""The policy schedule without a chain: canonical hashing, words generated from numbers, the HTML
page (both languages, hostile names escaped), content negotiation, and the check of a document
against a record (every tampered byte or changed number is caught)."""

from __future__ import annotations

import json
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest
import rfc8785
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.enums import PayoutKind
from contracts.records import Product
from service.api.negotiation import language, wants_json
from service.assessment.errors import ReportError
from service.domain import wording
from service.domain.wording.check import check
from service.domain.wording.words import amount, duration, instant

USD = 10**6
SERVICE = "https://saas.example/status"
BOOK = "0x" + "b0" * 20
BENEFICIARY = "0x" + "Be" * 20
HOLDER = keccak(b"salt" + b"customer-42")
SUBJECT = keccak(b"subject")
REPORT = keccak(b"report")


def product(**kw: Any) -> Product:
    base = Product(service_id=keccak(text=SERVICE), trigger_seconds=3600, payout_kind=PayoutKind.PER_UNIT,
                   unit_seconds=3600, waiting_seconds=86400, grace_seconds=7 * 86400, active=True,
                   auto_pay_limit=150 * USD, payout_amount=50 * USD, policy_limit=500 * USD,
                   max_cover_seconds=400 * 86400, max_start_delay=30 * 86400, min_premium=0, medium_limit=250 * USD,
                   min_rate_ppm=0, claim_seconds=14 * 86400, exposure_cap=0)
    return replace(base, **kw)


def basis(**kw: Any) -> wording.Basis:
    fields: dict[str, Any] = dict(
        insurer="Acme Mutual", assessor="Acme Assessment Desk", chain_id=31337, policy_book=BOOK, product_id=3,
        product=product(), product_name="Downtime cover", service=SERVICE,
        token=wording.Token("0x" + "70" * 20, "cUSD", 6), limit=500 * USD, premium=5 * USD, risk_level="low",
        report_id=REPORT, subject=SUBJECT, cover_end=1_800_000_000, cancellation_fee=USD)
    return wording.Basis(**{**fields, **kw})


def record(doc: dict[str, Any], **kw: Any) -> SimpleNamespace:
    """The on-chain record a schedule `doc` was issued with (as PolicyIssued carries it)."""
    fields: dict[str, Any] = dict(
        product_id=3, cover_start=1_790_000_000, cover_end=1_800_000_000, limit=500 * USD,
        beneficiary=BENEFICIARY, issuer="0x" + "15" * 20, holder=HOLDER, subject=SUBJECT, report_hash=REPORT,
        schedule_hash=wording.schedule_hash(doc), premium=5 * USD, renewal_of=0)
    return SimpleNamespace(**{**fields, **kw})


def test_words_come_from_numbers() -> None:
    assert duration(0) == ("none", "无")
    assert duration(90061) == ("1 day 1 hour 1 minute 1 second", "1天1小时1分钟1秒")
    assert duration(7200) == ("2 hours", "2小时")
    assert amount(50 * USD, "cUSD", 6) == "50 cUSD"
    assert amount(1_500_001, "cUSD", 6) == "1.500001 cUSD"
    assert amount(12345, None, None) == "12,345 token units"
    assert instant(0) == "1970-01-01 00:00:00 UTC"


def test_schedule_states_every_term_in_numbers_and_both_languages() -> None:
    doc = wording.schedule(basis(), HOLDER, BENEFICIARY)
    assert doc["schema"] == wording.SCHEMA
    assert doc["cover_start"] == "issuance" and doc["cover_end"] == 1_800_000_000
    assert doc["holder"] == "0x" + HOLDER.hex() and doc["beneficiary"] == BENEFICIARY
    assert doc["product"] == {"id": 3, "name": "Downtime cover", "service": SERVICE,
                              "service_id": "0x" + keccak(text=SERVICE).hex()}
    assert doc["trigger"]["threshold_seconds"] == 3600 and "1 hour" in doc["trigger"]["en"]
    assert "1小时" in doc["trigger"]["zh"]
    assert doc["payout"]["kind"] == "per_unit" and doc["payout"]["unit_seconds"] == 3600
    assert "50 cUSD" in doc["payout"]["en"] and "50 cUSD" in doc["payout"]["zh"]
    assert doc["limits"] == {**doc["limits"], "policy_limit": "500000000", "limit": "500000000",
                             "auto_pay_limit": "150000000", "claim_review_seconds": 14 * 86400}
    assert [x["code"] for x in doc["exclusions"]] == ["known_loss", "declared_maintenance", "excluded_event"]
    assert doc["exclusions"][2]["handling"] == "claims_review"
    assert "min_notice_seconds" not in doc["exclusions"][1]  # no rules on this chain: no numbers
    assert doc["premium"]["amount"] == "5000000" and doc["cancellation"]["fee"] == "1000000"
    assert doc["underwriting"] == {"report_hash": "0x" + REPORT.hex(), "subject": "0x" + SUBJECT.hex(),
                                   "conditions": []}
    assert "renewal_of" not in doc
    for section in ("trigger", "payout", "periods", "limits", "premium", "cancellation", "renewal", "cover_period"):
        assert doc[section]["en"] and doc[section]["zh"], section


def test_maintenance_rules_renewal_and_fixed_payout_are_stated() -> None:
    doc = wording.schedule(basis(maintenance=wording.Maintenance(86400, 4 * 3600), renewal_of=7,
                                 cover_start=1_790_000_000, product=product(payout_kind=PayoutKind.FIXED)),
                           HOLDER, BENEFICIARY)
    m = doc["exclusions"][1]
    assert (m["min_notice_seconds"], m["max_seconds_per_period"], m["period_seconds"]) == (86400, 14400, 30 * 86400)
    assert "1 day" in m["en"] and "4 hours" in m["en"] and "4小时" in m["zh"]
    assert doc["renewal_of"] == 7 and doc["periods"]["waiting_seconds"] == 0  # a renewal has no waiting period
    assert doc["cover_start"] == 1_790_000_000
    assert "unit_seconds" not in doc["payout"] and "Each outage episode that triggers the cover pays 50 cUSD" in (
        doc["payout"]["en"])


def test_common_part_once_then_per_cover_fields() -> None:
    shared = wording.common(basis())
    docs = [wording.for_cover(shared, keccak(bytes([i])), BENEFICIARY) for i in range(3)]
    assert docs[0] == wording.schedule(basis(), keccak(bytes([0])), BENEFICIARY)
    assert len({wording.schedule_hash(d) for d in docs}) == 3  # each cover has its own holder commitment
    assert {k for k in docs[0] if docs[0][k] != docs[1][k]} == set(wording.PER_COVER) - {"beneficiary"}


def test_amounts_beyond_json_exact_integers_are_decimal_strings() -> None:
    """500 units of an 18-decimal token are 5·10^20, past 2^53: amounts are strings, so any limit
    a uint96 holds has a schedule; pricing integers that large are strings too."""
    big = 2**96 - 1
    doc = wording.schedule(basis(limit=big, premium=big, token=wording.Token("0x" + "70" * 20, "DAI", 18),
                                 product=product(policy_limit=big, auto_pay_limit=big, payout_amount=big),
                                 pricing={"limit": big, "rate_ppm": 20_000, "band": [0, big]}),
                           HOLDER, BENEFICIARY)
    assert doc["limits"]["limit"] == str(big) and doc["payout"]["amount"] == str(big)
    assert doc["premium"]["pricing"] == {"limit": str(big), "rate_ppm": 20_000, "band": [0, str(big)]}
    assert "79,228,162,514.264337593543950335 DAI" in doc["limits"]["en"]
    assert check(doc, record(doc, limit=big, premium=big), _product_with_fee(), 9) != []  # the product differs
    p = product(policy_limit=big, auto_pay_limit=big, payout_amount=big, cancellation_fee=USD)
    assert check(doc, record(doc, limit=big, premium=big), p, 9) == []


def test_hash_is_keccak_of_rfc8785_and_refuses_what_jcs_cannot_hash_exactly() -> None:
    doc = wording.schedule(basis(), HOLDER, BENEFICIARY)
    assert wording.schedule_hash(doc) == keccak(rfc8785.dumps(doc))
    reordered = dict(reversed(list(doc.items())))
    assert wording.schedule_hash(reordered) == wording.schedule_hash(doc)  # key order is not content
    assert wording.schedule_hash(json.loads(json.dumps(doc, indent=3))) == wording.schedule_hash(doc)
    with pytest.raises(ReportError):
        wording.common(basis(pricing={"rate": 0.5}))  # a float would make the hash depend on arithmetic
    with pytest.raises(ReportError):
        wording.schedule_hash({**doc, "cover_end": None})


def test_check_accepts_the_issued_schedule_and_names_every_mismatch() -> None:
    doc = wording.schedule(basis(), HOLDER, BENEFICIARY)
    assert check(doc, record(doc), _product_with_fee(), 9, chain_id=31337, policy_book=BOOK) == []


def _product_with_fee(fee: int = USD) -> Product:
    return product(cancellation_fee=fee)


@pytest.mark.parametrize(("path", "value", "reason"), [
    (("limits", "limit"), "400000000", "limits.limit is '400000000', the chain has '500000000'"),
    (("limits", "limit"), 500 * USD, "limits.limit is 500000000, the chain has '500000000'"),  # a number
    (("premium", "amount"), "4000000", "premium.amount is '4000000'"),
    (("cover_end",), 1_800_000_001, "cover_end is 1800000001"),
    (("trigger", "threshold_seconds"), 60, "trigger.threshold_seconds is 60"),
    (("payout", "amount"), "60000000", "payout.amount is '60000000'"),
    (("periods", "waiting_seconds"), 0, "periods.waiting_seconds is 0"),
    (("limits", "auto_pay_limit"), "500000000", "limits.auto_pay_limit"),
    (("cancellation", "fee"), "0", "cancellation.fee is '0'"),
    (("holder",), "0x" + "00" * 32, "holder is"),
    (("underwriting", "report_hash"), "0x" + "00" * 32, "underwriting.report_hash is"),
    (("cover_start",), 1_790_000_001, "cover_start is 1790000001"),
    (("trigger", "threshold_seconds"), True, "trigger.threshold_seconds is True"),  # JSON true is not 1
])
def test_a_changed_number_with_a_recomputed_hash_disagrees_with_the_record(path: tuple[str, ...], value: Any,
                                                                            reason: str) -> None:
    issued = wording.schedule(basis(), HOLDER, BENEFICIARY)
    changed = json.loads(json.dumps(issued))
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    rec = record(changed)  # the forger recomputed the hash, and even found a record carrying it
    reasons = check(changed, rec, _product_with_fee(), 9)
    assert any(r.startswith(reason) for r in reasons), reasons
    # against the real record (the issued hash), the hash is wrong too
    reasons = check(changed, record(issued), _product_with_fee(), 9)
    assert any("schedule hash" in r for r in reasons) and any(r.startswith(reason) for r in reasons)


def test_check_names_the_wrong_chain_and_book() -> None:
    doc = wording.schedule(basis(), HOLDER, BENEFICIARY)
    reasons = check(doc, record(doc), _product_with_fee(), 9, chain_id=1, policy_book="0x" + "cc" * 20)
    assert len(reasons) == 2 and "chain.chain_id" in reasons[0] and "chain.policy_book" in reasons[1]


def _served(doc: dict[str, Any]) -> bytes:
    return rfc8785.dumps(doc)  # what GET /v1/policies/{id}/schedule serves for JSON


def _verdict(data: bytes, rec: Any, full: bool = True) -> str:
    """What `policy verify` concludes from a file's bytes: unreadable (exit 2), invalid or valid
    (`full=False`: only its first test, the hash against the record's)."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except ValueError:
        return "unreadable"
    if not isinstance(doc, dict):
        return "unreadable"
    try:
        if not full:
            return "valid" if wording.schedule_hash(doc) == rec.schedule_hash else "invalid"
        return "invalid" if check(doc, rec, _product_with_fee(), 9) else "valid"
    except ReportError:
        return "invalid"


def test_every_single_byte_tamper_of_the_served_json_is_caught() -> None:
    """Exhaustive over offsets: at each, two bit flips and a substitution. The verdict is never
    valid unless the bytes still spell the same document (e.g. an escape written another way)."""
    doc = wording.schedule(basis(product_name='Down"time 停机 \\ cover'), HOLDER, BENEFICIARY)
    data = _served(doc)
    rec = record(doc)
    assert _verdict(data, rec) == "valid"
    for i in range(len(data)):
        for new in {data[i] ^ 0x01, data[i] ^ 0x20, ord("0") if data[i] != ord("0") else ord("1")}:
            tampered = data[:i] + bytes([new]) + data[i + 1:]
            verdict = _verdict(tampered, rec, full=False)
            if verdict == "valid":
                assert json.loads(tampered) == doc, (i, new)


@settings(max_examples=50, deadline=None)
@given(name=st.text(min_size=1, max_size=40), service=st.text(min_size=1, max_size=40))
def test_any_names_hash_and_round_trip(name: str, service: str) -> None:
    try:
        doc = wording.schedule(basis(product_name=name, service=service), HOLDER, BENEFICIARY)
    except ReportError:  # lone surrogates: JCS cannot serialise them, so no schedule is issued
        return
    assert wording.schedule_hash(json.loads(_served(doc))) == wording.schedule_hash(doc)
    html = wording.render_html(doc, "en", {"policy_id": 1})
    assert "<script" not in html.lower() or "&lt;script" in html.lower()


HOSTILE = '<script>alert("x")</script>&<img src=x onerror=1>'


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_html_shows_key_terms_in_each_language_and_escapes_names(lang: str) -> None:
    doc = wording.schedule(basis(product_name=HOSTILE, service="evil'\"<b>"), HOLDER, BENEFICIARY)
    facts = {"policy_id": 42, "status": "active", "cover_start": 1_790_000_123, "cover_end": 1_800_000_000,
             "tx": "0x" + "ab" * 32, "schedule_hash": "0x" + wording.schedule_hash(doc).hex()}
    page = wording.render_html(doc, lang, facts)
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&lt;img" in page
    assert "src=" not in page.replace("src=x", "")  # no external asset of any kind
    assert 'href="?lang=en"' in page and 'href="?lang=zh"' in page  # both languages linked
    for text in (doc["trigger"][lang], doc["payout"][lang], doc["limits"][lang], doc["exclusions"][2][lang]):
        assert text.replace('"', "&quot;").replace("'", "&#x27;").replace("<", "&lt;").replace(">", "&gt;") in (
            page.replace("&amp;", "&")) or text in page
    assert "1790000123" in page and facts["tx"] in page and facts["schedule_hash"] in page
    assert ("保险单明细表" in page) == (lang == "zh") and ("Policy schedule" in page) == (lang == "en")
    assert ("触发条件" in page) == (lang == "zh")
    assert "threshold_seconds = 3600" in page and "auto_pay_limit = 150000000" in page


def test_render_refuses_an_unknown_language() -> None:
    with pytest.raises(ValueError):
        wording.render_html(wording.schedule(basis(), HOLDER, BENEFICIARY), "fr")


@pytest.mark.parametrize(("accept", "json_"), [
    (None, False), ("*/*", False), ("text/html", False), ("application/json", True),
    ("text/html, application/json", False), ("application/json, text/html;q=0.9", True),
    ("text/html;q=0.5, application/*", True), ("application/json;q=0", False), ("application/json;q=x", False),
    ("image/png", False),
])
def test_accept_negotiation(accept: str | None, json_: bool) -> None:
    assert wants_json(accept) is json_


@pytest.mark.parametrize(("header", "lang"), [
    (None, "en"), ("", "en"), ("zh-CN,zh;q=0.9,en;q=0.8", "zh"), ("en-US,zh;q=0.5", "en"), ("fr, zh-TW", "zh"),
    ("zh;q=0.2, en;q=0.3", "en"), ("zh;q=0, en;q=0", "en"), ("de", "en"), ("zh;q=bad, en", "en"),
])
def test_accept_language(header: str | None, lang: str) -> None:
    assert language(header) == lang


@pytest.mark.parametrize("edit", ["words", "extra", "dropped", "service"])
def test_words_that_do_not_say_what_the_numbers_say_are_invalid(edit: str) -> None:
    """The hash matches (the record carries it) and every number agrees, yet the document is not
    what the wording writes for those numbers: verify says so."""
    doc = json.loads(json.dumps(wording.schedule(basis(), HOLDER, BENEFICIARY)))
    if edit == "words":
        doc["payout"]["en"] = doc["payout"]["en"].replace("50 cUSD", "500 cUSD")
    elif edit == "extra":
        doc["note"] = "the insurer may refuse any claim"
    elif edit == "dropped":
        doc["exclusions"] = doc["exclusions"][:1]
    else:
        doc["product"]["service"] = "https://other.example/status"
    reasons = check(doc, record(doc), _product_with_fee(), 9)
    assert len(reasons) == 1, reasons
    expected = {"words": "payout:", "extra": "note:", "dropped": "exclusions:", "service": "product.service"}[edit]
    assert reasons[0].startswith(expected), reasons


@settings(max_examples=200, deadline=None)
@given(holder=st.binary(min_size=32, max_size=32),
       beneficiary=st.one_of(st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()),
                             st.just(BENEFICIARY), st.text(max_size=50)),
       name=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_batch_splice_equals_the_whole_document_hash(holder: bytes, beneficiary: str, name: str) -> None:
    """Covers serialises the shared part once; its hash is exactly keccak(rfc8785(document))."""
    b = basis(product_name=name or "x")
    doc, h = wording.Covers(b).cover(holder, beneficiary)
    assert doc == wording.schedule(b, holder, beneficiary)
    assert h == keccak(rfc8785.dumps(doc)) == wording.schedule_hash(doc)
