"""Loading the committed build artifacts and binding them to a `Web3`."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from web3 import Web3
from web3.contract import Contract

from contracts.compiler import BUILD_DIR
from contracts.errors import ArtifactError

# Contracts `deploy` puts on a chain, in deployment order.
DEPLOYED = ("TestToken", "AssessmentRegistry", "OutageOracle", "CoverPool", "PolicyBook", "Governance")


@cache
def load_artifact(name: str) -> dict[str, Any]:
    path = BUILD_DIR / f"{name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"no artifact {path}; run `cybercover compile`") from None


def abi(name: str) -> list[dict[str, Any]]:
    return load_artifact(name)["abi"]


def artifact_sha256(name: str) -> str:
    return hashlib.sha256((BUILD_DIR / f"{name}.json").read_bytes()).hexdigest()


def contract(w3: Web3, name: str, address: str | None = None) -> type[Contract] | Contract:
    """A contract factory (no address) or a bound instance."""
    art = load_artifact(name)
    if address is None:
        return w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=art["abi"])


def all_artifact_names() -> list[str]:
    return sorted(p.stem for p in BUILD_DIR.glob("*.json"))
