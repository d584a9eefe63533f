"""`cybercover compile`, `deploy` and `up`: the ledger side of the command line."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import typer

from contracts import compiler
from contracts.errors import ContractsError
from contracts.redact import redact

DEFAULT_DATA_DIR = Path(".cybercover")
ANVIL_BIN = compiler.PROJECT_ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {redact(message)}", err=True)
    raise typer.Exit(code)


def compile_cmd(
    check: bool = typer.Option(False, "--check", help="Exit 1 if committed artifacts differ from a fresh compile."),
) -> None:
    """Compile contracts/src with the pinned solc; write (or --check) contracts/build."""
    try:
        artifacts = compiler.compile_sources()
    except ContractsError as exc:
        _fail(str(exc), 2)
    if check:
        problems = compiler.check_artifacts(artifacts)
        for p in problems:
            typer.echo(p, err=True)
        if problems:
            raise typer.Exit(1)
        typer.echo(f"artifacts reproducible: {len(artifacts)} contracts, solc {compiler.SOLC_VERSION}")
        return
    written = compiler.write_artifacts(artifacts)
    typer.echo(f"wrote {len(written)} artifacts to {compiler.BUILD_DIR}")


def start_anvil(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """anvil with its state persisted in the data directory (dumped on exit, loaded on start)."""
    if not ANVIL_BIN.exists():
        _fail(f"anvil not found at {ANVIL_BIN}: run `npm ci` (or `make setup`)", 2)
    data_dir.mkdir(parents=True, exist_ok=True)
    state = data_dir / "anvil-state.json"
    log = open(data_dir / "anvil.log", "ab")  # noqa: SIM115 - lives as long as the process
    cmd = [str(ANVIL_BIN), "--host", "127.0.0.1", "--port", str(port), "--hardfork", "prague",
           "--chain-id", "31337", "--state", str(state), "--state-interval", "5", "--silent",
           # Mine every second, as a real chain does, so block time follows the wall clock.
           "--block-time", "1"]
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)


def wait_for_rpc(url: str, timeout: float = 30) -> None:
    from web3 import Web3

    deadline = time.monotonic() + timeout
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 2}))
    while time.monotonic() < deadline:
        try:
            if w3.eth.chain_id:
                return
        except Exception:
            time.sleep(0.2)
    _fail(f"no JSON-RPC node answered at {url} within {timeout:.0f}s")


def ensure_deployed(rpc_url: str, manifest: Path) -> dict[str, object]:
    """Deploys once; on restart the manifest is reused if its contracts are still on chain."""
    from web3 import Web3

    from contracts.deploy import deploy, live_deployment

    w3 = Web3(Web3.HTTPProvider(rpc_url))
    live = live_deployment(w3, manifest)
    if live is not None:
        return live.to_json()
    deployer = w3.eth.accounts[0]
    dep = deploy(w3, deployer, underwriters=[deployer], claims=[deployer], manifest_path=manifest)
    return dep.to_json()


def deploy_cmd(
    rpc_url: str = typer.Option("http://127.0.0.1:8545", help="JSON-RPC endpoint (unlocked deployer account)."),
    manifest: Path = typer.Option(DEFAULT_DATA_DIR / "deployment.json", help="Where to write the manifest."),
) -> None:
    """Deploy the contracts (once) and print the manifest."""
    try:
        typer.echo(json.dumps(ensure_deployed(rpc_url, manifest), indent=2))
    except ContractsError as exc:
        _fail(str(exc))


def bytecode_cmd(
    rpc_url: str = typer.Option("http://127.0.0.1:8545", help="JSON-RPC endpoint of the chain."),
    manifest: Path = typer.Option(DEFAULT_DATA_DIR / "deployment.json", help="Deployment manifest."),
) -> None:
    """Auditor: check that each deployed contract's code matches the committed artifacts (exit 1 if not)."""
    from web3 import Web3

    from contracts.bytecode import check
    from contracts.deploy import Deployment

    try:
        dep = Deployment.load(manifest)
        result = check(Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 10})), dep)
    except (ContractsError, OSError) as exc:
        _fail(str(exc), 2)
    typer.echo(json.dumps(result, indent=2))
    raise typer.Exit(0 if all(r["match"] for r in result.values()) else 1)


def register(app: typer.Typer) -> None:
    app.command("verify-bytecode")(bytecode_cmd)
    app.command("compile")(compile_cmd)
    app.command("deploy")(deploy_cmd)
