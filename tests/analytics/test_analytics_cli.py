"""``ketacare analytics outcomes`` on exported CSV files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ketacare.cli import app

from .analytics_support import (
    HAND_ASSESSMENTS,
    HAND_PATIENTS,
    HAND_SESSIONS,
    PUBLISHED,
    day,
)

runner = CliRunner()


def _write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return {
        "a": _write(tmp_path / "a.csv", "patient_id,date,instrument,total",
                    [f"{p},{day(d)},phq9,{t}" for p, d, t in HAND_ASSESSMENTS]
                    + ["A,2024-01-02,gad7,12"]),
        "s": _write(tmp_path / "s.csv", "patient_id,date,protocol",
                    [f"{p},{day(d)},{pr}" for p, d, pr in HAND_SESSIONS]),
        "p": _write(tmp_path / "p.csv", "patient_id,sex,age",
                    [f"{p},{s},{a:g}" for p, s, a in HAND_PATIENTS] + ["D,,"]),
    }  # fmt: skip


def _run(args: list[str]) -> tuple[int, str, str]:
    res = runner.invoke(app, ["analytics", "outcomes", *args])
    return res.exit_code, res.stdout, res.stderr


def test_json_output(files: dict[str, Path]) -> None:
    code, out, err = _run(["--assessments", str(files["a"]), "--sessions", str(files["s"]),
                           "--patients", str(files["p"]), "--by", "sex", "--by", "protocol",
                           "--json"])  # fmt: skip
    assert code == 0, err
    d = json.loads(out)
    assert d["n_patients"] == 4
    assert d["response_rate"] == 1.0 and d["remission_rate"] == 0.0
    assert len(d["response_ci"]) == 2 and len(d["remission_ci"]) == 2
    km = d["kaplan_meier"]
    assert km["time_days"] == [0, 13, 14, 27] and km["n_at_risk"] == [3, 3, 2, 1]
    assert km["events"] == [0, 0, 1, 1] and km["survival"] == [1, 1, 0.5, 0]
    assert d["definitions"]["instrument"] == "phq9"
    assert {g["group"] for g in d["breakdowns"]["sex"]} == {"female", "male", "unknown"}
    assert [t["day"] for t in d["timepoints"]] == [14, 28, 42]


def test_options_change_definitions(files: dict[str, Path]) -> None:
    code, out, err = _run(["--assessments", str(files["a"]), "--sessions", str(files["s"]),
                           "--remission-threshold", "9", "--timepoints", "14",
                           "--window-days", "3", "--missing-as-failure", "--json"])  # fmt: skip
    assert code == 0, err
    d = json.loads(out)
    assert d["definitions"]["remission_threshold"] == 9
    assert [t["day"] for t in d["timepoints"]] == [14]
    assert d["timepoints"][0]["remission"]["k"] == 1 and d["timepoints"][0]["response"]["n"] == 3


def test_table_output(files: dict[str, Path]) -> None:
    args = ["--assessments", str(files["a"]), "--sessions", str(files["s"]), "--by", "protocol"]
    if PUBLISHED.is_dir():
        args += ["--published", str(PUBLISHED)]
    code, out, err = _run(args)
    assert code == 0, err
    assert "4 patients treated" in out and "Definitions" in out and "Wilson" in out
    assert "iv-ketamine-induction" in out
    assert "Unverified" in out


@pytest.mark.parametrize(
    ("which", "content", "expected"),
    [
        ("a", "patient_id,date,instrument,total\nA,2024-13-01,phq9,3\n", ":2: column 'date'"),
        ("a", "patient_id,date,instrument,total\nA,2024-01-01,phq9,x\n", ":2: column 'total'"),
        ("a", "patient_id,date,instrument,total\nA,2024-01-01,phq9,30\n", "outside"),
        ("a", "patient_id,when,instrument,total\n", ":1: column 'date': missing column"),
        ("s", "patient_id,date,protocol\nA,2024-01-01,\n", ":2: column 'protocol': empty"),
        ("s", "patient_id,date\n", "column 'protocol'"),
        ("p", "patient_id,sex,age\nA,f,200\n", ":2: column 'age'"),
        ("p", "patient_id,sex,age\nA,f,20\nA,m,30\n", ":3: column 'patient_id'"),
    ],
)
def test_bad_files_exit_2(
    files: dict[str, Path], tmp_path: Path, which: str, content: str, expected: str
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(content, encoding="utf-8")
    paths = {**files, which: bad}
    code, _, err = _run(["--assessments", str(paths["a"]), "--sessions", str(paths["s"]),
                         "--patients", str(paths["p"])])  # fmt: skip
    assert code == 2
    assert str(bad) in err and expected in err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--instrument", "nope"], "--instrument"),
        (["--by", "colour"], "--by"),
        (["--timepoints", "x"], "--timepoints"),
        (["--baseline", "middle"], "--baseline"),
    ],
)
def test_bad_options_exit_2(files: dict[str, Path], args: list[str], expected: str) -> None:
    code, _, err = _run(["--assessments", str(files["a"]), "--sessions", str(files["s"]), *args])
    assert code == 2 and expected in err


def test_missing_file_and_sessions(files: dict[str, Path], tmp_path: Path) -> None:
    code, _, err = _run(
        ["--assessments", str(tmp_path / "none.csv"), "--sessions", str(files["s"])]
    )
    assert code == 2 and "none.csv" in err
    code, _, err = _run(["--assessments", str(files["a"])])
    assert code == 2 and "--sessions" in err
