"""The auditor's page (issue 15 item 3): `/verify`. No key; nothing from the database.

Three checks, each the same code as its command line, against the chain and the oracle nodes:
- a report file or a `{report, batch}` bundle → `service.assessment.anchoring.verify_deployed`,
  the verdict of `cybercover report verify`;
- an evidence bundle (uploaded, or fetched by its URL from one of the configured oracle nodes) →
  `oracles.evidence.verify.check_evidence`, the check of `cybercover-oracle evidence verify`, plus
  what the chain says of its signer and window;
- the deployed contracts → `contracts.bytecode.check`, as `cybercover verify-bytecode`.

The page posts the file's bytes as they are (static/verify.js) and shows the HTML fragment it
gets back. An evidence URL is never fetched as given (SSRF): it must name a configured node's
base URL and `/v1/evidence/{episode}`, and what is fetched is rebuilt from that base, the
episode id and `seq` only, without following redirects."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from contracts import bytecode
from contracts.errors import ContractsError
from contracts.jsonguard import MAX_BYTES as REPORT_MAX_BYTES
from contracts.jsonguard import JsonLimitError, check_depth
from contracts.redact import describe
from oracles.errors import BundleFormatError
from oracles.evidence.verify import check_evidence
from oracles.httpjson import BUNDLE_MAX_BYTES, fetch_sync, loads
from service.assessment.anchoring import read_document, verify_deployed
from service.assessment.errors import AssessmentError
from service.web import ROUTERS, chainview, render

router = APIRouter(include_in_schema=False)
ROUTERS.append(router)
EVIDENCE_PATH = "/v1/evidence/"
LAST_DATE = 253_402_300_799  # 9999-12-31T23:59:59Z, the last second a datetime holds
FETCH_TIMEOUT = 30.0  # a bundle holds every observation of an episode: larger than a node's list answers


class BadInput(Exception):
    """What the auditor gave cannot be checked (shown as a 400 fragment with the reason)."""


def _fragment(request: Request, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return render(request, "verify_result.html", context, status_code)


def _problem(request: Request, message: str) -> HTMLResponse:
    return _fragment(request, {"kind": "error", "message": message}, 400)


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused past `limit` bytes without reading it all."""
    out = bytearray()
    async for chunk in request.stream():
        out += chunk
        if len(out) > limit:
            raise BadInput(f"the file is larger than {limit:,} bytes")
    if not out.strip():
        raise BadInput("nothing to check: drop, choose or paste a file first")
    return bytes(out)


@router.get("/verify", response_class=HTMLResponse)
def verify_page(request: Request) -> HTMLResponse:
    gw = request.app.state.gateway
    nodes = sorted(set(request.app.state.settings.oracle_nodes.values()))
    return render(request, "verify.html", {"nav": "verify", "chain_id": gw.w3.eth.chain_id, "nodes": nodes,
                                           "registry": gw.registry.address})


# --- a report ---------------------------------------------------------------------------------

