"""Import R4 Bundles (e.g. Synthea) into a clinic: patients, total scores, responses, diagnoses.

Idempotent: every imported resource's stable identifier is kept in ``fhir_external_ref``, so a
second import of the same bundle adds nothing. Atomic per bundle: the caller runs each bundle
in its own transaction, and any :class:`BundleError` (naming the entry and the reason) is
raised before anything is flushed from a later step (flush, never commit). A bundle never ends
in a database error: identifiers repeated within it are read as one record (``read_bundle``),
and an identifier stored meanwhile by a concurrent import (the unique key of
``fhir_external_ref``) is rolled back to a savepoint and reported as a BundleError naming the
entry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments import get_instrument
from ketacare.features._kit.errors import KetacareError
from ketacare.features.assessments.models import Assessment, Source
from ketacare.features.assessments.service import store_assessment
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.interop.exporter import IMPORTED_TOTAL
from ketacare.features.interop.models import Diagnosis, ExternalRef
from ketacare.features.patients.models import Patient, Sex
from ketacare.fhir import answers_from_response, match_questionnaire, to_questionnaire
from ketacare.fhir.reader import (
    BundleError,
    EntryNote,
    ExternalKey,
    ImportCondition,
    ImportPatient,
    ImportResponse,
    ImportTotal,
    ParsedBundle,
    read_bundle,
)

INCONSISTENT = "inconsistent_phq2_gt_phq9"


@dataclass
class ImportReport:
    """What one bundle added, what it skipped and why."""

    source: str
    resources: int = 0
    patients_created: int = 0
    patients_matched: int = 0
    totals: int = 0
    responses: int = 0
    diagnoses: int = 0
    already_imported: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_entries: list[EntryNote] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def added(self) -> int:
        """Rows added (patients, assessments, diagnoses)."""
        return self.patients_created + self.totals + self.responses + self.diagnoses

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready report (``ketacare fhir import --report``, ``POST /fhir``): counts, and
        every skipped entry by index, ``fullUrl`` and reason."""
        return {
            "source": self.source,
            "status": "imported",
            "resources": self.resources,
            "added": self.added,
            "patients_created": self.patients_created,
            "patients_matched": self.patients_matched,
            "totals": self.totals,
            "responses": self.responses,
            "diagnoses": self.diagnoses,
            "already_imported": self.already_imported,
            "skipped": [n.as_dict() for n in self.skipped_entries],
            "refused": [],
            "warnings": self.warnings,
        }


def refused_report(source: str, exc: BundleError) -> dict[str, Any]:
    """The JSON report of a refused bundle: nothing imported, every refused entry listed."""
    return {
        "source": source,
        "status": "refused",
        "added": 0,
        "skipped": [],
        "refused": [n.as_dict() for n in exc.problems],
        "warnings": [],
    }


def _existing(
    db: Session, clinic_id: int, keys: list[ExternalKey]
) -> dict[ExternalKey, tuple[str, int]]:
    """Stored identifiers among ``keys``: the kind of row each became and its id."""
    out: dict[ExternalKey, tuple[str, int]] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        rows = db.execute(
            select(
                ExternalRef.system, ExternalRef.value, ExternalRef.resource, ExternalRef.local_id
            ).where(
                ExternalRef.clinic_id == clinic_id,
                tuple_(ExternalRef.system, ExternalRef.value).in_(
                    [(k.system, k.value) for k in chunk]
                ),
            )
        ).all()
        out.update({ExternalKey(s, v): (str(kind), int(lid)) for s, v, kind, lid in rows})
    return out


def _total_flags(instrument_id: str, total: int) -> list[str]:
    inst = get_instrument(instrument_id)
    flags = [IMPORTED_TOTAL]
    for rule in inst.flags:
        if rule.kind == "total_at_least" and rule.threshold is not None and total >= rule.threshold:
            flags.append(rule.id)
    return flags


