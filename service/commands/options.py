"""Command-line options that stand for a setting: the same CYBERCOVER_* variable and default as
`service.settings.Settings`, both shown in `--help`, so a shell configured for the API and the
worker configures every command the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from service.settings import Settings


def setting(name: str, help: str, **kw: Any) -> Any:
    """An option read from the setting `name`'s variable when not given (`default=` overrides
    the setting's own default)."""
    default = kw.pop("default", Settings.model_fields[name].default)
    envvar = Settings.model_config["env_prefix"] + name.upper()
    return typer.Option(default, envvar=envvar, show_envvar=True, help=help, **kw)


MANIFEST_HELP = "Deployment manifest (default: deployment.json in the data directory, CYBERCOVER_DATA_DIR)."


def manifest_path(manifest: Path | None) -> Path:
    """The manifest option, or the settings' default (the data directory's deployment.json)."""
    return manifest or Settings().manifest_path