def _when(iso: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(iso) if iso else None


@router.post("/verify/report", response_class=HTMLResponse)
async def verify_report(request: Request) -> HTMLResponse:
    try:
        raw = await _body(request, REPORT_MAX_BYTES)
        check_depth(raw)
        document = read_document(raw)
    except BadInput as exc:
        return _problem(request, str(exc))
    except (JsonLimitError, ValueError) as exc:  # includes UnicodeDecodeError
        return _problem(request, f"not a JSON report: {exc}")
    gw = request.app.state.gateway
    try:
        result = await run_in_threadpool(verify_deployed, gw.w3, gw.deployment, document)
    except (AssessmentError, KeyError, TypeError, ValueError) as exc:  # a bundle's batch without root/proof
        return _problem(request, f"not a report or a {{report, batch: {{root, proof}}}} bundle: {exc}")
    except ContractsError as exc:
        return _problem(request, f"the chain did not answer: {exc}")
    return _fragment(request, {"kind": "report", "r": result, "anchored_at": _when(result["anchored_at"]),
                               "cli_json": json.dumps(result, indent=2)})


# --- evidence ----------------------------------------------------------------------------------

def node_url(url: str, nodes: dict[str, str]) -> tuple[str, str]:
    """(signer, the URL to fetch) for an evidence URL on a configured node; BadInput otherwise.

    The URL must have a node's scheme, host, port and base path followed by /v1/evidence/{id},
    no credentials; only `seq` survives from its query. The fetched URL is rebuilt from the
    configured base, so nothing else the auditor typed reaches the network."""
    try:
        u = urlsplit(url.strip())
        port = u.port
    except ValueError as exc:
        raise BadInput(f"not a URL: {exc}") from None
    if u.scheme not in ("http", "https") or not u.hostname or u.username or u.password:
        raise BadInput("an evidence URL is http(s)://node/v1/evidence/{episode id}")
    for signer, base in sorted(nodes.items()):
        b = urlsplit(base.rstrip("/"))
        same_origin = (u.scheme, u.hostname, port or _default(u.scheme)) == \
            (b.scheme, b.hostname, b.port or _default(b.scheme))
        prefix = b.path + EVIDENCE_PATH
        if not same_origin or not u.path.startswith(prefix):
            continue
        episode = unquote(u.path[len(prefix):])
        if not episode or "/" in episode or len(episode) > 300:
            raise BadInput("the URL names no single episode after /v1/evidence/")
        seq = parse_qs(u.query).get("seq", [])
        if len(seq) > 1 or (seq and not seq[0].isdigit()):
            raise BadInput("seq must be one whole number")
        fetch = f"{base.rstrip('/')}{EVIDENCE_PATH}{quote(episode, safe='')}" + (f"?seq={int(seq[0])}" if seq else "")
        return signer, fetch
    raise BadInput("this page fetches evidence only from the oracle nodes it is configured with "
                   f"({', '.join(sorted(set(nodes.values()))) or 'none configured'}); "
                   "download the bundle and upload the file instead")


def _default(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _fetch(url: str) -> Any:
    try:
        resp, raw = fetch_sync(url, max_bytes=BUNDLE_MAX_BYTES, timeout=FETCH_TIMEOUT)
    except JsonLimitError as exc:
        raise BadInput(f"{url}: {exc}") from None
    except (OSError, httpx.HTTPError) as exc:
        raise BadInput(f"cannot read {url}: {describe(exc)}") from None
    if resp.status_code != 200:
        raise BadInput(f"{url} answered {resp.status_code}: {raw[:200].decode(errors='replace')}")
    return _bundle(raw)


def _bundle(raw: bytes) -> Any:
    try:
        return loads(raw, max_bytes=BUNDLE_MAX_BYTES)
    except ValueError as exc:  # JsonLimitError and UnicodeDecodeError too
        raise BadInput(f"not JSON: {exc}") from None


def _on_chain(request: Request, data: dict[str, Any], signer: str | None) -> dict[str, Any]:
    """What the chain says of the bundle: is its node an oracle signer, is its window verified."""
    gw = request.app.state.gateway
    cfgs = chainview.configs(gw)
    versions = [v for v, signers in sorted(cfgs.items()) if signer and signer in signers]
    out: dict[str, Any] = {"signer_in": versions, "current": max(cfgs, default=None), "window": None}
    try:
        sid = bytes.fromhex(str(data["service_id"]).removeprefix("0x"))
        start, end = int(data["window"]["start"]), int(data["window"]["end"])
    except (KeyError, TypeError, ValueError):
        return out
    if len(sid) == 32:
        out["window"] = next((w for w in chainview.windows(gw, sid)
                              if w.start < end and start < (max(w.end, gw.now()) if w.ongoing else w.end)), None)
    return out


def _evidence(request: Request, data: Any, node: str | None, source: str) -> HTMLResponse:
    try:
        result = check_evidence(data, node)
    except BundleFormatError as exc:
        return _problem(request, str(exc))
    chain = _on_chain(request, data, result.node)
    window = data.get("window", {})
    return _fragment(request, {"kind": "evidence", "r": result, "source": source, "bundle": data, "chain": chain,
                               "start": _time(window.get("start")), "end": _time(window.get("end"))})


def _time(value: Any) -> int | None:
    """A bundle's window bound if it is a time a date can show (the check reports the rest)."""
    return value if type(value) is int and 0 <= value <= LAST_DATE else None


@router.post("/verify/evidence", response_class=HTMLResponse)
async def verify_evidence_file(request: Request) -> HTMLResponse:
    try:
        data = _bundle(await _body(request, BUNDLE_MAX_BYTES))
    except BadInput as exc:
        return _problem(request, str(exc))
    return await run_in_threadpool(_evidence, request, data, None, "the uploaded file")


@router.post("/verify/evidence-url", response_class=HTMLResponse)
async def verify_evidence_url(request: Request) -> HTMLResponse:
    try:
        url = (await _body(request, 4096)).decode("utf-8", errors="replace")
        signer, fetch = node_url(url, request.app.state.settings.oracle_nodes)
    except BadInput as exc:
        return _problem(request, str(exc))
    try:
        data = await run_in_threadpool(_fetch, fetch)
    except BadInput as exc:
        return _problem(request, str(exc))
    return await run_in_threadpool(_evidence, request, data, signer, fetch)


# --- the deployed contracts -------------------------------------------------------------------------

@router.post("/verify/contracts", response_class=HTMLResponse)
def verify_contracts(request: Request) -> HTMLResponse:
    gw = request.app.state.gateway
    try:
        result = bytecode.check(gw.w3, gw.deployment)
    except (ContractsError, OSError) as exc:
        return _problem(request, f"cannot check the contracts: {exc}")
    return _fragment(request, {"kind": "contracts", "rows": result, "chain_id": gw.w3.eth.chain_id,
                               "all_match": all(r["match"] for r in result.values()),
                               "cli_json": json.dumps(result, indent=2)})
