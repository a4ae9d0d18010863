"""Import third-party R4 Questionnaires: match to a built-in instrument and score responses.

Matching is by LOINC: the Questionnaire's panel code (``code`` or ``identifier``) selects the
instrument, item codes (or LOINC-style ``linkId``s such as ``/44250-9``) select items, and
answer codes map to values through the instrument's LOINC answer codes or, failing that, the
option's ``ordinalValue``. ketacare's own Questionnaires (``to_questionnaire``: canonical
``url`` ``{BASE_URL}/Questionnaire/<instrument id>``) are also recognised by that url, so
instruments without a LOINC panel (MADRS, QIDS-SR16, CADSS, ...) re-import: an item without a
LOINC code maps by its ``linkId`` (the ketacare item id), an answer by ketacare's answer code
(``answer_system``) and the ``total`` item is the total. Third-party forms are not required
to pass strict validation (the LHC-Forms PHQ-9 does not). ketacare always recomputes the
total; a total stored in the response is compared, never trusted (HL7 SDC example: stored 13,
answers sum to 10).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments import (
    Instrument,
    ScoreResult,
    ScoringConfig,
    get_instrument,
    instrument_ids,
    score,
)
from ketacare.fhir.questionnaire import (
    BASE_URL,
    EXT_CALCULATED,
    EXT_ORDINAL,
    EXT_VARIABLE,
    LOINC,
    TOTAL_LINK_ID,
    answer_system,
)

AnswerKey = tuple[str | None, str]


@dataclass(frozen=True)
class QuestionnaireMatch:
    """How a third-party Questionnaire maps onto a built-in instrument.

    Attributes
    ----------
    instrument_id : str
        The matched instrument.
    item_map : mapping of str to str
        Questionnaire ``linkId`` -> ketacare item id.
    answer_map : mapping of str to mapping
        ``linkId`` -> ``(system, code)`` -> ketacare answer value.
    total_link_id : str or None
        ``linkId`` of the item coded with the instrument's LOINC total code.
    total_expression : str or None
        The Questionnaire's own FHIRPath ``calculatedExpression`` for the total.
    variables : tuple of (str, str)
        Its ``variable`` extensions, in order, as (name, expression).
    warnings : tuple of str
        Anything the importer noticed but could work around.
    """

    instrument_id: str
    title: str
    item_map: Mapping[str, str]
    answer_map: Mapping[str, Mapping[AnswerKey, int]]
    total_link_id: str | None = None
    total_expression: str | None = None
    variables: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def report(self) -> dict[str, Any]:
        """A JSON-ready summary of the match."""
        inst = get_instrument(self.instrument_id)
        return {
            "instrument": self.instrument_id,
            "version": inst.version,
            "title": self.title,
            "items_matched": len(self.item_map),
            "items": dict(self.item_map),
            "total_link_id": self.total_link_id,
            "has_total_expression": self.total_expression is not None,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class ImportedScore:
    """A QuestionnaireResponse scored by ketacare, with the total the response carried."""

    result: ScoreResult
    supplied_total: float | None

    @property
    def total_mismatch(self) -> bool:
        """True when the response carried a total that differs from ketacare's."""
        return self.supplied_total is not None and self.supplied_total != self.result.total


def _walk(items: Any) -> Iterator[Mapping[str, Any]]:
    for it in items or ():
        if isinstance(it, Mapping):
            yield it
            yield from _walk(it.get("item"))


def _loinc_codes(element: Mapping[str, Any], key: str = "code") -> list[str]:
    out = []
    for c in element.get(key) or ():
        if isinstance(c, Mapping) and c.get("system") == LOINC and c.get("code"):
            out.append(str(c["code"]))
        elif key == "identifier" and isinstance(c, Mapping) and c.get("system") == LOINC:
            out.append(str(c.get("value")))
    return out


