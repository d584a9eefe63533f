"""Deploys and wires the cybercover contracts; records a deployment manifest.

The manifest (chain id, addresses, deployment blocks and transactions, artifact hashes) is
what every other process reads to find the contracts, and what an auditor uses to match the
deployed bytecode to the committed artifacts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.contract import Contract

from contracts import artifacts
from contracts.errors import ArtifactError
from contracts.sender import send

ZERO_ADDRESS = "0x" + "00" * 20
# Development chains (anvil/hardhat, ganache/geth --dev, eth-tester): anything else is a real
# network, where `cybercover deploy` insists on a real payout asset, an oracle set and a timelock.
LOCAL_CHAIN_IDS = frozenset({31337, 1337, 131277322940537})


# Roles handed over with DEFAULT_ADMIN_ROLE (to the timelock on a governed deployment): list a
# contract's new admin-like role here. TREASURER_ROLE goes to the insurer instead: withdrawing
# free capital (never locked or owed) and sweeping surplus need no delay.
DELAYED_ROLES = ("ACCREDITOR_ROLE",)
DIRECT_ROLES = ("TREASURER_ROLE",)


def is_local_chain(chain_id: int) -> bool:
    return chain_id in LOCAL_CHAIN_IDS


@dataclass
class Deployed:
    address: str
    block: int
    tx: str
    artifact_sha256: str


@dataclass
class Deployment:
    chain_id: int
    deployer: str
    contracts: dict[str, Deployed] = field(default_factory=dict)

    def address(self, name: str) -> str:
        return self.contracts[name].address

    def contract(self, w3: Web3, name: str) -> Contract:
        return artifacts.contract(w3, name, self.address(name))  # type: ignore[return-value]

    @property
    def first_block(self) -> int:
        return min(d.block for d in self.contracts.values())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")
        tmp.replace(path)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        return cls(
            chain_id=int(data["chain_id"]),
            deployer=data["deployer"],
            contracts={k: Deployed(**v) for k, v in data["contracts"].items()},
        )

    @classmethod
    def load(cls, path: Path) -> Deployment:
        try:
            return cls.from_json(json.loads(Path(path).read_text()))
        except FileNotFoundError:
            raise ArtifactError(f"no deployment manifest at {path}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"malformed deployment manifest {path}: {exc}") from None


def live_deployment(w3: Web3, manifest: Path) -> Deployment | None:
    """The manifest's deployment if it is for this chain and all its contracts have code."""
    if not Path(manifest).exists():
        return None
    dep = Deployment.load(manifest)
    if dep.chain_id != w3.eth.chain_id or not all(w3.eth.get_code(d.address) for d in dep.contracts.values()):
        return None
    return dep


# Windows up to 5 minutes apart are one outage (the nodes' close-after hysteresis is shorter);
# an episode's start is final after 60 s, several transmit intervals of an honest node.
DEFAULT_MERGE_GAP = 300
DEFAULT_FINALITY_DELAY = 60
# The oracle nodes' verdict bucket (DESIGN.md's verified-outage rule): one UTC minute.
DEFAULT_BUCKET_SECONDS = 60


def _deploy_one(w3: Web3, dep: Deployment, name: str, *args: Any) -> Contract:
    """Deploys `name` from `dep.deployer` and records it in `dep`."""
    factory = artifacts.contract(w3, name)
    receipt = send(w3, factory.constructor(*args), dep.deployer)  # type: ignore[union-attr]
    address = receipt["contractAddress"]
    dep.contracts[name] = Deployed(
        address=address,
        block=receipt["blockNumber"],
        tx=receipt["transactionHash"].to_0x_hex(),
        artifact_sha256=artifacts.artifact_sha256(name),
    )
    return artifacts.contract(w3, name, address)  # type: ignore[return-value]


