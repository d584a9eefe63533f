"""Input documents (files for the CLI, bodies for the API) parsed strictly.

Numbers are parsed as Decimal so "0.7" is exactly 7/10; duplicate keys and unknown fields are
errors, because a questionnaire with two answers for one item has no single meaning.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from contracts.jsonguard import JsonLimitError, check_depth
from service.assessment.errors import AssessmentError
from service.assessment.provider import ProviderScore, score_provider
from service.assessment.scoring import Assessment, assess


@dataclass(frozen=True, slots=True)
class ScoreRequest:
    answers: Mapping[str, object]
    scenarios: tuple[str, ...]
    weights: Mapping[str, object] | None


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise AssessmentError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constants(name: str) -> object:
    raise AssessmentError(f"{name} is not a number")


MAX_DEPTH = 32  # the documents here nest 3 deep; deep nesting only exhausts the C stack


def _check_depth(text: str) -> None:
    """Refuse deep nesting before json.loads recurses into it (it can crash, not just raise)."""
    try:
        check_depth(text.encode(), MAX_DEPTH)
    except JsonLimitError:
        raise AssessmentError(f"not valid JSON: nested deeper than {MAX_DEPTH} levels") from None


def parse_json(data: bytes | str) -> object:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise AssessmentError("not UTF-8 text") from None
    _check_depth(data)
    try:
        return json.loads(
            data,
            parse_float=Decimal,
            parse_constant=_no_constants,
            object_pairs_hook=_no_duplicates,
        )
    except AssessmentError:
        raise
    except ValueError as exc:  # JSONDecodeError, int digit limit
        raise AssessmentError(f"not valid JSON: {exc}") from None


def load_json(path: Path) -> object:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AssessmentError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")  # tolerate the BOM some editors write
    except UnicodeDecodeError:
        raise AssessmentError(f"{path}: not UTF-8 text") from None
    try:
        return parse_json(text)
    except AssessmentError as exc:
        raise AssessmentError(f"{path}: {exc}") from None


def _object(doc: object, allowed: set[str], required: set[str], where: str) -> dict[str, object]:
    if not isinstance(doc, dict):
        raise AssessmentError(f"{where}: expected a JSON object")
    unknown = sorted(set(doc) - allowed)
    if unknown:
        raise AssessmentError(f"{where}: unknown fields: {', '.join(unknown)}")
    missing = sorted(required - set(doc))
    if missing:
        raise AssessmentError(f"{where}: missing fields: {', '.join(missing)}")
    return doc


def parse_score_request(doc: object) -> ScoreRequest:
    """`{"answers": {id: "yes"|"partial"|"no"}, "scenarios": [name], "weights"?: {part: w}}`."""
    body = _object(doc, {"answers", "scenarios", "weights"}, {"answers", "scenarios"}, "input")
    answers = body["answers"]
    if not isinstance(answers, dict):
        raise AssessmentError("answers: expected an object of item id → answer")
    scenarios = body["scenarios"]
    if not isinstance(scenarios, list) or not all(isinstance(s, str) for s in scenarios):
        raise AssessmentError("scenarios: expected a list of scenario names")
    weights = body.get("weights")
    if weights is not None and not isinstance(weights, dict):
        raise AssessmentError("weights: expected an object of part → weight")
    return ScoreRequest(answers, tuple(scenarios), weights)


def score_document(doc: object) -> Assessment:
    request = parse_score_request(doc)
    return assess(request.answers, request.scenarios, request.weights)


def provider_document(doc: object) -> tuple[str | None, ProviderScore]:
    """`{"provider"?: name, "dimensions": {dimension: {sub_item: 0..10}}}`."""
    body = _object(doc, {"provider", "dimensions"}, {"dimensions"}, "input")
    name = body.get("provider")
    if name is not None and not isinstance(name, str):
        raise AssessmentError("provider: expected a string")
    dimensions = body["dimensions"]
    if not isinstance(dimensions, dict):
        raise AssessmentError("dimensions: expected an object of dimension → sub-item scores")
    return name, score_provider(dimensions)
