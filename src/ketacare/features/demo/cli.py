"""``ketacare demo seed`` (the demo clinic and its logins) and ``ketacare demo generate`` (a
seeded synthetic clinic, labelled synthetic everywhere).

The feature's code is imported inside each command: ``ketacare demo --help`` loads Typer
alone (docs/architecture.md, "CLI start-up")."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from ketacare.features._kit.cli import fail, load_settings

demo_app = typer.Typer(help="Demo clinic.", no_args_is_help=True)


@demo_app.command("seed")
def demo_seed() -> None:
    """Create the demo clinic and its users (idempotent) and print the logins."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features.demo import seed as demo_seed_data

    settings = load_settings()
    with unit_of_work(get_engine(settings.database_url)) as db:
        logins = demo_seed_data.seed(db, settings)
    typer.echo(f"Demo clinic '{settings.clinic_name}' is ready. Logins (demo only):")
    for email, role, password in logins:
        typer.echo(f"  {role:<10} {email}  password: {password}")


@demo_app.command("generate")
def demo_generate(
    patients: Annotated[int, typer.Option("--patients", help="How many patients (1-5000).")] = 60,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same clinic).")] = 1,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when the clinic has patients.")
    ] = False,
) -> None:
    """Fill the clinic with synthetic patients, courses, sessions and PHQ-9 assessments."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features.clinics.repository import get_or_create
    from ketacare.features.demo.generate import GeneratorError, generate, status_line
    from ketacare.features.demo.trajectories import CALIBRATION

    settings = load_settings()
    started = time.monotonic()
    try:
        with unit_of_work(get_engine(settings.database_url)) as db:
            clinic = get_or_create(db, settings.public_clinic, settings.clinic_name)
            result = generate(db, settings, clinic, patients, seed, if_empty=if_empty)
    except GeneratorError as exc:
        raise fail(str(exc)) from None
    if result.skipped:
        typer.echo("the clinic already has patients; nothing generated (--if-empty)")
        return
    typer.echo(
        f"SYNTHETIC data generated in {time.monotonic() - started:.1f} s: {status_line(result)}"
    )
    typer.echo(
        f"calibrated to {CALIBRATION['study']}: about {CALIBRATION['response']:.0%} response "
        f"and {CALIBRATION['remission']:.0%} remission on the PHQ-9 {CALIBRATION['timepoint']}"
    )
