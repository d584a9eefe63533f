"""`cybercover up`: the whole system on one machine, from nothing.

anvil (state persisted in the data directory; contracts.procs) → contracts deployed once and
bootstrapped (oracle set, roles, an accredited assessor, capital in the pool; the OutageOracle's
verdict bucket, `--bucket-seconds`, and the merge gap and finality delay derived from it, see
service.stack.nodes) → the API, the
payout worker and local oracle nodes as children of service.stack.supervisor. The nodes watch
every covered service whose product names a URL; when products change, their configs are
rewritten and the nodes restarted (a restarted node resumes its episodes from its own evidence
store). Everything in the data directory is private to its owner (0700 / 0600)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import typer

from contracts.procs import mine_every, start_anvil, stop, wait_for_rpc, wait_http
from contracts.redact import redact
from contracts.runtime import create_private, private_dir, private_umask, restore_recursion_limit
from service.commands.common import setting
from service.stack import nodes
from service.stack.node_access import TargetWatch, fetch_products, service_key
from service.stack.supervisor import Supervisor

BIN = Path(sys.executable).parent
CAPITAL = 1_000_000 * 10**6  # cUSD the local insurer deposits
OPERATOR_FLOAT = 100_000 * 10**6  # cUSD the service's operator holds for premiums
ASSESSOR_CAPABILITY = 90  # Appendix B: the local assessor desk is a preferred provider (≥ 85)
# Seconds every admin action waits on the local timelock (accreditations, excluded events): short
# enough to try the review cycle by hand, long enough to see an operation wait.
GOVERNANCE_DELAY = 60


def _secret_file(path: Path, make: Any) -> str:
    """Reads a secret, creating it (mode 0600) on first use."""
    if not path.exists():
        create_private(path, make())
    return path.read_text().strip()


def node_keys(data_dir: Path, count: int) -> list[str]:
    return [_secret_file(data_dir / "keys" / f"oracle-{i + 1}.key", lambda: "0x" + secrets.token_hex(32))
            for i in range(count)]


def admin_key(data_dir: Path) -> str:
    return _secret_file(data_dir / "admin.key", lambda: "cc_admin_" + secrets.token_urlsafe(32))


def bootstrap(w3: Any, data_dir: Path, oracle_addresses: list[str],
              governance_delay: int | None = GOVERNANCE_DELAY, bucket_seconds: int = nodes.BUCKET) -> dict[str, Any]:
    """Deploys once and sets up a usable local ledger; reuses the manifest when it is still live.

    Governed like a production deployment, with a short delay: a `Governance` timelock holds
    every admin role (DEFAULT_ADMIN_ROLE, ACCREDITOR_ROLE), the insurer and the service's
    operator account are its proposers and executors (so the accreditation and excluded-event
    routes schedule and execute), the insurer keeps the pool's TREASURER_ROLE; the oracle set,
    the operator's roles and the local assessor's accreditation are set directly before the
    hand-over. `governance_delay=None` keeps a direct admin (the insurer), as before.
    `bucket_seconds` is the new deployment's verdict bucket (a reused one keeps its own)."""
    from contracts.deploy import deploy, live_deployment
    from contracts.sender import send

    manifest = data_dir / "deployment.json"
    insurer, operator, assessor = w3.eth.accounts[:3]
    roles = {"insurer": insurer, "operator": operator, "assessor": assessor}
    live = live_deployment(w3, manifest)
    if live is not None:
        return {"deployment": live.to_json(), **roles}
    timing = nodes.Timing(bucket_seconds)
    dep = deploy(w3, insurer, oracle_signers=oracle_addresses, quorum=nodes.oracle_quorum(len(oracle_addresses)),
                 underwriters=[operator], distributors=[operator], claims=[operator],
                 bucket_seconds=timing.bucket, merge_gap=timing.merge_gap, finality_delay=timing.finality_delay,
                 governance_delay=governance_delay, proposers=[operator], assessors=[(assessor, ASSESSOR_CAPABILITY)])
    pool = dep.contract(w3, "CoverPool")
    if "TestToken" in dep.contracts:
        token = dep.contract(w3, "TestToken")
        for who, amount in ((insurer, CAPITAL), (operator, OPERATOR_FLOAT)):
            send(w3, token.functions.mint(who, amount), who)
            send(w3, token.functions.approve(pool.address, 2**256 - 1), who)
        send(w3, pool.functions.deposit(CAPITAL), insurer)
    dep.write(manifest)  # last: a half-bootstrapped chain is redone on the next start
    return {"deployment": dep.to_json(), **roles}


