"""The `contracts` package's exceptions (decoded reverts are `contracts.reverts.ContractRevert`)."""

from __future__ import annotations


class ContractsError(Exception):
    """Root of every error raised by the `contracts` package."""


class CompilerError(ContractsError):
    """Compilation failed or no usable compiler was found."""


class ArtifactError(ContractsError):
    """A build artifact or deployment manifest is missing or malformed."""


# Failures of `contracts.sender` other than a decoded revert (`contracts.reverts.ContractRevert`).
class CallRejected(ContractsError):
    """The node refused to simulate the call and gave no revert data (a malformed call)."""


class SendFailed(ContractsError):
    """The transaction could not be broadcast (its gas estimate or the node refused it)."""


class NoReceipt(ContractsError):
    """Broadcast, no receipt in time: it may still be mined, so re-broadcast it, never resend it."""


class NonceTaken(NoReceipt):
    """Our transaction's nonce was consumed by another transaction (another process on the same
    account): ours can never be mined, so its items may be sent again. A `NoReceipt` to callers
    that only know that one."""


class TransactionFailed(ContractsError):
    """Mined with status 0, and replaying it as a call named no revert."""
