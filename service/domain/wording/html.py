"""The schedule as one self-contained HTML page (inline style, no external assets), in Chinese
or English, with the on-chain facts beside it. Every value is escaped: product and service names
come from whoever created the product."""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from typing import Any

from service.domain.wording.words import instant

LANGS = ("en", "zh")

_LABELS: dict[str, dict[str, str]] = {
    "title": {"en": "Policy schedule", "zh": "保险单明细表"},
    "policy": {"en": "Policy", "zh": "保单"},
    "insurer": {"en": "Insurer", "zh": "保险人"},
    "assessor": {"en": "Assessor", "zh": "评估机构"},
    "product": {"en": "Product", "zh": "保险产品"},
    "service": {"en": "Covered service", "zh": "承保服务"},
    "service_id": {"en": "On-chain service id", "zh": "链上服务标识"},
    "trigger": {"en": "Trigger", "zh": "触发条件"},
    "payout": {"en": "Payout", "zh": "赔付规则"},
    "periods": {"en": "Waiting and grace periods", "zh": "等待期与宽限期"},
    "limits": {"en": "Limits", "zh": "限额"},
    "exclusions": {"en": "Exclusions", "zh": "除外责任"},
    "premium": {"en": "Premium", "zh": "保险费"},
    "pricing": {"en": "Pricing", "zh": "定价明细"},
    "cancellation": {"en": "Cancellation", "zh": "退保"},
    "renewal": {"en": "Renewal", "zh": "续保"},
    "cover_period": {"en": "Cover period", "zh": "保险期间"},
    "underwriting": {"en": "Underwriting", "zh": "核保依据"},
    "report_hash": {"en": "Assessment report (anchor id)", "zh": "风险评估报告（锚定标识）"},
    "subject": {"en": "Insured (subject commitment)", "zh": "被保险人（主体承诺值）"},
    "conditions": {"en": "Conditions", "zh": "特别约定"},
    "holder": {"en": "Policyholder (commitment)", "zh": "投保人（承诺值）"},
    "beneficiary": {"en": "Beneficiary", "zh": "受益人"},
    "token": {"en": "Payout token", "zh": "赔付代币"},
    "renewal_of": {"en": "Renews policy", "zh": "续保自保单"},
    "numbers": {"en": "In numbers", "zh": "数值"},
    "chain": {"en": "On-chain record", "zh": "链上记录"},
    "policy_id": {"en": "Policy id", "zh": "保单编号"},
    "status": {"en": "Status", "zh": "状态"},
    "actual_start": {"en": "Cover start (block time)", "zh": "保险起期（区块时间）"},
    "cover_end": {"en": "Cover end", "zh": "保险止期"},
    "tx": {"en": "Issuing transaction", "zh": "出单交易"},
    "schedule_hash": {"en": "Schedule hash (keccak256 of RFC 8785 JSON)",
                      "zh": "明细表哈希（RFC 8785 JSON 的 keccak256）"},
    "json": {"en": "The hashed JSON document: request this URL with Accept: application/json; "
                   "check it with `cybercover policy verify`.",
             "zh": "被哈希的 JSON 文档：以 Accept: application/json 请求本地址获取；"
                   "可用 `cybercover policy verify` 核验。"},
    "none": {"en": "none", "zh": "无"},
}

_STYLE = ("body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.5;"
          "color:#1a1a1a}h1{font-size:1.6rem}h2{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #ddd}"
          "dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}"
          "dd{margin:0;word-break:break-all}.n{color:#555;font-size:.9rem}nav{float:right}code{font-size:.85rem}")


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _numbers(section: Mapping[str, Any], label: str) -> str:
    """The section's numbers next to its words (every key but the sentences)."""
    items = [f"{_e(k)} = {_e(v)}" for k, v in section.items() if k not in LANGS and not isinstance(v, dict)]
    return f'<p class="n">{_e(label)}: <code>{"; ".join(items)}</code></p>' if items else ""


