"""Webhook subscriptions of a tenant: create, list, show, pause, resume, rotate the secret,
delete. The signing secret is shown once, at creation and at each rotation. A caller sees and
changes only its own tenant's webhooks (another tenant's id is a 404).

Who subscribes: a distributor (or its tenant's admin) for its tenant's notices, and any insurer
staff key (admin, underwriter, claims, assessor, auditor) for insurer-wide ones: a webhook
created by a staff key receives every tenant's notices (service.notices)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import Field

from service.api.deps import STAFF, Principal, SessionDep, SettingsDep, get_principal
from service.api.errors import responses
from service.api.schemas import Out, Strict
from service.errors import Forbidden
from service.notices import ENVELOPE, EVENTS, INSURER, TENANT, table
from service.webhooks import registry
from service.webhooks.destinations import MAX_URL_LENGTH, Resolver, system_resolver
from service.webhooks.sealing import sealer_for

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


def _subscriber(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    """A distributor (or a tenant's admin) of any tenant, or any insurer staff key."""
    if principal.may(("distributor",)) or (principal.insurer and principal.role in STAFF):
        return principal
    raise Forbidden(f"role {principal.role!r} may not manage webhooks (allowed: distributor, admin, "
                    "and the insurer's staff)")


Subscriber = Annotated[Principal, Depends(_subscriber)]
Event = Literal[EVENTS]  # type: ignore[valid-type]


def get_resolver() -> Resolver:
    """The DNS resolver for destination checks (tests override this dependency)."""
    return system_resolver


ResolverDep = Annotated[Resolver, Depends(get_resolver)]


class WebhookIn(Strict):
    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH, examples=["https://hooks.example.com/cybercover"],
                     description="https URL whose host resolves to public addresses only")
    events: list[Event] = Field(min_length=1, max_length=len(EVENTS),
                                description="notice types to receive (README: Notices)")


class WebhookOut(Out):
    id: str
    url: str
    events: list[str]
    active: bool = Field(description="false while paused: deliveries are held until resumed")
    scope: str = Field(description='"tenant": this tenant\'s notices; "insurer": created by an insurer staff key, '
                                   "every tenant's notices")
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="HMAC-SHA256 key for the X-Cybercover-Signature header. Shown once.")


def _rules(settings: SettingsDep, resolver: ResolverDep) -> registry.Rules:
    return registry.Rules(settings.webhook_max_per_tenant, settings.webhook_allow_loopback_http, resolver)


RulesDep = Annotated[registry.Rules, Depends(_rules)]


_CREATE = ("Subscribes a URL to notice types. A distributor's (or a tenant admin's) webhook receives its tenant's "
           "notices; a webhook created by an insurer staff key (admin, underwriter, claims, assessor, auditor) is "
           "insurer-wide (`scope: insurer`) and receives every tenant's.\n\n" + ENVELOPE + "\n\n" + table())


@router.post("", status_code=201, response_model=WebhookCreated, responses=responses(400, 409), description=_CREATE)
def create_webhook(body: WebhookIn, session: SessionDep, principal: Subscriber, settings: SettingsDep,
                   rules: RulesDep) -> WebhookCreated:
    scope = INSURER if principal.insurer and principal.role in STAFF else TENANT
    hook, secret = registry.create(session, principal.tenant_id, body.url, list(body.events), sealer_for(settings),
                                   rules, scope=scope)
    return WebhookCreated.of(hook, secret=secret)


@router.get("", response_model=list[WebhookOut])
def list_webhooks(session: SessionDep, principal: Subscriber) -> list[WebhookOut]:
    return [WebhookOut.of(h) for h in registry.list_for(session, principal.tenant_id)]


@router.get("/{webhook_id}", response_model=WebhookOut)
def get_webhook(webhook_id: str, session: SessionDep, principal: Subscriber) -> WebhookOut:
    return WebhookOut.of(registry.get(session, principal.tenant_id, webhook_id))


@router.delete("/{webhook_id}", status_code=204, response_class=Response)
def delete_webhook(webhook_id: str, session: SessionDep, principal: Subscriber) -> Response:
    registry.remove(session, principal.tenant_id, webhook_id)
    return Response(status_code=204)


@router.post("/{webhook_id}/pause", response_model=WebhookOut)
def pause_webhook(webhook_id: str, session: SessionDep, principal: Subscriber, rules: RulesDep) -> WebhookOut:
    return WebhookOut.of(registry.set_active(session, principal.tenant_id, webhook_id, False, rules))


@router.post("/{webhook_id}/resume", response_model=WebhookOut, responses=responses(400))
def resume_webhook(webhook_id: str, session: SessionDep, principal: Subscriber, rules: RulesDep) -> WebhookOut:
    return WebhookOut.of(registry.set_active(session, principal.tenant_id, webhook_id, True, rules))


@router.post("/{webhook_id}/rotate-secret", response_model=WebhookCreated)
def rotate_webhook_secret(webhook_id: str, session: SessionDep, principal: Subscriber,
                          settings: SettingsDep) -> WebhookCreated:
    hook, secret = registry.rotate(session, principal.tenant_id, webhook_id, sealer_for(settings))
    return WebhookCreated.of(hook, secret=secret)
