"""`cybercover up`: the whole system on one machine, from nothing.

anvil (state persisted in the data directory) → contracts deployed once and bootstrapped (oracle
set, roles, an accredited assessor, capital in the pool; the OutageOracle's merge gap and finality
delay matched to the local nodes, see service.commands.nodes) → the API, the payout worker and local
oracle nodes as child processes. The nodes watch every covered service whose product names a
URL (service.commands.nodes); when products change, their configs are rewritten and the nodes
restarted (a restarted node resumes its episodes from its own evidence store). Everything in the
data directory is private to its owner (0700 / 0600).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import typer

from contracts.redact import redact
from contracts.runtime import private_dir, private_umask, restore_recursion_limit
from service.commands.ledger import DEFAULT_DATA_DIR, start_anvil, wait_for_rpc
from service.commands.node_access import TargetWatch, fetch_products, service_key
from service.commands.nodes import (
    FINALITY_DELAY,
    MERGE_GAP,
    Target,
    node_config,
    oracle_quorum,
    targets_from_products,
    write_node_config,
)

BIN = Path(sys.executable).parent
CAPITAL = 1_000_000 * 10**6  # cUSD the local insurer deposits
OPERATOR_FLOAT = 100_000 * 10**6  # cUSD the service's operator holds for premiums


def _secret_file(path: Path, make: Any) -> str:
    """Reads a secret, creating it (mode 0600) on first use."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(make())
    return path.read_text().strip()


def node_keys(data_dir: Path, count: int) -> list[str]:
    return [_secret_file(data_dir / "keys" / f"oracle-{i + 1}.key", lambda: "0x" + secrets.token_hex(32))
            for i in range(count)]


def admin_key(data_dir: Path) -> str:
    return _secret_file(data_dir / "admin.key", lambda: "cc_admin_" + secrets.token_urlsafe(32))


def bootstrap(rpc_url: str, data_dir: Path, oracle_addresses: list[str]) -> dict[str, Any]:
    """Deploys once and sets up a usable local ledger; reuses the manifest when it is still live."""
    from web3 import Web3

    from contracts.deploy import deploy, live_deployment
    from contracts.sender import send

    manifest = data_dir / "deployment.json"
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
    insurer, operator, assessor = w3.eth.accounts[:3]
    roles = {"insurer": insurer, "operator": operator, "assessor": assessor}
    live = live_deployment(w3, manifest)
    if live is not None:
        return {"deployment": live.to_json(), **roles}
    dep = deploy(w3, insurer, oracle_signers=oracle_addresses, quorum=oracle_quorum(len(oracle_addresses)),
                 underwriters=[operator], distributors=[operator], claims=[operator],
                 merge_gap=MERGE_GAP, finality_delay=FINALITY_DELAY)
    registry, pool = dep.contract(w3, "AssessmentRegistry"), dep.contract(w3, "CoverPool")
    send(w3, registry.functions.setAssessor(assessor, 90), insurer)
    if "TestToken" in dep.contracts:
        token = dep.contract(w3, "TestToken")
        for who, amount in ((insurer, CAPITAL), (operator, OPERATOR_FLOAT)):
            send(w3, token.functions.mint(who, amount), who)
            send(w3, token.functions.approve(pool.address, 2**256 - 1), who)
        send(w3, pool.functions.deposit(CAPITAL), insurer)
    dep.write(manifest)  # last: a half-bootstrapped chain is redone on the next start
    return {"deployment": dep.to_json(), **roles}




