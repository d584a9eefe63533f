"""`cybercover policy verify`: an auditor's check of a policy schedule against the chain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from contracts.procs import wait_for_rpc
from contracts.redact import describe
from service.commands.common import MANIFEST_HELP, fail, manifest_path, setting

policy_app = typer.Typer(no_args_is_help=True, help="Policy wording on-chain.")


def _connect(rpc_url: str) -> Any:
    return wait_for_rpc(rpc_url, 0)


def _text(result: dict[str, Any]) -> str:
    head = (f"valid: policy {result['policy_id']}" if result["valid"]
            else "invalid" + (f": policy {result['policy_id']}" if result.get("policy_id") is not None else ""))
    lines = [head, f"schedule hash {result['schedule_hash']}"]
    chain = result.get("on_chain")
    if chain:
        lines.append(f"on-chain: cover {chain['cover_start']} → {chain['cover_end']}, limit {chain['limit']}, "
                     f"premium {chain['premium']}, product {chain['product_id']}, tx {chain['tx']}")
    lines += [f"  - {r}" for r in result["reasons"]]
    return "\n".join(lines)


@policy_app.command("verify")
def verify_cmd(
    schedule: Path = typer.Argument(..., help="Schedule JSON, as GET /v1/policies/{id}/schedule serves it "
                                    "with Accept: application/json."),
    rpc_url: str = setting("rpc_url", "JSON-RPC endpoint of the chain."),
    manifest: Path | None = setting("manifest", MANIFEST_HELP),
    policy: int | None = typer.Option(None, "--policy", min=0, help="Policy id (default: the policy whose "
                                      "record carries the schedule's hash, from PolicyIssued logs)."),
    as_json: bool = typer.Option(False, "--json", help="The verdict as JSON."),
) -> None:
    """Recompute the schedule hash and check it and every number against the policy record and its
    product. Exit 0 valid, 1 invalid, 2 bad input."""
    from contracts.deploy import Deployment
    from contracts.errors import ContractsError
    from service.domain.wording.check import verify

    try:
        document = json.loads(schedule.read_bytes().decode("utf-8"))
        if not isinstance(document, dict):
            raise ValueError("top level must be a JSON object")
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        fail(f"{schedule}: {exc}", 2)
    try:
        dep = Deployment.load(manifest_path(manifest))
        w3 = _connect(rpc_url)
        if w3.eth.chain_id != dep.chain_id:
            fail(f"{rpc_url} is chain {w3.eth.chain_id}, the manifest is for {dep.chain_id}", 2)
        book = dep.contract(w3, "PolicyBook")
        result = verify(book, document, policy_id=policy, from_block=dep.contracts["PolicyBook"].block,
                        chain_id=dep.chain_id)
    except (ContractsError, KeyError) as exc:
        fail(str(exc), 2)
    except OSError as exc:  # connection refused and friends
        fail(f"cannot reach {rpc_url}: {describe(exc)}", 2)
    typer.echo(json.dumps(result, indent=2) if as_json else _text(result))
    raise typer.Exit(0 if result["valid"] else 1)


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")
