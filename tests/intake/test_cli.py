"""CLI: ``dose``, ``schedule`` and ``eligibility`` (CliRunner on a small app, plus subprocess)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ketacare.features.intake.cli import dose, eligibility, schedule

EXAMPLE = Path(__file__).with_name("example_intake.json")
app = typer.Typer()
app.command("dose")(dose)
app.command("schedule")(schedule)
app.command("eligibility")(eligibility)
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.stdout, r.stderr


def test_dose_json() -> None:
    code, out, _ = run(
        "dose",
        "--protocol",
        "iv-ketamine-induction",
        "--weight-kg",
        "70",
        "--concentration-mg-per-ml",
        "10",
        "--volume-ml",
        "100",
        "--json",
    )
    assert code == 0
    d = json.loads(out)
    assert (d["dose_mg"], d["duration_min"], d["rate_ml_per_h"]) == (35.0, 40.0, 150.0)
    code, out, _ = run("dose", "--protocol", "esketamine-trd", "--weight-kg", "70", "--json")
    assert (code, json.loads(out)["dose_mg"], json.loads(out)["devices"]) == (0, 56, 2)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--weight-kg", "20"], "--weight-kg"),
        (["--weight-kg", "70", "--duration-min", "0"], "--duration-min"),
        (["--weight-kg", "70", "--mg-per-kg", "1.5"], "--mg-per-kg"),
        (["--weight-kg", "70", "--weight-basis", "lean"], "--weight-basis"),
        (["--weight-kg", "70", "--weight-basis", "ideal"], "--height-cm"),
    ],
)
def test_dose_bad_input_exits_2(args: list[str], needle: str) -> None:
    code, _, err = run("dose", "--protocol", "iv-ketamine-induction", *args)
    assert code == 2
    assert needle in err
    assert "Traceback" not in err


def test_dose_override_and_unknown_protocol() -> None:
    code, out, _ = run(
        "dose",
        "--protocol",
        "iv-ketamine-induction",
        "--weight-kg",
        "70",
        "--mg-per-kg",
        "1.5",
        "--override-by",
        "Dr A",
        "--override-reason",
        "x",
        "--json",
    )
    assert (code, json.loads(out)["dose_mg"]) == (0, 105.0)
    code, _, err = run("dose", "--protocol", "nope", "--weight-kg", "70")
    assert code == 2
    assert "--protocol" in err
    code, _, err = run(
        "dose", "--protocol", "esketamine-trd", "--weight-kg", "70", "--dose-mg", "84"
    )
    assert code == 2
    assert "--dose-mg" in err


def test_schedule_json_and_errors(tmp_path: Path) -> None:
    ics = tmp_path / "c.ics"
    code, out, _ = run(
        "schedule",
        "--protocol",
        "iv-ketamine-induction",
        "--start",
        "2025-03-03",
        "--weekdays",
        "mon,wed,fri",
        "--weight-kg",
        "70",
        "--ics",
        str(ics),
        "--json",
    )
    assert code == 0
    s = json.loads(out)["sessions"]
    assert [x["date"] for x in s][:3] == ["2025-03-03", "2025-03-05", "2025-03-07"]
    assert s[0]["phase"] == "induction"
    assert s[0]["planned_dose_mg"] == 35.0
    assert ics.read_bytes().count(b"BEGIN:VEVENT") == 6
    for args, needle in (
        (["--start", "2025-02-30"], "--start"),
        (["--start", "2025-03-03", "--weekdays", "mon,xyz"], "--weekdays"),
        (["--start", "2025-03-03", "--weekdays", "mon"], "--max-span-days"),
        (["--start", "2025-03-03", "--variant", "nope"], "--variant"),
    ):
        code, _, err = run("schedule", "--protocol", "iv-ketamine-induction", *args)
        assert code == 2, args
        assert needle in err


def test_clinic_protocol_dir_invalid_names_path(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"schema_version": 1}')
    code, _, err = run(
        "schedule", "--protocol", "x", "--start", "2025-03-03", "--protocol-dir", str(tmp_path)
    )
    assert code == 2
    assert "bad.json" in err


def test_eligibility_json(tmp_path: Path) -> None:
    code, out, _ = run("eligibility", "--intake", str(EXAMPLE), "--json")
    assert code == 0
    d = json.loads(out)
    assert d["dsm5"]["conclusion"] == "meets"
    assert d["trd"]["trd"] is True
    assert d["eligibility"]["esketamine"]["status"] == "eligible"
    assert d["pathway"]["primary"] == "ketamine_evaluation"
    bad = tmp_path / "bad.json"
    bad.write_text('{"medical": {"child_pugh": "Z"}}')
    code, _, err = run("eligibility", "--intake", str(bad))
    assert code == 2
    assert "medical.child_pugh" in err
    code, _, err = run("eligibility", "--intake", str(tmp_path / "missing.json"))
    assert code == 2
    assert "--intake" in err


@pytest.mark.skipif(
    shutil.which("ketacare", path=str(Path(sys.executable).parent)) is None,
    reason="console script not installed",
)
def test_subprocess_main_cli() -> None:
    exe = str(Path(sys.executable).parent / "ketacare")
    r = subprocess.run(
        [exe, "dose", "--protocol", "iv-ketamine-induction", "--weight-kg", "80", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["dose_mg"] == 40.0
    r = subprocess.run(
        [exe, "eligibility", "--intake", "nope.json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
