"""Reproducible compilation of `contracts/src` through py-solc-x.

The compiler version, EVM version and optimizer settings are pinned here and nowhere else.
The standard-JSON input inlines every source (ours and the OpenZeppelin files they import), so
no import callback or path flag is involved and any solc of the pinned version — native or the
official solcjs build behind `solc_wrapper.js` — produces the same artifacts byte for byte.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
from pathlib import Path
from typing import Any

import solcx
import solcx.install
import solcx.wrapper

from contracts.errors import CompilerError

SOLC_VERSION = "0.8.37"
EVM_VERSION = "prague"
OPTIMIZER_RUNS = 10_000
# Contracts compiled with fewer runs: at 10,000 runs PolicyBook's runtime code is ~26,500 bytes,
# over EIP-170's 24,576; at 800 it is ~22,800 (README, "Compiler and reproducible build").
RUNS_BY_CONTRACT = {"PolicyBook": 800}

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
NODE_MODULES = PROJECT_ROOT / "node_modules"
SRC_DIR = PACKAGE_DIR / "src"
BUILD_DIR = PACKAGE_DIR / "build"
WRAPPER = PACKAGE_DIR / "solc_wrapper.js"

_IMPORT_RE = re.compile(r'^\s*import\s+(?:[^"\']*?from\s+)?["\']([^"\']+)["\']\s*;', re.MULTILINE)


def settings(runs: int = OPTIMIZER_RUNS) -> dict[str, Any]:
    return {
        "evmVersion": EVM_VERSION,
        "optimizer": {"enabled": True, "runs": runs},
        "viaIR": True,
        "metadata": {"bytecodeHash": "ipfs"},
        "outputSelection": {
            "*": {
                "*": [
                    "abi",
                    "metadata",
                    "evm.bytecode.object",
                    "evm.deployedBytecode.object",
                    "evm.deployedBytecode.immutableReferences",
                ]
            }
        },
    }


def _read_source(key: str) -> str:
    """Source keys are `contracts/src/...` for ours and npm import paths for libraries."""
    path = PROJECT_ROOT / key if key.startswith("contracts/") else NODE_MODULES / key
    if not path.is_file():
        raise CompilerError(f"source not found: {key} (looked at {path}); run `npm ci`?")
    return path.read_text(encoding="utf-8")


def collect_sources() -> dict[str, dict[str, str]]:
    """Our sources plus the transitive closure of their imports, keyed as solc would key them."""
    pending = sorted(
        "contracts/src/" + p.relative_to(SRC_DIR).as_posix() for p in SRC_DIR.rglob("*.sol")
    )
    sources: dict[str, dict[str, str]] = {}
    while pending:
        key = pending.pop()
        if key in sources:
            continue
        content = _read_source(key)
        sources[key] = {"content": content}
        for imp in _IMPORT_RE.findall(content):
            if imp.startswith("."):
                imp = posixpath.normpath(posixpath.join(posixpath.dirname(key), imp))
            if imp not in sources:
                pending.append(imp)
    return dict(sorted(sources.items()))


def standard_input(runs: int = OPTIMIZER_RUNS) -> dict[str, Any]:
    return {"language": "Solidity", "sources": collect_sources(), "settings": settings(runs)}


def resolve_solc() -> Path:
    """`CYBERCOVER_SOLC` → a py-solc-x install of the pinned version → solcjs via the wrapper."""
    explicit = os.environ.get("CYBERCOVER_SOLC")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise CompilerError(f"CYBERCOVER_SOLC={explicit} is not a file")
        return path
    try:
        return Path(solcx.install.get_executable(SOLC_VERSION))
    except solcx.exceptions.SolcNotInstalled:
        pass
    if shutil.which("node") is None:
        raise CompilerError("no solc found: set CYBERCOVER_SOLC, or install node and run `npm ci`")
    if not (NODE_MODULES / "solc").is_dir():
        raise CompilerError("npm package `solc` missing: run `npm ci` (or `make setup`)")
    return WRAPPER


def compile_sources() -> dict[str, dict[str, Any]]:
    """Compiles and returns `{contract_name: artifact}` for every contract in contracts/src: one
    pass at `OPTIMIZER_RUNS`, then one per `RUNS_BY_CONTRACT` figure for the contracts it names."""
    solc = resolve_solc()
    version = solcx.wrapper.get_solc_version(solc)
    if str(version) != SOLC_VERSION:
        raise CompilerError(f"{solc} is solc {version}, the build is pinned to {SOLC_VERSION}")
    artifacts = _compile(solc, OPTIMIZER_RUNS)
    for runs in sorted(set(RUNS_BY_CONTRACT.values())):
        names = {n for n, r in RUNS_BY_CONTRACT.items() if r == runs}
        artifacts.update(_compile(solc, runs, names))
    return dict(sorted(artifacts.items()))


def _compile(solc: Path, runs: int, only: set[str] | None = None) -> dict[str, dict[str, Any]]:
    """Artifacts of every contract, or of those named `only` (code is generated for them alone)."""
    request = standard_input(runs)
    if only is not None:
        selected = request["settings"]["outputSelection"]["*"]["*"]
        request["settings"]["outputSelection"] = {"*": dict.fromkeys(sorted(only), selected)}
    try:
        output = solcx.compile_standard(request, solc_binary=solc)
    except solcx.exceptions.SolcError as exc:
        messages = [e["formattedMessage"] for e in exc.error_dict or [] if e["severity"] == "error"]
        raise CompilerError("\n".join(messages) or exc.message) from None
    artifacts: dict[str, dict[str, Any]] = {}
    for source_name, contracts in output["contracts"].items():
        if not source_name.startswith("contracts/src/"):
            continue
        for name, out in contracts.items():
            if only is not None and name not in only:
                continue
            if name in artifacts:
                raise CompilerError(f"two contracts named {name}: names must be unique")
            metadata = json.loads(out["metadata"])
            artifacts[name] = {
                "contractName": name,
                "sourceName": source_name,
                "abi": out["abi"],
                "bytecode": "0x" + out["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + out["evm"]["deployedBytecode"]["object"],
                "immutableReferences": out["evm"]["deployedBytecode"].get("immutableReferences", {}),
                "metadata": out["metadata"],
                "compiler": {
                    "version": metadata["compiler"]["version"],
                    "settings": {k: v for k, v in settings(runs).items() if k != "outputSelection"},
                },
            }
    return artifacts


def render(artifact: dict[str, Any]) -> str:
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def write_artifacts(artifacts: dict[str, dict[str, Any]], build_dir: Path = BUILD_DIR) -> list[Path]:
    build_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stale in build_dir.glob("*.json"):
        if stale.stem not in artifacts:
            stale.unlink()
    for name, artifact in artifacts.items():
        path = build_dir / f"{name}.json"
        text = render(artifact)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def check_artifacts(artifacts: dict[str, dict[str, Any]], build_dir: Path = BUILD_DIR) -> list[str]:
    """Differences between a fresh compile and the committed artifacts (empty = reproducible)."""
    problems = []
    committed = {p.stem for p in build_dir.glob("*.json")}
    for name in sorted(committed - artifacts.keys()):
        problems.append(f"{name}.json is committed but no source produces it")
    for name, artifact in artifacts.items():
        path = build_dir / f"{name}.json"
        if not path.exists():
            problems.append(f"{name}.json is missing from {build_dir}")
        elif path.read_text(encoding="utf-8") != render(artifact):
            problems.append(f"{name}.json differs from a fresh compile")
    return problems