def _band(instrument_id: str, total: int) -> tuple[str | None, str | None]:
    inst = get_instrument(instrument_id)
    for b in inst.bands:
        if b.min is not None and b.max is not None and b.min <= total <= b.max:
            return b.code, inst.default_band_set
    return None, inst.default_band_set


def _patients(
    db: Session,
    clinic_id: int,
    parsed: ParsedBundle,
    known: dict[ExternalKey, tuple[str, int]],
    report: ImportReport,
    source: str,
) -> dict[str, Patient]:
    by_alias: dict[str, Patient] = {}
    new: list[tuple[Patient, ExternalKey]] = []
    matched_ids = [known[p.key][1] for p in parsed.patients if p.key in known]
    matched = (
        {
            p.id: p
            for p in db.execute(
                select(Patient).where(Patient.id.in_(matched_ids), Patient.clinic_id == clinic_id)
            ).scalars()
        }
        if matched_ids
        else {}
    )
    mrns = [p.mrn for p in parsed.patients if p.mrn]
    taken = (
        set(
            db.execute(
                select(Patient.mrn).where(Patient.clinic_id == clinic_id, Patient.mrn.in_(mrns))
            ).scalars()
        )
        if mrns
        else set()
    )
    for ip in parsed.patients:
        if ip.key in known:
            kind, local_id = known[ip.key]
            if kind != "patient" or local_id not in matched:
                raise BundleError(
                    f"Patient identifier {ip.key.value!r} ({ip.key.system}) was imported "
                    f"before as another record ({kind})",
                    ip.index,
                    ip.full_url,
                )
            patient = matched[local_id]
            report.patients_matched += 1
        else:
            mrn = ip.mrn if ip.mrn and ip.mrn not in taken else None
            if ip.mrn and mrn is None:
                report.warnings.append(
                    f"Patient {ip.key.value}: MRN {ip.mrn} already used; not kept"
                )
            patient = Patient(
                clinic_id=clinic_id,
                given_name=ip.given_name,
                family_name=ip.family_name,
                birth_date=ip.birth_date,
                sex=Sex(ip.sex),
                mrn=mrn,
                synthetic=ip.synthetic,
            )
            if mrn:
                taken.add(mrn)
            db.add(patient)
            new.append((patient, ip.key))
        for alias in ip.aliases:
            by_alias[alias] = patient
    if new:
        db.flush()
        for patient, key in new:
            db.add(
                ExternalRef(
                    clinic_id=clinic_id,
                    system=key.system,
                    value=key.value,
                    resource="patient",
                    local_id=patient.id,
                    patient_id=patient.id,
                    source=source[:255],
                )
            )
            report.patients_created += 1
    return by_alias


def _entries(
    parsed: ParsedBundle,
) -> list[ImportPatient | ImportTotal | ImportCondition | ImportResponse]:
    return [*parsed.patients, *parsed.totals, *parsed.conditions, *parsed.responses]


def import_bundle(
    db: Session, clinic_id: int, bundle: Any, source: str, actor: Actor
) -> ImportReport:
    """Import one decoded bundle into the clinic; BundleError if it is malformed or one of its
    identifiers was stored meanwhile (a concurrent import of the same records)."""
    parsed = read_bundle(bundle)
    keys = [rec.key for rec in _entries(parsed)]
    try:
        with db.begin_nested():
            return _import(db, clinic_id, parsed, keys, source, actor)
    except IntegrityError:
        pass  # rolled back to the savepoint: the transaction can still read
    stored = _existing(db, clinic_id, keys)
    clash = next((rec for rec in _entries(parsed) if rec.key in stored), None)
    if clash is None:
        raise BundleError("conflicts with records stored while it was imported; import it again")
    raise BundleError(
        f"identifier {clash.key.value!r} ({clash.key.system}) was stored while this bundle was "
        "imported; import it again",
        clash.index,
        clash.full_url,
    )


