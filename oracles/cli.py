"""`cybercover-oracle`: run a node, check its config, export and verify evidence.

Exit codes: 0 success/valid, 1 failure/invalid evidence, 2 bad input (config, key, bundle).
"""

from __future__ import annotations

import asyncio
import json
import sys
from contextlib import closing
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer

from contracts.jsonguard import JsonLimitError
from contracts.redact import describe, redact
from contracts.runtime import private_umask, restore_recursion_limit

from .config import NodeConfig, get_settings, load_config
from .errors import BundleFormatError, NotFound, OracleError
from .evidence.verify import check_evidence
from .httpjson import BUNDLE_MAX_BYTES, fetch_sync, loads
from .keys import NodeKey, load_key

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="cybercover oracle node: probes, evidence, signed outage reports.")
config_app = typer.Typer(no_args_is_help=True, help="Node configuration.")
evidence_app = typer.Typer(no_args_is_help=True, help="Evidence bundles.")
app.add_typer(config_app, name="config")
app.add_typer(evidence_app, name="evidence")

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", envvar="ORACLE_CONFIG",
                                         help="node TOML file")]


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _config(path: Path) -> NodeConfig:
    try:
        return load_config(path)
    except OracleError as exc:
        _fail(str(exc), 2)


def _node_key(cfg: NodeConfig) -> NodeKey:
    settings = get_settings()
    try:
        return load_key(cfg.key.keystore, settings.keystore_password, settings.private_key,
                        what="oracle key", password_var="ORACLE_KEYSTORE_PASSWORD",
                        key_var="ORACLE_PRIVATE_KEY")
    except OracleError as exc:
        _fail(str(exc), 2)


@app.command()
def run(config: ConfigOpt) -> None:
    """Run the node until SIGTERM/SIGINT; then print a one-line summary."""
    from .daemon import serve
    from .logs import configure_logging
    from .node import OracleNode
    from .transmit.factory import build_submitter, check_bucket, check_chain_config

    private_umask()  # evidence, state and logs are the operator's alone
    restore_recursion_limit()  # after the imports above (see contracts.runtime)
    cfg = _config(config)
    configure_logging(cfg.node.log_level)
    key = _node_key(cfg)
    try:
        submitter = build_submitter(cfg, get_settings())
    except OracleError as exc:
        _fail(str(exc), 2)

    async def main() -> str:
        await check_bucket(cfg)
        signers = await check_chain_config(cfg, submitter, key.address)
        node = OracleNode(cfg, key, submitter=submitter, signers=signers)
        summary = await serve(node, cfg.node.listen_host, cfg.node.listen_port,
                              metrics_token=get_settings().metrics_token)
        return summary.line()

    try:
        line = asyncio.run(main())
    except OracleError as exc:
        _fail(str(exc), 2 if exc.type in {"config_error", "key_error"} else 1)
    typer.echo(line)


@config_app.command("check")
def config_check(config: ConfigOpt) -> None:
    """Validate the config file (and that the key loads); print what the node would run."""
    cfg = _config(config)
    key = _node_key(cfg)
    typer.echo(f"ok: node {key.address}, {len(cfg.targets)} targets, "
               f"{len(cfg.canaries)} canaries, transmitter "
               f"{cfg.transmit.submitter if cfg.transmit.enabled else 'off'}")


@app.command()
def address(config: ConfigOpt) -> None:
    """Print the node's signer address (to register it in the OutageOracle config)."""
    typer.echo(_node_key(_config(config)).address)


def _read_source(source: str) -> Any:
    """The bundle, bounded in size and depth like every document from elsewhere."""
    limit = BUNDLE_MAX_BYTES
    try:
        if source.startswith(("http://", "https://")):
            resp, raw = fetch_sync(source, max_bytes=limit, timeout=30)
            if resp.status_code != 200:
                _fail(f"{redact(source)} answered {resp.status_code}: "
                      f"{raw[:200].decode(errors='replace')}", 2)
        elif source == "-":
            raw = sys.stdin.buffer.read(limit + 1)
        else:
            with Path(source).open("rb") as f:
                raw = f.read(limit + 1)
        return loads(raw, max_bytes=limit)
    except JsonLimitError as exc:
        _fail(f"{redact(source)}: {exc}", 2)
    except (OSError, httpx.HTTPError) as exc:
        _fail(f"cannot read {redact(source)}: {describe(exc)}", 2)
    except ValueError as exc:  # includes UnicodeDecodeError
        _fail(f"{redact(source)} is not JSON: {exc}", 2)


@evidence_app.command("verify")
def evidence_verify(
    source: Annotated[str, typer.Argument(help="bundle file, '-', or a node evidence URL")],
    node: Annotated[str | None, typer.Option(help="also require this signer address")] = None,
) -> None:
    """Re-check signatures, hash chains, Merkle proofs, root and signed report.

    Exit 0 valid, 1 invalid, 2 not a readable bundle.
    """
    data = _read_source(source)
    try:
        result = check_evidence(data, node)
    except BundleFormatError as exc:
        _fail(str(exc), 2)
    for note in result.notes:
        typer.echo(f"note: {note}")
    if result.ok:
        typer.echo(f"VALID: {result.observations} observations by {result.node}, "
                   f"root {data['evidence_root']}")
        return
    typer.echo(f"INVALID: {len(result.problems)} problem(s)")
    for problem in result.problems:
        typer.echo(f"  - {problem}")
    raise typer.Exit(1)


@evidence_app.command("export")
def evidence_export(
    episode: Annotated[str, typer.Argument(help="episode id, e.g. api@1700000040")],
    config: ConfigOpt,
    seq: Annotated[int | None, typer.Option(help="the report whose window to export")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Write an episode's evidence bundle from the local log (the node may be running)."""
    from .evidence.bundle import episode_bundle
    from .evidence.store import EvidenceLog
    from .state import NodeState

    cfg = _config(config)
    key = _node_key(cfg)
    try:
        with (closing(NodeState(cfg.node.data_dir / "node.sqlite3")) as state,
              closing(EvidenceLog(cfg.node.data_dir / "evidence.sqlite3", key)) as log):
            bundle = episode_bundle(state, log, node=key.address, canaries=[c.name for c in cfg.canaries],
                                    episode=episode, seq=seq)
    except NotFound as exc:
        _fail(str(exc), 2)
    except OracleError as exc:
        _fail(str(exc), 1)
    text = json.dumps(bundle, indent=2)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")


@evidence_app.command("check")
def evidence_check(config: ConfigOpt) -> None:
    """Re-verify every hash chain and signature in the local evidence log."""
    from .evidence.store import EvidenceLog

    cfg = _config(config)
    with closing(EvidenceLog(cfg.node.data_dir / "evidence.sqlite3", _node_key(cfg))) as log:
        problems = [p for stream in log.streams() for p in log.check_stream(stream)]
    for problem in problems:
        typer.echo(f"  - {problem}")
    if problems:
        raise typer.Exit(1)
    typer.echo("ok: evidence log intact")


def main() -> None:
    app()
