"""Issue 10 in `cybercover up`: node configs are data (finding 1, property-tested), a failing
node is retried with back-off and never stops the stack (1), the data directory is private (8)."""

from __future__ import annotations

import os
import stat
import string
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.eip712 import service_id
from contracts.runtime import private_dir, private_umask
from oracles.config import dump_config
from service.commands.up import admin_key, node_keys
from service.covered import check_service
from service.stack.nodes import PROBE, Target, node_config, targets_from_products, write_node_config
from service.stack.supervisor import Supervisor, running

API = "http://127.0.0.1:8000"
ORACLE = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
SIGNERS = ["0x" + f"{i:040x}" for i in range(1, 4)]
PORTS = [8701, 8702, 8703]
HONEST = [Target("https://honest-a.example/status", 3600), Target("tls://honest-b.example:443", 60)]


def _sid(text: str) -> str:
    return "0x" + service_id(text).hex()


def _product(i: int, service: str, threshold: int, **extra: Any) -> dict[str, Any]:
    return {"id": i, "name": "cover", "service": service, "service_id": _sid(service),
            "threshold_seconds": threshold, "active": True, **extra}


def _configs(products: list[dict[str, Any]], data_dir: Path) -> list[dict[str, Any]]:
    targets = targets_from_products(products, lambda _: None)
    return [tomllib.loads(dump_config(node_config(i, data_dir, PORTS, API, 31337, ORACLE, SIGNERS, targets,
                                                  lambda _: None))) for i in range(len(PORTS))]


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*map(_strings, value.values())) | set(value) if value else set()
    if isinstance(value, list):
        return set().union(*map(_strings, value)) if value else set()
    return set()


_NASTY = st.sampled_from(['"', "'", "\n", "\r\n", "[", "]", "[[targets]]", "\\", "\\u0022", "=", "#", "\x00",
                          "\u2028", "\t", " ", '"""', "{", "}", "service_id = ", "\x7f"])
_anything = st.lists(st.one_of(st.text(max_size=8), _NASTY), max_size=6).map("".join)
_url_tail = st.text(string.ascii_letters + string.digits + "-._~/?=&%:@!$'()*+,;", max_size=20)
_service = st.one_of(
    _anything,
    st.builds(lambda n, tail: f"https://hostile-{n}.example/{tail}", st.integers(0, 5), _url_tail),
    st.builds(lambda n, tail: f"https://honest-a.example/status{tail}", st.integers(0, 5), _anything),
    st.builds(lambda n: f"tcp://hostile-{n}.example:{n + 1}", st.integers(0, 5)),
)
_hostile = st.builds(
    lambda i, service, threshold, right_id, name, tenant, holder, hook: {
        "id": 100 + i, "name": name, "service": service,
        "service_id": _sid(service) if right_id else _sid("https://honest-a.example/status"),
        "threshold_seconds": threshold, "active": True, "tenant": tenant, "holder_ref": holder,
        "webhook_url": hook},
    st.integers(0, 50), _service, st.integers(1, 10**6), st.booleans(), _anything, _anything, _anything,
    _anything)


@given(st.lists(_hostile, max_size=6), st.integers(0, 6))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_finding1_no_product_text_changes_any_node_config_beyond_its_own_target(
        hostile: list[dict[str, Any]], at: int) -> None:
    data_dir = Path("/srv/cybercover")
    honest = [_product(i, t.url, t.threshold_seconds) for i, t in enumerate(HONEST)]
    expected = _configs(honest, data_dir)
    products = [*hostile[:at], *honest, *hostile[at:]]
    got = _configs(products, data_dir)
    admitted = {p["service"] for p in hostile if _valid(p["service"]) and p["service_id"] == _sid(p["service"])}
    for want, have in zip(expected, got, strict=True):
        # Everything but the target list is exactly the honest-only config.
        assert {k: v for k, v in have.items() if k != "targets"} == {k: v for k, v in want.items() if k != "targets"}
        by_id = {t["service_id"]: t for t in have["targets"]}
        assert len(by_id) == len(have["targets"]) == len({t.url for t in HONEST} | admitted)
        for t in want["targets"]:  # honest targets untouched (a lower threshold for the same URL aside)
            assert {k: v for k, v in by_id[t["service_id"]].items() if k != "threshold_seconds"} == \
                {k: v for k, v in t.items() if k != "threshold_seconds"}
        for t in have["targets"]:  # every target: one URL, the id derived from it, fixed probe settings
            where = t.get("url") or f"{t['kind']}://{t['address']}"
            assert t["service_id"] == _sid(where)
            assert t["name"] == "svc-" + t["service_id"][2:18]
            assert set(t) == {"name", "kind", "url" if "url" in t else "address", "service_id",
                              "threshold_seconds", *PROBE}
            assert {k: t[k] for k in PROBE} == PROBE
        # No other product text (names, tenants, holder refs, webhook URLs) reaches a node.
        allowed = _strings(want) | {v for t in have["targets"] for k, v in t.items()
                                    if k in ("service_id", "name", "kind", "url", "address")}
        assert _strings(have) <= allowed


def _valid(text: str) -> bool:
    try:
        check_service(text)
    except ValueError:
        return False
    return "://" in text


