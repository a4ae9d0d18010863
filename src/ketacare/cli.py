"""The ``ketacare`` command line (Typer). Bad input exits with status 2 and a message.

Start-up is lazy: this module imports Typer and nothing of ketacare. Every command and command
group is declared in :data:`COMMANDS` by name, its one-line help and where it lives; the
feature's ``cli`` module (and with it SQLAlchemy, FastAPI, matplotlib, fpdf2, …) is imported only
when that command runs or its own ``--help`` is asked for. ``ketacare --help`` lists the help
lines written here; tests/test_cli_lazy.py checks that they match the real commands.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import typer
from typer import _click  # Typer >= 0.26 vendors Click; its types are typer._click's
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class Lazy:
    """A command (``module:function``) or a command group (``module:typer_app``), not imported."""

    help: str
    target: str
    group: bool = True


def _resolve(target: str) -> object:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


F = "ketacare.features"
# Order is the order of ``ketacare --help``: single commands first, then groups.
COMMANDS: dict[str, Lazy] = {
    "serve": Lazy(
        "Start the web server (refuses to start when the database is not migrated).",
        f"{F}.system.cli:serve",
        group=False,
    ),
    "backup": Lazy(
        "Write a consistent online snapshot of the database (SQLite backup API or pg_dump).",
        f"{F}.system.cli:backup_command",
        group=False,
    ),
    "restore": Lazy(
        "Load a backup into an empty database (the configured KETACARE_DATABASE_URL).",
        f"{F}.system.cli:restore_command",
        group=False,
    ),
    "dose": Lazy(
        "Compute a dose (and infusion rate) for a protocol.", f"{F}.intake.cli:dose", group=False
    ),
    "schedule": Lazy(
        "Plan a course calendar from a protocol and a start date.",
        f"{F}.intake.cli:schedule",
        group=False,
    ),
    "eligibility": Lazy(
        "DSM-5, TRD staging, eligibility and care pathway for an intake file.",
        f"{F}.intake.cli:eligibility",
        group=False,
    ),
    "score": Lazy(
        "Score one response (prints JSON) or a CSV file of responses.",
        f"{F}.instruments.score_cli:score",
        group=False,
    ),
    "research-export": Lazy(
        "Research CSV of a clinic's assessments or sessions (audited).",
        f"{F}.interop.cli:research_export",
        group=False,
    ),
    "config": Lazy("Show the configuration.", f"{F}.system.cli:config_app"),
    "db": Lazy("Database migrations.", f"{F}.system.cli:db_app"),
    "demo": Lazy("Demo clinic.", f"{F}.demo.cli:demo_app"),
    "user": Lazy("User accounts.", f"{F}.auth.cli:user_app"),
    "token": Lazy("Personal API tokens.", f"{F}.auth.cli:token_app"),
    "audit": Lazy("The tamper-evident audit log.", f"{F}.audit.cli:audit_app"),
    "pk": Lazy(
        "Pharmacokinetic predictions (decision support, not dosing guidance).",
        f"{F}.pk.cli:pk_app",
    ),
    "instruments": Lazy(
        "Rating scales and questionnaires.", f"{F}.instruments.cli:instruments_app"
    ),
    "alerts": Lazy(
        "Measurement-based care jobs: alert escalation and assessment links.",
        f"{F}.assessments.cli:alerts_app",
    ),
    "analytics": Lazy(
        "Clinic outcome analytics (response, remission, Kaplan–Meier).",
        f"{F}.reports.outcomes_cli:analytics_app",
    ),
    "report": Lazy(
        "Patient progress and clinic outcomes reports (PDF).", f"{F}.reports.cli:report_app"
    ),
    "fhir": Lazy("FHIR R4 export and import.", f"{F}.interop.cli:fhir_app"),
    "clinic": Lazy("Clinics (time zone).", f"{F}.clinics.cli:clinic_app"),
}


def _registered() -> None:
    """Add the commands that feature packages declare in their ``feature.py``."""
    from ketacare.features import registry

    for feature in registry.features():
        for name, command in feature.commands.items():
            assert name not in COMMANDS, f"two commands named {name!r}"
            COMMANDS[name] = Lazy(command.help, command.target, group=command.group)


_registered()

_loaded: dict[str, _click.Command] = {}


def _root() -> None:
    """Makes an app a group although its commands are registered lazily."""


def load(name: str) -> _click.Command:
    """Import the feature that owns ``name`` and build its Click command (once per process)."""
    if name not in _loaded:
        entry = COMMANDS[name]
        found = _resolve(entry.target)
        # Register on a throw-away parent, as ``add_typer``/``command`` on the root did, so a
        # group with one command stays a group and Typer applies the same settings.
        parent = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        parent.callback()(_root)
        if entry.group:
            sub = found() if callable(found) and not isinstance(found, typer.Typer) else found
            assert isinstance(sub, typer.Typer), entry.target
            parent.add_typer(sub, name=name)
        else:
            assert callable(found), entry.target
            parent.command(name)(found)
        root = typer.main.get_command(parent)
        assert isinstance(root, TyperGroup)
        _loaded[name] = root.commands[name]
    return _loaded[name]


class LazyGroup(TyperGroup):
    """Lists every entry of :data:`COMMANDS` from its help line; imports one only to run it."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, entry in COMMANDS.items():  # stubs: for the listing and typo suggestions
            self.commands.setdefault(name, TyperCommand(name, help=entry.help))

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        return _loaded.get(cmd_name) or super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: _click.Context, args: list[str]
    ) -> tuple[str | None, _click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name in COMMANDS:
            command = load(name)
        return name, command, rest


app = typer.Typer(
    name="ketacare",
    cls=LazyGroup,
    help="ketacare: ketamine and esketamine clinic platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

app.callback()(_root)


def main() -> None:
    """Console-script entry point."""
    app()
