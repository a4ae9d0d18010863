"""``ketacare pk``: list models, simulate one patient, simulate a virtual cohort.

Bad input prints a message naming the option and exits with status 2.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from ketacare.domain.pk import Dose, PKModel

pk_app = typer.Typer(
    name="pk",
    help="Pharmacokinetic predictions (decision support, not dosing guidance).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

DISCLAIMER = "Model prediction: decision support, not dosing guidance."


def _model(key: str) -> PKModel:
    from ketacare.domain.errors import DomainError
    from ketacare.domain.pk import get_model

    try:
        return get_model(key)
    except DomainError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--model'") from None


def _times(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a comma-separated list of minutes, e.g. 40,80,120",
            param_hint="'--times'",
        ) from None
    if not values or not all(math.isfinite(v) and v >= 0 for v in values):
        raise typer.BadParameter("give one or more times ≥ 0 in minutes", param_hint="'--times'")
    return values


def _suffix(path: Path | None, allowed: tuple[str, ...], option: str) -> None:
    if path is not None and path.suffix.lower() not in allowed:
        raise typer.BadParameter(f"file must end in {' or '.join(allowed)}", param_hint=option)


@pk_app.command("models")
def models(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the PK models with citation, sampling site and variability source."""
    from rich.console import Console
    from rich.table import Table

    from ketacare.domain.pk import MODELS

    rows = [
        {
            "key": m.info.key,
            "title": m.info.title,
            "analyte": m.info.analyte,
            "routes": list(m.info.routes),
            "sampling_site": m.info.sampling_site,
            "citation": m.info.citation,
            "doi": m.info.doi,
            "iiv": m.iiv.source,
            "iiv_borrowed": m.iiv.borrowed,
        }
        for m in MODELS.values()
    ]
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table(title="ketacare PK models", show_lines=False)
    for col in ("key", "analyte", "routes", "sampling site", "IIV", "citation"):
        table.add_column(col)
    for r in rows:
        iiv = "borrowed" if r["iiv_borrowed"] else "own"
        table.add_row(
            str(r["key"]),
            str(r["analyte"]),
            ",".join(r["routes"]),  # type: ignore[arg-type]
            str(r["sampling_site"]),
            iiv,
            str(r["citation"]),
        )
    Console(width=160).print(table)
    print(DISCLAIMER)


def _doses(
    model: PKModel,
    route: str | None,
    dose_mg: float | None,
    dose_mg_per_kg: float | None,
    infusion_min: float,
    dose_times: str,
    device_interval_min: float,
) -> list[Dose]:
    from ketacare.domain.errors import DomainError
    from ketacare.domain.pk import Dose

    chosen = route or model.info.routes[0]
    if chosen not in model.info.routes:
        raise typer.BadParameter(
            f"model {model.info.key} has no {chosen} route "
            f"(routes: {', '.join(model.info.routes)})",
            param_hint="'--route'",
        )
    if dose_mg is None and dose_mg_per_kg is None:
        raise typer.BadParameter("give --dose-mg or --dose-mg-per-kg", param_hint="'--dose-mg'")
    if chosen == "nasal" and dose_mg_per_kg is not None:
        raise typer.BadParameter("nasal doses are in mg", param_hint="'--dose-mg-per-kg'")
    starts = _times(dose_times) if dose_times else [0.0]
    try:
        return [
            Dose(
                t,
                dose_mg or 0.0,
                dose_mg_per_kg or 0.0,
                infusion_min if chosen == "iv" else 0.0,
                "nasal" if chosen == "nasal" else "iv",
                device_interval_min,
            )
            for t in starts
        ]
    except DomainError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--dose-mg'") from None


