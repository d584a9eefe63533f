"""Config parsing and the CLI's handling of bad configs and keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account
from typer.testing import CliRunner

from oracles.cli import app
from oracles.config import load_config, parse_config
from oracles.errors import ConfigError
from tests.oracles.helpers import config_dict, env, http_canary, http_target, node_key

EXAMPLE = Path(__file__).resolve().parents[2] / "oracles" / "node.example.toml"
KEY_HEX = "0x" + "11" * 32

GOOD = """
[node]
data_dir = "data"
config_version = 3

[chain]
chain_id = 1
oracle_address = "0x5fbdb2315678afecb367f032d93f642f64180aa3"

[[canaries]]
name = "c1"
kind = "tcp"
address = "127.0.0.1:1"

[[targets]]
name = "api"
service = "api.example"
kind = "http"
url = "https://api.example/health"
interval = 20
timeout = 4
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(text)
    return path


def test_good_config_and_defaults(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.node.data_dir == tmp_path / "data"  # relative to the file
    assert cfg.chain.oracle_address == "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    t = cfg.targets[0]
    assert (t.threshold_fraction, t.min_samples, t.open_after, t.close_after) == (0.5, 2, 3, 3)
    assert t.accepts(204)
    assert t.accepts(301)
    assert not t.accepts(500)
    assert len(t.service_id_bytes) == 32
    assert not cfg.transmit.enabled


def test_example_config_parses() -> None:
    cfg = load_config(EXAMPLE)
    assert [t.kind for t in cfg.targets] == ["http", "tls"]


@pytest.mark.parametrize(("change", "message"), [
    ({"interval": 45}, "interval: Input should be less than or equal to 30"),
    ({"timeout": 20}, "must be shorter than interval"),
    ({"service": None}, "exactly one of `service`"),
    ({"json_path": "a.b"}, "json_path and json_equals go together"),
    ({"min_samples": 4, "interval": 20}, "can never be met"),
    ({"kind": "tcp"}, "needs `address`"),
    ({"name": "has space"}, "name: String should match pattern"),
    ({"threshold_fraction": 0}, "threshold_fraction: Input should be greater than 0"),
    ({"open_after": 0}, "open_after"),
    ({"url": "ftp://x/"}, "is not an http(s) URL"),
    ({"retries": 3}, "retries: Extra inputs are not permitted"),
])
def test_bad_targets_are_named(tmp_path: Path, change: dict[str, object], message: str) -> None:
    target = {**http_target("http://127.0.0.1:1/"), **change}
    target = {k: v for k, v in target.items() if v is not None}
    with pytest.raises(ConfigError) as info:
        parse_config(config_dict(tmp_path, targets=[target]))
    assert "targets[0]" in str(info.value)
    assert message in str(info.value)


def test_cross_section_rules(tmp_path: Path) -> None:
    t = http_target("http://127.0.0.1:1/")
    with pytest.raises(ConfigError, match="unique"):
        parse_config(config_dict(tmp_path, targets=[t], canaries=[http_canary("http://x/",
                                                                          name="shop")]))
    with pytest.raises(ConfigError, match="transmit.quorum is required"):
        parse_config(config_dict(tmp_path, targets=[t], transmit={"enabled": True}))
    with pytest.raises(ConfigError, match="needs chain.rpc_url"):
        parse_config(config_dict(tmp_path, targets=[t], transmit={
            "enabled": True, "quorum": 2, "submitter": "rpc"}))
    with pytest.raises(ConfigError, match="at least one"):
        parse_config(config_dict(tmp_path, targets=[]))


runner = CliRunner()


def test_cli_bad_config_exits_2_with_clear_message(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("interval = 20", "interval = 60"))
    result = runner.invoke(app, ["run", "--config", str(path)])
    assert result.exit_code == 2
    assert "targets[0].interval" in result.output
    assert "less than or equal to 30" in result.output
    assert "Traceback" not in result.output


def test_cli_unreadable_or_invalid_toml_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["config", "check", "--config", str(tmp_path / "missing.toml")])
    assert result.exit_code == 2
    assert "cannot read config file" in result.output
    result = runner.invoke(app, ["run", "--config", str(write(tmp_path, "[node\n"))])
    assert result.exit_code == 2
    assert "invalid TOML" in result.output


def test_cli_key_from_environment_never_printed(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    with env(ORACLE_PRIVATE_KEY=KEY_HEX):
        result = runner.invoke(app, ["config", "check", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert Account.from_key(KEY_HEX).address in result.output
    assert "11" * 32 not in result.output
    with env(ORACLE_PRIVATE_KEY="not-hex"):
        result = runner.invoke(app, ["config", "check", "--config", str(path)])
    assert result.exit_code == 2
    assert "not hex" in result.output


def test_cli_missing_key_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORACLE_PRIVATE_KEY", raising=False)
    with env():
        result = runner.invoke(app, ["run", "--config", str(write(tmp_path, GOOD))])
    assert result.exit_code == 2
    assert "ORACLE_PRIVATE_KEY" in result.output


def test_keystore_key(tmp_path: Path) -> None:
    keyfile = Account.encrypt(bytes.fromhex(KEY_HEX[2:]), "correct horse", iterations=2)
    (tmp_path / "oracle.json").write_text(json.dumps(keyfile))
    path = write(tmp_path, GOOD + '\n[key]\nkeystore = "oracle.json"\n')
    with env(ORACLE_KEYSTORE_PASSWORD="correct horse"):
        result = runner.invoke(app, ["address", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == Account.from_key(KEY_HEX).address
    with env(ORACLE_KEYSTORE_PASSWORD="wrong"):
        result = runner.invoke(app, ["address", "--config", str(path)])
    assert result.exit_code == 2
    assert "wrong password" in result.output


def test_node_key_repr_hides_secret() -> None:
    key = node_key("x")
    assert key.address in repr(key)
    assert "PrivateKey" not in repr(key)
    assert len(repr(key)) < 60


def test_logging_follows_stderr_after_a_runner_closed_its_stand_in(capfd: pytest.CaptureFixture[str]) -> None:
    """The node's log handler writes to the `sys.stderr` of the moment: configured while a runner
    had swapped in a stand-in it closed afterwards, logging still works (it printed
    "--- Logging error --- ValueError: I/O operation on closed file" before, into a later test's output)."""
    import io
    import logging
    import sys

    from oracles.logs import configure_logging

    stand_in, real = io.StringIO(), sys.stderr
    sys.stderr = stand_in
    try:
        configure_logging("INFO")
        logging.getLogger("oracles.test").info("while swapped")
    finally:
        sys.stderr = real
        stand_in.close()
    logging.getLogger("oracles.test").info("after the runner")
    err = capfd.readouterr().err
    assert "Logging error" not in err
    assert '"msg": "after the runner"' in err