def deployed_bucket(w3: Any, dep: dict[str, Any]) -> int:
    """The verdict bucket the deployment's OutageOracle declares (what its nodes must judge)."""
    from contracts.deploy import Deployment

    return int(Deployment.from_json(dep).contract(w3, "OutageOracle").functions.bucketSeconds().call())


def oracle_nodes_env(signers: list[str], ports: list[int]) -> str:
    """`CYBERCOVER_ORACLE_NODES` for the API and the worker: each local node's signer address → its
    API base URL (the claim view's evidence links, the in-policy report's monitoring facts)."""
    return json.dumps({s: f"http://127.0.0.1:{p}" for s, p in zip(signers, ports, strict=True)})


def up_cmd(
    data_dir: Path = setting("data_dir", "Data directory: chain state, manifest, keys, database."),
    port: int = typer.Option(8000, help="API port."),
    rpc_url: str | None = setting("rpc_url", "Use this EVM node instead of a local anvil (accounts 0-2 unlocked).",
                                  default=None, show_default="a local anvil"),
    anvil_port: int = typer.Option(8545, help="Port of the local anvil."),
    oracles: int = typer.Option(3, min=2, max=16, help="Local oracle nodes."),
    oracle_base_port: int = typer.Option(8701, help="First oracle node port."),
    governance_delay: int = typer.Option(
        GOVERNANCE_DELAY, min=0, envvar="CYBERCOVER_UP_GOVERNANCE_DELAY", show_envvar=True,
        help="Delay (seconds) of the governance timelock a new deployment gets (accreditations, excluded "
             "events); a reused deployment keeps its own."),
    bucket_seconds: int = typer.Option(
        nodes.BUCKET, min=nodes.MIN_BUCKET, max=3600, envvar="CYBERCOVER_UP_BUCKET_SECONDS", show_envvar=True,
        help="The oracle nodes' verdict bucket (seconds) a new deployment declares in OutageOracle.bucketSeconds(); "
             "probe, transmit, merge-gap and finality timings follow from it. A few seconds makes a local outage "
             "verify in seconds (tests); a reused deployment keeps its own."),
) -> None:
    """Start everything: chain, contracts, API, payout worker, oracle nodes. Ctrl-C stops it all."""
    data_dir = data_dir.resolve()
    private_umask()  # inherited by anvil, the API, the worker and the nodes
    private_dir(data_dir)
    stopping = threading.Event()

    def report(message: str) -> None:
        typer.echo(f"warning: {redact(message)}", err=True)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    sup = Supervisor(data_dir, report)
    anvil = None
    code = 0
    try:
        if rpc_url is None:
            anvil = start_anvil(anvil_port, state=data_dir / "anvil-state.json",
                                log=open(data_dir / "anvil.log", "ab"))  # noqa: SIM115 - anvil holds it
            rpc_url = f"http://127.0.0.1:{anvil_port}"
        w3 = wait_for_rpc(rpc_url, proc=anvil)
        keys = node_keys(data_dir, oracles)
        from eth_account import Account

        restore_recursion_limit()  # after the chain libraries' imports
        signers = [Account.from_key(k).address for k in keys]
        boot = bootstrap(w3, data_dir, signers, governance_delay, bucket_seconds)
        if anvil is not None:
            mine_every(w3)  # deployed at once; from now on blocks follow the clock (contracts.procs)
        dep = boot["deployment"]
        timing = nodes.Timing(deployed_bucket(w3, dep))  # the chain's, which a reused deployment may not share
        if timing.bucket != bucket_seconds:
            report(f"the deployment in {data_dir} declares {timing.bucket} s verdict buckets; --bucket-seconds "
                   f"{bucket_seconds} applies to a new deployment only (a fresh data directory)")
        api = f"http://127.0.0.1:{port}"
        key = admin_key(data_dir)
        ports = [oracle_base_port + i for i in range(oracles)]
        env = {**os.environ, "CYBERCOVER_DATA_DIR": str(data_dir), "CYBERCOVER_RPC_URL": rpc_url,
               "CYBERCOVER_ADMIN_KEY": key, "CYBERCOVER_OPERATOR_ADDRESS": boot["operator"],
               "CYBERCOVER_ASSESSOR_ADDRESS": boot["assessor"],
               "CYBERCOVER_ORACLE_NODES": oracle_nodes_env(signers, ports)}
        if "TestToken" in dep["contracts"] and "CYBERCOVER_TOKEN_CURRENCY" not in os.environ:
            # The local payout token is a 6-decimal test USD: approvals are capped by a USD loss.
            env |= {"CYBERCOVER_TOKEN_CURRENCY": "USD", "CYBERCOVER_TOKEN_DECIMALS": "6"}
        sup.start("api", [str(BIN / "cybercover"), "serve", "--port", str(port)], env)
        if not wait_http(f"{api}/healthz", proc=sup.children.get("api")):
            raise RuntimeError(f"the API did not come up; see {sup.logs / 'api.log'}")
        sup.start("worker", [str(BIN / "cybercover"), "worker"], env)
        # The nodes get least-privilege keys of the insurer's tenant, never the admin key.
        relay_key = service_key(api, key, data_dir / "keys" / "relay.apikey", "relay")
        monitor_key = service_key(api, key, data_dir / "keys" / "monitor.apikey", "monitor")
        watch = TargetWatch(lambda: fetch_products(api, monitor_key), lambda line: typer.echo(line, err=True))

        oracle_addr = dep["contracts"]["OutageOracle"]["address"]
        targets: list[nodes.Target] | None = None
        skipped: list[str] = []

        def start_nodes(current: list[nodes.Target]) -> None:
            for i, k in enumerate(keys):
                sup.stop(f"oracle-{i + 1}")
                if not current:  # a node needs something to watch; it starts with the first product
                    continue
                cfg = data_dir / "oracles" / f"node-{i + 1}.toml"
                try:
                    config = nodes.node_config(i, data_dir, ports, api, dep["chain_id"], oracle_addr, signers,
                                               current, report, rpc_url=rpc_url, timing=timing)
                    nodes.write_node_config(cfg, config)
                except ValueError as exc:  # pydantic's ValidationError is one
                    report(f"oracle-{i + 1} not started: no valid config ({str(exc)[:300]})")
                    continue
                node_env = {**os.environ, "ORACLE_PRIVATE_KEY": k}
                if i == 0:  # the transmitter relays through the API, with a relay-only key
                    node_env["ORACLE_RELAY_API_KEY"] = relay_key
                sup.start(f"oracle-{i + 1}", [str(BIN / "cybercover-oracle"), "run", "--config", str(cfg)], node_env)

        typer.echo(f"cybercover is up\n  API:       {api}  (docs: {api}/docs)\n  admin key: {data_dir / 'admin.key'}")
        from service.web.links import pages

        for n, (url, what) in enumerate(pages(api)):
            typer.echo(f"  {'pages:' if n == 0 else '':<11}{url:<32} {what}")
        typer.echo(f"  chain:     {redact(rpc_url)} (chain id {dep['chain_id']})")
        for name, info in sorted(dep["contracts"].items()):
            typer.echo(f"  {name:<19}{info['address']}")
        typer.echo(f"  oracles:   {', '.join(f'http://127.0.0.1:{p}' for p in ports)} "
                   f"(quorum {nodes.oracle_quorum(len(signers))}; verdict bucket {timing.bucket} s, "
                   f"merge gap {timing.merge_gap} s, finality delay {timing.finality_delay} s)")
        if "Governance" in dep["contracts"]:
            from contracts.deploy import Deployment

            timelock = Deployment.from_json(dep).contract(w3, "Governance")
            typer.echo(f"  governance: timelock {timelock.address}, delay {timelock.functions.getMinDelay().call()} s")
        else:  # a data directory deployed before `up` was governed
            typer.echo("  governance: none (direct admin; accreditations and excluded events answer 409 "
                       "no_governance: start with a fresh data directory to get a timelock)")
        typer.echo(f"  logs:      {sup.logs}")
        sys.stdout.flush()
        while not stopping.is_set():
            products = watch.poll()  # None: unreadable (reported); the nodes keep their targets
            notes: list[str] = []
            current = targets if products is None else nodes.targets_from_products(products, notes.append)
            if products is not None and notes != skipped:  # each skipped product reported once
                skipped = notes
                for note in notes:
                    report(note)
            if current is not None and current != targets:
                targets = current
                start_nodes(current)
                typer.echo(f"oracle nodes watching {len(current)} service(s)")
            sup.restart_dead()
            if anvil is not None and anvil.poll() is not None:
                typer.echo(f"error: anvil exited (code {anvil.returncode}); see {data_dir / 'anvil.log'}", err=True)
                code = 1
                break
            stopping.wait(1)
        if not watch.healthy:
            typer.echo(f"error: stopped while the oracle target list was failing: {watch.last_error}", err=True)
            code = 1
    except Exception as exc:  # noqa: BLE001 - report and tear everything down
        typer.echo(f"error: {redact(str(exc))}", err=True)
        code = 1
    finally:
        sup.stop_all()
        stop(anvil)  # anvil writes its state on exit
        typer.echo("stopped")
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("up")(up_cmd)

