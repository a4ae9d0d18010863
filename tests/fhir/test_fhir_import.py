"""Import of the Synthea bundles: values, bands, idempotence, atomicity, round trip, CLI."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ketacare.db.engine import unit_of_work
from ketacare.features.assessments.models import Alert, Assessment, Source
from ketacare.features.auth.actor import Actor
from ketacare.features.interop.exporter import export_bundle
from ketacare.features.interop.importer import INCONSISTENT, import_bundle
from ketacare.features.interop.models import Diagnosis, ExternalRef
from ketacare.features.patients.models import Patient
from ketacare.fhir.reader import BundleError
from tests.conftest import count, make_clinic
from tests.fhir.fhir_support import cli_env, load_json, run, synthea_files, validate_both

pytestmark = pytest.mark.timeout(300)


def import_all(engine: Engine, clinic_id: int) -> None:
    for path in synthea_files():
        with unit_of_work(engine) as db:
            import_bundle(db, clinic_id, load_json(path), path.name, Actor(None, "cli"))


def test_synthea_bundles_import_with_values_codes_and_bands(db: Session, engine: Engine) -> None:
    cid = make_clinic(db).id
    db.commit()
    assert len(synthea_files()) == 10
    import_all(engine, cid)
    assert count(db, Patient) == 10
    assert count(db, Diagnosis) == 3  # 80583007 for three patients
    rows = db.execute(select(Assessment).order_by(Assessment.completed_at)).scalars().all()
    db.commit()
    by_inst: dict[str, list[int]] = {}
    for a in rows:
        assert a.source == Source.imported and a.answers == {} and "imported_total" in a.flags
        by_inst.setdefault(a.instrument_id, []).append(a.total or 0)
    assert sorted(by_inst["phq9"]) == [3, 4, 16, 19, 21, 22, 24, 27]
    assert len(by_inst["phq2"]) == 19 and len(by_inst["gad7"]) == 12
    assert count(db, Alert) == 0  # history raises no alerts
    p27 = next(a for a in rows if a.instrument_id == "phq9" and a.total == 27)
    assert p27.band == "severe" and p27.completed_at.date().isoformat() == "2023-08-28"
    for a in rows:
        if a.instrument_id == "phq2":
            assert ("positive_screen" in a.flags) == ((a.total or 0) >= 3)


def test_reimport_adds_nothing(db: Session, engine: Engine) -> None:
    cid = make_clinic(db).id
    db.commit()
    import_all(engine, cid)
    before = (
        count(db, Patient),
        count(db, Assessment),
        count(db, Diagnosis),
        count(db, ExternalRef),
    )
    path = synthea_files()[1]
    with unit_of_work(engine) as s:
        report = import_bundle(s, cid, load_json(path), path.name, Actor(None, "cli"))
    assert report.added == 0 and report.patients_matched == 1 and report.already_imported == 6
    import_all(engine, cid)
    after = (
        count(db, Patient),
        count(db, Assessment),
        count(db, Diagnosis),
        count(db, ExternalRef),
    )
    assert after == before


def test_inconsistent_phq2_phq9_pair_is_imported_and_flagged(db: Session, engine: Engine) -> None:
    cid = make_clinic(db).id
    db.commit()
    path = next(p for p in synthea_files() if "8527d65c" in p.name)
    with unit_of_work(engine) as s:
        report = import_bundle(s, cid, load_json(path), path.name, Actor(None, "cli"))
    assert any("PHQ-2 6 > PHQ-9 3" in w for w in report.warnings)
    flagged = db.execute(
        select(Assessment.instrument_id, Assessment.total).where(Assessment.patient_id.isnot(None))
    ).all()
    rows = db.execute(select(Assessment)).scalars().all()
    db.commit()
    assert sorted(flagged) == [("phq2", 6), ("phq9", 3)]
    assert all(INCONSISTENT in a.flags for a in rows)


def broken(path: Path, index: int, mutate: Any) -> dict[str, Any]:
    data: dict[str, Any] = load_json(path)
    mutate(data["entry"][index]["resource"])
    return data


def test_malformed_bundle_adds_nothing_and_names_entry(db: Session, engine: Engine) -> None:
    cid = make_clinic(db).id
    db.commit()
    path = synthea_files()[0]
    data = load_json(path)
    index = next(
        i
        for i, e in enumerate(data["entry"])
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] == "70274-6"
    )
    bad = copy.deepcopy(data)
    del bad["entry"][index]["resource"]["valueQuantity"]
    with pytest.raises(BundleError) as err, unit_of_work(engine) as s:
        import_bundle(s, cid, bad, path.name, Actor(None, "cli"))
    assert err.value.index == index
    assert err.value.full_url == data["entry"][index]["fullUrl"]
    assert "gad7 total has no numeric value" in str(err.value)
    assert f"entry {index} ({data['entry'][index]['fullUrl']})" in str(err.value)
    assert (count(db, Patient), count(db, Assessment), count(db, ExternalRef)) == (0, 0, 0)
    orphan = copy.deepcopy(data)
    orphan["entry"][index]["resource"]["subject"]["reference"] = "urn:uuid:nobody"
    with (
        pytest.raises(BundleError, match="is not a Patient in this bundle"),
        unit_of_work(engine) as s,
    ):
        import_bundle(s, cid, orphan, path.name, Actor(None, "cli"))
    assert count(db, Patient) == 0


def test_round_trip_export_matches_source_observations(db: Session, engine: Engine) -> None:
    cid = make_clinic(db).id
    db.commit()
    path = next(p for p in synthea_files() if "196c1186" in p.name)
    source = load_json(path)
    with unit_of_work(engine) as s:
        import_bundle(s, cid, source, path.name, Actor(None, "cli"))
    pid = db.execute(select(Patient.id)).scalar_one()
    bundle, _ = export_bundle(db, cid, "https://clinic.example/fhir", pid)
    db.commit()
    validate_both(bundle)
    codes = {"44261-6", "55758-7", "70274-6"}

    def fields(obs: dict[str, Any]) -> tuple[str, int, str]:
        when = obs["effectiveDateTime"].replace("+00:00", "Z")
        return obs["code"]["coding"][0]["code"], int(obs["valueQuantity"]["value"]), when

    src = sorted(
        fields(e["resource"])
        for e in source["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] in codes
    )
    out = sorted(
        fields(e["resource"])
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
    )
    assert out == src and len(out) == 6
    patient = bundle["entry"][0]["resource"]
    assert patient["birthDate"] == "1935-02-23" and patient["gender"] == "male"
    assert {
        "system": "https://github.com/synthetichealth/synthea",
        "value": "196c1186-6df5-df42-99b8-a0f5cf5b5bf0",
    } in patient["identifier"]


def test_cli_import_progress_summary_and_failed_file(
    db: Session, database_url: str, tmp_path: Path
) -> None:
    make_clinic(db)
    db.commit()
    bad = tmp_path / "broken.json"
    bad.write_text(
        json.dumps(
            {"resourceType": "Bundle", "type": "transaction", "entry": [{"fullUrl": "urn:uuid:x"}]}
        ),
        encoding="utf-8",
    )
    files = [str(p) for p in synthea_files()[:3]]
    env = cli_env(database_url, tmp_path)
    r = run(env, "fhir", "import", *files, str(bad))
    assert r.returncode == 2, r.stderr
    assert "imported: " in r.stdout and "skipped " in r.stdout
    assert "Condition: not a depression or anxiety diagnosis" in r.stdout
    assert "broken.json: entry 0 (urn:uuid:x): has no resource with a resourceType" in r.stderr
    assert count(db, Patient) == 3
    r = run(env, "fhir", "import", *files)
    assert r.returncode == 0 and "imported: 0 record(s) from 3 bundle(s)" in r.stdout
    assert count(db, Patient) == 3


def total_entries(data: dict[str, Any], code: str) -> list[int]:
    return [
        i
        for i, e in enumerate(data["entry"])
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] == code
    ]


def test_every_invalid_clinical_value_refuses_the_bundle_and_is_listed(
    db: Session, engine: Engine
) -> None:
    """One rule (docs/fhir.md): an out-of-range total (PHQ-2 = 99 or -1) is refused like a
    non-numeric or fractional one, and the error lists every refused entry by fullUrl."""
    cid = make_clinic(db).id
    db.commit()
    path = next(p for p in synthea_files() if "196c1186" in p.name)
    data = load_json(path)
    phq2 = total_entries(data, "55758-7")
    gad7 = total_entries(data, "70274-6")
    assert len(phq2) >= 1 and len(gad7) >= 1
    for index, value in ((phq2[0], 99), (gad7[0], -1)):
        bad = copy.deepcopy(data)
        bad["entry"][index]["resource"]["valueQuantity"]["value"] = value
        with pytest.raises(BundleError) as err, unit_of_work(engine) as s:
            import_bundle(s, cid, bad, path.name, Actor(None, "cli"))
        assert [(p.index, p.full_url) for p in err.value.problems] == [
            (index, data["entry"][index]["fullUrl"])
        ]
        assert f"total {value} is outside" in err.value.problems[0].reason
        assert (count(db, Patient), count(db, Assessment)) == (0, 0)
    several = copy.deepcopy(data)
    bad_values: dict[int, object] = {phq2[0]: 99, gad7[0]: 2.5}
    if len(phq2) > 1:
        bad_values[phq2[1]] = "x"
    for at, bad_value in bad_values.items():
        several["entry"][at]["resource"]["valueQuantity"]["value"] = bad_value
    with pytest.raises(BundleError) as err, unit_of_work(engine) as s:
        import_bundle(s, cid, several, path.name, Actor(None, "cli"))
    assert sorted(p.index or 0 for p in err.value.problems) == sorted(bad_values)
    assert {p.full_url for p in err.value.problems} == {
        data["entry"][i]["fullUrl"] for i in bad_values
    }
    assert count(db, Assessment) == 0


def write_bundle(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_cli_reports_each_bad_file_and_imports_the_rest(
    db: Session, database_url: str, tmp_path: Path
) -> None:
    """Infinity, a NUL character, year 0001 with +14:00, deep nesting and an out-of-range
    total: each file is reported (no traceback), the good files around them are imported,
    exit 2; --report lists every refused and skipped entry by fullUrl and reason."""
    make_clinic(db)
    db.commit()
    good = synthea_files()[:2]
    source = load_json(good[0])
    phq = total_entries(source, "55758-7") or total_entries(source, "44261-6")

    def variant(name: str, change: Any) -> str:
        data = copy.deepcopy(source)
        change(data)
        return write_bundle(tmp_path / name, json.dumps(data))

    def set_value(value: Any) -> Any:
        def change(data: dict[str, Any]) -> None:
            data["entry"][phq[0]]["resource"]["valueQuantity"]["value"] = value

        return change

    def set_patient(key: str, value: Any) -> Any:
        def change(data: dict[str, Any]) -> None:
            data["entry"][0]["resource"][key] = value

        return change

    def set_when(data: dict[str, Any]) -> None:
        data["entry"][phq[0]]["resource"]["effectiveDateTime"] = "0001-01-01T00:00:00+14:00"

    infinity = write_bundle(
        tmp_path / "infinity.json",
        json.dumps(source).replace('"value": 1', '"value": Infinity', 1),
    )
    deep = write_bundle(
        tmp_path / "deep.json",
        '{"resourceType": "Bundle", "type": "collection", "entry": '
        + "[" * 100_000
        + "]" * 100_000
        + "}",
    )
    nested = variant("nested.json", set_patient("extension", json.loads("[" * 80 + "]" * 80)))
    files = [
        str(good[0]),
        infinity,
        variant("nul.json", set_patient("gender", "fe\x00male")),
        variant("year1.json", set_when),
        deep,
        nested,
        variant("phq99.json", set_value(99)),
        str(good[1]),
    ]
    env = cli_env(database_url, tmp_path)
    r = run(env, "fhir", "import", "--no-progress", *files)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    for name in ("infinity", "nul", "year1", "deep", "nested", "phq99"):
        assert f"error: {name}.json: " in r.stderr, name
    assert "NUL character" in r.stderr and "year 1 is outside" in r.stderr
    assert "total 99 is outside" in r.stderr
    assert count(db, Patient) == 2  # the two good files, before and after the bad ones
    out = tmp_path / "report.json"
    r = run(env, "fhir", "import", "--no-progress", "--report", str(out), *files)
    assert r.returncode == 2 and count(db, Patient) == 2
    report = json.loads(out.read_text(encoding="utf-8"))["files"]
    assert [f["status"] for f in report] == ["imported"] + ["refused"] * 6 + ["imported"]
    [refused] = report[6]["refused"]
    assert refused["fullUrl"] == source["entry"][phq[0]]["fullUrl"]
    assert refused["index"] == phq[0] and "outside" in refused["reason"]
    skipped = report[0]["skipped"]
    assert skipped and all(s["fullUrl"].startswith("urn:uuid:") and s["reason"] for s in skipped)


def test_api_import_lists_skipped_and_refused_entries(
    db: Session, client: Any, engine: Engine
) -> None:
    """POST /fhir with a Bundle: the same rule as the CLI. Refused: 422 OperationOutcome, one
    issue per refused entry naming its fullUrl, nothing stored. Imported: 200 with a summary
    and one issue per skipped entry (fullUrl and reason)."""
    from ketacare.features.auth.models import Role
    from tests.conftest import api_token, make_user

    clinic = make_clinic(db)
    headers = {"Authorization": f"Bearer {api_token(db, make_user(db, clinic, Role.clinician))}"}
    db.commit()
    path = next(p for p in synthea_files() if "196c1186" in p.name)
    data = load_json(path)
    phq2 = total_entries(data, "55758-7")
    bad = copy.deepcopy(data)
    bad["entry"][phq2[0]]["resource"]["valueQuantity"]["value"] = -1
    r = client.post("/fhir", json=bad, headers=headers)
    assert r.status_code == 422, r.text
    [issue] = r.json()["issue"]
    assert issue["expression"] == [f"Bundle.entry[{phq2[0]}]"]
    assert issue["diagnostics"].startswith(data["entry"][phq2[0]]["fullUrl"] + ": ")
    assert "total -1 is outside" in issue["diagnostics"]
    assert (count(db, Patient), count(db, Assessment), count(db, ExternalRef)) == (0, 0, 0)
    r = client.post("/fhir", json=data, headers=headers)
    assert r.status_code == 200, r.text
    issues = r.json()["issue"]
    assert issues[0]["severity"] == "information" and "imported" in issues[0]["diagnostics"]
    skipped = [i for i in issues if i["code"] == "not-supported"]
    assert skipped and all(i["diagnostics"].startswith("urn:uuid:") for i in skipped)
    assert count(db, Patient) == 1 and count(db, Assessment) == 6
