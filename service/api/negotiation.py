"""Content negotiation for pages served in two forms and two languages: Accept (HTML or JSON)
and Accept-Language (zh or en), read as RFC 9110 states them (q-values, most specific range)."""

from __future__ import annotations

LANGS = ("en", "zh")


def _quality(params: list[str]) -> float:
    for p in params:
        name, _, value = p.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def _q(accept: str, media: str) -> float:
    """The quality `accept` gives `media` (its most specific matching range; 0: not acceptable)."""
    kind = media.split("/")[0]
    best, q = -1, 0.0
    for part in accept.split(","):
        rng, *params = (s.strip() for s in part.split(";"))
        specificity = {media: 2, f"{kind}/*": 1, "*/*": 0}.get(rng.lower(), -1)
        if specificity > best:
            best, q = specificity, _quality(params)
    return q


def wants_json(accept: str | None) -> bool:
    """JSON when the client prefers application/json to text/html (ties and no header: HTML)."""
    return accept is not None and _q(accept, "application/json") > _q(accept, "text/html")


def language(accept_language: str | None) -> str:
    """zh or en, whichever Accept-Language ranks higher (first listed on a tie); default en."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, *params = (s.strip() for s in part.split(";"))
        primary = tag.split("-")[0].lower()
        if primary not in LANGS:
            continue
        q = _quality(params)
        if q > 0:
            ranked.append((-q, i, primary))
    return min(ranked)[2] if ranked else "en"
