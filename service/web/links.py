"""The pages' addresses as the command line prints them (`cybercover up`, the demo).

`pages(api)` lists only the pages this build serves (read from the registered page routers), so
what `up` prints is always a page that answers."""

from __future__ import annotations

from typing import Any

# (path, what it is for), in the order `up` prints them
PAGES = (("/status", "status of the covered services (public)"),
         ("/verify", "the auditor's check: reports, evidence, contracts (public)"),
         ("/console", "the insurer's and distributors' console (API key)"))


def served() -> set[str]:
    from service.web import ROUTERS, pages  # noqa: F401  (pages registers the routers)

    return {getattr(r, "path", "") for router in ROUTERS for r in router.routes}


def pages(api: str) -> list[tuple[str, str]]:
    """(URL, what it is for) of each page the app serves."""
    have = served()
    return [(api.rstrip("/") + path, what) for path, what in PAGES if path in have]


def status_page(api: str, service_id: str) -> str:
    return f"{api.rstrip('/')}/status/{service_id}"


def cover_page(api: str, policy: dict[str, Any]) -> str | None:
    """The holder's cover page of a policy answer (`cover_page`: the path the API gives its tenant)."""
    path = policy.get("cover_page")
    return f"{api.rstrip('/')}{path}" if path else None
