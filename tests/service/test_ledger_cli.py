"""`cybercover deploy` (finding 10, issue 9 item 7): argument checks without a network (exit 2, one
line), a real network refused without the payout asset and the oracle set, and a real-network
deployment put behind a 2-day timelock; run on an in-process eth-tester (the CLI's connection is
swapped for it; a "real network" is the eth-tester chain with the local-chain list emptied)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import click
import pytest
import typer
from eth_utils import keccak
from typer.testing import CliRunner
from web3 import EthereumTesterProvider, Web3

import contracts.deploy
from contracts import artifacts
from contracts.deploy import Deployment
from service.commands import ledger as ledger_cmd
from service.settings import Settings
from tests.chain import ORACLES

runner = CliRunner()
SIGNERS = [o.address for o in ORACLES[:3]]
ZERO32 = b"\x00" * 32


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root() -> None:  # keeps `deploy` a sub-command rather than the sole command
        pass

    ledger_cmd.register(root)
    return root


@pytest.fixture(scope="module")
def w3() -> Web3:
    return Web3(EthereumTesterProvider())


@pytest.fixture
def chain(w3: Web3, monkeypatch: pytest.MonkeyPatch) -> Web3:
    """`cybercover deploy` talks to the in-process chain, whatever --rpc-url says."""
    monkeypatch.setattr(ledger_cmd, "_connect", lambda rpc_url: w3)
    return w3


@pytest.fixture
def real_network(chain: Web3, monkeypatch: pytest.MonkeyPatch) -> Web3:
    monkeypatch.setattr(contracts.deploy, "LOCAL_CHAIN_IDS", frozenset())
    return chain


@pytest.fixture(scope="module")
def stablecoin(w3: Web3) -> str:
    """Some ERC-20 already on the chain, standing in for a real payout asset."""
    factory = artifacts.contract(w3, "TestToken")
    tx = factory.constructor("Stable USD", "sUSD", 6).transact({"from": w3.eth.accounts[0]})
    return str(w3.eth.wait_for_transaction_receipt(tx)["contractAddress"])


def run(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["deploy", *args])
    return result.exit_code, result.stdout, result.stderr


def signer_args(signers: list[str] = SIGNERS, quorum: int = 2) -> list[str]:
    return [x for s in signers for x in ("--oracle-signer", s)] + ["--quorum", str(quorum)]


# --- bad input, refused before any network is contacted -----------------------------------------

A = SIGNERS[0]
BAD_INPUT = {
    "no payout asset": ([], "--token ADDRESS (the payout asset"),
    "both assets": (["--token", A, "--local-test-token"], "exclusive"),
    "token not an address": (["--token", "0x1234"], "--token '0x1234' is not an address"),
    "token zero": (["--token", "0x" + "00" * 20], "--token cannot be the zero address"),
    "signers without quorum": (["--local-test-token", "--oracle-signer", A], "--quorum is required"),
    "quorum without signers": (["--local-test-token", "--quorum", "2"], "--quorum needs the oracle set"),
    "quorum not a majority": (["--local-test-token", *signer_args([*SIGNERS, ORACLES[3].address], 2)],
                              "strict majority of the 4 oracle signers (3..4)"),
    "quorum beyond the set": (["--local-test-token", *signer_args(SIGNERS, 4)], "strict majority"),
    "duplicate signer": (["--local-test-token", *signer_args([A, A.lower(), SIGNERS[1]], 2)], "given twice"),
    "bad signer": (["--local-test-token", *signer_args(["oracle-1", *SIGNERS[1:]], 2)],
                   "--oracle-signer 'oracle-1' is not an address"),
    "negative delay": (["--local-test-token", "--governance-delay", "-5"], "--governance-delay must be ≥ 0"),
    "bad admin": (["--local-test-token", "--admin", "me"], "--admin 'me' is not an address"),
    "negative merge gap": (["--local-test-token", "--merge-gap", "-1"], "--merge-gap must be 0.."),
    "finality beyond uint32": (["--local-test-token", "--finality-delay", str(2**32)], "--finality-delay must be 0.."),
    "zero bucket": (["--local-test-token", "--bucket-seconds", "0"], "--bucket-seconds must be 1..3600 seconds, not 0"),
    "bucket over an hour": (["--local-test-token", "--bucket-seconds", "3601"], "--bucket-seconds must be 1..3600"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_exits_2_with_one_line_before_connecting(app, case, monkeypatch) -> None:
    monkeypatch.setattr(ledger_cmd, "_connect", lambda rpc_url: pytest.fail("connected on bad input"))
    args, message = BAD_INPUT[case]
    code, out, err = run(app, *args)
    assert code == 2, (out, err)
    assert err.startswith("error: "), err
    assert message in err, err
    assert err.count("\n") == 1, err
    assert out == ""


def test_unreachable_node_exits_1(app, tmp_path) -> None:
    code, _, err = run(app, "--local-test-token", "--rpc-url", "http://127.0.0.1:9", "--manifest",
                       str(tmp_path / "m.json"))
    assert code == 1
    assert "no JSON-RPC node answered at http://127.0.0.1:9" in err
    assert not (tmp_path / "m.json").exists()


# --- a real network -------------------------------------------------------------------------------

def test_finding10_real_network_refuses_the_test_token(app, real_network, tmp_path) -> None:
    code, out, err = run(app, "--local-test-token", *signer_args(), "--manifest", str(tmp_path / "m.json"))
    assert code == 2
    assert "--local-test-token is refused" in err
    assert out == ""
    assert not (tmp_path / "m.json").exists()


def test_finding10_real_network_requires_the_oracle_set(app, real_network, stablecoin, tmp_path) -> None:
    code, _, err = run(app, "--token", stablecoin, "--manifest", str(tmp_path / "m.json"))
    assert code == 2
    assert "give the oracle set" in err
    assert not (tmp_path / "m.json").exists()


def test_real_network_token_must_be_a_contract(app, real_network, tmp_path) -> None:
    eoa = real_network.eth.accounts[5]
    code, _, err = run(app, "--token", eoa, *signer_args(), "--manifest", str(tmp_path / "m.json"))
    assert code == 2
    assert f"--token {eoa}: no contract at that address" in err


def test_real_network_deploy_is_governed_by_a_two_day_timelock(app, real_network, stablecoin, tmp_path) -> None:
    w3, manifest = real_network, tmp_path / "deployment.json"
    deployer, governor = w3.eth.accounts[0], w3.eth.accounts[1]
    code, out, err = run(app, "--token", stablecoin, *signer_args(), "--admin", governor,
                         "--manifest", str(manifest))
    assert code == 0, err
    dep = Deployment.from_json(json.loads(out))
    assert dep.to_json() == Deployment.load(manifest).to_json()
    assert set(dep.contracts) == {"AssessmentRegistry", "OutageOracle", "CoverPool", "PolicyBook", "CohortBook",
                                 "Governance"}
    c: dict[str, Any] = {name: dep.contract(w3, name) for name in dep.contracts}
    timelock = c["Governance"].address
    assert c["Governance"].functions.getMinDelay().call() == 2 * 86_400
    assert c["CoverPool"].functions.asset().call() == stablecoin
    assert c["OutageOracle"].functions.config().call() == [1, 2, SIGNERS]
    for name in ("AssessmentRegistry", "OutageOracle", "CoverPool", "PolicyBook"):
        f = c[name].functions
        assert f.hasRole(ZERO32, timelock).call()
        assert not f.hasRole(ZERO32, deployer).call()
        assert not f.hasRole(ZERO32, governor).call()
    assert c["CoverPool"].functions.hasRole(keccak(text="TREASURER_ROLE"), governor).call()
    assert not c["PolicyBook"].functions.hasRole(keccak(text="UNDERWRITER_ROLE"), deployer).call()
    # Run again: the live manifest is reused, nothing is deployed twice.
    block = w3.eth.block_number
    code, out2, err = run(app, "--token", stablecoin, *signer_args(), "--manifest", str(manifest))
    assert code == 0
    assert "already deployed" in err
    assert json.loads(out2) == json.loads(out)
    assert w3.eth.block_number == block


# --- a local chain ------------------------------------------------------------------------------

def test_local_chain_test_token_and_direct_admin(app, chain, tmp_path) -> None:
    code, out, err = run(app, "--local-test-token", "--manifest", str(tmp_path / "m.json"))
    assert code == 0, err
    dep = Deployment.from_json(json.loads(out))
    assert "TestToken" in dep.contracts
    assert "Governance" not in dep.contracts
    book = dep.contract(chain, "PolicyBook").functions
    deployer = chain.eth.accounts[0]
    assert book.hasRole(ZERO32, deployer).call()
    for role in ("UNDERWRITER_ROLE", "DISTRIBUTOR_ROLE", "CLAIMS_ROLE"):
        assert book.hasRole(keccak(text=role), deployer).call()


def test_episode_parameters(app, chain, tmp_path) -> None:
    code, out, err = run(app, "--local-test-token", "--manifest", str(tmp_path / "m.json"))
    assert code == 0, err
    oracle = Deployment.from_json(json.loads(out)).contract(chain, "OutageOracle").functions
    assert (oracle.mergeGap().call(), oracle.finalityDelay().call(), oracle.bucketSeconds().call()) == (300, 60, 60)
    code, out, err = run(app, "--local-test-token", "--merge-gap", "120", "--finality-delay", "20",
                         "--bucket-seconds", "5", "--manifest", str(tmp_path / "n.json"))
    assert code == 0, err
    oracle = Deployment.from_json(json.loads(out)).contract(chain, "OutageOracle").functions
    assert (oracle.mergeGap().call(), oracle.finalityDelay().call(), oracle.bucketSeconds().call()) == (120, 20, 5)
    assert oracle.MAX_BUCKET_SECONDS().call() == ledger_cmd.MAX_BUCKET_SECONDS  # the CLI refuses as the contract


def test_local_chain_with_a_short_governance_delay(app, chain, tmp_path) -> None:
    code, out, err = run(app, "--local-test-token", *signer_args(), "--governance-delay", "60",
                         "--manifest", str(tmp_path / "m.json"))
    assert code == 0, err
    dep = Deployment.from_json(json.loads(out))
    assert dep.contract(chain, "Governance").functions.getMinDelay().call() == 60
    assert dep.contract(chain, "OutageOracle").functions.hasRole(ZERO32, dep.address("Governance")).call()


# --- options that stand for a setting -------------------------------------------------------------

def _commands(cmd: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, cmd
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_every_option_named_after_a_setting_reads_its_variable_and_says_so_in_help() -> None:
    from service.cli import _register
    from service.cli import app as cli

    _register()
    seen = set()
    for path, cmd in _commands(typer.main.get_command(cli)):
        for param in cmd.params:
            if param.name in Settings.model_fields:
                seen.add(param.name)
                variable = f"CYBERCOVER_{param.name.upper()}"
                assert param.envvar == variable, (path, param.name)
                assert variable in runner.invoke(cli, [*path, "--help"], terminal_width=200).stdout, (path, variable)
    assert seen == {"data_dir", "rpc_url", "manifest"}


def test_deploy_reads_the_node_and_the_data_directory_from_the_environment(app, w3, tmp_path, monkeypatch) -> None:
    asked = []
    monkeypatch.setattr(ledger_cmd, "_connect", lambda rpc_url: asked.append(rpc_url) or w3)
    result = runner.invoke(app, ["deploy", "--local-test-token"], env={
        "CYBERCOVER_RPC_URL": "http://node.test:8545", "CYBERCOVER_DATA_DIR": str(tmp_path),
        "CYBERCOVER_MANIFEST": None})
    assert result.exit_code == 0, result.stderr
    assert asked == ["http://node.test:8545"]
    assert Deployment.load(tmp_path / "deployment.json").to_json() == json.loads(result.stdout)
    # An explicit --manifest, or CYBERCOVER_MANIFEST, wins over the data directory.
    result = runner.invoke(app, ["deploy", "--local-test-token"], env={
        "CYBERCOVER_DATA_DIR": str(tmp_path / "unused"), "CYBERCOVER_MANIFEST": str(tmp_path / "m.json")})
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "m.json").exists()
    assert not (tmp_path / "unused").exists()
