"""`cybercover up`: the whole system on one machine, from nothing.

anvil (state persisted in the data directory) → contracts deployed once and bootstrapped (oracle
set, roles, an accredited assessor, capital in the pool) → the API, the payout worker and local
oracle nodes as child processes. The nodes watch every covered service whose product names an
http(s) URL; when products change, their configs are rewritten and the nodes restarted (a
restarted node resumes its episodes from its own evidence store).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import typer

from service.commands.ledger import DEFAULT_DATA_DIR, start_anvil, wait_for_rpc
from service.commands.node_access import TargetWatch, fetch_products, service_key

BIN = Path(sys.executable).parent
ORACLE_QUORUM = 2
CAPITAL = 1_000_000 * 10**6  # cUSD the local insurer deposits
OPERATOR_FLOAT = 100_000 * 10**6  # cUSD the service's operator holds for premiums


def _secret_file(path: Path, make: Any) -> str:
    """Reads a secret, creating it (mode 0600) on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
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
    from contracts.tx import send

    manifest = data_dir / "deployment.json"
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
    insurer, operator, assessor = w3.eth.accounts[:3]
    roles = {"insurer": insurer, "operator": operator, "assessor": assessor}
    live = live_deployment(w3, manifest)
    if live is not None:
        return {"deployment": live.to_json(), **roles}
    dep = deploy(w3, insurer, oracle_signers=oracle_addresses, quorum=ORACLE_QUORUM,
                 underwriters=[operator], distributors=[operator], claims=[operator])
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


def covered_targets(api: str, key: str) -> list[dict[str, Any]]:
    """Products whose covered service is a URL, one target per service (the lowest threshold)."""
    products = fetch_products(api, key)  # a refused key raises TargetListError: never "no targets"
    targets: dict[str, dict[str, Any]] = {}
    for p in products if isinstance(products, list) else []:
        url = p.get("service") or ""
        if not (url.startswith("http://") or url.startswith("https://")) or not p.get("active", True):
            continue
        t = targets.setdefault(url, {"service": url, "url": url, "threshold_seconds": p["threshold_seconds"]})
        t["threshold_seconds"] = min(t["threshold_seconds"], p["threshold_seconds"])
    return [targets[u] for u in sorted(targets)]


def node_config(i: int, data_dir: Path, ports: list[int], api: str, chain_id: int, oracle: str,
                signers: list[str], targets: list[dict[str, Any]]) -> str:
    lines = [
        "[node]", f'data_dir = "{data_dir / "oracles" / f"node-{i + 1}"}"', f"listen_port = {ports[i]}",
        "config_version = 1", "", "[chain]", f"chain_id = {chain_id}", f'oracle_address = "{oracle}"', "",
    ]
    if i == 0:  # one transmitter relays quorum sets through the service
        peers = ", ".join(f'"http://127.0.0.1:{p}"' for p in ports[1:])
        lines += ["[transmit]", "enabled = true", 'submitter = "relay"', f'relay_url = "{api}"',
                  f"quorum = {ORACLE_QUORUM}", f"peers = [{peers}]",
                  "signers = [" + ", ".join(f'"{s}"' for s in signers) + "]", "interval = 5", ""]
    lines += ["[[canaries]]", 'name = "api"', 'kind = "http"', f'url = "{api}/healthz"', "interval = 10",
              "timeout = 3", ""]
    for n, t in enumerate(targets):
        lines += ["[[targets]]", f'name = "service-{n + 1}"', f'service = "{t["service"]}"', 'kind = "http"',
                  f'url = "{t["url"]}"', "interval = 5", "timeout = 3", "min_samples = 3", "open_after = 1",
                  "close_after = 2", f"threshold_seconds = {t['threshold_seconds']}", ""]
    return "\n".join(lines)


