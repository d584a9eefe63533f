"""The `contracts` package's exception root and revert decoding."""

from __future__ import annotations


class ContractsError(Exception):
    """Root of every error raised by the `contracts` package."""


class CompilerError(ContractsError):
    """Compilation failed or no usable compiler was found."""


class ArtifactError(ContractsError):
    """A build artifact or deployment manifest is missing or malformed."""
