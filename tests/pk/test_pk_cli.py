"""``ketacare pk``: CliRunner on pk_app, and the installed console script in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ketacare.features.pk.cli import pk_app

runner = CliRunner()
KETACARE = Path(sys.executable).parent / "ketacare"


def _json(args: list[str]) -> dict[str, object]:
    res = runner.invoke(pk_app, args)
    assert res.exit_code == 0, res.output
    out: dict[str, object] = json.loads(res.stdout)
    return out


def test_simulate_domino_json() -> None:
    out = _json(["simulate", "--model", "domino", "--weight-kg", "70", "--dose-mg-per-kg", "0.5",
                 "--infusion-min", "40", "--times", "40,80,120", "--json"])  # fmt: skip
    assert out["times_min"] == [40.0, 80.0, 120.0]
    assert out["conc_ng_per_ml"] == pytest.approx([240.3, 45.8, 35.8], abs=0.05)
    assert out["cmax_ng_per_ml"] == pytest.approx(240.3, abs=0.05)
    assert out["tmax_min"] == pytest.approx(40.0)
    assert {"auc_ng_min_per_ml", "auc_window_min"} <= out.keys()


def test_simulate_perez_ruixo_json_auc_over_24_h() -> None:
    out = _json(["simulate", "--model", "perez-ruixo-2021", "--dose-mg", "56", "--age", "45",
                 "--json"])  # fmt: skip
    assert out["auc_window_min"] == [0.0, 1440.0]
    auc = out["auc_ng_min_per_ml"]
    assert isinstance(auc, float)
    assert auc / 60 == pytest.approx(254.7, rel=0.02)
    assert out["cmax_ng_per_ml"] == pytest.approx(72.5, rel=0.02)


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--model", "nope", "--dose-mg", "5"], "--model"),
        (["--model", "domino", "--dose-mg", "5", "--weight-kg", "-70"], "--weight-kg"),
        (["--model", "domino", "--dose-mg", "5", "--times", "40,abc"], "--times"),
        (["--model", "perez-ruixo-2021", "--dose-mg", "50"], "--dose-mg"),
        (["--model", "domino", "--dose-mg", "5", "--plot", "x.gif"], "--plot"),
    ],
)
def test_bad_input_exits_2_naming_the_option(args: list[str], option: str) -> None:
    res = runner.invoke(pk_app, ["simulate", *args])
    assert res.exit_code == 2
    assert option in res.output
    assert "Traceback" not in res.output


def test_csv_and_plot_outputs(tmp_path: Path) -> None:
    csv_path, png, svg = tmp_path / "c.csv", tmp_path / "c.png", tmp_path / "c.svg"
    base = ["simulate", "--model", "simons-2022", "--dose-mg", "20", "--infusion-min", "20"]
    assert runner.invoke(pk_app, [*base, "--out", str(csv_path), "--plot", str(png)]).exit_code == 0
    assert runner.invoke(pk_app, [*base, "--plot", str(svg)]).exit_code == 0
    assert csv_path.read_text().splitlines()[0] == "time_min,conc_ng_per_ml"
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in svg.read_text()


def test_models_and_cohort(tmp_path: Path) -> None:
    res = runner.invoke(pk_app, ["models", "--json"])
    assert res.exit_code == 0
    keys = [m["key"] for m in json.loads(res.stdout)]
    assert keys == ["domino", "clements-250", "hijazi", "fanta-2015", "simons-2022",
                    "perez-ruixo-2021"]  # fmt: skip
    out = tmp_path / "cohort.csv"
    args = ["cohort", "--model", "domino", "--n", "50", "--protocol", "iv-ketamine-induction"]
    res = runner.invoke(pk_app, [*args, "--seed", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    lines = out.read_text().splitlines()
    assert len(lines) == 51
    assert lines[0].startswith("patient,weight_kg,age_years,cmax_ng_per_ml")
    bad = runner.invoke(pk_app, ["cohort", "--model", "domino", "--protocol", "x", "--out",
                                 str(out)])  # fmt: skip
    assert bad.exit_code == 2
    assert "--protocol" in bad.output


def test_console_script_subprocess() -> None:
    if not KETACARE.exists():
        pytest.skip(f"console script not installed at {KETACARE}")
    res = subprocess.run(
        [str(KETACARE), "pk", "simulate", "--model", "domino", "--dose-mg-per-kg", "0.5",
         "--infusion-min", "40", "--times", "40", "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["conc_ng_per_ml"] == pytest.approx([240.3], abs=0.05)
    bad = subprocess.run([str(KETACARE), "pk", "simulate", "--model", "nope", "--dose-mg", "1"],
                         capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert bad.returncode == 2
    assert "--model" in bad.stderr
    assert "Traceback" not in bad.stderr
