"""Export an instrument as an R4 SDC Questionnaire (JSON-ready dict).

Answer scores are carried twice, as the R4 ``ordinalValue`` extension and the newer
``itemWeight`` extension, and the total as an SDC ``calculatedExpression`` in plain FHIRPath
(no ``weight()``/``ordinal()`` functions, which common engines lack), evaluated against
``%questionnaire`` and ``%resource``. Unlike the LHC-Forms PHQ-9, the expression is empty until
every scored item is answered, matching ketacare's rule of never scoring a partial form.
"""

from __future__ import annotations

import re
from typing import Any

from ketacare.domain.instruments import Instrument, Item, get_instrument

FHIR_VERSION = "4.0.1"
BASE_URL = "https://ketacare.org/fhir"
LOINC = "http://loinc.org"
EXT_ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
EXT_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
EXT_VARIABLE = "http://hl7.org/fhir/StructureDefinition/variable"
EXT_CALCULATED = (
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
)
SDC_PROFILE = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire"
TOTAL_LINK_ID = "total"
_MAX = "aggregate(iif($total.empty() or $this > $total, $this, $total))"


def answer_system(inst: Instrument) -> str:
    """Code system of ketacare's own answer codes for instruments without LOINC answers."""
    return f"{BASE_URL}/CodeSystem/{inst.id}-answers"


def _coding(inst: Instrument, item: Item, value: int) -> dict[str, str]:
    opt = next(o for o in item.options if o.value == value)
    if opt.loinc:
        return {"system": LOINC, "code": opt.loinc, "display": opt.label}
    return {"system": answer_system(inst), "code": str(opt.value), "display": opt.label}


def _var(n: int) -> str:
    return f"v{n + 1}"


def _item(inst: Instrument, item: Item) -> dict[str, Any]:
    out: dict[str, Any] = {"linkId": item.id}
    if item.loinc:
        out["code"] = [{"system": LOINC, "code": item.loinc, "display": item.label}]
    out["text"] = item.text or f"{inst.short_name} item {item.id}: {item.label}"
    out["type"] = "choice"
    out["required"] = item.required and item.enable_when is None
    if item.enable_when is not None:
        dep, equals = item.enable_when
        out["enableWhen"] = [
            {
                "question": dep,
                "operator": "=",
                "answerCoding": _coding(inst, inst.item(dep), equals),
            }
        ]
    options = []
    for opt in item.options:
        o: dict[str, Any] = {"valueCoding": _coding(inst, item, opt.value)}
        if opt.score is not None and item.scored:
            o["extension"] = [
                {"url": EXT_ORDINAL, "valueDecimal": opt.score},
                {"url": EXT_WEIGHT, "valueDecimal": opt.score},
            ]
        options.append(o)
    out["answerOption"] = options
    return out


def _variable_expression(link_id: str) -> str:
    return (
        f"%questionnaire.repeat(item).where(linkId = '{link_id}').answerOption"
        f".where(valueCoding.code = %resource.repeat(item).where(linkId = '{link_id}')"
        f".answer.valueCoding.code).extension.where(url = '{EXT_ORDINAL}').valueDecimal"
    )


def total_expression(inst: Instrument) -> tuple[list[tuple[str, str]], str] | None:
    """FHIRPath variables and expression for the total (``None`` for the C-SSRS screeners)."""
    if inst.rule not in ("sum", "domains"):
        return None
    index = {it.id: n for n, it in enumerate(inst.items)}
    variables: list[tuple[str, str]] = []
    terms: list[str] = []
    for dom in inst.domains:
        names = [f"%{_var(index[i])}" for i in dom.items]
        for i in dom.items:
            variables.append((_var(index[i]), _variable_expression(i)))
        if dom.combine == "single":
            terms.append(names[0])
        else:
            union = "(" + " | ".join(names) + ")"
            best = f"{union}.{_MAX}"
            # 'one_of' (HAM-D 16A/16B): a 'not assessed' answer has no score and adds 0.
            terms.append(f"iif({union}.exists(), {best}, 0)" if dom.combine == "one_of" else best)
    return variables, " + ".join(terms)


def to_questionnaire(instrument: Instrument | str) -> dict[str, Any]:
    """Build an R4 Questionnaire for an instrument.

    Parameters
    ----------
    instrument : Instrument or str
        The definition (e.g. with clinic-licensed text loaded) or a built-in id.

    Returns
    -------
    dict
        A JSON-ready ``Questionnaire`` (FHIR 4.0.1, SDC profile) with LOINC codes where they
        exist and a ``total`` item carrying the ``calculatedExpression``.
    """
    inst = get_instrument(instrument) if isinstance(instrument, str) else instrument
    name = "Ketacare" + re.sub(r"[^A-Za-z0-9]", "", inst.short_name.title())
    copyright_parts = [inst.licence.attribution or inst.licence.note]
    if inst.licence.loinc_notice:
        copyright_parts.append(inst.licence.loinc_notice)
    q: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": inst.id,
        "meta": {"profile": [SDC_PROFILE]},
        "url": f"{BASE_URL}/Questionnaire/{inst.id}",
        "version": inst.version,
        "name": name[:255],
        "title": inst.name,
        "status": "active",
        "subjectType": ["Patient"],
        "description": f"{inst.citation}. Scoring: {inst.scoring_description}",
        "copyright": " ".join(copyright_parts),
    }
    if inst.loinc_panel:
        q["code"] = [{"system": LOINC, "code": inst.loinc_panel, "display": inst.name}]
    items = [_item(inst, it) for it in inst.items]
    calc = total_expression(inst)
    if calc is not None:
        variables, expression = calc
        total: dict[str, Any] = {
            "extension": [
                {
                    "url": EXT_VARIABLE,
                    "valueExpression": {
                        "name": name_,
                        "language": "text/fhirpath",
                        "expression": expr,
                    },
                }
                for name_, expr in variables
            ]
            + [
                {
                    "url": EXT_CALCULATED,
                    "valueExpression": {
                        "description": "Total score",
                        "language": "text/fhirpath",
                        "expression": expression,
                    },
                }
            ],
            "linkId": TOTAL_LINK_ID,
            "text": f"{inst.short_name} total score",
            "type": "decimal",
            "readOnly": True,
        }
        if inst.loinc_total:
            total["code"] = [{"system": LOINC, "code": inst.loinc_total, "display": "Total score"}]
        items.append(total)
    q["item"] = items
    return q
