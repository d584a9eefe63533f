"""What the commands share: the one-line error exit, and options that stand for a setting (its
CYBERCOVER_* variable and default, both shown in `--help`: a shell set up for the API and the
worker sets up every command alike)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import typer

from contracts.redact import redact
from service.settings import Settings

MANIFEST_HELP = "Deployment manifest (default: deployment.json in the data directory, CYBERCOVER_DATA_DIR)."


def setting(name: str, help: str, **kw: Any) -> Any:
    """`default=` overrides the setting's own default."""
    default = kw.pop("default", Settings.model_fields[name].default)
    return typer.Option(default, envvar=f"CYBERCOVER_{name.upper()}", show_envvar=True, help=help, **kw)


def manifest_path(manifest: Path | None) -> Path:
    return manifest or Settings().manifest_path


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {redact(message)}", err=True)
    raise typer.Exit(code)