def own_instrument(q: Mapping[str, Any]) -> Instrument | None:
    """The built-in instrument whose ketacare Questionnaire this is (by its canonical ``url``,
    a ``|version`` ignored), else None."""
    url = str(q.get("url") or "").split("|", 1)[0]
    prefix = f"{BASE_URL}/Questionnaire/"
    if not url.startswith(prefix):
        return None
    iid = url[len(prefix) :]
    return get_instrument(iid) if iid in instrument_ids() else None


def _instrument_for(q: Mapping[str, Any]) -> Instrument:
    own = own_instrument(q)
    if own is not None:
        return own
    codes = set(_loinc_codes(q)) | set(_loinc_codes(q, "identifier"))
    for iid in instrument_ids():
        inst = get_instrument(iid)
        if inst.loinc_panel and inst.loinc_panel in codes:
            return inst
    found = ", ".join(sorted(codes)) or "none"
    raise InvalidAnswer(
        "questionnaire.code",
        f"no built-in instrument has this LOINC panel code (found: {found}) "
        "and the url is not one of ketacare's Questionnaires",
    )


def _ordinal(option: Mapping[str, Any]) -> float | None:
    for ext in option.get("extension") or ():
        if ext.get("url") == EXT_ORDINAL and "valueDecimal" in ext:
            return float(ext["valueDecimal"])
    return None


def match_questionnaire(q: Mapping[str, Any]) -> QuestionnaireMatch:
    """Match an R4 Questionnaire to a built-in instrument by LOINC code or ketacare's url.

    A ketacare Questionnaire (see :func:`own_instrument`) maps an item without a LOINC code
    by its ``linkId`` (the ketacare item id) and answers by ketacare's answer codes.

    Parameters
    ----------
    q : mapping
        A decoded ``Questionnaire`` resource.

    Returns
    -------
    QuestionnaireMatch

    Raises
    ------
    InvalidAnswer
        Field ``questionnaire`` (wrong resource), ``questionnaire.code`` (no matching panel)
        or ``questionnaire.<item id>`` (a required item, or an answer, cannot be mapped).
    """
    if q.get("resourceType") != "Questionnaire":
        raise InvalidAnswer("questionnaire", "is not a FHIR Questionnaire resource")
    inst = _instrument_for(q)
    own = own_instrument(q) is not None
    by_loinc = {it.loinc: it for it in inst.items if it.loinc}
    by_id = {it.id: it for it in inst.items} if own else {}
    own_system = answer_system(inst)
    item_map: dict[str, str] = {}
    answer_map: dict[str, dict[AnswerKey, int]] = {}
    warnings: list[str] = []
    total_link: str | None = None
    expression: str | None = None
    variables: tuple[tuple[str, str], ...] = ()
    for qi in _walk(q.get("item")):
        link = str(qi.get("linkId", ""))
        coded = _loinc_codes(qi)
        codes = coded or [link.strip("/")]
        if (inst.loinc_total and inst.loinc_total in codes) or (
            own and link == TOTAL_LINK_ID and not coded
        ):
            total_link = link
            exts = qi.get("extension") or ()
            variables = tuple(
                (str(e["valueExpression"]["name"]), str(e["valueExpression"]["expression"]))
                for e in exts
                if e.get("url") == EXT_VARIABLE
            )
            expression = next(
                (
                    str(e["valueExpression"]["expression"])
                    for e in exts
                    if e.get("url") == EXT_CALCULATED
                ),
                None,
            )
            continue
        item = next((by_loinc[c] for c in codes if c in by_loinc), None)
        if item is None and not coded:
            item = by_id.get(link)
        if item is None:
            continue
        item_map[link] = item.id
        values = {o.loinc: o.value for o in item.options if o.loinc}
        own_codes = {str(o.value): o.value for o in item.options} if own else {}
        allowed = {o.value for o in item.options}
        amap: dict[AnswerKey, int] = {}
        for opt in qi.get("answerOption") or ():
            coding = opt.get("valueCoding") or {}
            code = str(coding.get("code", ""))
            if code in values:
                amap[(coding.get("system"), code)] = values[code]
                continue
            if coding.get("system") == own_system and code in own_codes:
                amap[(own_system, code)] = own_codes[code]
                continue
            ordinal = _ordinal(opt)
            if ordinal is not None and ordinal == int(ordinal) and int(ordinal) in allowed:
                amap[(coding.get("system"), code)] = int(ordinal)
                warnings.append(f"{link}: answer {code!r} mapped by its ordinalValue")
            else:
                raise InvalidAnswer(
                    f"questionnaire.{item.id}", f"answer code {code!r} has no ketacare value"
                )
        answer_map[link] = amap
    matched = set(item_map.values())
    for it in inst.items:
        if it.id not in matched:
            if it.required:
                how = "LOINC code or linkId" if own else "LOINC code"
                raise InvalidAnswer(f"questionnaire.{it.id}", f"no item with this {how}")
            warnings.append(f"optional item {it.id} ({it.label}) not in the Questionnaire")
    return QuestionnaireMatch(
        instrument_id=inst.id,
        title=str(q.get("title") or q.get("name") or ""),
        item_map=item_map,
        answer_map=answer_map,
        total_link_id=total_link,
        total_expression=expression,
        variables=variables,
        warnings=tuple(warnings),
    )


