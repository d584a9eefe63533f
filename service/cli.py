"""The `cybercover` command. Each concern registers its own Typer sub-app or commands here."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help="cybercover: parametric micro cyber covers")


def _register() -> None:
    # Imported lazily so `cybercover --help` stays fast and one broken concern is visible.
    from service.assessment import cli as assess_cli
    from service.commands import demo, ledger, policy, report, serve, up

    for concern in (ledger, assess_cli, report, policy, serve, up, demo):
        concern.register(app)


def main() -> None:
    _register()
    app()