def _section(doc: Mapping[str, Any], key: str, lang: str) -> str:
    section = doc.get(key)
    if not isinstance(section, Mapping):
        return ""
    body = f"<p>{_e(section.get(lang, ''))}</p>" + _numbers(section, _LABELS["numbers"][lang])
    return f"<h2>{_e(_LABELS[key][lang])}</h2>{body}"


def _rows(rows: list[tuple[str, Any]], lang: str) -> str:
    return "<dl>" + "".join(f"<dt>{_e(_LABELS[k][lang])}</dt><dd>{_e(v)}</dd>" for k, v in rows) + "</dl>"


def _chain(facts: Mapping[str, Any], lang: str) -> str:
    rows: list[tuple[str, Any]] = [("policy_id", facts.get("policy_id", "")), ("status", facts.get("status", ""))]
    if "cover_start" in facts:
        rows.append(("actual_start", f"{instant(int(facts['cover_start']))} ({facts['cover_start']})"))
    if "cover_end" in facts:
        rows.append(("cover_end", f"{instant(int(facts['cover_end']))} ({facts['cover_end']})"))
    rows += [(k, facts[k]) for k in ("tx", "schedule_hash") if k in facts]
    return f"<h2>{_e(_LABELS['chain'][lang])}</h2>" + _rows(rows, lang)


def render_html(doc: Mapping[str, Any], lang: str, chain_facts: Mapping[str, Any] | None = None) -> str:
    """The page in `lang` ("en" or "zh"), linking the other language (`?lang=`)."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}")
    L = {k: v[lang] for k, v in _LABELS.items()}
    product = doc.get("product", {})
    insurer = doc.get("insurer", {})
    token = doc.get("token", {})
    under = doc.get("underwriting", {})
    parties: list[tuple[str, Any]] = [
        ("insurer", insurer.get("name", "")), ("assessor", insurer.get("assessor", "")),
        ("product", f"{product.get('name', '')} (#{product.get('id', '')})"),
        ("service", product.get("service", "")), ("service_id", product.get("service_id", "")),
        ("holder", doc.get("holder", "")), ("beneficiary", doc.get("beneficiary", "")),
        ("token", " ".join(str(token[k]) for k in ("symbol", "address") if k in token)),
    ]
    if "renewal_of" in doc:
        parties.append(("renewal_of", doc["renewal_of"]))
    exclusions = "".join(f"<li><p>{_e(x.get(lang, ''))}</p>{_numbers(x, L['numbers'])}</li>"
                         for x in doc.get("exclusions", []) if isinstance(x, Mapping))
    conditions = under.get("conditions") or [L["none"]]
    pricing = doc.get("premium", {}).get("pricing")
    pricing_html = (f"<h3>{_e(L['pricing'])}</h3><pre>{_e(json.dumps(pricing, ensure_ascii=False, indent=1))}</pre>"
                    if pricing is not None else "")
    sections = [_section(doc, k, lang) for k in ("cover_period", "trigger", "payout", "periods", "limits")]
    tail = [_section(doc, k, lang) for k in ("cancellation", "renewal")]
    title = f"{L['title']} · {product.get('name', '')}"
    return (
        f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{_e(title)}</title>'
        f"<style>{_STYLE}</style></head><body>"
        '<nav><a href="?lang=en" hreflang="en" lang="en">English</a> · <a href="?lang=zh" hreflang="zh" '
        'lang="zh-CN">中文</a></nav>'
        f"<h1>{_e(title)}</h1>" + _rows(parties, lang)
        + (_chain(chain_facts, lang) if chain_facts is not None else "")
        + "".join(sections)
        + f"<h2>{_e(L['exclusions'])}</h2><ol>{exclusions}</ol>"
        + _section(doc, "premium", lang) + pricing_html + "".join(tail)
        + f"<h2>{_e(L['underwriting'])}</h2>"
        + _rows([("report_hash", under.get("report_hash", "")), ("subject", under.get("subject", "")),
                 ("conditions", "; ".join(map(str, conditions)))], lang)
        + f'<p class="n">{_e(L["json"])}</p></body></html>')
