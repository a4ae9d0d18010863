"""Helpers every feature's CLI module shares: the exit-2 failure and the settings at start.

Light to import: a command group's module is imported for its ``--help`` too, so the
settings (pydantic) and the audit keys (SQLAlchemy) load when a command asks for them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from ketacare.settings import Settings


def fail(message: str) -> typer.Exit:
    """Print ``message`` to stderr and return an exit-2 signal to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def load_settings() -> Settings:
    """Settings from the environment, or exit 2 naming the bad variable; registers the
    audit key for the configured database."""
    from pydantic import ValidationError

    from ketacare.db.audit_keys import use_settings
    from ketacare.settings import get_settings

    try:
        settings = get_settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        name = "KETACARE_" + str(err["loc"][0]).upper() if err["loc"] else "KETACARE_*"
        raise fail(f"{name}: {err['msg']}") from None
    use_settings(settings)
    return settings
