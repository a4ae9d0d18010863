"""CLI: instruments list/show/import and score (CliRunner, plus one subprocess run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from fhirclient.models.questionnaire import Questionnaire
from typer.testing import CliRunner

from ketacare.features.instruments.cli import instruments_app, score
from tests.instruments.instr_support import LFORMS_PHQ9

runner = CliRunner()
LINKS = ["/44250-9", "/44255-8", "/44259-0", "/44254-1", "/44251-7", "/44258-2"]
LINKS += ["/44252-5", "/44253-3", "/44260-8"]
score_app = typer.Typer()
score_app.command()(score)


def test_list() -> None:
    res = runner.invoke(instruments_app, ["list"])
    assert res.exit_code == 0
    lines = res.output.splitlines()
    assert lines[0].split()[:3] == ["ID", "VERSION", "ITEMS"]
    assert lines[1].startswith("phq9 ")
    assert len(lines) == 13


def test_show_json_and_fhir() -> None:
    res = runner.invoke(instruments_app, ["show", "gad7"])
    assert res.exit_code == 0
    data = json.loads(res.output)
    assert data["items"][0]["options"][0]["label"] == "Not at all"
    res = runner.invoke(instruments_app, ["show", "phq9", "--fhir"])
    assert res.exit_code == 0
    q = json.loads(res.output)
    Questionnaire(q, strict=True)
    assert q["code"][0]["code"] == "44249-1"


def test_show_with_licensed_texts(tmp_path: Path) -> None:
    texts = tmp_path / "madrs.json"
    texts.write_text(json.dumps({"1": "Clinic text"}), encoding="utf-8")
    res = runner.invoke(instruments_app, ["show", "madrs", "--texts", str(texts)])
    assert res.exit_code == 0
    assert json.loads(res.output)["items"][0]["text"] == "Clinic text"
    texts.write_text(json.dumps({"99": "x"}), encoding="utf-8")
    res = runner.invoke(instruments_app, ["show", "madrs", "--texts", str(texts)])
    assert res.exit_code == 2
    assert "texts.99" in res.output


def test_show_unknown_instrument_exits_2() -> None:
    res = runner.invoke(instruments_app, ["show", "nope"])
    assert res.exit_code == 2
    assert "unknown instrument" in res.output


def test_score_prints_json() -> None:
    res = runner.invoke(score_app, ["phq9", "0", "0", "0", "1", "2", "1", "3", "2", "1"])
    assert res.exit_code == 0
    out = json.loads(res.output)
    assert (out["total"], out["band"], out["flags"]) == (10, "moderate", ["item9_positive"])


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["phq9", "0", "0", "0", "1", "2", "1", "3", "7", "1"], "phq9.8"),
        (["phq9", "0", "0", "x", "1", "2", "1", "3", "1", "1"], "phq9.3"),
        (["phq9", "0", "0", "-", "1", "2", "1", "3", "1", "1"], "phq9.3"),
        (["hamd17", *["1"] * 15, "1", "1", "1"], "hamd17.16B"),
    ],
)
def test_score_bad_input_exits_2_naming_the_field(args: list[str], field: str) -> None:
    res = runner.invoke(score_app, args)
    assert res.exit_code == 2
    assert f"error: {field}:" in res.output


def test_score_context_and_config(tmp_path: Path) -> None:
    res = runner.invoke(
        score_app,
        ["cssrs-screen-slv", "0", "0", "-", "-", "-", "1", "--days-since-last-visit", "200"],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["band"] == "moderate"
    cfg = tmp_path / "clinic.json"
    cfg.write_text(json.dumps({"thresholds": {"phq2.positive_screen": 2}}), encoding="utf-8")
    res = runner.invoke(score_app, ["phq2", "1", "1", "--config", str(cfg)])
    assert json.loads(res.output)["flags"] == ["positive_screen"]


def test_score_csv_reports_bad_rows_and_keeps_good_ones(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        "patient,1,2,3,4,5,6,7\n"
        "a,0,0,0,0,0,0,0\n"
        "b,3,3,3,3,3,0,0\n"
        "c,3,3,9,3,3,0,0\n"
        "d,1,1,1,1,1,,1\n"
        "e,1,1,1,1,1,1,1\n",
        encoding="utf-8",
    )
    dst = tmp_path / "out.csv"
    res = runner.invoke(score_app, ["gad7", "--csv", str(src), "--out", str(dst)])
    assert res.exit_code == 2
    assert "line 4: gad7.3: must be from 0 to 3, got 9" in res.output
    assert "line 5: gad7.6: is missing" in res.output
    assert "scored 3 rows, 2 bad" in res.output
    rows = dst.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "patient,1,2,3,4,5,6,7,total,band,flags,error"
    assert rows[1] == "a,0,0,0,0,0,0,0,0,none,,"
    assert rows[2] == "b,3,3,3,3,3,0,0,15,severe,positive_screen,"
    assert rows[5] == "e,1,1,1,1,1,1,1,7,mild,,"


def test_score_csv_missing_column_exits_2(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("1,2\n0,0\n", encoding="utf-8")
    res = runner.invoke(score_app, ["gad7", "--csv", str(src)])
    assert res.exit_code == 2
    assert "gad7.3" in res.output


def test_import_lforms_phq9_and_score_response(tmp_path: Path) -> None:
    qr = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": [
            {
                "linkId": link,
                "answer": [{"valueCoding": {"system": "http://loinc.org", "code": code}}],
            }
            for link, code in zip(
                LINKS,
                ["LA6571-9"] * 9,
                strict=True,
            )
        ]
        + [{"linkId": "/44261-6", "answer": [{"valueDecimal": 20}]}],
    }
    path = tmp_path / "qr.json"
    path.write_text(json.dumps(qr), encoding="utf-8")
    res = runner.invoke(instruments_app, ["import", str(LFORMS_PHQ9), "--response", str(path)])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["instrument"] == "phq9"
    assert report["items_matched"] == 10
    scored = report["responses"][0]
    assert (scored["total"], scored["band"], scored["total_mismatch"]) == (27, "severe", True)


def test_import_bad_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{not json", encoding="utf-8")
    res = runner.invoke(instruments_app, ["import", str(path)])
    assert res.exit_code == 2
    assert "not valid JSON" in res.output


def test_main_cli_subprocess() -> None:
    exe = Path(sys.executable).with_name("ketacare")
    res = subprocess.run(
        [str(exe), "score", "gad7", "1", "1", "1", "1", "1", "0", "0"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["band"] == "mild"
    res = subprocess.run(
        [str(exe), "score", "gad7", "1", "1", "1", "1", "1", "0", "5"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert res.returncode == 2
    assert "gad7.7" in res.stderr
