"""A stored schedule as `GET /v1/policies/{id}/schedule` serves it: the document exactly as
hashed, and the on-chain facts (from the projection) shown beside it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from contracts.enums import PolicyStatus
from service.db import models as m
from service.domain import lifecycle
from service.errors import NotFound


@dataclass(frozen=True)
class Served:
    document: dict[str, Any]
    facts: dict[str, Any]  # policy id, status, actual cover start and end, issuing tx, schedule hash


def stored(session: Session, policy_id: int, may_see: Callable[[str | None], bool]) -> Served:
    """The schedule of `policy_id`, which the caller must see (as GET /v1/policies/{id})."""
    p = lifecycle.find(session, policy_id, may_see).policy  # the visibility rule of GET /v1/policies/{id}
    row = session.get(m.PolicySchedule, policy_id)
    if row is None:
        raise NotFound(f"policy {policy_id} has no schedule on file (not issued through this service)")
    return Served(row.document, {"policy_id": p.id, "status": PolicyStatus(p.status).label,
                                 "cover_start": p.cover_start, "cover_end": p.cover_end, "tx": p.tx,
                                 "schedule_hash": row.schedule_hash})
