"""The ``ketacare`` command line (Typer). Bad input exits with status 2 and a message.

Start-up is lazy: this module imports Typer and the feature registry, nothing else of ketacare.
Every command and command group is declared once, in its feature's ``feature.py``
(:mod:`ketacare.features.registry`), by name, its one-line help and where it lives; the
feature's ``cli`` module (and with it SQLAlchemy, FastAPI, matplotlib, fpdf2, …) is imported only
when that command runs or its own ``--help`` is asked for. ``ketacare --help`` lists the help
lines declared there; tests/test_cli_lazy.py checks that they match the real commands.
"""

from __future__ import annotations

from typing import Any

import typer
from typer import _click  # Typer >= 0.26 vendors Click; its types are typer._click's
from typer.core import TyperCommand, TyperGroup

from ketacare.features import registry
from ketacare.features.registry import Command


def _commands() -> dict[str, Command]:
    """Every feature's commands: single commands first, then groups, in registry order."""
    declared = [(n, c) for feature in registry.features() for n, c in feature.commands.items()]
    names = [n for n, _ in declared]
    assert len(names) == len(set(names)), f"two commands with one name: {sorted(names)}"
    return dict(sorted(declared, key=lambda item: item[1].group))


#: Name -> declaration (help line, ``module:attribute`` target), from the feature registry.
COMMANDS: dict[str, Command] = _commands()

_loaded: dict[str, _click.Command] = {}


def _root() -> None:
    """Makes an app a group although its commands are registered lazily."""


def load(name: str) -> _click.Command:
    """Import the feature that owns ``name`` and build its Click command (once per process)."""
    if name not in _loaded:
        entry = COMMANDS[name]
        found = registry.resolve(entry.target)
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
