"""The intake web form: its fields, and conversion between form values and the intake JSON.

Each input is named by its dotted path in the intake document (``medical.child_pugh``,
``treatment.antidepressant_trials[0].weeks``), so the domain's field-named errors land next to
the right input. An empty choice means *unknown*, never "no".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ketacare.domain.intake.antidepressants import ANTIDEPRESSANTS
from ketacare.domain.intake.model import (
    CHILD_PUGH,
    CSSRS_LEVELS,
    DRUG_CLASSES,
    MSM_SEVERITIES,
    RECENCIES,
    SEXES,
    TRIAL_OUTCOMES,
)
from ketacare.domain.mbc.screening import PHQ9_ITEMS

MAX_TRIALS = 12
TRIAL_KEYS = (
    "drug",
    "drug_class",
    "dose_mg_per_day",
    "weeks",
    "adequate_dose",
    "outcome",
    "current_episode",
)
TRIALS = "treatment.antidepressant_trials"
_TRIAL_ERR = re.compile(r"^treatment\.antidepressant_trials\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class Field:
    """One input: dotted path, label, kind (yesno, int, num, choice, date, text, list, drug).

    ``drug`` is free text with the ``choices`` offered as suggestions."""

    path: str
    label: str
    kind: str
    choices: tuple[str, ...] = ()
    hint: str = ""

    @property
    def id(self) -> str:
        """HTML id derived from the path."""
        return "f-" + re.sub(r"[^a-z0-9]+", "-", self.path.lower()).strip("-")


def _yn(path: str, label: str, hint: str = "") -> Field:
    return Field(path, label, "yesno", hint=hint)


SECTIONS: tuple[tuple[str, tuple[Field, ...]], ...] = (
    (
        "Patient",
        (
            Field("assessed_on", "Assessed on", "date", hint="Empty: today."),
            Field("demographics.age_years", "Age (years)", "int"),
            Field("demographics.sex", "Sex", "choice", SEXES),
            Field("demographics.weight_kg", "Weight (kg)", "num"),
            Field("demographics.height_cm", "Height (cm)", "num"),
        ),
    ),
    (
        "Current episode",
        (
            Field("episode.current_episode_start", "Current episode started on", "date"),
            Field("episode.number_of_episodes", "Number of episodes (lifetime)", "int"),
        ),
    ),
    (
        "Other treatments",
        (
            _yn("treatment.augmentation", "Augmentation tried in this episode"),
            _yn("treatment.psychotherapy", "Psychotherapy"),
            _yn("treatment.ect", "ECT"),
            _yn("treatment.ect_bilateral_failed", "Failed a course of bilateral ECT"),
        ),
    ),
    (
        "Medical history",
        (
            _yn("medical.hypertension", "Hypertension"),
            _yn("medical.hypertension_controlled", "Hypertension controlled"),
            _yn("medical.aneurysmal_vascular_disease", "Aneurysmal vascular disease"),
            _yn("medical.arteriovenous_malformation", "Arteriovenous malformation"),
            _yn("medical.intracerebral_haemorrhage", "Intracerebral haemorrhage (history)"),
            _yn("medical.cardiac_disease", "Cardiac disease"),
            _yn("medical.hepatic_impairment", "Hepatic impairment"),
            Field("medical.child_pugh", "Child-Pugh class", "choice", CHILD_PUGH),
            _yn("medical.pregnant_or_lactating", "Pregnant or breastfeeding"),
            _yn("medical.psychotic_disorder", "Psychotic disorder"),
            _yn("medical.mania_or_hypomania", "Mania or hypomania (ever)"),
            _yn("medical.substance_use_disorder", "Substance use disorder"),
            Field("medical.substances", "Substances", "list", hint="Comma-separated."),
            Field("medical.substance_use_recency", "Last use", "choice", RECENCIES),
            Field(
                "medical.benzodiazepine_lorazepam_eq_mg",
                "Benzodiazepine, mg/day lorazepam equivalents",
                "num",
                hint="0 when none.",
            ),
            _yn("medical.maoi", "Takes an MAOI"),
            _yn("medical.psychostimulant", "Takes a psychostimulant"),
            _yn("medical.ketamine_hypersensitivity", "Known hypersensitivity to ketamine"),
            _yn("family_history_mental_illness", "Family history of mental illness"),
        ),
    ),
    (
        "Latest blood pressure",
        (
            Field("blood_pressure.systolic_mmhg", "Systolic (mmHg)", "int"),
            Field("blood_pressure.diastolic_mmhg", "Diastolic (mmHg)", "int"),
            Field("blood_pressure.measured_on", "Measured on", "date"),
        ),
    ),
    (
        "Screening and diagnosis",
        (
            *(
                Field(f"screening.phq9.{i}", f"PHQ-9 {i}. {text}", "choice", ("0", "1", "2", "3"))
                for i, text in enumerate(PHQ9_ITEMS, start=1)
            ),
            Field("screening.phq9_difficulty", "PHQ-9 difficulty", "choice", ("0", "1", "2", "3")),
            Field("screening.cssrs_risk", "C-SSRS screen risk", "choice", CSSRS_LEVELS),
            _yn("dsm5.b_distress_or_impairment", "DSM-5 B: clinically significant distress"),
            _yn("dsm5.c_not_substance_or_medical", "DSM-5 C: not due to a substance or illness"),
            _yn("dsm5.d_not_psychotic_disorder", "DSM-5 D: not a psychotic disorder"),
            _yn("dsm5.e_no_mania_or_hypomania", "DSM-5 E: never a manic or hypomanic episode"),
            Field("clinician_severity", "Severity (clinician)", "choice", MSM_SEVERITIES),
        ),
    ),
)
FIELDS: dict[str, Field] = {f.path: f for _, fs in SECTIONS for f in fs}
TRIAL_FIELDS: dict[str, Field] = {
    # The names the form suggests (a datalist; any name may be typed). Brand names of these
    # are mapped to the generic when trials are compared (ketacare.domain.intake.antidepressants).
    "drug": Field("drug", "Drug", "drug", tuple(sorted(ANTIDEPRESSANTS))),
    "drug_class": Field("drug_class", "Class", "choice", DRUG_CLASSES),
    "dose_mg_per_day": Field("dose_mg_per_day", "mg/day", "num"),
    "weeks": Field("weeks", "Weeks", "num"),
    "adequate_dose": Field("adequate_dose", "Adequate dose", "yesno"),
    "outcome": Field("outcome", "Outcome", "choice", TRIAL_OUTCOMES),
    "current_episode": Field("current_episode", "This episode", "yesno"),
}


def _convert(f: Field, raw: str, name: str, problems: dict[str, str]) -> object:
    text = raw.strip()
    if text == "":
        return None
    if f.kind == "yesno":
        if text in ("yes", "no"):
            return text == "yes"
        problems[name] = "must be yes, no or unknown"
        return None
    if f.kind in ("int", "num"):
        try:
            return int(text) if f.kind == "int" else float(text)
        except ValueError:
            problems[name] = "must be a whole number" if f.kind == "int" else "must be a number"
            return None
    if f.kind == "choice" and text not in f.choices:
        problems[name] = f"must be one of {', '.join(f.choices)} or unknown"
        return None
    if f.kind == "list":
        return [s.strip() for s in text.split(",") if s.strip()]
    return text


def _put(doc: dict[str, Any], path: str, value: object) -> None:
    head, _, rest = path.partition(".")
    if not rest:
        doc[head] = value
        return
    _put(doc.setdefault(head, {}), rest, value)


def form_to_document(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str], list[int]]:
    """Build the intake document from the posted form.

    Returns the document, ``{field: reason}`` for values that are not even numbers or
    choices, and the form row of each stored trial (to put trial errors on the right row).
    """
    problems: dict[str, str] = {}
    doc: dict[str, Any] = {"schema_version": 1}
    phq9: list[object] = []
    for path, f in FIELDS.items():
        value = _convert(f, form.get(path, ""), path, problems)
        if path.startswith("screening.phq9."):
            phq9.append(None if value is None else int(str(value)))
        elif path == "medical.substances":
            _put(doc, path, value or [])
        elif path.startswith(("screening.phq9_difficulty",)) and value is not None:
            _put(doc, path, int(str(value)))
        else:
            _put(doc, path, value)
    doc.setdefault("screening", {})["phq9"] = None if all(v is None for v in phq9) else phq9
    bp = doc.get("blood_pressure", {})
    if all(v is None for v in bp.values()):
        doc["blood_pressure"] = None
    trials: list[dict[str, object]] = []
    rows: list[int] = []
    for i in range(MAX_TRIALS):
        row = {k: form.get(f"{TRIALS}[{i}].{k}", "") for k in TRIAL_KEYS}
        if not any(row[k].strip() for k in TRIAL_KEYS if k != "current_episode"):
            continue
        trial = {
            k: _convert(TRIAL_FIELDS[k], v, f"{TRIALS}[{i}].{k}", problems) for k, v in row.items()
        }
        trials.append(trial)
        rows.append(i)
    status = form.get(TRIALS, "").strip()
    if trials:
        _put(doc, TRIALS, trials)
    else:
        _put(doc, TRIALS, [] if status == "none" else None)
    return doc, problems, rows


def form_field(field: str, rows: list[int]) -> str:
    """The form input of a domain error's field (trial index mapped back to the form row)."""
    m = _TRIAL_ERR.match(field)
    if m and int(m.group(1)) < len(rows):
        return f"{TRIALS}[{rows[int(m.group(1))]}]" + field[m.end() :]
    return field


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _get(doc: Mapping[str, Any], path: str) -> object:
    node: object = doc
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def document_to_values(doc: Mapping[str, Any]) -> dict[str, str]:
    """Form values (strings) that show a stored document."""
    values: dict[str, str] = {}
    phq9 = _get(doc, "screening.phq9")
    for path in FIELDS:
        if path.startswith("screening.phq9."):
            i = int(path.rsplit(".", 1)[1]) - 1
            values[path] = _text(phq9[i]) if isinstance(phq9, list) else ""
        else:
            values[path] = _text(_get(doc, path))
    trials = _get(doc, TRIALS)
    values[TRIALS] = "none" if trials == [] else ""
    for i, t in enumerate(trials if isinstance(trials, list) else []):
        for k in TRIAL_KEYS:
            values[f"{TRIALS}[{i}].{k}"] = _text(t.get(k))
    return values


def trial_rows(values: Mapping[str, str]) -> int:
    """How many trial rows to show: the filled ones plus two blank (at least four)."""
    used = [i for i in range(MAX_TRIALS) if values.get(f"{TRIALS}[{i}].drug", "").strip()]
    return min(MAX_TRIALS, max(4, (max(used) + 1 if used else 0) + 2))