def test_finding1_invalid_products_are_reported_and_skipped() -> None:
    notes: list[str] = []
    good = _product(1, "https://ok.example/", 60)
    products = [good, _product(2, 'https://x.example/"\n[[targets]]', 60), {**_product(3, "https://y.example/", 60),
                "service_id": _sid("https://ok.example/")}, _product(4, "https://z.example/", 0), "junk",
                {**_product(5, "https://w.example/", 60), "active": False}, _product(6, "plain-name", 60)]
    assert targets_from_products(products, notes.append) == [Target("https://ok.example/", 60)]
    assert len(notes) == 3
    assert all("not watched" in n for n in notes)
    assert targets_from_products({"type": "unauthorized"}, notes.append) == []


def _exit_fast(code: int = 3) -> list[str]:
    return ["/bin/sh", "-c", f"exit {code}"]


def _wait_exited(sup: Supervisor, name: str) -> None:
    proc = sup.children.get(name)
    if proc is not None:
        proc.wait(timeout=10)


def test_finding1_a_node_that_keeps_failing_is_retried_with_backoff_and_never_stops_the_stack(
        tmp_path: Path) -> None:
    now = [1000.0]
    notes: list[str] = []
    sup = Supervisor(tmp_path, notes.append, clock=lambda: now[0])
    sup.start("api", ["/bin/sh", "-c", "sleep 30"], dict(os.environ))
    sup.start("oracle-1", _exit_fast(), dict(os.environ))
    delays = []
    try:
        for _ in range(8):
            _wait_exited(sup, "oracle-1")
            assert sup.restart_dead() == []  # scheduled, not restarted at once
            delay = sup._due["oracle-1"] - now[0]
            delays.append(delay)
            now[0] += delay - 0.1
            assert sup.restart_dead() == []
            now[0] += 0.2
            assert sup.restart_dead() == ["oracle-1"]
        assert delays == [1, 2, 4, 8, 16, 32, 60, 60]
        assert sup.children["api"].poll() is None  # the rest of the stack runs on
        # The pid file lists the running children, the restarted one under its new pid.
        assert running(tmp_path) == {name: proc.pid for name, proc in sup.children.items()}
        assert set(running(tmp_path)) == {"api", "oracle-1"}
        assert all("oracle-1 exited with code 3; restarting in" in n for n in notes)
        # A run longer than HEALTHY_AFTER resets the back-off.
        _wait_exited(sup, "oracle-1")
        sup._started["oracle-1"] = now[0] - Supervisor.HEALTHY_AFTER
        sup.restart_dead()
        assert sup._due["oracle-1"] - now[0] == Supervisor.BACKOFF_START
        # A binary that cannot even start is reported and retried the same way, without raising.
        sup.start("oracle-2", [str(tmp_path / "no-such-binary")], dict(os.environ))
        assert "oracle-2" in sup._due
        assert "could not start" in notes[-1]
        assert "--- restarted by cybercover up" in (sup.logs / "oracle-1.log").read_text()
    finally:
        sup.stop_all()
    assert running(tmp_path) == {}
    assert not sup.pid_file.exists()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_finding8_data_directory_and_everything_in_it_are_private(tmp_path: Path) -> None:
    from contracts.deploy import Deployed, Deployment
    from oracles.evidence.store import EvidenceLog
    from service.db.migrate import upgrade
    from service.db.session import make_engine
    from tests.oracles.helpers import node_key

    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / "anvil-state.json").write_text("{}")  # made before the rule: tightened on the next start
    old = private_umask()  # what `up` does first; inherited by every child
    try:
        private_dir(data)
        node_keys(data, 2)
        admin_key(data)
        Deployment(31337, "0x" + "11" * 20, {"PolicyBook": Deployed("0x" + "22" * 20, 1, "0x" + "33" * 32, "ab" * 32)}
                   ).write(data / "deployment.json")
        engine = make_engine(f"sqlite:///{data / 'cybercover.db'}")
        upgrade(engine)
        engine.dispose()
        sup = Supervisor(data, lambda _: None)
        sup.start("api", _exit_fast(0), dict(os.environ))
        _wait_exited(sup, "api")
        write_node_config(data / "oracles" / "node-1.toml", node_config(
            0, data, PORTS, API, 31337, ORACLE, SIGNERS, HONEST, lambda _: None))
        (data / "oracles" / "node-1").mkdir()  # as the node does (its own test: tests/oracles/test_security)
        EvidenceLog(data / "oracles" / "node-1" / "evidence.sqlite3", node_key("f8")).close()
        subprocess.run([sys.executable, "-c", f"open({str(data / 'child.out')!r}, 'w').write('x')"], check=True)
    finally:
        os.umask(old)
    paths = [data, *data.rglob("*")]
    names = {p.relative_to(data).as_posix() for p in paths[1:]}
    assert {"keys/oracle-1.key", "admin.key", "deployment.json", "cybercover.db", "logs/api.log",
            "oracles/node-1.toml", "oracles/node-1/evidence.sqlite3", "anvil-state.json", "child.out",
            "pids.json"} <= names
    loose = {p.relative_to(tmp_path).as_posix(): oct(_mode(p)) for p in paths
             if _mode(p) != (0o700 if p.is_dir() else 0o600)}
    assert not loose
