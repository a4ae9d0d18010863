"""Read R4 transaction or collection Bundles (e.g. Synthea) into plain import records.

Pure: decoded JSON in, dataclasses out. A structural problem raises :class:`BundleError`
naming the entry (index and ``fullUrl``) and the reason, so the caller can refuse the whole
bundle. Entries ketacare does not import are listed in ``skipped`` with the reason, and so are
entries repeating an identifier already in the bundle (one record each: a QuestionnaireResponse
wins over the total-score Observation ketacare's export gives the same identifier, otherwise
the first entry wins), so the importer never stores a record, or its identifier, twice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from ketacare.domain.dates import EARLIEST, LATEST
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


@dataclass(frozen=True, slots=True)
class EntryNote:
    """One entry refused or skipped: its position, ``fullUrl`` and the reason."""

    index: int | None
    full_url: str
    reason: str

    def where(self) -> str:
        """``entry 3 (urn:uuid:...)``, or ``bundle`` for the bundle itself."""
        if self.index is None:
            return "bundle"
        return f"entry {self.index}" + (f" ({self.full_url})" if self.full_url else "")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the API's and ``--report``'s)."""
        return {"index": self.index, "fullUrl": self.full_url, "reason": self.reason}


class BundleError(ValueError):
    """A refused bundle: ``problems`` lists every refused entry (``index`` and ``full_url``
    name the first; index None for the bundle itself)."""

    def __init__(
        self,
        reason: str,
        index: int | None = None,
        full_url: str = "",
        problems: tuple[EntryNote, ...] = (),
    ) -> None:
        first = EntryNote(index, full_url, reason)
        self.problems = problems or (first,)
        more = len(self.problems) - 1
        tail = f" (and {more} more refused entr{'y' if more == 1 else 'ies'})" if more else ""
        super().__init__(f"{first.where()}: {reason}{tail}")
        self.reason = reason
        self.index = index
        self.full_url = full_url

    @classmethod
    def of(cls, problems: list[EntryNote]) -> BundleError:
        """One error listing every problem (the first is the message)."""
        first = problems[0]
        return cls(first.reason, first.index, first.full_url, tuple(problems))


#: Earliest and latest year of any date ketacare imports or searches (a sane range: dates
#: outside it are typing errors or attacks, and year 1 with a +14:00 offset overflows).
MIN_YEAR, MAX_YEAR = EARLIEST.year, LATEST.year
#: Deepest JSON nesting read (ketacare's own export nests 7 levels; LHC-Forms a few more).
MAX_DEPTH = 64