class Supervisor:
    """Child processes with their logs in the data directory. A child that exits is reported and
    restarted after a back-off that doubles with each quick failure (up to BACKOFF_MAX) and
    resets once it has run for HEALTHY_AFTER seconds. No child ever stops the others: a node that
    cannot start keeps being retried, visibly, while the rest of the stack runs. Stops them all,
    newest first."""

    BACKOFF_START = 1.0
    BACKOFF_MAX = 60.0
    HEALTHY_AFTER = 60.0

    def __init__(self, data_dir: Path, report: Callable[[str], None] = print,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logs = private_dir(data_dir / "logs")
        self.report = report
        self.clock = clock
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self._specs: dict[str, tuple[list[str], dict[str, str]]] = {}
        self._started: dict[str, float] = {}
        self._backoff: dict[str, float] = {}
        self._due: dict[str, float] = {}  # name → when a dead child is restarted

    def _log(self, name: str) -> int:
        return os.open(self.logs / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        self._specs[name] = (cmd, env)
        self._due.pop(name, None)
        self._started[name] = self.clock()
        log = self._log(name)
        try:
            self.children[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        except OSError as exc:  # not even started: handled like a child that exited at once
            os.write(log, f"--- cybercover up could not start {name}: {exc}\n".encode())
            self.children.pop(name, None)
            self._schedule(name, f"could not start ({exc.strerror})")
        finally:
            os.close(log)  # the child holds its own descriptor

    def stop(self, name: str, timeout: float = 20) -> None:
        self._specs.pop(name, None)
        self._due.pop(name, None)
        self._backoff.pop(name, None)
        proc = self.children.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()

    def _schedule(self, name: str, why: str) -> None:
        ran = self.clock() - self._started.get(name, self.clock())
        delay = self.BACKOFF_START if ran >= self.HEALTHY_AFTER else self._backoff.get(name, 0.0)
        delay = min(max(delay, self.BACKOFF_START), self.BACKOFF_MAX)
        self._backoff[name] = min(delay * 2, self.BACKOFF_MAX)
        self._due[name] = self.clock() + delay
        self.report(f"{name} {why}; restarting in {delay:.0f} s (log: {self.logs / f'{name}.log'})")

    def restart_dead(self) -> list[str]:
        """Schedules exited children for a restart and restarts those whose back-off is over;
        returns the names restarted."""
        for name, proc in list(self.children.items()):
            if proc.poll() is not None:
                del self.children[name]
                self._schedule(name, f"exited with code {proc.returncode}")
        restarted = []
        for name, due in list(self._due.items()):
            if self.clock() >= due and name in self._specs:
                log = self._log(name)
                os.write(log, b"--- restarted by cybercover up\n")
                os.close(log)
                cmd, env = self._specs[name]
                self.start(name, cmd, env)
                restarted.append(name)
        return restarted

    def stop_all(self) -> None:
        for name in reversed(list(self.children)):
            self.stop(name)


def _wait_http(url: str, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    return False


def up_cmd(
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, help="Data directory: chain state, manifest, keys, database."),
    port: int = typer.Option(8000, help="API port."),
    rpc_url: str = typer.Option(None, help="Use this EVM node instead of a local anvil (accounts 0-2 unlocked)."),
    anvil_port: int = typer.Option(8545, help="Port of the local anvil."),
    oracles: int = typer.Option(3, min=2, max=16, help="Local oracle nodes."),
    oracle_base_port: int = typer.Option(8701, help="First oracle node port."),
) -> None:
    """Start everything: chain, contracts, API, payout worker, oracle nodes. Ctrl-C stops it all."""
    data_dir = data_dir.resolve()
    private_umask()  # inherited by anvil, the API, the worker and the nodes
    private_dir(data_dir)
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    def report(message: str) -> None:
        typer.echo(f"warning: {redact(message)}", err=True)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    sup = Supervisor(data_dir, report)
    anvil = None
    code = 0
    try:
        if rpc_url is None:
            anvil = start_anvil(data_dir, anvil_port)
            rpc_url = f"http://127.0.0.1:{anvil_port}"
        wait_for_rpc(rpc_url)
        keys = node_keys(data_dir, oracles)
        from eth_account import Account

        restore_recursion_limit()  # after the chain libraries' imports
        signers = [Account.from_key(k).address for k in keys]
        boot = bootstrap(rpc_url, data_dir, signers)
        dep = boot["deployment"]
        api = f"http://127.0.0.1:{port}"
        key = admin_key(data_dir)
        env = {**os.environ, "CYBERCOVER_DATA_DIR": str(data_dir), "CYBERCOVER_RPC_URL": rpc_url,
               "CYBERCOVER_ADMIN_KEY": key, "CYBERCOVER_OPERATOR_ADDRESS": boot["operator"],
               "CYBERCOVER_ASSESSOR_ADDRESS": boot["assessor"]}
        sup.start("api", [str(BIN / "cybercover"), "serve", "--port", str(port)], env)
        if not _wait_http(f"{api}/healthz"):
            raise RuntimeError(f"the API did not come up; see {sup.logs / 'api.log'}")
        sup.start("worker", [str(BIN / "cybercover"), "worker"], env)
        # The nodes get least-privilege keys of the insurer's tenant, never the admin key.
        relay_key = service_key(api, key, data_dir / "keys" / "relay.apikey", "relay")
        monitor_key = service_key(api, key, data_dir / "keys" / "monitor.apikey", "monitor")
        watch = TargetWatch(lambda: fetch_products(api, monitor_key), lambda line: typer.echo(line, err=True))

        ports = [oracle_base_port + i for i in range(oracles)]
        oracle_addr = dep["contracts"]["OutageOracle"]["address"]
        targets: list[Target] | None = None
        skipped: list[str] = []

        def start_nodes(current: list[Target]) -> None:
            for i, k in enumerate(keys):
                sup.stop(f"oracle-{i + 1}")
                if not current:  # a node needs something to watch; it starts with the first product
                    continue
                cfg = data_dir / "oracles" / f"node-{i + 1}.toml"
                try:
                    write_node_config(cfg, node_config(i, data_dir, ports, api, dep["chain_id"], oracle_addr,
                                                       signers, current, report))
                except ValueError as exc:  # pydantic's ValidationError is one
                    report(f"oracle-{i + 1} not started: no valid config ({str(exc)[:300]})")
                    continue
                node_env = {**os.environ, "ORACLE_PRIVATE_KEY": k}
                if i == 0:  # the transmitter relays through the API, with a relay-only key
                    node_env["ORACLE_RELAY_API_KEY"] = relay_key
                sup.start(f"oracle-{i + 1}", [str(BIN / "cybercover-oracle"), "run", "--config", str(cfg)], node_env)

        typer.echo(f"cybercover is up\n  API:       {api}  (docs: {api}/docs)\n  admin key: {data_dir / 'admin.key'}")
        typer.echo(f"  chain:     {redact(rpc_url)} (chain id {dep['chain_id']})")
        for name, info in sorted(dep["contracts"].items()):
            typer.echo(f"  {name:<19}{info['address']}")
        typer.echo(f"  oracles:   {', '.join(f'http://127.0.0.1:{p}' for p in ports)} "
                   f"(quorum {oracle_quorum(len(signers))}; merge gap {MERGE_GAP} s, "
                   f"finality delay {FINALITY_DELAY} s)")
        typer.echo(f"  logs:      {sup.logs}")
        sys.stdout.flush()
        while not stopping:
            products = watch.poll()  # None: unreadable (reported); the nodes keep their targets
            notes: list[str] = []
            current = targets if products is None else targets_from_products(products, notes.append)
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
            for _ in range(4):
                if stopping:
                    break
                time.sleep(0.5)
        if not watch.healthy:
            typer.echo(f"error: stopped while the oracle target list was failing: {watch.last_error}", err=True)
            code = 1
    except Exception as exc:  # noqa: BLE001 - report and tear everything down
        typer.echo(f"error: {redact(str(exc))}", err=True)
        code = 1
    finally:
        sup.stop_all()
        if anvil is not None and anvil.poll() is None:
            anvil.send_signal(signal.SIGTERM)  # anvil writes its state on exit
            try:
                anvil.wait(timeout=20)
            except subprocess.TimeoutExpired:
                anvil.kill()
        typer.echo("stopped")
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("up")(up_cmd)

