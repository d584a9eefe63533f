"""`cybercover report verify`: an auditor's check of a report against the chain."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from contracts.procs import wait_for_rpc
from contracts.redact import describe
from service.commands.common import MANIFEST_HELP, fail, manifest_path, setting

report_app = typer.Typer(no_args_is_help=True, help="Report provenance on-chain.")


@report_app.command("verify")
def verify_cmd(
    report: Path = typer.Argument(..., help="Report JSON, or a {report, batch: {root, proof}} bundle."),
    rpc_url: str = setting("rpc_url", "JSON-RPC endpoint of the chain."),
    manifest: Path | None = setting("manifest", MANIFEST_HELP),
) -> None:
    """Recompute the report hash and check it on AssessmentRegistry. Exit 0 valid, 1 not, 2 bad input."""
    from contracts.deploy import Deployment
    from contracts.errors import ContractsError
    from service.assessment.anchoring import read_document, verify_deployed
    from service.assessment.errors import AssessmentError

    try:
        document = read_document(report.read_bytes())
    except (OSError, ValueError) as exc:
        fail(f"{report}: {exc}", 2)
    try:
        dep = Deployment.load(manifest_path(manifest))
        w3 = wait_for_rpc(rpc_url, 0)
        if w3.eth.chain_id != dep.chain_id:
            fail(f"{rpc_url} is chain {w3.eth.chain_id}, the manifest is for {dep.chain_id}", 2)
        result = verify_deployed(w3, dep, document)
    except (ContractsError, AssessmentError, KeyError) as exc:
        fail(str(exc), 2)
    except OSError as exc:  # connection refused and friends
        fail(f"cannot reach {rpc_url}: {describe(exc)}", 2)
    typer.echo(json.dumps(result, indent=2))
    raise typer.Exit(0 if result["valid"] else 1)


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
