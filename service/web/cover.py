"""The holder's cover page (issue 15 item 2): `/cover/{policy id}?ref=…`, the link a distributor
gives its customer.

The key is the policy's holder salt (`ref`, 0x + 64 hex): the secret half of the salted holder
commitment `keccak(salt ‖ holder_ref)` that the chain holds. It never goes on-chain, is random per
policy, and only the issuing tenant and the insurer's staff see it (`cover_page` in the policy
answers, to send the customer); a wrong or missing ref answers the same 404 page as an unknown
policy, so the page confirms nothing to a guesser.

What it shows: the terms in plain words in Chinese and English (from the policy wording, the
schedule hashed into the policy's on-chain record), status, cover period, the verified outages in
the cover (from the chain), payouts with amounts and transactions, a claim in review, and the
beneficiary's claimable balance on the pool (CoverPool.claimableOf) with how to claim it."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from contracts.enums import PolicyStatus
from service.db import models as m
from service.domain.claim_view import counted_from
from service.domain.wording.basis import token
from service.domain.wording.html import _LABELS as WORDING_LABELS
from service.web import ROUTERS, chainview, render

router = APIRouter(include_in_schema=False)
ROUTERS.append(router)
SECTIONS = ("cover_period", "trigger", "payout", "periods", "limits", "cancellation", "renewal")
LABELS = {
    "en": {"cover": "Your cover", "status": "Status", "period": "Cover period", "limit": "Limit",
           "premium": "Premium", "paid": "Paid so far", "outages": "Verified outages in your cover",
           "no_outages": "No verified outage of the covered service during your cover.",
           "payouts": "Payouts", "no_payouts": "No payout yet.", "claim": "Claim in review",
           "claimable": "Claimable balance", "terms": "Your terms in plain words", "exclusions": "Exclusions",
           "service": "Covered service", "beneficiary": "Paid to", "schedule": "Full policy schedule"},
    "zh": {"cover": "您的保障", "status": "状态", "period": "保险期间", "limit": "限额", "premium": "保险费",
           "paid": "已赔付", "outages": "保险期间内经核实的中断",
           "no_outages": "保险期间内承保服务没有经核实的中断。", "payouts": "赔付记录", "no_payouts": "尚无赔付。",
           "claim": "审核中的理赔", "claimable": "可领取余额", "terms": "保障条款（通俗说明）",
           "exclusions": "除外责任", "service": "承保服务", "beneficiary": "受益人", "schedule": "完整保险单明细表"},
}
STATUS_WORDS = {"zh": {"active": "有效", "expired": "已到期", "cancelled": "已退保", "exhausted": "限额已用尽"}}


def not_found(request: Request, policy_id: int) -> HTMLResponse:
    return render(request, "error.html", {"heading": "Cover not found", "message": (
        f"No cover {policy_id} matches this link. Check the link your provider sent you: it carries the "
        "reference (ref=…) that opens your cover page.")}, 404)


@router.get("/cover/{policy_id:int}", response_class=HTMLResponse)
def cover_page(request: Request, policy_id: int, ref: Annotated[str, Query(max_length=100)] = "",
               lang: Annotated[str, Query(pattern="^(en|zh)$")] = "en") -> HTMLResponse:
    gw = request.app.state.gateway
    with request.app.state.factory() as s:
        owner = s.get(m.PolicyOwner, policy_id)
        if owner is None or not hmac.compare_digest(owner.holder_salt.lower().encode(), ref.strip().lower().encode()):
            return not_found(request, policy_id)
        p = s.get(m.Policy, policy_id)
        product = s.get(m.Product, p.product_id) if p is not None else None
        if p is None or product is None:
            return not_found(request, policy_id)
        schedule = s.get(m.PolicySchedule, policy_id)
        terms = s.get(m.ProductTerms, p.product_id)
        payouts = list(s.scalars(select(m.Payout).where(m.Payout.policy_id == policy_id).order_by(m.Payout.id)))
        claims = list(s.scalars(select(m.Claim).where(m.Claim.policy_id == policy_id).order_by(m.Claim.id)))
        start = counted_from(p, product)
        doc: dict[str, Any] = dict(schedule.document) if schedule is not None else {}
        status = PolicyStatus(p.status).label
        cover_start, cover_end, beneficiary = p.cover_start, p.cover_end, p.beneficiary
        view_policy = {"id": p.id, "limit": p.limit, "premium": p.premium, "paid": p.paid, "tx": p.tx,
                       "block": p.block, "renewal_of": p.renewal_of}
        service_name = terms.service_name if terms is not None else doc.get("product", {}).get("service")
        sid_hex = product.service_id
    now = gw.now()
    tok = token(gw)
    sid = bytes.fromhex(sid_hex[2:])
    eps = [e for e in chainview.episodes(gw, sid) if start <= e.start < cover_end]
    claimable = int(gw.pool.functions.claimableOf(beneficiary).call())
    sections = [{"key": k, "title": WORDING_LABELS[k], "text": doc[k]} for k in SECTIONS
                if isinstance(doc.get(k), dict)]
    exclusions = [x for x in doc.get("exclusions", []) if isinstance(x, dict)]
    return render(request, "cover.html", {
        "lang": lang, "L": LABELS[lang], "other": "zh" if lang == "en" else "en", "ref": ref,
        "policy": view_policy, "status": status, "status_word": STATUS_WORDS.get(lang, {}).get(status, status),
        "cover_start": cover_start, "cover_end": cover_end, "beneficiary": beneficiary,
        "service_name": service_name, "service_id": sid_hex, "episodes": eps, "now": now, "payouts": payouts,
        "open_claims": [c for c in claims if c.status == "open"], "claimable": claimable,
        "token": tok, "sections": sections, "exclusions": exclusions,
        "pool": gw.pool.address, "chain_id": gw.w3.eth.chain_id, "product_name": terms.name if terms else None,
    })


def cover_link(policy_id: int, holder_salt: str) -> str:
    """The path of a policy's cover page (the distributor sends it, on its host, to the customer)."""
    return f"/cover/{policy_id}?ref={holder_salt}"
