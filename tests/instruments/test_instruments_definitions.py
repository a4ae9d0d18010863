"""The shipped definitions: completeness, licensing, codes and the text loader."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments import (
    InstrumentDefinitionError,
    get_instrument,
    instrument_ids,
    parse_instrument,
    with_item_texts,
)

EXPECTED_IDS = (
    "phq9",
    "phq2",
    "gad7",
    "qids-sr16",
    "madrs",
    "hamd17",
    "cssrs-screen-recent",
    "cssrs-screen-slv",
    "cadss6",
    "cadss23",
    "moaas",
    "bprs-positive",
)
WITHHELD = ("madrs", "qids-sr16", "cssrs-screen-recent", "cssrs-screen-slv", "cadss6", "cadss23")


def _raw(instrument_id: str) -> dict[str, object]:
    path = resources.files("ketacare.domain.instruments") / "data" / f"{instrument_id}.json"
    data: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_all_instruments_ship_in_order() -> None:
    assert instrument_ids() == EXPECTED_IDS


@pytest.mark.parametrize("instrument_id", EXPECTED_IDS)
def test_each_definition_is_versioned_sourced_and_licensed(instrument_id: str) -> None:
    inst = get_instrument(instrument_id)
    assert inst.version.count(".") == 2
    assert inst.citation
    assert inst.licence.note
    assert inst.scoring_description
    assert inst.completeness
    for flag in inst.flags:
        assert flag.source
        assert flag.verification in ("V", "S", "U")


@pytest.mark.parametrize("instrument_id", WITHHELD)
def test_restricted_instruments_ship_no_item_text(instrument_id: str) -> None:
    inst = get_instrument(instrument_id)
    assert inst.licence.item_text == "withheld"
    assert all(it.text is None for it in inst.items)
    # Labels are short domain labels, never sentences.
    assert all(len(it.label) <= 60 for it in inst.items)
    raw = json.dumps(_raw(instrument_id))
    assert '"text"' not in raw


def test_gad7_option_zero_reads_not_at_all() -> None:
    # Zorowitz et al., Lancet Psychiatry 2021;8:180: "Not at all sure" is a known misprint.
    for item in get_instrument("gad7").items:
        assert item.options[0].label == "Not at all"
        assert "sure" not in item.options[0].label
        assert item.options[0].loinc == "LA6568-5"


def test_phq9_loinc_codes() -> None:
    inst = get_instrument("phq9")
    assert (inst.loinc_panel, inst.loinc_total) == ("44249-1", "44261-6")
    assert [it.loinc for it in inst.items] == [
        "44250-9",
        "44255-8",
        "44259-0",
        "44254-1",
        "44251-7",
        "44258-2",
        "44252-5",
        "44253-3",
        "44260-8",
        "69722-7",
    ]
    assert [o.loinc for o in inst.item("1").options] == [
        "LA6568-5",
        "LA6569-3",
        "LA6570-1",
        "LA6571-9",
    ]
    assert inst.licence.attribution is not None
    assert "Pfizer" in inst.licence.attribution


def test_gad7_and_cssrs_loinc_codes() -> None:
    gad = get_instrument("gad7")
    assert (gad.loinc_panel, gad.loinc_total) == ("69737-5", "70274-6")
    assert gad.item("2").loinc == "68509-9"  # not the common misprint 68509-0
    cs = get_instrument("cssrs-screen-recent")
    assert cs.loinc_panel == "93373-9"
    assert [o.loinc for o in cs.item("1").options] == ["LA32-8", "LA33-6"]
    assert get_instrument("cssrs-screen-slv").loinc_panel is None


def test_ranges() -> None:
    ranges = {i: get_instrument(i).range for i in EXPECTED_IDS}
    assert ranges == {
        "phq9": (0, 27),
        "phq2": (0, 6),
        "gad7": (0, 21),
        "qids-sr16": (0, 27),
        "madrs": (0, 60),
        "hamd17": (0, 52),
        "cssrs-screen-recent": None,
        "cssrs-screen-slv": None,
        "cadss6": (0, 24),
        "cadss23": (0, 92),
        "moaas": (0, 5),
        "bprs-positive": (4, 28),
    }


def test_cadss6_items_are_the_rodrigues_subset() -> None:
    assert get_instrument("cadss6").item_ids == ("1", "2", "6", "7", "15", "22")


def test_definition_validation_rejects_bad_range() -> None:
    raw = _raw("gad7")
    raw["range"] = [0, 20]
    with pytest.raises(InstrumentDefinitionError, match="range"):
        parse_instrument(raw)


def test_definition_validation_rejects_band_gap() -> None:
    raw = _raw("gad7")
    bands = raw["band_sets"]["spitzer2006"]["bands"]  # type: ignore[index]
    bands[1]["min"] = 6
    with pytest.raises(InstrumentDefinitionError, match="band"):
        parse_instrument(raw)


def test_definition_validation_rejects_unknown_schema_and_item() -> None:
    raw = _raw("phq2")
    raw["schema"] = 99
    with pytest.raises(InstrumentDefinitionError, match="schema"):
        parse_instrument(raw)
    raw = _raw("phq2")
    raw["scoring"] = {"rule": "sum", "items": ["1", "3"]}
    with pytest.raises(InstrumentDefinitionError, match="unknown item"):
        parse_instrument(raw)


def test_unknown_instrument() -> None:
    with pytest.raises(InvalidAnswer) as exc:
        get_instrument("nope")
    assert exc.value.field == "instrument"


def test_licensed_text_loader() -> None:
    inst = with_item_texts("madrs", '{"1": "Licensed wording one", "10": "Licensed ten"}')
    assert inst.item("1").text == "Licensed wording one"
    assert inst.item("2").text is None
    assert get_instrument("madrs").item("1").text is None  # built-in unchanged


@pytest.mark.parametrize(
    ("texts", "field"),
    [
        ({"11": "x"}, "texts.11"),
        ({"1": ""}, "texts.1"),
        ({"1": 3}, "texts.1"),
        ("{not json", "texts"),
        ("[1, 2]", "texts"),
    ],
)
def test_licensed_text_loader_validates(texts: object, field: str) -> None:
    with pytest.raises(InvalidAnswer) as exc:
        with_item_texts("madrs", texts)  # type: ignore[arg-type]
    assert exc.value.field == field
