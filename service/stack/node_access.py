"""How `up`'s oracle nodes reach the API: with least-privilege keys, never the admin key.

- `service_key` mints (or reuses) a key of the insurer's tenant for one machine role: `relay`
  for the transmitter (POST /v1/oracle/reports only), `monitor` for the target list
  (GET /v1/products only). The secret lives in a 0600 file of the data directory.
- `fetch_products` reads the target list and raises `TargetListError` on any failure (401/403
  above all): a refused key is an error, never "no products".
- `TargetWatch` keeps the last good list while the fetch fails, counts and reports failures.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from contracts.runtime import write_private

TIMEOUT = 5.0


class TargetListError(Exception):
    """The nodes' target list could not be read (refused key, API down, bad answer)."""

    def __init__(self, detail: str, *, status: int | None = None) -> None:
        super().__init__(detail)
        self.status = status

    @property
    def refused(self) -> bool:
        return self.status in (401, 403)


def _client(client: httpx.Client | None) -> AbstractContextManager[httpx.Client]:
    return nullcontext(client) if client is not None else httpx.Client(timeout=TIMEOUT)


def _ok(resp: httpx.Response, what: str) -> Any:
    if not resp.is_success:
        raise RuntimeError(f"{what}: the API answered {resp.status_code}: {resp.text[:200]}")
    return resp.json() if resp.content else None


def service_key(api: str, admin_key: str, path: Path, role: str, *, client: httpx.Client | None = None) -> str:
    """The key for `role` stored at `path` while it is live in the insurer's tenant; otherwise a
    new one, minted with the admin key and stored (0600) in its place."""
    admin = {"X-API-Key": admin_key}
    with _client(client) as http:
        tenants = _ok(http.get(f"{api}/v1/tenants", headers=admin), "listing tenants")
        insurer = next(t["id"] for t in tenants if t.get("insurer"))
        keys_url = f"{api}/v1/tenants/{insurer}/keys"
        old = path.read_text().strip() if path.exists() else ""
        if old:
            listed = _ok(http.get(keys_url, headers=admin), "listing the insurer's keys")
            now = datetime.now(UTC)
            if any(old.startswith(k["prefix"]) and k["role"] == role and not k["revoked"]
                   and (k["expires_at"] is None or datetime.fromisoformat(k["expires_at"]) > now) for k in listed):
                return old
        minted = _ok(http.post(keys_url, json={"role": role}, headers=admin), f"minting the {role} key")
    write_private(path, minted["key"])
    return str(minted["key"])


def fetch_products(api: str, key: str, *, client: httpx.Client | None = None) -> list[dict[str, Any]]:
    """GET /v1/products with the nodes' target-list key; any failure raises TargetListError."""
    try:
        with _client(client) as http:
            resp = http.get(f"{api}/v1/products", headers={"X-API-Key": key})
    except httpx.HTTPError as exc:
        raise TargetListError(f"the API is unreachable: {type(exc).__name__}") from None
    if resp.status_code in (401, 403):
        raise TargetListError(f"the target-list key was refused ({resp.status_code}): {resp.text[:200]}",
                              status=resp.status_code)
    if not resp.is_success:
        raise TargetListError(f"the API answered {resp.status_code}", status=resp.status_code)
    try:
        products = resp.json()
    except ValueError:
        raise TargetListError("the API answered with something other than JSON") from None
    if not isinstance(products, list) or not all(isinstance(p, dict) for p in products):
        raise TargetListError("the API answered with something other than a product list")
    return products


class TargetWatch:
    """Polls the target list. While it fails, the nodes keep their last good targets, the failure
    is counted and reported (the first one at once, then at most once per `report_every`), and
    `healthy` is False: `up` exits non-zero if it is stopped in that state."""

    def __init__(self, fetch: Callable[[], list[dict[str, Any]]], report: Callable[[str], None], *,
                 report_every: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch, self._report, self._every, self._clock = fetch, report, report_every, clock
        self.failures = 0  # in all
        self.failing_since: int | None = None  # failures in a row, when failing
        self.last_error: TargetListError | None = None
        self._reported_at: float | None = None

    @property
    def healthy(self) -> bool:
        return self.last_error is None

    def poll(self) -> list[dict[str, Any]] | None:
        """The current targets, or None when they could not be read (keep what the nodes have)."""
        try:
            targets = self._fetch()
        except TargetListError as exc:
            self.failures += 1
            self.failing_since = (self.failing_since or 0) + 1
            self.last_error = exc
            now = self._clock()
            if self._reported_at is None or now - self._reported_at >= self._every:
                self._reported_at = now
                self._report(f"error: oracle target list: {exc} ({self.failing_since} failure(s) in a row, "
                             f"{self.failures} in all); the nodes keep their last targets")
            return None
        if self.last_error is not None:
            self._report(f"oracle target list readable again after {self.failing_since} failure(s)")
        self.last_error, self.failing_since, self._reported_at = None, None, None
        return targets
