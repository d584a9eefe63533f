"""Salted commitment to the assessed organisation, so no personal data reaches the chain.

commitment = keccak256(salt ‖ utf8(org identifier)). The 32-byte salt stays with the insurer
(off-chain): without it a public commitment cannot be matched against a list of known
registration numbers; with it, the holder can prove which organisation was assessed.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass

from eth_utils.crypto import keccak

from service.assessment.errors import AssessmentError

SALT_BYTES = 32


@dataclass(frozen=True, slots=True)
class SubjectCommitment:
    commitment: bytes
    salt: bytes  # secret: store with the policy file, never in the report


def _check_identifier(org_identifier: str) -> bytes:
    # One spelling per organisation, or the commitment could not be re-derived later.
    if not org_identifier or org_identifier != org_identifier.strip():
        raise AssessmentError("org identifier must be non-empty without surrounding whitespace")
    if unicodedata.normalize("NFC", org_identifier) != org_identifier:
        raise AssessmentError("org identifier must be in Unicode NFC form")
    return org_identifier.encode("utf-8")


def subject_commitment(salt: bytes, org_identifier: str) -> bytes:
    if len(salt) != SALT_BYTES:
        raise AssessmentError(f"salt must be {SALT_BYTES} bytes, got {len(salt)}")
    return keccak(salt + _check_identifier(org_identifier))


def commit_subject(org_identifier: str, salt: bytes | None = None) -> SubjectCommitment:
    """Commit with a fresh random salt unless one is given (to re-derive an existing one)."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    return SubjectCommitment(subject_commitment(salt, org_identifier), salt)
