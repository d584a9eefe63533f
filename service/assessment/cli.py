"""`cybercover assess …`: the assessment engine without a chain (template, score, provider).

Output is JSON on stdout; any input problem is one line on stderr and exit code 2, so the
commands compose in scripts without parsing tracebacks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from service.assessment.errors import AssessmentError
from service.assessment.inputs import load_json, provider_document, score_document
from service.assessment.jsontypes import JSONObject
from service.assessment.provider import provider_json
from service.assessment.views import assessment_json, template_json

assess_app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Risk assessment per T/SNISA 04002—2025 (no chain needed).",
)


_ANSWERS_ARG = typer.Argument(
    metavar="ANSWERS.json",
    help='{"answers": {id: "yes"|"partial"|"no"}, "scenarios": [...], "weights"?: {...}}',
    show_default=False,
)
_SCORES_ARG = typer.Argument(
    metavar="SCORES.json",
    help='{"provider"?: name, "dimensions": {dimension: {sub_item: 0..10}}}',
    show_default=False,
)


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {' '.join(message.split())}", err=True)  # always one line
    raise typer.Exit(2)


def _emit(doc: JSONObject) -> None:
    typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))


@assess_app.command("template")
def template_cmd() -> None:
    """Print the Appendix A questionnaire (items, points, parts, default weights)."""
    _emit(template_json())


@assess_app.command("score")
def score_cmd(answers: Annotated[Path, _ANSWERS_ARG]) -> None:
    """Score a questionnaire: part scores, overall S, level, advice, plan, hardening list."""
    try:
        assessment = score_document(load_json(answers))
    except AssessmentError as exc:
        _fail(str(exc))
    _emit(assessment_json(assessment))


@assess_app.command("provider")
def provider_cmd(scores: Annotated[Path, _SCORES_ARG]) -> None:
    """Score an assessor's capability (Appendix B): total 0..100 and accreditation grade."""
    try:
        name, result = provider_document(load_json(scores))
    except AssessmentError as exc:
        _fail(str(exc))
    doc = provider_json(result)
    if name is not None:
        doc = {"provider": name, **doc}
    _emit(doc)


def register(app: typer.Typer) -> None:
    app.add_typer(assess_app, name="assess")
