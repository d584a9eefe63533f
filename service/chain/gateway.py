"""The chain as the service sees it: a Web3, the deployment, the contracts, the service's
accounts and its one sender, whose failures become service errors here."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from web3 import Web3
from web3.contract import Contract

from contracts.deploy import Deployment
from contracts.errors import CallRejected, ContractsError, NoReceipt, SendFailed, TransactionFailed
from contracts.reverts import ContractRevert, Refusal
from contracts.sender import Account, Pending, Sender
from service.errors import ChainError
from service.settings import Settings

# Forbidden 403, conflict 409, anything else the contract refuses 400. A stale oracle config is final
# for a transmitter (versions only grow), yet to an API client the config moved on: 409.
_STATUS: dict[Refusal | None, int] = {Refusal.FORBIDDEN: 403, Refusal.CONFLICT: 409}
# A refusal the chain's config causes, not the call's own arguments: to an API client a conflict.
_CONFLICTS = frozenset({"OutageOracleStaleConfig"})
_FAILURES = {CallRejected: (400, "bad_call"), SendFailed: (502, "send_failed"), NoReceipt: (502, "no_receipt"),
             TransactionFailed: (502, "reverted")}


def chain_error(exc: ContractsError) -> ChainError:
    """A failed send as the service answers it (`no_receipt`: the outcome is unknown)."""
    if isinstance(exc, ContractRevert):
        status = 409 if exc.name in _CONFLICTS else _STATUS.get(exc.refusal, 400)
        return ChainError(f"the chain refused: {exc}", type=exc.type, status=status)
    status, type_ = _FAILURES.get(type(exc), (502, "chain_error"))
    return ChainError(str(exc), type=type_, status=status)


@dataclass
class Gateway:
    w3: Web3
    deployment: Deployment
    operator: Account  # distributor + underwriter + claims on PolicyBook; pays premiums
    assessor: Account  # accredited on AssessmentRegistry
    sender: Sender = field(init=False)
    gas: int | None = None
    confirmations: int = 0  # the indexer projects a log once this many blocks are on top of it
    stuck_seconds: float | None = 30.0  # then a transaction still unmined is replaced with higher fees
    block_share: float | None = None  # of a block's gas the operator's unmined transactions may take

    def __post_init__(self) -> None:
        self.sender = Sender(self.w3, gas=self.gas, stuck_after=self.stuck_seconds, block_share=self.block_share)
        self.book = self.deployment.contract(self.w3, "PolicyBook")
        self.oracle = self.deployment.contract(self.w3, "OutageOracle")
        self.registry = self.deployment.contract(self.w3, "AssessmentRegistry")
        self.pool = self.deployment.contract(self.w3, "CoverPool")
        # Group covers (CohortBook), on deployments that have it (the manifest names it).
        self.cohorts = (self.deployment.contract(self.w3, "CohortBook")
                        if "CohortBook" in self.deployment.contracts else None)
        # The governance timelock (DEFAULT_ADMIN_ROLE everywhere), on a governed deployment only.
        self.timelock = (self.deployment.contract(self.w3, "Governance")
                         if "Governance" in self.deployment.contracts else None)
        self._episode_params: tuple[int, int] | None = None

    @property
    def contracts(self) -> dict[str, Contract]:
        """The contracts whose events the indexer projects."""
        found = {"PolicyBook": self.book, "OutageOracle": self.oracle, "AssessmentRegistry": self.registry,
                 "CoverPool": self.pool}
        if self.cohorts is not None:
            found["CohortBook"] = self.cohorts
        return found

    def episode_params(self) -> tuple[int, int]:
        """OutageOracle's (mergeGap, finalityDelay): immutables, read once."""
        if self._episode_params is None:
            self._episode_params = (int(self.oracle.functions.mergeGap().call()),
                                    int(self.oracle.functions.finalityDelay().call()))
        return self._episode_params

    def block_time(self, block: Any = "latest") -> int:
        return int(self.w3.eth.get_block(block)["timestamp"])

    @property
    def first_block(self) -> int:
        return self.deployment.first_block

    def now(self) -> int:
        return self.block_time("latest")

    def broadcast(self, fn: Any, account: Account | None = None, gas: int | None = None, *,
                  simulated: bool = False, before_send: Callable[[int], None] | None = None) -> Pending:
        """Sent, not awaited (raises the sender's own errors: pipelines map them per transaction).
        `gas`: the limit, when the caller estimated it already (`Sender.limit`; `simulated`: on
        the pending block, `Sender.estimate`); `before_send`: see `Sender.broadcast`."""
        return self.sender.broadcast(fn, account or self.operator, gas, simulated=simulated, before_send=before_send)

    def wait(self, pending: Pending, alongside: Iterable[Pending] = ()) -> Any:
        return self.sender.wait(pending, alongside)

    def send(self, fn: Any, account: Account | None = None, *,
             before_send: Callable[[int], None] | None = None) -> Any:
        try:
            return self.sender.send(fn, account or self.operator, before_send=before_send)
        except ContractsError as exc:
            raise chain_error(exc) from None


def _account(address: str | None, key: Any, fallback: str) -> Account:
    if key is not None:
        return Account.from_key(key)
    return Account(Web3.to_checksum_address(address or fallback))


def gateway_from_settings(settings: Settings) -> Gateway:
    w3 = Web3(Web3.HTTPProvider(settings.rpc_url, request_kwargs={"timeout": 30}))
    dep = Deployment.load(settings.manifest_path)
    return Gateway(
        w3, dep,
        operator=_account(settings.operator_address, settings.operator_key, dep.deployer),
        assessor=_account(settings.assessor_address, settings.assessor_key, dep.deployer),
        gas=settings.gas_limit, confirmations=settings.confirmations, stuck_seconds=settings.stuck_seconds,
        block_share=settings.block_share,
    )
