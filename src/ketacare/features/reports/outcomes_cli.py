"""``ketacare analytics outcomes``: clinic outcomes from exported files or the database.

File mode reads ``--assessments`` (``patient_id, date, instrument, total``), ``--sessions``
(``patient_id, date, protocol``) and optionally ``--patients`` (``patient_id, sex, age``).
Without ``--assessments`` the command reads the installation's clinic from the database
(:func:`ketacare.features.reports.cli.cohort_loader`, audited; imported only then, so file
mode loads no database code). Bad input exits with status 2 and a message naming file, line
and column.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from ketacare.domain.analytics import (
        AssessmentTable,
        BreakdownKey,
        OutcomeAnalysis,
        OutcomeSummary,
        PatientTable,
        Proportion,
        PublishedRate,
        SessionTable,
        TimepointOutcome,
    )

__all__ = ["analytics_app", "render_table"]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _days(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise _fail(f"--timepoints: {text!r} is not a comma-separated list of days") from None
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise _fail("--timepoints: give one or more days > 0, e.g. 14,28,42")
    return values


def _pct(p: Proportion | None) -> str:
    if p is None or p.rate is None or p.ci is None:
        return "–"
    lo, hi = p.ci
    return f"{p.rate:.1%} ({lo:.1%}–{hi:.1%}) {p.k}/{p.n}"


def _change(t: TimepointOutcome) -> str:
    c = t.change
    if c.mean is None:
        return "–"
    sd = "–" if c.sd is None else f"{c.sd:.1f}"
    return f"{c.mean:+.1f} (SD {sd})"


def _summary_table(s: OutcomeSummary, title: str) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in ("timepoint", "observed", "response % (95% CI) k/n", "remission % (95% CI) k/n",
                "mean change (SD)"):  # fmt: skip
        table.add_column(col)
    for t in (s.end_of_induction, *s.timepoints, s.ever):
        label = t.label.replace("_", " ")
        table.add_row(
            label, f"{t.n_observed}/{t.n_eligible}", _pct(t.response), _pct(t.remission),
            _change(t),
        )  # fmt: skip
    return table


def render_table(result: OutcomeAnalysis, console: Console) -> None:
    """Print the analysis as rich tables, with the definitions under the figures."""
    from rich.table import Table

    d, o = result.definitions, result.overall
    console.print(
        f"[bold]{d.instrument_name} outcomes[/bold]: {o.n_patients} patients treated, "
        f"{o.n_analysable} with a baseline"
    )
    console.print(f"Induction completed: {_pct(o.induction_completed)}")
    console.print(f"Dropout after the first session: {_pct(o.dropout_after_first)}")
    console.print(_summary_table(o, "Response and remission"))
    km = o.time_to_response
    med = "not reached" if km.median_days is None else f"{km.median_days:g} days"
    console.print(f"Time to response (Kaplan–Meier): n {km.n}, {km.n_events} events, median {med}")
    for t in o.timepoints:
        if t.day is not None:
            console.print(
                f"  KM probability of response by day {t.day:g}: {o.km_response_by(t.day):.1%}"
            )
    if o.time_to_relapse is not None:
        kr = o.time_to_relapse
        med = "not reached" if kr.median_days is None else f"{kr.median_days:g} days"
        console.print(
            f"Time to relapse after first {d.relapse_origin} (Kaplan–Meier): n {kr.n}, "
            f"{kr.n_events} relapses, median {med}"
        )
    for key, groups in result.breakdowns.items():
        table = Table(title=f"By {key} (end of induction)", title_justify="left")
        for col in (key, "patients", "induction completed", "response", "remission"):
            table.add_column(col)
        for g in groups:
            e = g.end_of_induction
            table.add_row(
                g.group, str(g.n_patients), _pct(g.induction_completed), _pct(e.response),
                _pct(e.remission),
            )  # fmt: skip
        console.print(table)
    if result.published:
        table = Table(title="Published rates beside this clinic (end of induction)",
                      title_justify="left")  # fmt: skip
        for col in ("study", "arm/design", "n", "timepoint", "response %", "remission %",
                    "not comparable because"):  # fmt: skip
            table.add_column(col, overflow="fold")
        for c in result.published:
            p = c.published
            table.add_row(
                p.study, p.design[:40], str(p.n), p.timepoint,
                "–" if p.response_pct is None else f"{p.response_pct:g}",
                "–" if p.remission_pct is None else f"{p.remission_pct:g}",
                "; ".join(c.differences),
            )  # fmt: skip
        console.print(table)
        console.print(f"This clinic: response {_pct(o.end_of_induction.response)}, "
                      f"remission {_pct(o.end_of_induction.remission)}")  # fmt: skip
    console.print("[bold]Definitions[/bold]")
    for name, text in (
        ("Baseline", d.baseline), ("Response", d.response), ("Remission", d.remission),
        ("Relapse", d.relapse), ("Timepoints", d.timepoints),
        ("End of induction", d.end_of_induction), ("Denominator", d.denominator),
        ("Dropout", d.dropout), ("Time to response", d.time_to_response),
        ("Intervals", d.interval),
    ):  # fmt: skip
        console.print(f"  {name}: {text or 'not defined for this instrument'}")
    for u in d.unverified:
        console.print(f"  Unverified: {u}")
    if result.patients.n_assessments_untreated:
        console.print(
            f"  {result.patients.n_assessments_untreated} assessments of patients without a "
            "session were left out"
        )


analytics_app = typer.Typer(
    name="analytics",
    help="Clinic outcome analytics (response, remission, Kaplan–Meier).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _database_tables(instrument: str) -> tuple[AssessmentTable, SessionTable, PatientTable | None]:
    from ketacare.features.reports.cli import cohort_loader  # the database, only when asked

    return cohort_loader(instrument)


@analytics_app.callback()
def _group() -> None:
    """Clinic outcome analytics (response, remission, Kaplan–Meier)."""


@analytics_app.command("outcomes")
def outcomes(
    assessments: Annotated[
        Path | None,
        typer.Option("--assessments", help="CSV: patient_id, date, instrument, total."),
    ] = None,
    sessions: Annotated[
        Path | None, typer.Option("--sessions", help="CSV: patient_id, date, protocol.")
    ] = None,
    patients: Annotated[
        Path | None, typer.Option("--patients", help="Optional CSV: patient_id, sex, age.")
    ] = None,
    instrument: Annotated[
        str, typer.Option("--instrument", help="Instrument id, e.g. phq9, madrs.")
    ] = "phq9",
    by: Annotated[
        list[str] | None,
        typer.Option("--by", help="Breakdown: protocol, sex or age-band (repeatable)."),
    ] = None,
    timepoints: Annotated[
        str, typer.Option("--timepoints", help="Days after the first session.")
    ] = "14,28,42",
    window_days: Annotated[
        float, typer.Option("--window-days", min=0.0, help="± days around each timepoint.")
    ] = 7.0,
    remission_threshold: Annotated[
        float | None,
        typer.Option("--remission-threshold", help="Remission: total at or below this."),
    ] = None,
    response_reduction: Annotated[
        float,
        typer.Option("--response-reduction", min=0.01, max=1.0, help="Fraction, 0.5 = 50%."),
    ] = 0.5,
    baseline: Annotated[
        str, typer.Option("--baseline", help="last (before first session) or first.")
    ] = "last",
    missing_as_failure: Annotated[
        bool, typer.Option("--missing-as-failure", help="No assessment counts as not met.")
    ] = False,
    published: Annotated[
        Path | None,
        typer.Option("--published", help="Directory of published tables to compare with."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Response, remission, Kaplan–Meier and breakdowns for one instrument."""
    from rich.console import Console

    from ketacare.domain.analytics import AnalyticsConfig, analyse_outcomes
    from ketacare.domain.errors import DomainError
    from ketacare.domain.instruments import get_instrument
    from ketacare.features.reports.files import (
        CohortFileError,
        load_published_rates,
        read_assessments,
        read_patients,
        read_sessions,
    )

    inst = instrument.strip().lower()
    try:
        get_instrument(inst)
    except DomainError as exc:
        raise _fail(f"--instrument: {exc}") from None
    keys: list[BreakdownKey] = []
    for key in by or []:
        if key not in ("protocol", "sex", "age-band"):
            raise _fail(f"--by: {key!r} is not one of protocol, sex, age-band")
        keys.append(key)  # type: ignore[arg-type]
    if baseline not in ("last", "first"):
        raise _fail("--baseline: give last or first")
    base_rule: Literal["last_before_first_session", "first_before_first_session"] = (
        "last_before_first_session" if baseline == "last" else "first_before_first_session"
    )
    cfg = AnalyticsConfig(
        baseline=base_rule,
        timepoints_days=_days(timepoints),
        timepoint_window_days=window_days,
        missing_as_failure=missing_as_failure,
    )
    remission = dict(cfg.outcome.remission)
    if remission_threshold is not None:
        remission[inst] = remission_threshold
    cfg = replace(
        cfg,
        outcome=replace(cfg.outcome, remission=remission, response_reduction=response_reduction),
    )
    try:
        if assessments is None:
            a, s, p = _database_tables(inst)
        else:
            if sessions is None:
                raise _fail("--sessions is required with --assessments")
            a, s = read_assessments(assessments, inst), read_sessions(sessions)
            p = read_patients(patients) if patients is not None else None
        rates: list[PublishedRate] = (
            load_published_rates(published) if published is not None else []
        )
        result = analyse_outcomes(a, s, p, config=cfg, by=keys, published=rates)
    except (CohortFileError, DomainError) as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False, allow_nan=False))
        return
    render_table(result, Console(width=140))
