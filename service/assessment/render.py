"""HTML rendering of a report document, for people. Reads the same dict that is hashed,
so what a reader sees is what was anchored; every value passes through html.escape."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from service.assessment.canonical import report_hash

_ITEM_COLUMNS = ("id", "topic", "requirement", "answer", "points lost", "cost to S")
_PART_COLUMNS = ("part", "points", "score", "weight", "contribution")
_EXTRA_SECTIONS = (("in_policy", "In-policy assessment"), ("incident", "Incident assessment"))


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _get(doc: object, *path: str) -> object:
    node = doc
    for key in path:
        if not isinstance(node, Mapping):
            return ""
        node = node.get(key, "")
    return node


def _generic(value: object) -> str:
    """Nested sections (in-policy, incident, plan) as definition and bullet lists."""
    if isinstance(value, Mapping):
        rows = "".join(f"<dt>{_e(k)}</dt><dd>{_generic(v)}</dd>" for k, v in value.items())
        return f"<dl>{rows}</dl>"
    if isinstance(value, list):
        return "<ul>" + "".join(f"<li>{_generic(v)}</li>" for v in value) + "</ul>"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _e(value)


def _table(columns: tuple[str, ...], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _bilingual(entry: object, key: str) -> str:
    return f"{_e(_get(entry, key + '_zh'))}<br><small>{_e(_get(entry, key + '_en'))}</small>"


def _items(entries: object, extra: str) -> str:
    rows = [
        [
            f"<code>{_e(_get(entry, 'id'))}</code>",
            _bilingual(entry, "topic"),
            _bilingual(entry, "text"),
            _e(_get(entry, "answer")),
            _e(_get(entry, "points_lost")),
            _e(_get(entry, "overall_impact")),
            _generic(_get(entry, extra)),
        ]
        for entry in (entries if isinstance(entries, list) else [])
    ]
    return _table((*_ITEM_COLUMNS, extra), rows)


def _parts(parts: object) -> str:
    rows = [
        [
            _e(name),
            f"{_e(_get(p, 'achieved_points'))} / {_e(_get(p, 'max_points'))}",
            _e(_get(p, "score")),
            _e(_get(p, "weight")),
            _e(_get(p, "contribution")),
        ]
        for name, p in (parts.items() if isinstance(parts, Mapping) else [])
    ]
    return _table(_PART_COLUMNS, rows)


def _key_figures(report: Mapping[str, object], digest: str) -> str:
    subject = f"<code>{_e(_get(report, 'subject', 'commitment'))}</code>"
    if _get(report, "subject", "name"):
        subject += f" {_e(_get(report, 'subject', 'name'))}"
    rows = [
        ("Overall score", "overall",
         f"{_e(_get(report, 'scores', 'overall_score'))} "
         f"({_e(_get(report, 'scores', 'score_bps'))} bps)"),
        ("Risk level", "level",
         f"{_e(_get(report, 'result', 'risk_level'))} "
         f"{_e(_get(report, 'result', 'risk_level_zh'))}"),
        ("Underwriting", "advice",
         f"{_e(_get(report, 'result', 'underwriting'))} — "
         f"{_e(_get(report, 'result', 'underwriting_zh'))} "
         f"({_e(_get(report, 'result', 'underwriting_en'))})"),
        ("Subject", "subject", subject),
        ("Assessor", "assessor",
         f"{_e(_get(report, 'assessor', 'name'))} <code>{_e(_get(report, 'assessor', 'address'))}"
         "</code>"),
        ("Report hash", "hash", f"<code>{_e(digest)}</code>"),
    ]
    body = "".join(f'<tr><th>{label}</th><td id="{anchor}">{cell}</td></tr>'
                   for label, anchor, cell in rows)
    return f'<table class="key">{body}</table>'


def render_html(report: Mapping[str, object]) -> str:
    digest = "0x" + report_hash(report).hex()
    title = _e(_get(report, "title_zh"))
    sections = [
        f"<h1>{title}</h1>",
        f"<p>{_e(_get(report, 'standard'))} · {_e(_get(report, 'kind'))} · "
        f"report {_e(_get(report, 'report_id'))} · issued {_e(_get(report, 'issued_at'))}</p>",
        _key_figures(report, digest),
        "<h2>Overview</h2>" + _generic(_get(report, "overview")),
        "<h2>Subject</h2>" + _generic(_get(report, "subject")),
        "<h2>Scores</h2>"
        f"<p>{_e(_get(report, 'scores', 'formula'))}; "
        f"S = {_e(_get(report, 'scores', 'overall_score_exact'))}</p>"
        + _parts(_get(report, "scores", "parts")),
        "<h2>Risk list</h2>" + _items(_get(report, "risk_list"), "evidence"),
        "<h2>Hardening (by points lost)</h2>" + _items(_get(report, "hardening"), "part"),
        "<h2>In-policy monitoring plan</h2>" + _generic(_get(report, "monitoring_plan")),
    ]
    sections += [f"<h2>{heading}</h2>" + _generic(report[key])
                 for key, heading in _EXTRA_SECTIONS if key in report]
    sections.append("<h2>Conclusion</h2>" + _generic(_get(report, "conclusion")))
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{title} {_e(_get(report, 'report_id'))}</title>"
        "<style>body{font-family:sans-serif;max-width:70em;margin:auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3em;"
        "vertical-align:top}</style></head><body>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )
