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


class TransactionFailed(ContractsError):
    """Mined with status 0, and replaying it as a call named no revert."""
