"""Account commands: ``ketacare user create|set-role|deactivate|reactivate|reset-password``
and ``ketacare token create|list|revoke`` (the admin pages, ``features/admin``, use the same
``auth.service`` functions).

The feature's code is imported inside each command: ``ketacare user --help`` loads Typer
alone (docs/architecture.md, "CLI start-up")."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from ketacare.features._kit.cli import fail, load_settings
from ketacare.features.auth.roles import Role

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ketacare.features.auth.models import User

user_app = typer.Typer(help="User accounts.", no_args_is_help=True)
token_app = typer.Typer(help="Personal API tokens.", no_args_is_help=True)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="Login email (unique).")],
    role: Annotated[Role, typer.Option(help="admin, clinician, nurse or patient.")],
    clinic: Annotated[str, typer.Option(help="Clinic slug; created if it does not exist.")],
    clinic_name: Annotated[str | None, typer.Option(help="Name for a new clinic.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a user in a clinic (the password is prompted for, or read from stdin)."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features.auth import service
    from ketacare.features.clinics.repository import get_or_create

    settings = load_settings()
    slug = clinic.strip().lower()
    if not slug or not all(ch.isalnum() or ch in "-_" for ch in slug):
        raise fail("--clinic: use letters, digits, '-' or '_'")
    password = _read_password(password_stdin)
    try:
        with unit_of_work(get_engine(settings.database_url)) as db:
            owner = get_or_create(db, slug, clinic_name or slug)
            user = service.create_user(db, owner, email, role, password)
            typer.echo(f"created {user.role.value} {user.email} in clinic '{owner.slug}'")
    except service.AccountError as exc:
        raise fail(f"--{exc.field}: {exc.reason}") from None


def _change(email: str, change: Callable[[Session, User], str]) -> None:
    """Run ``change`` on the user with ``email`` in one transaction; print what it says."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features.auth import service

    settings = load_settings()
    try:
        with unit_of_work(get_engine(settings.database_url)) as db:
            user = service.user_by_email(db, email)
            if user is None:
                raise service.AccountError("email", "no such user")
            said = change(db, user)
    except service.AccountError as exc:
        raise fail(f"--{exc.field}: {exc.reason}") from None
    typer.echo(said)


Email = Annotated[str, typer.Option(help="The account's login email.")]


@user_app.command("set-role")
def user_set_role(
    email: Email,
    role: Annotated[Role, typer.Option(help="admin, clinician, nurse, billing or frontdesk.")],
) -> None:
    """Give an account another role (a clinic keeps at least one active admin)."""
    from ketacare.features.auth import service

    def change(db: Session, user: User) -> str:
        service.change_role(db, user, role)
        return f"{user.email} is now {role.value}"

    _change(email, change)


@user_app.command("deactivate")
def user_deactivate(email: Email) -> None:
    """Deactivate an account: its sessions end and its API tokens stop working."""
    from ketacare.features.auth import service

    def change(db: Session, user: User) -> str:
        service.set_active(db, user, False)
        return f"{user.email} deactivated"

    _change(email, change)


@user_app.command("reactivate")
def user_reactivate(email: Email) -> None:
    """Reactivate a deactivated account."""
    from ketacare.features.auth import service

    def change(db: Session, user: User) -> str:
        service.set_active(db, user, True)
        return f"{user.email} reactivated"

    _change(email, change)


@user_app.command("reset-password")
def user_reset_password(email: Email) -> None:
    """Print a new temporary password (shown once) and log the account out everywhere."""
    from ketacare.features.auth import service

    def change(db: Session, user: User) -> str:
        if not user.is_active:
            raise service.AccountError("email", "the account is deactivated")
        return service.reset_password(db, user)

    _change(email, change)


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Option(help="The user the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for.")],
) -> None:
    """Create a personal API token and print it (it is shown only once)."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features.auth import service

    settings = load_settings()
    try:
        with unit_of_work(get_engine(settings.database_url)) as db:
            user = service.user_by_email(db, email)
            if user is None:
                raise service.AccountError("email", "no such user")
            token = service.create_api_token(db, settings.secret_key.get_secret_value(), user, name)
    except service.AccountError as exc:
        raise fail(f"--{exc.field}: {exc.reason}") from None
    typer.echo(token)


@token_app.command("list")
def token_list(email: Annotated[str, typer.Option(help="Whose tokens.")]) -> None:
    """List a user's API tokens (never the tokens themselves)."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features.auth import service

    settings = load_settings()
    with unit_of_work(get_engine(settings.database_url)) as db:
        user = service.user_by_email(db, email)
        if user is None:
            raise fail("--email: no such user")
        for tok in service.api_tokens(db, user):
            state = "revoked" if tok.revoked_at else "active"
            typer.echo(f"{tok.id}\t{state}\t{tok.name}\tcreated {tok.created_at:%Y-%m-%d}")


@token_app.command("revoke")
def token_revoke(
    email: Annotated[str, typer.Option(help="Whose token.")],
    token_id: Annotated[int, typer.Option("--id", help="Token id from 'token list'.")],
) -> None:
    """Revoke one API token."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features.auth import service

    settings = load_settings()
    with unit_of_work(get_engine(settings.database_url)) as db:
        user = service.user_by_email(db, email)
        if user is None:
            raise fail("--email: no such user")
        if not service.revoke_api_token(db, user, token_id):
            raise fail("--id: no such active token")
    typer.echo(f"revoked token {token_id}")
