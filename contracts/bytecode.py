"""Does the code at a deployed address match the committed artifact (and so the sources)?

Immutable variables are written into the runtime code at deployment, so those byte ranges
(listed by the compiler as `immutableReferences`) are masked on both sides before comparing.
"""

from __future__ import annotations

from typing import Any

from web3 import Web3

from contracts import artifacts
from contracts.deploy import Deployment


def _masked(code: bytes, refs: dict[str, list[dict[str, int]]]) -> bytes:
    out = bytearray(code)
    for ranges in refs.values():
        for r in ranges:
            out[r["start"]:r["start"] + r["length"]] = bytes(r["length"])
    return bytes(out)


def check(w3: Web3, dep: Deployment) -> dict[str, dict[str, Any]]:
    """Per deployed contract: whether its runtime code equals the artifact's, immutables masked."""
    result = {}
    for name, info in sorted(dep.contracts.items()):
        art = artifacts.load_artifact(name)
        expected = bytes.fromhex(art["deployedBytecode"][2:])
        actual = bytes(w3.eth.get_code(info.address))
        refs = art.get("immutableReferences", {})
        same = len(actual) == len(expected) and _masked(actual, refs) == _masked(expected, refs)
        result[name] = {"address": info.address, "match": same, "code_bytes": len(actual),
                        "artifact_sha256": artifacts.artifact_sha256(name),
                        "manifest_artifact_sha256": info.artifact_sha256}
    return result