def _import(
    db: Session,
    clinic_id: int,
    parsed: ParsedBundle,
    keys: list[ExternalKey],
    source: str,
    actor: Actor,
) -> ImportReport:
    report = ImportReport(
        source=source,
        resources=parsed.resources,
        skipped=dict(parsed.skipped),
        skipped_entries=list(parsed.skipped_entries),
    )
    known = _existing(db, clinic_id, keys)
    patients = _patients(db, clinic_id, parsed, known, report, source)
    refs: list[tuple[ExternalKey, str, Assessment | Diagnosis]] = []
    by_visit: dict[tuple[int, str], dict[str, Assessment]] = defaultdict(dict)
    for t in parsed.totals:
        if t.key in known:
            report.already_imported += 1
            continue
        inst = get_instrument(t.instrument_id)  # its range was checked by read_bundle
        patient = patients[t.patient]
        band, band_set = _band(t.instrument_id, t.total)
        row = Assessment(
            clinic_id=clinic_id,
            patient_id=patient.id,
            instrument_id=inst.id,
            instrument_version=inst.version,
            answers={},
            total=t.total,
            band=band,
            band_set=band_set,
            flags=_total_flags(inst.id, t.total),
            complete=True,
            completed_at=t.effective,
            source=Source.imported,
            entered_by_id=actor.user.id if actor.user else None,
        )
        db.add(row)
        refs.append((t.key, "assessment", row))
        visit = t.encounter or t.effective.date().isoformat()
        by_visit[(patient.id, visit)][inst.id] = row
        report.totals += 1
    for (_, visit), rows in by_visit.items():
        phq2, phq9 = rows.get("phq2"), rows.get("phq9")
        if phq2 and phq9 and (phq2.total or 0) > (phq9.total or 0):
            for row in (phq2, phq9):
                row.flags = [*row.flags, INCONSISTENT]
            report.warnings.append(
                f"PHQ-2 {phq2.total} > PHQ-9 {phq9.total} at {visit}: impossible with real "
                f"answers (PHQ-9 includes the PHQ-2 items); imported and flagged {INCONSISTENT}"
            )
    for c in parsed.conditions:
        if c.key in known:
            report.already_imported += 1
            continue
        dx = Diagnosis(
            clinic_id=clinic_id,
            patient_id=patients[c.patient].id,
            text=c.text or c.snomed_display or c.icd10_code or "diagnosis",
            snomed_code=c.snomed_code,
            snomed_display=c.snomed_display,
            icd10_code=c.icd10_code,
            icd10_display=c.icd10_display,
            clinical_status=c.clinical_status,
            onset=c.onset,
            source="imported",
        )
        if c.recorded is not None:
            dx.created_at = c.recorded
        db.add(dx)
        refs.append((c.key, "diagnosis", dx))
        report.diagnoses += 1
    refused: list[EntryNote] = []
    for r in parsed.responses:
        if r.key in known:
            report.already_imported += 1
            continue
        try:
            q: Mapping[str, Any] = r.questionnaire or to_questionnaire(r.instrument_id or "")
            match = match_questionnaire(q)
            answers, _supplied = answers_from_response(match, r.response)
            row, _, _ = store_assessment(
                db,
                patients[r.patient],
                match.instrument_id,
                answers,
                Source.imported,
                actor,
                completed_at=r.authored,
            )
        except (InvalidAnswer, KetacareError) as exc:
            field_name = getattr(exc, "field", "") or ""
            reason = f"QuestionnaireResponse {field_name}: {exc.reason}"
            refused.append(EntryNote(r.index, r.full_url, reason))
            continue
        refs.append((r.key, "assessment", row))
        report.responses += 1
    if refused:  # raised inside the savepoint: nothing of this bundle is kept
        raise BundleError.of(refused)
    db.flush()
    for key, kind, obj in refs:
        db.add(
            ExternalRef(
                clinic_id=clinic_id,
                system=key.system,
                value=key.value,
                resource=kind,
                local_id=obj.id,
                patient_id=obj.patient_id,
                source=source[:255],
            )
        )
    for patient in {p.id: p for p in patients.values()}.values():
        record(db, actor, "import", "patient", patient.id, patient.id)
    db.flush()
    return report
