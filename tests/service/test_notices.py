"""Notices (service.notices): every type is delivered to the right webhooks, signed, and
deduplicable — the same occurrence twice is one delivery, a reindex or a reorg replay none new."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from service import notices
from service.db import models as m
from tests.service.helpers import Api


@pytest.fixture(autouse=True)
def _quiet_outbox(app: FastAPI) -> Any:
    """The database is shared by the session: no delivery of another test is due in ours."""
    def settle() -> None:
        with app.state.factory.begin() as s:
            s.execute(update(m.WebhookDelivery).where(m.WebhookDelivery.delivered_at.is_(None)).values(failed=True))
    settle()
    yield
    settle()


def _hook(app: FastAPI, tenant_id: str, events: list[str], *, scope: str = "tenant", active: bool = True) -> str:
    with app.state.factory.begin() as s:
        hook = m.Webhook(id=m.new_id(), tenant_id=tenant_id, url=f"https://hooks.example/{m.new_id()}",
                         events=events, secret_sealed="x", active=active, scope=scope)
        s.add(hook)
        return hook.id


def _queued(app: FastAPI, hook_id: str) -> list[m.WebhookDelivery]:
    with app.state.factory() as s:
        return list(s.scalars(select(m.WebhookDelivery).where(m.WebhookDelivery.webhook_id == hook_id)
                              .order_by(m.WebhookDelivery.id)))


def test_publish_fans_out_to_the_tenants_and_insurer_wide_once_per_key(api: Api, app: FastAPI) -> None:
    a, b = api.tenant(), api.tenant()
    hook_a = _hook(app, a, ["claim.decided", "payout.sent"])
    hook_a_other = _hook(app, a, ["payout.sent"])  # not subscribed to claim.decided
    hook_a_paused = _hook(app, a, ["claim.decided"], active=False)
    hook_b = _hook(app, b, ["claim.decided"])  # another tenant: not concerned
    hook_wide = _hook(app, api.insurer, ["claim.decided"], scope="insurer")
    key = f"claim.decided:{m.new_id()}"
    data = {"claim_id": 7, "decision": "approved"}
    with app.state.factory.begin() as s:
        n = notices.publish(s, "claim.decided", data, key=key, tenant_ids=[a], block=12, tx="0xab")
    assert n >= 2  # other tests' insurer-wide webhooks may be subscribed too
    [row] = _queued(app, hook_a)
    assert row.event_type == "claim.decided"
    assert row.event_id == notices.event_id(key, hook_a)
    assert row.payload == {"id": row.event_id, "type": "claim.decided", "block": 12, "tx": "0xab", "data": data}
    [wide] = _queued(app, hook_wide)
    assert wide.payload["tenant_ids"] == [a]  # the insurer sees whose notice it is
    assert wide.event_id != row.event_id
    for h in (hook_a_other, hook_a_paused, hook_b):
        assert _queued(app, h) == []
    with app.state.factory.begin() as s:  # the same occurrence again: nothing new
        assert notices.publish(s, "claim.decided", data, key=key, tenant_ids=[a], block=12, tx="0xab") == 0
    with app.state.factory.begin() as s:  # another occurrence: queued
        assert notices.publish(s, "claim.decided", data, key=key + "-2", tenant_ids=[a]) >= 2
    assert len(_queued(app, hook_a)) == 2
    assert _queued(app, hook_a)[1].payload["block"] is None


def test_publish_without_tenants_reaches_insurer_wide_only(api: Api, app: FastAPI) -> None:
    a = api.tenant()
    hook_a = _hook(app, a, ["risk.changed"])
    hook_wide = _hook(app, api.insurer, ["risk.changed"], scope="insurer")
    with app.state.factory.begin() as s:
        notices.publish(s, "risk.changed", {}, key=f"k:{m.new_id()}")
    assert _queued(app, hook_a) == []
    assert len(_queued(app, hook_wide)) == 1


def test_publish_refuses_an_unknown_type(app: FastAPI) -> None:
    with app.state.factory() as s, pytest.raises(ValueError, match="unknown notice type"):
        notices.publish(s, "policy.exploded", {}, key="x")


def test_events_cover_the_issue_and_the_old_names() -> None:
    issue = {"outage.started", "outage.verified", "outage.closed", "payout.sent", "payout.failed", "claim.opened",
             "claim.decided", "assessment.due", "assessment.overdue", "risk.changed", "policy.expiring",
             "policy.cancelled"}
    old = {"payout.credited", "claim.approved", "claim.rejected", "claim.lapsed", "policy.renewed"}
    assert set(notices.EVENTS) == issue | old
    assert len(notices.EVENTS) == len(set(notices.EVENTS))
