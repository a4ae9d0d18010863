"""Read R4 transaction or collection Bundles (e.g. Synthea) into plain import records.

Pure: decoded JSON in, dataclasses out. A structural problem raises :class:`BundleError`
naming the entry (index and ``fullUrl``) and the reason, so the caller can refuse the whole
bundle. Entries ketacare does not import are listed in ``skipped`` with the reason, and so are
entries repeating an identifier already in the bundle (one record each: a QuestionnaireResponse
wins over the total-score Observation ketacare's export gives the same identifier, otherwise
the first entry wins), so the importer never stores a record, or its identifier, twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from ketacare.domain.instruments import get_instrument, instrument_ids
from ketacare.fhir.codes import (
    ICD10CM,
    LOINC,
    PSYCHIATRIC_SNOMED,
    SNOMED,
    SYNTHEA_SYSTEM,
    URI_SYSTEM,
)
from ketacare.fhir.questionnaire import BASE_URL


class BundleError(ValueError):
    """A malformed bundle: ``index`` and ``full_url`` name the entry (None for the bundle)."""

    def __init__(self, reason: str, index: int | None = None, full_url: str = "") -> None:
        where = (
            "bundle" if index is None else f"entry {index}" + (f" ({full_url})" if full_url else "")
        )
        super().__init__(f"{where}: {reason}")
        self.reason = reason
        self.index = index
        self.full_url = full_url


@dataclass(frozen=True, slots=True)
class ExternalKey:
    """A stable identifier of a source resource (identifier system and value)."""

    system: str
    value: str


@dataclass(frozen=True, slots=True)
class ImportPatient:
    """A Patient to create (or find, by ``key``)."""

    key: ExternalKey
    given_name: str
    family_name: str
    birth_date: date | None
    sex: str
    mrn: str | None
    synthetic: bool
    aliases: tuple[str, ...]
    index: int = 0
    full_url: str = ""


@dataclass(frozen=True, slots=True)
class ImportTotal:
    """A total-score Observation of a known instrument."""

    key: ExternalKey
    patient: str
    instrument_id: str
    total: int
    effective: datetime
    encounter: str
    index: int = 0
    full_url: str = ""


@dataclass(frozen=True, slots=True)
class ImportCondition:
    """A psychiatric diagnosis (SNOMED CT / ICD-10-CM)."""

    key: ExternalKey
    patient: str
    text: str
    snomed_code: str | None
    snomed_display: str | None
    icd10_code: str | None
    icd10_display: str | None
    clinical_status: str
    onset: date | None
    recorded: datetime | None
    index: int = 0
    full_url: str = ""


@dataclass(frozen=True, slots=True)
class ImportResponse:
    """A QuestionnaireResponse with its Questionnaire (ketacare's or one in the bundle)."""

    key: ExternalKey
    patient: str
    response: Mapping[str, Any]
    questionnaire: Mapping[str, Any] | None
    instrument_id: str | None
    authored: datetime
    index: int = 0
    full_url: str = ""


@dataclass
class ParsedBundle:
    """Everything importable from one bundle, plus what was skipped and why."""

    patients: list[ImportPatient] = field(default_factory=list)
    totals: list[ImportTotal] = field(default_factory=list)
    conditions: list[ImportCondition] = field(default_factory=list)
    responses: list[ImportResponse] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    resources: int = 0

    def skip(self, reason: str) -> None:
        """Count one skipped entry under ``reason``."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


TOTAL_CODES: dict[str, str] = {
    get_instrument(i).loinc_total or "": i
    for i in instrument_ids()
    if get_instrument(i).loinc_total
}


#: Longest identifier system and value ``fhir_external_ref`` stores.
MAX_KEY = 255
#: Longest MRN ``patient.mrn`` stores.
MAX_MRN = 64


def _key(resource: Mapping[str, Any], full_url: str, rtype: str) -> ExternalKey:
    key = _find_key(resource, full_url, rtype)
    if len(key.system) > MAX_KEY or len(key.value) > MAX_KEY:
        raise ValueError(f"identifier is longer than {MAX_KEY} characters")
    return key


def _find_key(resource: Mapping[str, Any], full_url: str, rtype: str) -> ExternalKey:
    raw = resource.get("identifier")
    idents = [raw] if isinstance(raw, Mapping) else list(raw or ())
    for ident in idents:
        # An MRN is local to its hospital: never the key.
        if (
            isinstance(ident, Mapping)
            and ident.get("system")
            and ident.get("value")
            and not _is_mr(ident)
        ):
            return ExternalKey(str(ident["system"]), str(ident["value"]))
    if full_url.startswith("urn:uuid:"):
        return ExternalKey(URI_SYSTEM, full_url)
    if resource.get("id"):
        return ExternalKey(f"{URI_SYSTEM}#{rtype}", f"{rtype}/{resource['id']}")
    raise ValueError("has no identifier, id or urn:uuid fullUrl to import it by")


def _is_mr(ident: Mapping[str, Any]) -> bool:
    for c in (ident.get("type") or {}).get("coding") or ():
        if isinstance(c, Mapping) and c.get("code") == "MR":
            return True
    return False


def _datetime(value: Any, what: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} is missing")
    try:
        if len(value) == 10:
            dt = datetime.fromisoformat(value).replace(tzinfo=UTC)
        else:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a FHIR dateTime") from None
    if dt.tzinfo is None:
        raise ValueError(f"{what} {value!r} has no time zone")
    return dt.astimezone(UTC)


def _patient(resource: Mapping[str, Any], key: ExternalKey, aliases: list[str]) -> ImportPatient:
    names = resource.get("name") or []
    name = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    given = " ".join(str(g) for g in (name.get("given") or [])) or "Unknown"
    family = str(name.get("family") or "Unknown")
    birth: date | None = None
    if resource.get("birthDate"):
        try:
            birth = date.fromisoformat(str(resource["birthDate"]))
        except ValueError:
            raise ValueError(f"birthDate {resource['birthDate']!r} is not a date") from None
    mrn = next(
        (str(i["value"]) for i in resource.get("identifier") or () if _is_mr(i) and i.get("value")),
        None,
    )
    if mrn is not None and len(mrn) > MAX_MRN:
        # An identifier is never cut: two long MRNs sharing a prefix would become one.
        raise ValueError(f"MRN is longer than {MAX_MRN} characters")
    synthetic = any(i.get("system") == SYNTHEA_SYSTEM for i in resource.get("identifier") or ())
    gender = str(resource.get("gender") or "unknown")
    return ImportPatient(
        key=key,
        given_name=given[:100],
        family_name=family[:100],
        birth_date=birth,
        sex=gender if gender in ("female", "male", "other") else "unknown",
        mrn=mrn,
        synthetic=synthetic,
        aliases=tuple(aliases),
    )


def _subject(resource: Mapping[str, Any]) -> str:
    subject = resource.get("subject") or resource.get("patient") or {}
    reference = subject.get("reference") if isinstance(subject, Mapping) else None
    if not reference:
        raise ValueError("has no subject reference")
    return str(reference)


def _loinc(resource: Mapping[str, Any]) -> list[str]:
    return [
        str(c.get("code"))
        for c in (resource.get("code") or {}).get("coding") or ()
        if isinstance(c, Mapping) and c.get("system") == LOINC
    ]


def _total(resource: Mapping[str, Any], key: ExternalKey, iid: str) -> ImportTotal:
    vq = resource.get("valueQuantity")
    value = vq.get("value") if isinstance(vq, Mapping) else resource.get("valueInteger")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{iid} total has no numeric value")
    if value != int(value):
        raise ValueError(f"{iid} total {value} is not a whole number")
    when = resource.get("effectiveDateTime") or (resource.get("effectivePeriod") or {}).get("start")
    encounter = (resource.get("encounter") or {}).get("reference") or ""
    return ImportTotal(
        key=key,
        patient=_subject(resource),
        instrument_id=iid,
        total=int(value),
        effective=_datetime(when or resource.get("issued"), "effectiveDateTime"),
        encounter=str(encounter),
    )


def _condition(resource: Mapping[str, Any], key: ExternalKey) -> ImportCondition | None:
    codings = [
        c for c in (resource.get("code") or {}).get("coding") or () if isinstance(c, Mapping)
    ]
    snomed = next((c for c in codings if c.get("system") == SNOMED), None)
    icd = next((c for c in codings if c.get("system") == ICD10CM), None)
    psychiatric = (snomed and str(snomed.get("code")) in PSYCHIATRIC_SNOMED) or (
        icd and str(icd.get("code", "")).upper().startswith(("F32", "F33", "F41"))
    )
    if not psychiatric:
        return None
    for coding, system, longest in ((snomed, "SNOMED CT", 32), (icd, "ICD-10-CM", 16)):
        if coding and len(str(coding.get("code"))) > longest:
            raise ValueError(f"{system} code is longer than {longest} characters")
    status = next(
        (str(c.get("code")) for c in (resource.get("clinicalStatus") or {}).get("coding") or ()),
        "active",
    )
    onset_raw = resource.get("onsetDateTime")
    recorded_raw = resource.get("recordedDate")
    text = str((resource.get("code") or {}).get("text") or (snomed or icd or {}).get("display", ""))
    return ImportCondition(
        key=key,
        patient=_subject(resource),
        text=text[:200],
        snomed_code=str(snomed["code"]) if snomed else None,
        snomed_display=str(snomed.get("display") or "")[:200] or None if snomed else None,
        icd10_code=str(icd["code"]) if icd else None,
        icd10_display=str(icd.get("display") or "")[:200] or None if icd else None,
        clinical_status=status[:16],
        onset=_datetime(onset_raw, "onsetDateTime").date() if onset_raw else None,
        recorded=_datetime(recorded_raw, "recordedDate") if recorded_raw else None,
    )


def _ketacare_instrument(canonical: str) -> str | None:
    prefix = f"{BASE_URL}/Questionnaire/"
    if canonical.startswith(prefix):
        iid = canonical[len(prefix) :].split("|", 1)[0]
        return iid if iid in instrument_ids() else None
    return None


def read_bundle(bundle: Any) -> ParsedBundle:
    """Parse a decoded R4 Bundle; raise :class:`BundleError` if it is malformed."""
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        raise BundleError("is not a FHIR Bundle")
    if bundle.get("type") not in ("transaction", "collection", "batch", "searchset"):
        raise BundleError(
            f"type {bundle.get('type')!r} is not imported (transaction or collection)"
        )
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise BundleError("entry is not a list")
    out = ParsedBundle()
    questionnaires: dict[str, Mapping[str, Any]] = {}
    pending: list[tuple[int, str, Mapping[str, Any], ExternalKey]] = []
    for index, ent in enumerate(entries):
        full_url = str(ent.get("fullUrl") or "") if isinstance(ent, Mapping) else ""
        resource = ent.get("resource") if isinstance(ent, Mapping) else None
        if not isinstance(resource, Mapping) or not isinstance(resource.get("resourceType"), str):
            raise BundleError("has no resource with a resourceType", index, full_url)
        out.resources += 1
        rtype = str(resource["resourceType"])
        try:
            key = _key(resource, full_url, rtype)
            if rtype == "Patient":
                aliases = [a for a in (full_url, f"Patient/{resource.get('id')}") if a]
                out.patients.append(
                    replace(_patient(resource, key, aliases), index=index, full_url=full_url)
                )
            elif rtype == "Observation":
                iid = next((TOTAL_CODES[c] for c in _loinc(resource) if c in TOTAL_CODES), None)
                if iid is None:
                    out.skip("Observation: not a total score of a known instrument")
                elif resource.get("status") in ("entered-in-error", "cancelled"):
                    out.skip(f"Observation: status {resource.get('status')}")
                else:
                    out.totals.append(
                        replace(_total(resource, key, iid), index=index, full_url=full_url)
                    )
            elif rtype == "Condition":
                cond = _condition(resource, key)
                if cond is None:
                    out.skip("Condition: not a depression or anxiety diagnosis")
                else:
                    out.conditions.append(replace(cond, index=index, full_url=full_url))
            elif rtype == "Questionnaire":
                if resource.get("url"):
                    questionnaires[str(resource["url"]).split("|", 1)[0]] = resource
                questionnaires[full_url] = resource
                out.skip("Questionnaire: used to read responses, not stored")
            elif rtype == "QuestionnaireResponse":
                pending.append((index, full_url, resource, key))
            else:
                out.skip(f"{rtype}: resource type not imported")
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise BundleError(f"{rtype} {exc}", index, full_url) from None
    for index, full_url, resource, key in pending:
        try:
            if resource.get("status") != "completed":
                out.skip(f"QuestionnaireResponse: status {resource.get('status')!r}, not completed")
                continue
            canonical = str(resource.get("questionnaire") or "")
            iid = _ketacare_instrument(canonical)
            questionnaire = questionnaires.get(canonical.split("|", 1)[0])
            if iid is None and questionnaire is None:
                out.skip("QuestionnaireResponse: questionnaire not known to ketacare")
                continue
            out.responses.append(
                ImportResponse(
                    key=key,
                    patient=_subject(resource),
                    response=resource,
                    questionnaire=questionnaire,
                    instrument_id=iid,
                    authored=_datetime(resource.get("authored"), "authored"),
                    index=index,
                    full_url=full_url,
                )
            )
        except (ValueError, TypeError, AttributeError) as exc:
            raise BundleError(f"QuestionnaireResponse {exc}", index, full_url) from None
    _deduplicate(out)
    patients = {a for p in out.patients for a in p.aliases}
    records: list[ImportTotal | ImportCondition | ImportResponse] = [
        *out.totals,
        *out.conditions,
        *out.responses,
    ]
    for rec in records:
        if rec.patient not in patients:
            kind = {ImportTotal: "Observation", ImportCondition: "Condition"}.get(
                type(rec), "QuestionnaireResponse"
            )
            raise BundleError(
                f"{kind} subject {rec.patient!r} is not a Patient in this bundle",
                rec.index,
                rec.full_url,
            )
    return out


SCORE_OF_RESPONSE = (
    "Observation: total score of a QuestionnaireResponse in this bundle "
    "(same identifier; the response is kept)"
)


def _deduplicate(out: ParsedBundle) -> None:
    """Keep one record per identifier, so one bundle never imports a record twice.

    ketacare's own export gives an assessment's QuestionnaireResponse and its total-score
    Observation the same identifier: they are one record, and the response (it has the
    answers) is kept. Any other identifier repeated in the bundle keeps its first entry; the
    others are skipped with the reason counted. A repeated Patient lends its references
    (``fullUrl``, ``Patient/<id>``) to the one kept.
    """
    answered = {r.key for r in out.responses}
    totals = []
    for t in out.totals:
        if t.key in answered:
            out.skip(SCORE_OF_RESPONSE)
        else:
            totals.append(t)
    kinds: list[tuple[str, list[Any]]] = [
        ("Patient", out.patients),
        ("Observation", totals),
        ("Condition", out.conditions),
        ("QuestionnaireResponse", out.responses),
    ]
    entries = sorted(
        ((rec.index, kind, rec) for kind, recs in kinds for rec in recs), key=lambda e: e[0]
    )
    first: dict[ExternalKey, int] = {}
    kept: dict[int, Any] = {}
    for index, kind, rec in entries:
        if rec.key not in first:
            first[rec.key] = index
            kept[index] = rec
            continue
        out.skip(f"{kind}: identifier repeated in this bundle (the first entry is kept)")
        earlier = kept[first[rec.key]]
        if isinstance(rec, ImportPatient) and isinstance(earlier, ImportPatient):
            aliases = earlier.aliases + tuple(a for a in rec.aliases if a not in earlier.aliases)
            kept[first[rec.key]] = replace(earlier, aliases=aliases)
    out.patients = [r for r in kept.values() if isinstance(r, ImportPatient)]
    out.totals = [r for r in kept.values() if isinstance(r, ImportTotal)]
    out.conditions = [r for r in kept.values() if isinstance(r, ImportCondition)]
    out.responses = [r for r in kept.values() if isinstance(r, ImportResponse)]