class Supervisor:
    """Child processes with their logs in the data directory. A child that dies is restarted
    (the API and worker are stateless over the database and chain; a node resumes from its
    evidence store); one that keeps dying makes `up` give up. Stops them all, newest first."""

    MAX_RESTARTS = 5  # within RESTART_WINDOW seconds
    RESTART_WINDOW = 120.0

    def __init__(self, data_dir: Path) -> None:
        self.logs = data_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self._specs: dict[str, tuple[list[str], dict[str, str]]] = {}
        self._restarts: dict[str, list[float]] = {}

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        self._specs[name] = (cmd, env)
        self.children[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()  # the child holds its own descriptor

    def stop(self, name: str, timeout: float = 20) -> None:
        self._specs.pop(name, None)
        proc = self.children.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()

    def restart_dead(self) -> list[str]:
        """Restarts children that exited; returns those that exceeded the restart budget."""
        failing = []
        now = time.monotonic()
        for name, proc in list(self.children.items()):
            if proc.poll() is None:
                continue
            recent = [t for t in self._restarts.get(name, []) if now - t < self.RESTART_WINDOW]
            if len(recent) >= self.MAX_RESTARTS:
                failing.append(name)
                continue
            self._restarts[name] = [*recent, now]
            cmd, env = self._specs[name]
            with open(self.logs / f"{name}.log", "ab") as log:
                log.write(f"--- restarted by cybercover up (exit code {proc.returncode})\n".encode())
            self.start(name, cmd, env)
        return failing

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
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    sup = Supervisor(data_dir)
    anvil = None
    code = 0
    try:
        if rpc_url is None:
            anvil = start_anvil(data_dir, anvil_port)
            rpc_url = f"http://127.0.0.1:{anvil_port}"
        wait_for_rpc(rpc_url)
        keys = node_keys(data_dir, oracles)
        from eth_account import Account

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
        watch = TargetWatch(lambda: covered_targets(api, monitor_key), lambda line: typer.echo(line, err=True))

        ports = [oracle_base_port + i for i in range(oracles)]
        oracle_addr = dep["contracts"]["OutageOracle"]["address"]
        targets: list[dict[str, Any]] | None = None

        def start_nodes(current: list[dict[str, Any]]) -> None:
            for i, k in enumerate(keys):
                sup.stop(f"oracle-{i + 1}")
                if not current:  # a node needs something to watch; it starts with the first product
                    continue
                cfg = data_dir / "oracles" / f"node-{i + 1}.toml"
                cfg.parent.mkdir(parents=True, exist_ok=True)
                cfg.write_text(node_config(i, data_dir, ports, api, dep["chain_id"], oracle_addr, signers, current))
                node_env = {**os.environ, "ORACLE_PRIVATE_KEY": k}
                if i == 0:  # the transmitter relays through the API, with a relay-only key
                    node_env["ORACLE_RELAY_API_KEY"] = relay_key
                sup.start(f"oracle-{i + 1}", [str(BIN / "cybercover-oracle"), "run", "--config", str(cfg)], node_env)

        typer.echo(f"cybercover is up\n  API:       {api}  (docs: {api}/docs)\n  admin key: {data_dir / 'admin.key'}")
        typer.echo(f"  chain:     {rpc_url} (chain id {dep['chain_id']})")
        for name, info in sorted(dep["contracts"].items()):
            typer.echo(f"  {name:<19}{info['address']}")
        typer.echo(f"  oracles:   {', '.join(f'http://127.0.0.1:{p}' for p in ports)} (quorum {ORACLE_QUORUM})")
        typer.echo(f"  logs:      {sup.logs}")
        sys.stdout.flush()
        while not stopping:
            current = watch.poll()  # None: unreadable (reported); the nodes keep their targets
            if current is not None and current != targets:
                targets = current
                start_nodes(current)
                typer.echo(f"oracle nodes watching {len(current)} service(s)")
            failing = sup.restart_dead()
            if failing or (anvil is not None and anvil.poll() is not None):
                typer.echo(f"error: {', '.join(failing) or 'anvil'} keeps exiting; see {sup.logs}", err=True)
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
        typer.echo(f"error: {exc}", err=True)
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

