"""Webhook subscriptions of a tenant. The signing secret is shown once, at creation."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import AnyHttpUrl, BaseModel, Field
from sqlalchemy import select

from service.api.deps import Principal, SessionDep, require
from service.api.schemas import Strict
from service.db import models as m

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
Subscriber = Annotated[Principal, Depends(require("distributor"))]
Event = Literal["payout.sent", "claim.opened", "claim.approved", "claim.rejected"]


class WebhookIn(Strict):
    url: AnyHttpUrl
    events: list[Event] = Field(min_length=1, max_length=4)


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="HMAC-SHA256 key for the X-Cybercover-Signature header. Shown once.")


@router.post("", status_code=201, response_model=WebhookCreated)
def create_webhook(body: WebhookIn, session: SessionDep, principal: Subscriber) -> dict[str, Any]:
    hook = m.Webhook(tenant_id=principal.tenant_id, url=str(body.url), events=sorted(set(body.events)),
                     secret=secrets.token_hex(32), active=True)
    session.add(hook)
    session.commit()
    return {"id": hook.id, "url": hook.url, "events": hook.events, "active": True, "created_at": hook.created_at,
            "secret": hook.secret}


@router.get("", response_model=list[WebhookOut])
def list_webhooks(session: SessionDep, principal: Subscriber) -> list[m.Webhook]:
    return list(session.scalars(select(m.Webhook).where(m.Webhook.tenant_id == principal.tenant_id)))