@pk_app.command("simulate")
def simulate(
    model: Annotated[str, typer.Option("--model", help="Model key (see `ketacare pk models`).")],
    weight_kg: Annotated[
        float, typer.Option("--weight-kg", min=1.0, max=400.0, help="Body weight, kg.")
    ] = 70.0,
    age: Annotated[float, typer.Option("--age", min=0.0, max=120.0, help="Age, years.")] = 45.0,
    dose_mg: Annotated[
        float | None, typer.Option("--dose-mg", min=0.0, help="Dose, mg of base.")
    ] = None,
    dose_mg_per_kg: Annotated[
        float | None, typer.Option("--dose-mg-per-kg", min=0.0, help="Dose, mg/kg of base.")
    ] = None,
    infusion_min: Annotated[
        float, typer.Option("--infusion-min", min=0.0, help="IV infusion length, min (0: bolus).")
    ] = 0.0,
    route: Annotated[
        str | None, typer.Option("--route", help="iv or nasal (default: the model's first).")
    ] = None,
    dose_times: Annotated[
        str, typer.Option("--dose-times", help="Dose start times, min, comma-separated.")
    ] = "0",
    device_interval_min: Annotated[
        float,
        typer.Option("--device-interval-min", min=0.0, help="Nasal: minutes between devices."),
    ] = 0.0,
    times: Annotated[
        str | None,
        typer.Option("--times", help="Report times, min, comma-separated (default: every 15)."),
    ] = None,
    until_min: Annotated[
        float, typer.Option("--until-min", min=0.0, help="End of the Cmax/AUC window, min.")
    ] = 1440.0,
    threshold: Annotated[
        float, typer.Option("--threshold-ng-ml", min=0.0, help="Threshold for time above.")
    ] = 100.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Write the curve as CSV.")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write a .png or .svg plot.")] = None,
) -> None:
    """Predict the typical patient's concentration (ng/mL) for a dose."""
    import numpy as np

    from ketacare.domain.errors import DomainError
    from ketacare.domain.pk import simulate as run_simulation

    m = _model(model)
    _suffix(out, (".csv",), "'--out'")
    _suffix(plot, (".png", ".svg"), "'--plot'")
    if threshold <= 0:
        raise typer.BadParameter("must be above 0 ng/mL", param_hint="'--threshold-ng-ml'")
    doses = _doses(m, route, dose_mg, dose_mg_per_kg, infusion_min, dose_times, device_interval_min)
    if until_min <= min(d.time_min for d in doses):
        raise typer.BadParameter("must be after the first dose", param_hint="'--until-min'")
    t = _times(times) if times is not None else list(np.arange(0.0, until_min + 1e-9, 15.0))
    try:
        sim = run_simulation(m, doses, t, weight_kg=weight_kg, age_years=age, until_min=until_min)
        met = sim.metrics(threshold)
    except DomainError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--model'") from None
    result: dict[str, Any] = {
        "model": m.info.key,
        "times_min": [float(x) for x in sim.times_min],
        "conc_ng_per_ml": [round(float(c), 4) for c in sim.conc_ng_per_ml],
        "cmax_ng_per_ml": round(float(met.cmax_ng_per_ml[0]), 4),
        "tmax_min": round(float(met.tmax_min[0]), 3),
        "auc_ng_min_per_ml": round(float(met.auc_ng_min_per_ml[0]), 2),
        "auc_window_min": list(met.window_min),
        "auc_inf_ng_min_per_ml": round(float(met.auc_inf_ng_min_per_ml[0]), 2),
        "time_above_threshold_min": round(float(met.time_above_min[0]), 3),
        "threshold_ng_per_ml": threshold,
    }
    if out is not None:
        with out.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["time_min", "conc_ng_per_ml"])
            w.writerows(zip(result["times_min"], result["conc_ng_per_ml"], strict=True))
    if plot is not None:
        from ketacare.features.pk.plot import plot_curve

        dense = run_simulation(
            m, doses, np.linspace(0.0, until_min, 2001), weight_kg=weight_kg, age_years=age
        )
        plot_curve(dense, plot, f"{m.info.title}, {weight_kg:g} kg, {age:g} y")
    if as_json:
        print(json.dumps(result))
        return
    print(f"{m.info.title}: {weight_kg:g} kg, {age:g} y")
    print(f"Cmax {result['cmax_ng_per_ml']:.1f} ng/mL at {result['tmax_min']:.1f} min")
    print(f"AUC(0-{until_min:g} min) {result['auc_ng_min_per_ml']:.0f} ng·min/mL")
    print(f"Time at or above {threshold:g} ng/mL: {result['time_above_threshold_min']:.1f} min")
    print(DISCLAIMER)


@pk_app.command("cohort")
def cohort(
    model: Annotated[str, typer.Option("--model", help="Model key.")],
    protocol: Annotated[str, typer.Option("--protocol", help="Protocol id.")],
    out: Annotated[Path, typer.Option("--out", help="CSV, one row per virtual patient.")],
    n: Annotated[int, typer.Option("--n", min=1, max=2_000_000, help="Patients.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    weight_kg: Annotated[float, typer.Option("--weight-kg", min=1.0, max=400.0)] = 70.0,
    age: Annotated[float, typer.Option("--age", min=0.0, max=120.0)] = 45.0,
    threshold: Annotated[float, typer.Option("--threshold-ng-ml", min=0.0)] = 100.0,
) -> None:
    """Simulate N virtual patients on a protocol; write Cmax, AUC, time above threshold."""
    import numpy as np
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from ketacare.domain.errors import DomainError
    from ketacare.domain.pk import PK_PROTOCOLS, get_protocol, simulate_cohort

    m = _model(model)
    _suffix(out, (".csv",), "'--out'")
    if protocol not in PK_PROTOCOLS:
        raise typer.BadParameter(
            f"unknown protocol {protocol!r} (known: {', '.join(PK_PROTOCOLS)})",
            param_hint="'--protocol'",
        )
    if threshold <= 0:
        raise typer.BadParameter("must be above 0 ng/mL", param_hint="'--threshold-ng-ml'")
    proto = get_protocol(protocol)
    try:
        m.check_routes(proto.doses)
    except DomainError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--protocol'") from None
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(f"{m.info.key} × {protocol}", total=n)
        res = simulate_cohort(
            m,
            proto.doses,
            n,
            end_min=proto.end_min,
            weight_kg=weight_kg,
            age_years=age,
            threshold_ng_per_ml=threshold,
            seed=seed,
            chunk=min(25_000, max(1000, n // 20)),
            on_progress=lambda k: progress.advance(task, k),
        )
    met = res.metrics
    with out.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["patient", "weight_kg", "age_years", "cmax_ng_per_ml", "tmax_min",
             "auc_ng_min_per_ml", f"time_above_{threshold:g}_ng_per_ml_min"]
        )  # fmt: skip
        for i in range(n):
            w.writerow(
                [i + 1, f"{res.covariates.weight_kg[i]:g}", f"{res.covariates.age_years[i]:g}",
                 f"{met.cmax_ng_per_ml[i]:.4f}", f"{met.tmax_min[i]:.3f}",
                 f"{met.auc_ng_min_per_ml[i]:.2f}", f"{met.time_above_min[i]:.3f}"]
            )  # fmt: skip
    p5, p50, p95 = np.percentile(met.cmax_ng_per_ml, [5, 50, 95])
    print(f"{n} patients, {protocol}, window 0-{proto.end_min:g} min; IIV: {m.iiv.source}")
    print(f"Cmax ng/mL: 5th {p5:.1f}, median {p50:.1f}, 95th {p95:.1f}; wrote {out}")
    print(DISCLAIMER)
