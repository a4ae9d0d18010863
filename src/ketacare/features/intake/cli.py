"""``ketacare dose``, ``ketacare schedule`` and ``ketacare eligibility``.

Bad input exits with status 2 and a message naming the option or field; never a traceback.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from ketacare.domain.course.dosing import (
    Override,
    dosing_weight,
    esketamine_dose,
    iv_ketamine_dose,
    round_half_up,
)
from ketacare.domain.course.protocols import Protocol, ProtocolError
from ketacare.domain.course.scheduling import (
    ScheduleConstraints,
    ScheduleError,
    parse_weekdays,
    plan_course,
)
from ketacare.domain.errors import DomainError, InvalidAnswer
from ketacare.domain.intake.eligibility import EligibilityConfig
from ketacare.domain.intake.json_file import intake_from_dict
from ketacare.domain.intake.verdict import IntakeRulesConfig, assess_intake, verdict_to_dict
from ketacare.features.intake.calendar import schedule_to_ics
from ketacare.features.intake.protocol_files import load_protocols

ProtocolDir = Annotated[
    Path | None,
    typer.Option("--protocol-dir", help="Directory of extra clinic protocol files (*.json)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _protocol(protocol_id: str, directory: Path | None) -> Protocol:
    try:
        protocols = load_protocols(directory)
    except DomainError as exc:
        raise _fail(f"--protocol-dir: {exc}") from None
    if protocol_id not in protocols:
        raise _fail(
            f"--protocol: unknown protocol {protocol_id!r}; known: {', '.join(sorted(protocols))}"
        )
    return protocols[protocol_id]


def _option(field: str) -> str:
    return "--" + field.replace("_", "-")


def _domain_fail(exc: DomainError) -> typer.Exit:
    """Map a domain error to ``--option: reason``."""
    if isinstance(exc, InvalidAnswer | ScheduleError):
        return _fail(f"{_option(exc.field)}: {exc.reason}")
    if isinstance(exc, ProtocolError):
        return _fail(f"{_option(exc.field)}: {exc.reason}")
    field, _, reason = str(exc).partition(": ")
    return _fail(f"{_option(field)}: {reason}" if reason else str(exc))


def _print(payload: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(payload, indent=2))
    else:
        for key, value in payload.items():
            typer.echo(f"{key}: {value}")


def dose(
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol id.")],
    weight_kg: Annotated[float, typer.Option("--weight-kg", help="Body weight, kg (30-300).")],
    concentration_mg_per_ml: Annotated[
        float | None, typer.Option("--concentration-mg-per-ml")
    ] = None,
    volume_ml: Annotated[
        float | None, typer.Option("--volume-ml", help="Final infused volume, mL.")
    ] = None,
    mg_per_kg: Annotated[float | None, typer.Option("--mg-per-kg")] = None,
    duration_min: Annotated[float | None, typer.Option("--duration-min")] = None,
    weight_basis: Annotated[
        str | None, typer.Option("--weight-basis", help="actual|ideal|adjusted [U]")
    ] = None,
    height_cm: Annotated[float | None, typer.Option("--height-cm")] = None,
    sex: Annotated[str | None, typer.Option("--sex")] = None,
    dose_mg: Annotated[
        int | None, typer.Option("--dose-mg", help="Esketamine dose wanted.")
    ] = None,
    previous_mg: Annotated[
        list[int] | None,
        typer.Option("--previous-mg", help="Esketamine dose given before (repeat)."),
    ] = None,
    variant: Annotated[str | None, typer.Option("--variant", help="e.g. age-65-plus")] = None,
    override_by: Annotated[
        str | None, typer.Option("--override-by", help="Clinician overriding a limit.")
    ] = None,
    override_reason: Annotated[str | None, typer.Option("--override-reason")] = None,
    protocol_dir: ProtocolDir = None,
    as_json: AsJson = False,
) -> None:
    """Compute a dose (and infusion rate) for a protocol."""
    p = _protocol(protocol, protocol_dir)
    if weight_basis not in (None, "actual", "ideal", "adjusted"):
        raise _fail("--weight-basis: must be actual, ideal or adjusted")
    try:
        override = None
        if override_by or override_reason:
            override = Override(override_by or "", override_reason or "")
        if p.dose.kind == "per_kg":
            d = iv_ketamine_dose(
                p,
                weight_kg,
                mg_per_kg=mg_per_kg,
                weight_basis=weight_basis,  # type: ignore[arg-type]
                height_cm=height_cm,
                sex=sex,
                duration_min=duration_min,
                concentration_mg_per_ml=concentration_mg_per_ml,
                volume_ml=volume_ml,
                override=override,
            )
            payload: dict[str, Any] = {
                "protocol": p.id,
                "protocol_version": p.version,
                "dose_mg": d.dose_mg,
                "duration_min": d.duration_min,
                "rate_ml_per_h": d.rate_ml_per_h,
                "mg_per_kg": d.mg_per_kg,
                "weight_basis": d.weight_basis,
                "dosing_weight_kg": float(round_half_up(d.dosing_weight_kg, Decimal("0.01"))),
                "actual_weight_kg": d.actual_weight_kg,
                "mg_per_kg_actual_weight": float(
                    round_half_up(d.mg_per_kg_actual, Decimal("0.001"))
                ),
                "concentration_mg_per_ml": d.concentration_mg_per_ml,
                "drug_volume_ml": d.drug_volume_ml,
                "volume_ml": d.volume_ml,
                "rounding": d.rounding,
                "reasons": [r.as_dict() for r in d.reasons],
            }
        else:
            iv_only = {
                "--concentration-mg-per-ml": concentration_mg_per_ml,
                "--volume-ml": volume_ml,
                "--mg-per-kg": mg_per_kg,
                "--duration-min": duration_min,
            }
            for name, value in iv_only.items():
                if value is not None:
                    raise _fail(f"{name}: not used by the fixed-dose protocol {p.id}")
            dosing_weight(weight_kg)  # same plausibility check for every protocol
            e = esketamine_dose(p, dose_mg, previous_mg or [], variant=variant, override=override)
            payload = {
                "protocol": p.id,
                "protocol_version": p.version,
                "dose_mg": e.dose_mg,
                "duration_min": None,
                "rate_ml_per_h": None,
                "devices": e.devices,
                "rest_between_devices_min": e.rest_between_devices_min,
                "rounding": "none: fixed 28 mg device steps",
                "reasons": [r.as_dict() for r in e.reasons],
            }
    except DomainError as exc:
        raise _domain_fail(exc) from None
    _print(payload, as_json)


def schedule(
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol id.")],
    start: Annotated[str, typer.Option("--start", help="First possible day, YYYY-MM-DD.")],
    weekdays: Annotated[
        str, typer.Option("--weekdays", help="Allowed days, e.g. mon,wed,fri.")
    ] = "mon,tue,wed,thu,fri",
    closed: Annotated[
        list[str] | None, typer.Option("--closed", help="Closure date (repeat).")
    ] = None,
    min_spacing_hours: Annotated[float | None, typer.Option("--min-spacing-hours")] = None,
    weight_kg: Annotated[float | None, typer.Option("--weight-kg")] = None,
    variant: Annotated[str | None, typer.Option("--variant")] = None,
    ics: Annotated[
        Path | None, typer.Option("--ics", help="Also write an iCalendar file here.")
    ] = None,
    protocol_dir: ProtocolDir = None,
    as_json: AsJson = False,
) -> None:
    """Plan a course calendar from a protocol and a start date."""
    p = _protocol(protocol, protocol_dir)
    try:
        start_day = date.fromisoformat(start)
    except ValueError:
        raise _fail(f"--start: must be a date YYYY-MM-DD, got {start!r}") from None
    closures: set[date] = set()
    for c in closed or []:
        try:
            closures.add(date.fromisoformat(c))
        except ValueError:
            raise _fail(f"--closed: must be a date YYYY-MM-DD, got {c!r}") from None
    try:
        cons = ScheduleConstraints(parse_weekdays(weekdays), frozenset(closures), min_spacing_hours)
        s = plan_course(p, start_day, cons, weight_kg=weight_kg, variant=variant)
    except DomainError as exc:
        raise _domain_fail(exc) from None
    if ics is not None:
        ics.write_text(schedule_to_ics(s, datetime.now(UTC)), "utf-8", newline="")
    sessions = [
        {
            "number": x.number,
            "date": x.day.isoformat(),
            "weekday": x.day.strftime("%a").lower(),
            "phase": x.phase,
            "planned_dose_mg": x.planned_dose_mg,
            "planned_dose": x.dose_label,
        }
        for x in s.sessions
    ]
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "protocol": p.id,
                    "protocol_version": p.version,
                    "start": start_day.isoformat(),
                    "sessions": sessions,
                },
                indent=2,
            )
        )
    else:
        for x in sessions:
            typer.echo(
                f"{x['number']:>3}  {x['date']} {x['weekday']}  "
                f"{x['phase']:<20} {x['planned_dose']}"
            )


def eligibility(
    intake: Annotated[Path, typer.Option("--intake", help="Intake JSON file (docs/intake.md).")],
    bp_max_age_days: Annotated[
        int | None,
        typer.Option(
            "--bp-max-age-days",
            envvar="KETACARE_INTAKE_BP_MAX_AGE_DAYS",
            min=0,
            help="An intake BP older than this (or undated) is unknown [U]; default 30.",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """DSM-5, TRD staging, eligibility and care pathway for an intake file."""
    try:
        data = json.loads(intake.read_text("utf-8"))
    except OSError as exc:
        raise _fail(f"--intake: cannot read {intake}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _fail(f"--intake: {intake} is not valid JSON: {exc}") from None
    try:
        elig = EligibilityConfig()
        if bp_max_age_days is not None:
            elig = dataclasses.replace(elig, bp_max_age_days=bp_max_age_days)
        config = IntakeRulesConfig(eligibility=elig)
        result = verdict_to_dict(assess_intake(intake_from_dict(data), config))
    except InvalidAnswer as exc:
        raise _fail(f"--intake: {intake}: {exc.field}: {exc.reason}") from None
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    dsm = result["dsm5"]
    assert isinstance(dsm, dict)
    typer.echo(f"DSM-5 major depressive episode: {dsm['conclusion']}")
    typer.echo(json.dumps({k: result[k] for k in ("trd", "eligibility", "pathway")}, indent=2))
