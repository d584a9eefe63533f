"""§7 in-policy (过程) assessment: observed changes and the effect of earlier advice.

The report carries a fresh Assessment like any other; this section adds what §7.1/§7.4 ask
for: changes and new threats seen during the period (§7.2.1), and whether the items flagged
in the baseline report were fixed (§7.1 c), so "advice followed" is checked, not asserted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from service.assessment.errors import ReportError
from service.assessment.fields import hex32, text, texts, utc_iso
from service.assessment.jsontypes import JSONObject, JSONValue
from service.assessment.plan import ChangeArea
from service.assessment.scoring import Answer, Assessment


@dataclass(frozen=True, slots=True)
class Change:
    area: ChangeArea
    observed_at: datetime
    description: str


@dataclass(frozen=True, slots=True)
class InPolicyDetails:
    policy_ref: str
    period_start: datetime
    period_end: datetime
    baseline_report_hash: bytes  # the anchored report this one follows up
    baseline: Assessment | None = None  # its scores, to measure remediation
    changes: tuple[Change, ...] = ()
    advice: tuple[str, ...] = field(default=())
    # The period's monitoring facts (service.domain.monitoring): chain episodes and what the
    # oracle nodes publish. Integers, strings, booleans, lists and objects only.
    monitoring: JSONObject | None = None


def _effectiveness(baseline: Assessment, current: Assessment) -> JSONObject:
    before = {r.item.id: r.answer for r in baseline.results}
    remediated: list[JSONValue] = []
    improved: list[JSONValue] = []
    regressed: list[JSONValue] = []
    still_open: list[JSONValue] = []
    for r in current.results:
        old = before.get(r.item.id)
        if old is None or old is r.answer:
            if old is not None and old is not Answer.YES:
                still_open.append(r.item.id)
            continue
        if r.answer is Answer.YES:
            remediated.append(r.item.id)
        elif old is Answer.NO:
            improved.append(r.item.id)  # no → partial
        else:
            regressed.append(r.item.id)
    return {
        "remediated": remediated,
        "improved": improved,
        "regressed": regressed,
        "still_open": still_open,
        "baseline_score_bps": baseline.score_bps,
        "score_change_bps": current.score_bps - baseline.score_bps,
    }


def _plain(value: JSONValue, where: str) -> JSONObject:
    """`value` is an object of RFC 8785-safe JSON: no floats, no nulls, integers within 2^53."""
    def check(v: object, at: str) -> None:
        if isinstance(v, (bool, str)):
            return
        if isinstance(v, int):
            if abs(v) > 2**53 - 1:
                raise ReportError(f"{at}: integer beyond 2^53 - 1")
            return
        if isinstance(v, list):
            for i, x in enumerate(v):
                check(x, f"{at}[{i}]")
            return
        if isinstance(v, dict):
            for k, x in v.items():
                if not isinstance(k, str):
                    raise ReportError(f"{at}: object keys are strings")
                check(x, f"{at}.{k}")
            return
        raise ReportError(f"{at}: {type(v).__name__} is not allowed in a report")

    if not isinstance(value, dict):
        raise ReportError(f"{where}: an object")
    check(value, where)
    return value


def in_policy_json(details: InPolicyDetails, current: Assessment) -> JSONObject:
    start = utc_iso(details.period_start, "in_policy.period_start")
    end = utc_iso(details.period_end, "in_policy.period_end")
    if details.period_end < details.period_start:
        raise ReportError("in_policy: period ends before it starts")
    observed = [(utc_iso(c.observed_at, f"in_policy.changes[{i}].observed_at"), c)
                for i, c in enumerate(details.changes)]
    changes: list[JSONValue] = [
        {
            "area": c.area.value,
            "observed_at": at,
            "description": text(c.description, f"in_policy.changes[{i}].description"),
        }
        for i, (at, c) in enumerate(sorted(observed, key=lambda pair: pair[1].observed_at))
    ]
    section: JSONObject = {
        "policy_ref": text(details.policy_ref, "in_policy.policy_ref"),
        "period": {"start": start, "end": end},
        "baseline_report_hash": hex32(
            details.baseline_report_hash, "in_policy.baseline_report_hash"
        ),
        "changes": changes,
        "advice": texts(details.advice, "in_policy.advice"),
    }
    if details.monitoring is not None:
        section["monitoring"] = _plain(details.monitoring, "in_policy.monitoring")
    if details.baseline is not None:
        section["control_effectiveness"] = _effectiveness(details.baseline, current)
    return section