def deploy(
    w3: Web3,
    deployer: str,
    *,
    admin: str | None = None,
    token: str | None = None,
    oracle_signers: Sequence[str] = (),
    quorum: int = 0,
    underwriters: Sequence[str] = (),
    distributors: Sequence[str] = (),
    claims: Sequence[str] = (),
    maintenance_admins: Sequence[str] | None = None,
    merge_gap: int = DEFAULT_MERGE_GAP,
    finality_delay: int = DEFAULT_FINALITY_DELAY,
    bucket_seconds: int = DEFAULT_BUCKET_SECONDS,
    manifest_path: Path | None = None,
    governance_delay: int | None = None,
    proposers: Sequence[str] = (),
    assessors: Sequence[tuple[str, int]] = (),
) -> Deployment:
    """Deploys registry, oracle, pool, book and cohort book (and a TestToken when no `token` is
    given), grants the pool's BOOK_ROLE to both books, and optionally sets the oracle config and roles.
    `deployer` must be able to send (an unlocked node account or a signing middleware) and
    becomes admin unless `admin` is given (then roles are granted before handing over).
    `merge_gap` / `finality_delay` are the OutageOracle's episode parameters and `bucket_seconds`
    its nodes' verdict bucket (seconds; the nodes check theirs against it at start).
    `maintenance_admins` get the oracle's MAINTENANCE_ADMIN_ROLE (who sets each service's
    maintenance rules: underwriting terms, so by default the underwriters, i.e. the service
    account). It is an operational role like those of the book: it stays with them on a governed
    deployment, whose timelock (DEFAULT_ADMIN_ROLE) alone declares excluded events.

    `governance_delay=None` keeps that direct admin (unit-test fixtures, local chains). An int
    also deploys `Governance` (a TimelockController with that minimum delay in seconds; `admin`
    is its proposer, canceller and executor; it administers itself), does the setup above
    directly, then hands every admin role (DEFAULT_ADMIN_ROLE everywhere, ACCREDITOR_ROLE) to the
    timelock and TREASURER_ROLE to `admin`, and renounces all of the deployer's roles. Changes
    after that (role grants, `OutageOracle.setConfig`, `setAssessor`) go through the timelock:
    `contracts.governance.schedule` / `execute` / `govern`. `proposers` are further proposers,
    cancellers and executors of the timelock besides `admin` (e.g. the service's account, whose
    accreditation and excluded-event routes schedule and execute); `assessors` are
    `(address, capability)` pairs accredited directly, as part of the initial setup."""
    if governance_delay is not None and governance_delay < 0:
        raise ValueError(f"governance_delay must be ≥ 0 seconds, not {governance_delay}")
    admin = admin or deployer
    dep = Deployment(chain_id=w3.eth.chain_id, deployer=deployer)
    if token is None:
        token = _deploy_one(w3, dep, "TestToken", "CyberCover Test USD", "cUSD", 6).address
    registry = _deploy_one(w3, dep, "AssessmentRegistry", deployer)
    oracle = _deploy_one(w3, dep, "OutageOracle", deployer, merge_gap, finality_delay, bucket_seconds)
    pool = _deploy_one(w3, dep, "CoverPool", token, deployer)
    book = _deploy_one(w3, dep, "PolicyBook", pool.address, oracle.address, registry.address, deployer)
    cohorts = _deploy_one(w3, dep, "CohortBook", book.address)
    book_role = pool.functions.BOOK_ROLE().call()
    send(w3, pool.functions.grantRole(book_role, book.address), deployer)
    send(w3, pool.functions.grantRole(book_role, cohorts.address), deployer)
    if oracle_signers:
        send(w3, oracle.functions.setConfig(list(oracle_signers), quorum), deployer)
    for role, members in (
        ("UNDERWRITER_ROLE", underwriters),
        ("DISTRIBUTOR_ROLE", distributors),
        ("CLAIMS_ROLE", claims),
    ):
        role_id = getattr(book.functions, role)().call()
        for member in members:
            send(w3, book.functions.grantRole(role_id, member), deployer)
    maintenance_role = oracle.functions.MAINTENANCE_ADMIN_ROLE().call()
    for member in underwriters if maintenance_admins is None else maintenance_admins:
        send(w3, oracle.functions.grantRole(maintenance_role, member), deployer)
    for assessor, capability in assessors:
        send(w3, registry.functions.setAssessor(assessor, capability), deployer)
    if governance_delay is not None:
        governors = list(dict.fromkeys([admin, *proposers]))
        timelock = _deploy_one(w3, dep, "Governance", governance_delay, governors, governors, ZERO_ADDRESS)
        _hand_over(w3, deployer, timelock.address, registry, oracle, pool, book, treasurer=admin)
    elif admin != deployer:
        _hand_over(w3, deployer, admin, registry, oracle, pool, book)
    if manifest_path is not None:
        dep.write(manifest_path)
    return dep


def _hand_over(w3: Web3, deployer: str, admin: str, *contracts: Contract, treasurer: str | None = None) -> None:
    """Grants every admin role of the deployer to `admin` (TREASURER_ROLE to `treasurer` if
    given), then renounces the deployer's; DEFAULT_ADMIN_ROLE goes last."""
    for c in contracts:
        holders = {}
        named = [(r, admin) for r in DELAYED_ROLES] + [(r, treasurer or admin) for r in DIRECT_ROLES]
        for extra, to in named:
            if any(i.get("name") == extra for i in c.abi):
                holders[getattr(c.functions, extra)().call()] = to
        holders[c.functions.DEFAULT_ADMIN_ROLE().call()] = admin
        moving = [(role, to) for role, to in holders.items() if to.lower() != deployer.lower()]
        for role, to in moving:
            send(w3, c.functions.grantRole(role, to), deployer)
        for role, _ in moving:
            send(w3, c.functions.renounceRole(role, deployer), deployer)
