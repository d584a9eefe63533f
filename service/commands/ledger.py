"""`cybercover compile`, `deploy` and `verify-bytecode`: the ledger side of the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from contracts import compiler
from contracts.errors import ContractsError
from contracts.procs import wait_for_rpc
from service.commands.common import MANIFEST_HELP, fail, manifest_path, setting


def compile_cmd(
    check: bool = typer.Option(False, "--check", help="Exit 1 if committed artifacts differ from a fresh compile."),
) -> None:
    """Compile contracts/src with the pinned solc; write (or --check) contracts/build."""
    try:
        artifacts = compiler.compile_sources()
    except ContractsError as exc:
        fail(str(exc), 2)
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


MAX_BUCKET_SECONDS = 3600  # OutageOracle.MAX_BUCKET_SECONDS (tests/service/test_ledger_cli.py compares them)
DEFAULT_GOVERNANCE_DELAY = 2 * 86_400  # seconds; a real network's admin actions wait this long


class DeployInputError(ValueError):
    """`cybercover deploy` arguments that cannot make a sound deployment (exit status 2)."""


def _address(value: str, flag: str) -> str:
    from web3 import Web3

    if not Web3.is_address(value):
        raise DeployInputError(f"{flag} {value!r} is not an address")
    checksummed = Web3.to_checksum_address(value)
    if int(checksummed, 16) == 0:
        raise DeployInputError(f"{flag} cannot be the zero address")
    return checksummed


def parse_deploy_args(*, token: str | None, local_test_token: bool, oracle_signers: list[str],
                      quorum: int | None, governance_delay: int | None, admin: str | None,
                      operators: list[str], merge_gap: int | None = None,
                      finality_delay: int | None = None, bucket_seconds: int | None = None) -> dict[str, Any]:
    """Checks that need no network: addresses, the oracle set and its quorum, the delays. Returns
    `contracts.deploy.deploy`'s arguments, where None keeps its default (token: the TestToken;
    governance_delay: the deployer stays direct admin), and `operators` (None: the deployer)."""
    if token is not None and local_test_token:
        raise DeployInputError("--token and --local-test-token are exclusive: a real payout asset or the test token")
    if token is None and not local_test_token:
        raise DeployInputError("--token ADDRESS (the payout asset, e.g. a stablecoin) is required; "
                               "--local-test-token deploys a mintable test token on a local chain instead")
    signers = tuple(_address(s, "--oracle-signer") for s in oracle_signers)
    if len({s.lower() for s in signers}) != len(signers):
        raise DeployInputError("--oracle-signer given twice for the same address")
    if signers and quorum is None:
        raise DeployInputError("--quorum is required with --oracle-signer")
    if quorum is not None and not signers:
        raise DeployInputError("--quorum needs the oracle set: one --oracle-signer per node")
    if signers and not (len(signers) // 2 < quorum <= len(signers)):
        raise DeployInputError(f"--quorum {quorum} must be a strict majority of the {len(signers)} oracle signers "
                               f"({len(signers) // 2 + 1}..{len(signers)})")
    if governance_delay is not None and governance_delay < 0:
        raise DeployInputError(f"--governance-delay must be ≥ 0 seconds, not {governance_delay}")
    delays = {"merge_gap": merge_gap, "finality_delay": finality_delay}
    for name, value in delays.items():
        if value is not None and not 0 <= value < 2**32:
            raise DeployInputError(f"--{name.replace('_', '-')} must be 0..{2**32 - 1} seconds, not {value}")
    if bucket_seconds is not None:
        if not 1 <= bucket_seconds <= MAX_BUCKET_SECONDS:  # OutageOracleInvalidBucket otherwise
            raise DeployInputError(f"--bucket-seconds must be 1..{MAX_BUCKET_SECONDS} seconds, not {bucket_seconds}")
        delays["bucket_seconds"] = bucket_seconds
    return {"token": _address(token, "--token") if token is not None else None, "oracle_signers": list(signers),
            "quorum": quorum or 0, "governance_delay": governance_delay,
            "admin": _address(admin, "--admin") if admin is not None else None,
            "operators": [_address(o, "--operator") for o in operators] or None,
            **{k: v for k, v in delays.items() if v is not None}}


def plan_for_chain(plan: dict[str, Any], chain_id: int) -> dict[str, Any]:
    """Network rules: a real network needs a real asset, an oracle set and a timelock."""
    from contracts.deploy import is_local_chain

    if is_local_chain(chain_id):
        return plan
    if plan["token"] is None:
        raise DeployInputError(f"chain {chain_id} is not a local development chain: --local-test-token is refused; "
                               "give the payout asset with --token ADDRESS")
    if not plan["oracle_signers"]:
        raise DeployInputError(f"chain {chain_id} is a real network: give the oracle set "
                               "(--oracle-signer ADDRESS, once per node) and --quorum")
    delay = DEFAULT_GOVERNANCE_DELAY if plan["governance_delay"] is None else plan["governance_delay"]
    return {**plan, "governance_delay": delay, "operators": plan["operators"] or []}


def _connect(rpc_url: str) -> Any:
    return wait_for_rpc(rpc_url, 0)  # asks once: ContractsError when no node answers


def deploy_with_plan(w3: Any, plan: dict[str, Any], manifest: Path) -> tuple[dict[str, object], bool]:
    """Deploys once (returns the manifest and True); a live manifest is reused (False)."""
    from contracts.deploy import deploy, live_deployment

    live = live_deployment(w3, manifest)
    if live is not None:
        return live.to_json(), False
    if not w3.eth.accounts:
        raise DeployInputError("the node has no unlocked account to deploy from")
    deployer = w3.eth.accounts[0]
    if plan["token"] is not None and not w3.eth.get_code(plan["token"]):
        raise DeployInputError(f"--token {plan['token']}: no contract at that address on chain {w3.eth.chain_id}")
    plan = dict(plan)
    operators = plan.pop("operators")
    operators = [deployer] if operators is None else operators
    dep = deploy(w3, deployer, **plan, underwriters=operators, distributors=operators, claims=operators,
                 manifest_path=manifest)
    return dep.to_json(), True


def deploy_cmd(
    rpc_url: str = setting("rpc_url", "JSON-RPC endpoint (unlocked deployer account)."),
    manifest: Path | None = setting("manifest", MANIFEST_HELP),
    token: str | None = typer.Option(None, "--token", help="The payout asset (an ERC-20 such as a stablecoin)."),
    local_test_token: bool = typer.Option(
        False, "--local-test-token", help="Deploy a mintable test token as the payout asset (local chains only)."),
    oracle_signer: list[str] = typer.Option(
        [], "--oracle-signer", help="An oracle node's signing address; repeat once per node."),
    quorum: int | None = typer.Option(None, "--quorum", help="Signatures needed: a strict majority of the set."),
    governance_delay: int | None = typer.Option(
        None, "--governance-delay", metavar="SECONDS",
        help=f"Put every admin role behind a timelock with this delay (default on a real network: "
             f"{DEFAULT_GOVERNANCE_DELAY} s; on a local chain: no timelock unless given)."),
    admin: str | None = typer.Option(
        None, "--admin", help="Governance account: timelock proposer/executor and treasurer (default: deployer)."),
    operator: list[str] = typer.Option(
        [], "--operator", help="Service account granted underwriter, distributor and claims roles; repeatable "
                               "(default on a local chain: the deployer; on a real network: none)."),
    merge_gap: int | None = typer.Option(
        None, "--merge-gap", metavar="SECONDS",
        help="OutageOracle: verified windows at most this far apart are one outage episode (default 300; at "
             "least the nodes' close-after time)."),
    finality_delay: int | None = typer.Option(
        None, "--finality-delay", metavar="SECONDS",
        help="OutageOracle: an episode pays once its start has stood this long (default 60; several of the "
             "transmitters' submission intervals). Products need a grace period at least this long."),
    bucket_seconds: int | None = typer.Option(
        None, "--bucket-seconds", metavar="SECONDS",
        help="OutageOracle: the verdict bucket its oracle nodes judge (default 60, the verified-outage rule's "
             "minute; 1..3600). Every node's chain.bucket_seconds must equal it, or the node refuses to start."),
) -> None:
    """Deploy the contracts (once) and print the manifest.

    A real network (any chain but anvil 31337, geth-dev 1337, eth-tester)
    needs the payout asset (--token) and the oracle set (--oracle-signer
    per node, --quorum); its admin roles go behind a timelock
    (--governance-delay, 2 days by default)."""
    manifest = manifest_path(manifest)
    try:
        plan = parse_deploy_args(token=token, local_test_token=local_test_token, oracle_signers=oracle_signer,
                                 quorum=quorum, governance_delay=governance_delay, admin=admin, operators=operator,
                                 merge_gap=merge_gap, finality_delay=finality_delay, bucket_seconds=bucket_seconds)
        w3 = _connect(rpc_url)
        plan = plan_for_chain(plan, w3.eth.chain_id)
        result, fresh = deploy_with_plan(w3, plan, manifest)
    except DeployInputError as exc:
        fail(str(exc), 2)
    except ContractsError as exc:
        fail(str(exc))
    if not fresh:
        typer.echo(f"already deployed on chain {result['chain_id']}: {manifest} reused, arguments ignored", err=True)
    typer.echo(json.dumps(result, indent=2))


def bytecode_cmd(
    rpc_url: str = setting("rpc_url", "JSON-RPC endpoint of the chain."),
    manifest: Path | None = setting("manifest", MANIFEST_HELP),
) -> None:
    """Auditor: check that each deployed contract's code matches the committed artifacts (exit 1 if not)."""
    from contracts.bytecode import check
    from contracts.deploy import Deployment

    try:
        dep = Deployment.load(manifest_path(manifest))
        result = check(_connect(rpc_url), dep)
    except (ContractsError, OSError) as exc:
        fail(str(exc), 2)
    typer.echo(json.dumps(result, indent=2))
    raise typer.Exit(0 if all(r["match"] for r in result.values()) else 1)


def register(app: typer.Typer) -> None:
    app.command("verify-bytecode")(bytecode_cmd)
    app.command("compile")(compile_cmd)
    app.command("deploy")(deploy_cmd)
