"""§8 incident (事故) assessment: timeline, itemised loss, root cause, responsibility.

The section is what the claims reviewer decides on (§8.1 d), so amounts are integers in
minor currency units with their basis (精算依据), and the two timeliness rules of the
standard are computed, not typed in: evaluation started within 1 hour of the report
(§8.2.1 a) and logs kept for at least 180 days (§8.3 b).

`outage` names the verified outage window the report is about (the covered service's id and
the window's [start, end) in unix seconds, chain time): a claim decision checks that the report
is bound to that service and that the window overlaps the claim's outage episode. It is optional
in the engine (an incident need not be an outage) and required for reports built through the API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from service.assessment.errors import ReportError
from service.assessment.exposure import FIRST_PARTY, LOSS_TYPE_ZH, LossType
from service.assessment.fields import hex32, text, texts, utc_iso
from service.assessment.jsontypes import JSONObject, JSONValue

RESPONSE_DEADLINE = timedelta(hours=1)  # §8.2.1 a)
MIN_LOG_RETENTION_DAYS = 180  # §8.3 b)


class EntryVector(StrEnum):
    """§8.2.3 a) 入侵方式."""

    VULNERABILITY_EXPLOIT = "vulnerability_exploit"
    PHISHING = "phishing"
    CREDENTIAL_ABUSE = "credential_abuse"
    SUPPLY_CHAIN = "supply_chain"
    MISCONFIGURATION = "misconfiguration"
    DENIAL_OF_SERVICE = "denial_of_service"
    MALWARE = "malware"
    INSIDER = "insider"
    ENVIRONMENTAL = "environmental"  # §4.2.3: power, natural disaster, infrastructure
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    at: datetime
    description: str


@dataclass(frozen=True, slots=True)
class LossItem:
    loss_type: LossType
    description: str
    amount_minor: int  # minor units of IncidentDetails.currency (fen, cents)
    basis: str  # how the amount was quantified


@dataclass(frozen=True, slots=True)
class Cause:
    entry_vector: EntryVector
    attack_path: str
    attack_source: str
    technical_causes: tuple[str, ...]
    management_causes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Responsibility:
    within_cover: bool  # §8.1 a) 是否属于保险责任范围
    policy_ref: str
    attribution: str  # 责任归因
    reasoning: str  # 与保险责任匹配结论


@dataclass(frozen=True, slots=True)
class OutageWindow:
    """The verified outage the report is about: `report["incident"]["outage"]`."""

    service_id: bytes  # 32 bytes, the covered service (eip712.service_id)
    start: int  # unix seconds, chain time
    end: int  # unix seconds, exclusive; > start


@dataclass(frozen=True, slots=True)
class IncidentDetails:
    incident_ref: str
    reported_at: datetime
    response_started_at: datetime
    timeline: tuple[TimelineEvent, ...]
    reconstruction: str  # 事故重构
    currency: str  # ISO 4217
    losses: tuple[LossItem, ...]
    cause: Cause
    responsibility: Responsibility
    secondary_risks: tuple[str, ...]  # §8.2.3 b) 二次风险
    log_retention_days: int
    advice: tuple[str, ...]  # §8.3 b) 风险管理建议
    outage: OutageWindow | None = None  # the outage window the report is about


def _outage(window: OutageWindow) -> JSONObject:
    for name in ("start", "end"):
        value = getattr(window, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ReportError(f"incident.outage.{name}: expected unix seconds (an integer ≥ 0)")
    if window.end <= window.start:
        raise ReportError("incident.outage: the window must end after it starts")
    return {"service_id": hex32(window.service_id, "incident.outage.service_id"),
            "start": window.start, "end": window.end}


def _losses(details: IncidentDetails) -> JSONObject:
    if not re.fullmatch(r"[A-Z]{3}", details.currency):
        raise ReportError(f"incident.currency: {details.currency!r} is not an ISO 4217 code")
    items: list[JSONValue] = []
    first = third = 0
    for i, loss in enumerate(details.losses):
        amount = loss.amount_minor
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise ReportError(f"incident.losses[{i}].amount_minor: expected an integer ≥ 0")
        if loss.loss_type in FIRST_PARTY:
            first += amount
        else:
            third += amount
        items.append({
            "loss_type": loss.loss_type.value,
            "loss_type_zh": LOSS_TYPE_ZH[loss.loss_type],
            "first_party": loss.loss_type in FIRST_PARTY,
            "description": text(loss.description, f"incident.losses[{i}].description"),
            "amount_minor": amount,
            "basis": text(loss.basis, f"incident.losses[{i}].basis"),
        })
    return {
        "currency": details.currency,
        "items": items,
        "first_party_total_minor": first,
        "third_party_total_minor": third,
        "total_minor": first + third,
    }


def incident_json(details: IncidentDetails) -> JSONObject:
    # Format first: it refuses naive datetimes before they are compared.
    reported = utc_iso(details.reported_at, "incident.reported_at")
    started = utc_iso(details.response_started_at, "incident.response_started_at")
    if details.response_started_at < details.reported_at:
        raise ReportError("incident: response started before the incident was reported")
    if not details.timeline:
        raise ReportError("incident.timeline: at least one event is required")
    if details.log_retention_days < 0:
        raise ReportError("incident.log_retention_days: must not be negative")
    events = [(utc_iso(e.at, f"incident.timeline[{i}].at"), e) for i, e in
              enumerate(details.timeline)]
    timeline: list[JSONValue] = [
        {"at": at, "description": text(e.description, f"incident.timeline[{i}].description")}
        for i, (at, e) in enumerate(sorted(events, key=lambda pair: pair[1].at))
    ]
    cause = details.cause
    resp = details.responsibility
    out: JSONObject = {
        "incident_ref": text(details.incident_ref, "incident.incident_ref"),
        "reported_at": reported,
        "response_started_at": started,
        "response_within_1h": details.response_started_at - details.reported_at
        <= RESPONSE_DEADLINE,
        "timeline": timeline,
        "reconstruction": text(details.reconstruction, "incident.reconstruction"),
        "losses": _losses(details),
        "cause": {
            "entry_vector": cause.entry_vector.value,
            "attack_path": text(cause.attack_path, "incident.cause.attack_path"),
            "attack_source": text(cause.attack_source, "incident.cause.attack_source"),
            "technical_causes": texts(cause.technical_causes, "incident.cause.technical_causes"),
            "management_causes": texts(cause.management_causes, "incident.cause.management_causes"),
        },
        "responsibility": {
            "within_cover": resp.within_cover,
            "policy_ref": text(resp.policy_ref, "incident.responsibility.policy_ref"),
            "attribution": text(resp.attribution, "incident.responsibility.attribution"),
            "reasoning": text(resp.reasoning, "incident.responsibility.reasoning"),
        },
        "secondary_risks": texts(details.secondary_risks, "incident.secondary_risks"),
        "log_retention": {
            "days": details.log_retention_days,
            "meets_minimum": details.log_retention_days >= MIN_LOG_RETENTION_DAYS,
            "minimum_days": MIN_LOG_RETENTION_DAYS,
        },
        "advice": texts(details.advice, "incident.advice"),
    }
    if details.outage is not None:
        out["outage"] = _outage(details.outage)
    return out