def check_year(year: int, what: str) -> None:
    """ValueError naming ``what`` unless ``year`` is within MIN_YEAR..MAX_YEAR."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"{what} year {year} is outside {MIN_YEAR}-{MAX_YEAR}")


def _storable(entry: Any) -> None:
    """ValueError unless an entry ketacare reads is free of :func:`json_hazard` (checked only
    for the entries it imports or reads: the others, often large, are skipped unread)."""
    hazard = json_hazard(entry, MAX_DEPTH - 2)
    if hazard:
        raise ValueError(hazard)


def json_hazard(value: Any, max_depth: int = MAX_DEPTH) -> str | None:
    """The first value no database can store faithfully, or None: a string with a NUL
    character, a number that is not finite (``Infinity``, ``NaN``), nesting deeper than
    ``max_depth``. Iterative, so a hostile depth cannot exhaust the stack."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            return f"is nested deeper than {max_depth} levels"
        if isinstance(item, str):
            if "\x00" in item:
                return "contains a NUL character"
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                return f"contains the non-finite number {item}"
        elif isinstance(item, Mapping):
            for k, v in item.items():
                if isinstance(k, str) and "\x00" in k:
                    return "contains a NUL character"
                stack.append((v, depth + 1))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return None


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
    skipped_entries: list[EntryNote] = field(default_factory=list)
    resources: int = 0

    def skip(self, reason: str, index: int | None = None, full_url: str = "") -> None:
        """Count one skipped entry under ``reason`` and list it."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        self.skipped_entries.append(EntryNote(index, full_url, reason))


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


def read_datetime(value: Any, what: str) -> datetime:
    """A FHIR date or dateTime with a time zone, in years MIN_YEAR..MAX_YEAR, as UTC;
    ValueError naming ``what`` otherwise."""
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
    check_year(dt.year, what)
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
        check_year(birth.year, "birthDate")
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
    if not math.isfinite(value) or value != int(value):
        raise ValueError(f"{iid} total {value} is not a whole number")
    inst = get_instrument(iid)
    if inst.range is not None and not inst.range[0] <= value <= inst.range[1]:
        raise ValueError(f"{iid} total {value:g} is outside {inst.range[0]}-{inst.range[1]}")
    when = resource.get("effectiveDateTime") or (resource.get("effectivePeriod") or {}).get("start")
    encounter = (resource.get("encounter") or {}).get("reference") or ""
    return ImportTotal(
        key=key,
        patient=_subject(resource),
        instrument_id=iid,
        total=int(value),
        effective=read_datetime(when or resource.get("issued"), "effectiveDateTime"),
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
        onset=read_datetime(onset_raw, "onsetDateTime").date() if onset_raw else None,
        recorded=read_datetime(recorded_raw, "recordedDate") if recorded_raw else None,
    )


def _ketacare_instrument(canonical: str) -> str | None:
    prefix = f"{BASE_URL}/Questionnaire/"
    if canonical.startswith(prefix):
        iid = canonical[len(prefix) :].split("|", 1)[0]
        return iid if iid in instrument_ids() else None
    return None


def read_bundle(bundle: Any) -> ParsedBundle:
    """Parse a decoded R4 Bundle; raise :class:`BundleError` listing every refused entry.

    One rule for every invalid clinical value (docs/fhir.md, "Refused or skipped"): an entry
    ketacare imports whose value is invalid (a total that is missing, not a whole number or
    outside the instrument's range; a date that is unreadable, without a time zone or outside
    MIN_YEAR..MAX_YEAR; a subject that is not a Patient of the bundle; a NUL character, a
    non-finite number, too deep nesting) refuses the whole bundle, and every such entry is
    listed. Entries ketacare does not import are skipped and listed, never refused.
    """
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        raise BundleError("is not a FHIR Bundle")
    if bundle.get("type") not in ("transaction", "collection", "batch", "searchset"):
        raise BundleError(
            f"type {bundle.get('type')!r} is not imported (transaction or collection)"
        )
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise BundleError("entry is not a list")
    hazard = json_hazard({k: v for k, v in bundle.items() if k != "entry"}, MAX_DEPTH - 1)
    if hazard:
        raise BundleError(hazard)
    out = ParsedBundle()
    problems: list[EntryNote] = []
    refused_aliases: set[str] = set()
    questionnaires: dict[str, Mapping[str, Any]] = {}
    pending: list[tuple[int, str, Mapping[str, Any], ExternalKey]] = []
    for index, ent in enumerate(entries):
        full_url = str(ent.get("fullUrl") or "") if isinstance(ent, Mapping) else ""
        resource = ent.get("resource") if isinstance(ent, Mapping) else None
        if not isinstance(resource, Mapping) or not isinstance(resource.get("resourceType"), str):
            problems.append(EntryNote(index, full_url, "has no resource with a resourceType"))
            continue
        out.resources += 1
        rtype = str(resource["resourceType"])
        if rtype == "Patient":  # if refused, references to it are not reported again
            refused_aliases.update(a for a in (full_url, f"Patient/{resource.get('id')}") if a)
        try:
            key = _key(resource, full_url, rtype)
            if rtype == "Patient":
                aliases = [a for a in (full_url, f"Patient/{resource.get('id')}") if a]
                _storable(ent)
                out.patients.append(
                    replace(_patient(resource, key, aliases), index=index, full_url=full_url)
                )
            elif rtype == "Observation":
                iid = next((TOTAL_CODES[c] for c in _loinc(resource) if c in TOTAL_CODES), None)
                if iid is None:
                    out.skip(
                        "Observation: not a total score of a known instrument", index, full_url
                    )
                elif resource.get("status") in ("entered-in-error", "cancelled"):
                    out.skip(f"Observation: status {resource.get('status')}", index, full_url)
                else:
                    _storable(ent)
                    out.totals.append(
                        replace(_total(resource, key, iid), index=index, full_url=full_url)
                    )
            elif rtype == "Condition":
                cond = _condition(resource, key)
                if cond is None:
                    out.skip("Condition: not a depression or anxiety diagnosis", index, full_url)
                else:
                    _storable(ent)
                    out.conditions.append(replace(cond, index=index, full_url=full_url))
            elif rtype == "Questionnaire":
                _storable(ent)
                if resource.get("url"):
                    questionnaires[str(resource["url"]).split("|", 1)[0]] = resource
                questionnaires[full_url] = resource
                out.skip("Questionnaire: used to read responses, not stored", index, full_url)
            elif rtype == "QuestionnaireResponse":
                pending.append((index, full_url, resource, key))
            else:
                out.skip(f"{rtype}: resource type not imported", index, full_url)
        except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as exc:
            problems.append(EntryNote(index, full_url, f"{rtype} {exc}"))
    for index, full_url, resource, key in pending:
        try:
            if resource.get("status") != "completed":
                out.skip(
                    f"QuestionnaireResponse: status {resource.get('status')!r}, not completed",
                    index,
                    full_url,
                )
                continue
            _storable({"fullUrl": full_url, "resource": resource})
            canonical = str(resource.get("questionnaire") or "")
            iid = _ketacare_instrument(canonical)
            questionnaire = questionnaires.get(canonical.split("|", 1)[0])
            if iid is None and questionnaire is None:
                out.skip(
                    "QuestionnaireResponse: questionnaire not known to ketacare", index, full_url
                )
                continue
            out.responses.append(
                ImportResponse(
                    key=key,
                    patient=_subject(resource),
                    response=resource,
                    questionnaire=questionnaire,
                    instrument_id=iid,
                    authored=read_datetime(resource.get("authored"), "authored"),
                    index=index,
                    full_url=full_url,
                )
            )
        except (ValueError, TypeError, AttributeError, OverflowError) as exc:
            problems.append(EntryNote(index, full_url, f"QuestionnaireResponse {exc}"))
    _deduplicate(out)
    patients = {a for p in out.patients for a in p.aliases} | refused_aliases
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
            problems.append(
                EntryNote(
                    rec.index,
                    rec.full_url,
                    f"{kind} subject {rec.patient!r} is not a Patient in this bundle",
                )
            )
    if problems:
        raise BundleError.of(sorted(problems, key=lambda n: -1 if n.index is None else n.index))
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
            out.skip(SCORE_OF_RESPONSE, t.index, t.full_url)
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
        out.skip(
            f"{kind}: identifier repeated in this bundle (the first entry is kept)",
            rec.index,
            rec.full_url,
        )
        earlier = kept[first[rec.key]]
        if isinstance(rec, ImportPatient) and isinstance(earlier, ImportPatient):
            aliases = earlier.aliases + tuple(a for a in rec.aliases if a not in earlier.aliases)
            kept[first[rec.key]] = replace(earlier, aliases=aliases)
    out.patients = [r for r in kept.values() if isinstance(r, ImportPatient)]
    out.totals = [r for r in kept.values() if isinstance(r, ImportTotal)]
    out.conditions = [r for r in kept.values() if isinstance(r, ImportCondition)]
    out.responses = [r for r in kept.values() if isinstance(r, ImportResponse)]