def answers_from_response(
    match: QuestionnaireMatch, qr: Mapping[str, Any]
) -> tuple[dict[str, int | None], float | None]:
    """Extract ketacare answers (by item id) and any supplied total from a response.

    Raises
    ------
    InvalidAnswer
        Field ``<instrument>.<item id>`` for an answer that is not an option, a whole number
        or a Coding; ``item <linkId>`` for an answer that is not a list; ``total`` for a
        supplied total that is not a finite number.
    """
    if qr.get("resourceType") != "QuestionnaireResponse":
        raise InvalidAnswer("response", "is not a FHIR QuestionnaireResponse resource")
    answers: dict[str, int | None] = {}
    supplied: float | None = None
    for it in _walk(qr.get("item")):
        link = str(it.get("linkId", ""))
        given = it.get("answer")
        if given is not None and not isinstance(given, list):
            raise InvalidAnswer(f"item {link}", "answer must be a list")
        ans = (given or [None])[0]
        if link == match.total_link_id and isinstance(ans, Mapping):
            value = ans.get("valueDecimal", ans.get("valueInteger"))
            if isinstance(ans.get("valueQuantity"), Mapping):
                value = ans["valueQuantity"].get("value")
            if value is not None:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise InvalidAnswer("total", "must be a number")
                if not math.isfinite(value):
                    raise InvalidAnswer("total", "must be a finite number")
                supplied = float(value)
            continue
        item_id = match.item_map.get(link)
        if item_id is None or not isinstance(ans, Mapping):
            continue
        field_name = f"{match.instrument_id}.{item_id}"
        if "valueInteger" in ans:
            value = ans["valueInteger"]
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidAnswer(field_name, "valueInteger must be a whole number")
            answers[item_id] = value
        elif "valueCoding" in ans:
            coding = ans["valueCoding"]
            if not isinstance(coding, Mapping):
                raise InvalidAnswer(field_name, "valueCoding must be a Coding")
            akey: AnswerKey = (coding.get("system"), str(coding.get("code", "")))
            amap = match.answer_map[link]
            found = amap.get(akey)
            if found is None:  # tolerate a missing system on an otherwise known code
                found = next((v for (_, c), v in amap.items() if c == akey[1]), None)
            if found is None:
                raise InvalidAnswer(field_name, f"answer code {akey[1]!r} is not an option")
            answers[item_id] = found
        else:
            raise InvalidAnswer(field_name, "answer must be a coding or an integer")
    return answers, supplied


def score_response(
    match: QuestionnaireMatch, qr: Mapping[str, Any], config: ScoringConfig | None = None
) -> ImportedScore:
    """Score a QuestionnaireResponse written against a matched Questionnaire.

    ketacare recomputes the total from the answers; a supplied total is reported in
    ``ImportedScore.supplied_total`` and compared (``total_mismatch``), never used.
    """
    answers, supplied = answers_from_response(match, qr)
    return ImportedScore(score(match.instrument_id, answers, config), supplied)
