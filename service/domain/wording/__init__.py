"""The policy wording: each cover's schedule (document), its hash, its HTML page and its check
against the chain."""

from service.domain.wording.document import (
    ISSUANCE,
    PER_COVER,
    SCHEMA,
    Basis,
    Covers,
    Maintenance,
    Token,
    common,
    for_cover,
    schedule,
    schedule_hash,
)
from service.domain.wording.html import LANGS, render_html

__all__ = ["ISSUANCE", "LANGS", "PER_COVER", "SCHEMA", "Basis", "Covers", "Maintenance", "Token", "common", "for_cover",
           "render_html", "schedule", "schedule_hash"]
