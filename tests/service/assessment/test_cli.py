"""`cybercover assess template|score|provider`: outputs, and exit code 2 with one line on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from service.assessment import ITEMS, Part
from service.assessment import cli as assess_cli
from service.assessment.provider import APPENDIX_B
from tests.service.assessment.helpers import answers_for

runner = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root() -> None:  # keeps `assess` a sub-command rather than the sole command
        pass

    assess_cli.register(root)
    return root


def _write(tmp_path: Path, doc: object, name: str = "in.json") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


def _run(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["assess", *args])
    return result.exit_code, result.stdout, result.stderr


def test_template(app: typer.Typer) -> None:
    code, out, _ = _run(app, "template")
    assert code == 0
    doc = json.loads(out)
    assert doc["standard"] == "T/SNISA 04002—2025"
    assert [i["id"] for i in doc["items"]] == [i.id for i in ITEMS]
    assert {k for k in doc["items"][0]} >= {"id", "part", "category", "points", "text_zh",
                                            "text_en"}
    assert doc["parts"]["ransomware"]["max_points"] == "50"
    assert doc["default_weights"]["base"] == "0.7"


def test_score(app: typer.Typer, tmp_path: Path) -> None:
    answers = answers_for((Part.RANSOMWARE, Part.BUSINESS_INTERRUPTION), "yes")
    answers.update({"ransomware.ep.02": "no", "business_interruption.ep.01": "partial"})
    path = _write(tmp_path, {"answers": answers,
                             "scenarios": ["ransomware", "business_interruption"]})
    code, out, err = _run(app, "score", str(path))
    assert (code, err) == (0, "")
    doc = json.loads(out)
    # S = 7/8·100 + 1/16·80 + 1/16·85 after rescaling 0.7/0.1/0.1 over 0.9 → 7/9, 1/9, 1/9
    assert doc["weights"] == {"base": "7/9", "ransomware": "1/9",
                              "business_interruption": "1/9", "data_security": "0"}
    assert doc["scenario_scores"] == {"ransomware": "80.00", "business_interruption": "85.00"}
    assert doc["base_score"] == "100.00"
    assert doc["overall_score"] == "96.11"  # (700 + 80 + 85) / 9 = 96.111…
    assert doc["score_bps"] == 9611
    assert (doc["risk_level"], doc["underwriting"]) == ("low", "preferential")
    assert doc["monitoring_plan"]["tier"] == "low"
    assert [h["id"] for h in doc["hardening"]] == ["business_interruption.ep.01",
                                                   "ransomware.ep.02"]
    assert doc["hardening"][0]["points_lost"] == "15"


def test_score_with_weights_as_numbers_and_strings(app: typer.Typer, tmp_path: Path) -> None:
    answers = answers_for((Part.RANSOMWARE,), "no")
    answers.update({i.id: "yes" for i in ITEMS if i.part is Part.BASE})
    # Raw JSON so 0.6 really is a JSON number (read as a decimal, not a binary float).
    raw = ('{"answers": ' + json.dumps(answers) + ', "scenarios": ["ransomware"], '
           '"weights": {"base": 0.6, "ransomware": "0.4"}}')
    path = _write(tmp_path, raw)
    code, out, _ = _run(app, "score", str(path))
    assert code == 0
    doc = json.loads(out)
    assert doc["weights"]["base"] == "0.6"
    assert doc["overall_score"] == "60.00"
    assert (doc["risk_level"], doc["underwriting"]) == ("high", "decline")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"answers": {}}', "missing fields: scenarios"),
        ('{"answers": [], "scenarios": []}', "answers: expected an object"),
        ('{"answers": {}, "scenarios": "ransomware"}', "scenarios: expected a list"),
        ('{"answers": {}, "scenarios": [], "extra": 1}', "unknown fields: extra"),
        ('{"answers": {}, "scenarios": []}', "unanswered items: base.im.01"),
        ('{"answers": {"base.im.01": "yes", "base.im.01": "no"}, "scenarios": []}', "duplicate"),
        ('{"answers": {"base.xx.01": "yes"}, "scenarios": []}', "unknown item ids: base.xx.01"),
        ('{"answers": {"base.im.01": "maybe"}, "scenarios": []}', "invalid answers"),
        ('{"answers": {}, "scenarios": [], "weights": {"base": -1}}', "negative"),
        ('{"answers": {}, "scenarios": [], "weights": {"base": NaN}}', "NaN is not a number"),
        ('{"answers": {}, "scenarios": [], "weights": {"base": 0}}', "weight 0"),
        ('{"answers": {}, "scenarios": [], "weights": [0.7]}', "weights: expected an object"),
        ('{"answers": {}, "scenarios": [], "weights": {"base": 1e999999999}}', "out of range"),
        ('{"answers": {}, "scenarios": [], "weights": {"base": ' + "9" * 5000 + "}}",
         "not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "nested deeper than 32"),
        ("", "not valid JSON"),
    ],
)
def test_score_bad_input_exits_2_with_one_line(app: typer.Typer, tmp_path: Path,
                                               content: str | None, message: str) -> None:
    path = tmp_path / "missing.json" if content is None else _write(tmp_path, content)
    code, out, err = _run(app, "score", str(path))
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert err.endswith("\n")
    assert err.count("\n") == 1
    assert message in err


def test_score_rejects_non_utf8(app: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"answers": {"é": "yes"}}'.encode("latin-1"))
    code, _, err = _run(app, "score", str(path))
    assert code == 2
    assert "not UTF-8" in err


def _provider_doc(value: int) -> dict[str, object]:
    return {"provider": "Example Sec", "dimensions": {
        d.id: {c.id: value for c in d.criteria} for d in APPENDIX_B}}


@pytest.mark.parametrize(("value", "total", "grade"), [(9, 90, "preferred"), (7, 70, "qualified"),
                                                       (6, 60, "not_accredited")])
def test_provider(app: typer.Typer, tmp_path: Path, value: int, total: int, grade: str) -> None:
    code, out, _ = _run(app, "provider", str(_write(tmp_path, _provider_doc(value))))
    assert code == 0
    doc = json.loads(out)
    assert (doc["capability_score"], doc["grade"]) == (total, grade)
    assert doc["provider"] == "Example Sec"
    assert doc["dimensions"]["robustness"]["weight"] == "0.3"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"dimensions": {}}, "dimensions.robustness"),
        ({"scores": {}}, "unknown fields: scores"),
        ({"dimensions": {**_provider_doc(8)["dimensions"],  # type: ignore[dict-item]
                         "robustness": {"years_in_business": 11, "financial_condition": 8,
                                        "supply_chain": 8}}}, "outside 0..10"),
        ({"provider": 7, "dimensions": {}}, "provider: expected a string"),
    ],
)
def test_provider_bad_input(app: typer.Typer, tmp_path: Path, doc: object, message: str) -> None:
    code, _, err = _run(app, "provider", str(_write(tmp_path, doc)))
    assert code == 2
    assert message in err
    assert err.count("\n") == 1


def test_installed_command_lists_assess() -> None:
    exe = Path(sys.executable).parent / "cybercover"
    if not exe.exists():
        pytest.skip("cybercover entry point not installed in this environment")
    result = subprocess.run([str(exe), "assess", "--help"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0
    assert all(cmd in result.stdout for cmd in ("template", "score", "provider"))
