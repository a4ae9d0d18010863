"""837P 5010 claims (issue 20.2): a golden file, accepted by the independent pyx12 validator;
a file broken on purpose is rejected; bad data is refused naming the field."""

from __future__ import annotations

import io
import os
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import pyx12.params as pyx12_params
import pyx12.x12n_document as x12n_document

from ketacare.features.billing import x12
from ketacare.features.billing.adapters import FileDrop

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "billing" / "claim-g2083-j0013.837"

PROVIDER = x12.Provider(
    "Demo Ketamine Clinic", "1234567893", "12-3456789", "1 Main St", "Boston", "MA",
    "02110-1234", "617 555 0100", "KETACARE01", "CLEARHOUSE", "Clearing House",
)  # fmt: skip
SUBSCRIBER = x12.Subscriber(
    "Doe", "Jane*~", "W123456789", date(1980, 1, 2), "female", "2 Elm St", "Boston", "MA", "02110"
)
DATA = x12.ClaimData(
    PROVIDER, SUBSCRIBER, "Medicare", "12345", "KC42", ("F33.2",),
    (x12.ServiceLine("G2083", (), 1, 129000, date(2026, 1, 5), "11"),
     x12.ServiceLine("J0013", ("JZ",), 84, 84000, date(2026, 1, 5), "11")),
)  # fmt: skip
CREATED = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)


def validate(text: str) -> tuple[bool, str]:
    """pyx12's verdict and its 999 acknowledgement."""
    ack, html = io.StringIO(), io.StringIO()
    ok = x12n_document.x12n_document(pyx12_params.params(), io.StringIO(text), ack, html)
    return bool(ok), ack.getvalue()


def test_golden_file() -> None:
    text = x12.build_837p(DATA, 1, CREATED, test=True)
    if os.environ.get("KETACARE_UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="ascii")
    assert text == GOLDEN.read_text(encoding="ascii")


def test_pyx12_accepts_the_claim() -> None:
    ok, ack = validate(GOLDEN.read_text(encoding="ascii"))
    assert ok, ack
    assert "IK5*A" in ack and "AK9*A*1*1*1" in ack


def test_pyx12_rejects_a_claim_without_billing_provider_address() -> None:
    text = GOLDEN.read_text(encoding="ascii")
    broken = text.replace("N4*BOSTON*MA*021101234~\n", "", 1)
    assert broken != text
    ok, ack = validate(broken)
    assert not ok
    assert "IK5*R" in ack


def test_delimiters_in_names_cannot_break_the_file() -> None:
    text = x12.build_837p(DATA, 1, CREATED)
    assert "NM1*IL*1*DOE*JANE****MI*W123456789~" in text
    assert validate(text)[0]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"provider": replace(PROVIDER, npi="1234567890")}, "npi"),
        ({"provider": replace(PROVIDER, tax_id="1234")}, "tax_id"),
        ({"provider": replace(PROVIDER, postal_code="02110")}, "postal_code"),
        ({"subscriber": replace(SUBSCRIBER, birth_date=None)}, "birth_date"),
        ({"diagnoses": ("33.2",)}, "diagnoses"),
        ({"lines": ()}, "lines"),
        ({"payer_id": " "}, "payer_id"),
    ],
)
def test_bad_data_is_refused_naming_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(x12.ClaimError) as err:
        x12.build_837p(replace(DATA, **change), 1, CREATED)  # type: ignore[arg-type]
    assert err.value.field == field


def test_amounts() -> None:
    assert [x12.amount(c) for c in (129000, 12345, 12340, 5)] == ["1290", "123.45", "123.4", "0.05"]


def test_file_drop_is_private_idempotent_and_never_overwrites(tmp_path: Path) -> None:
    drop = FileDrop(tmp_path / "claims")
    where = Path(drop.deliver("c.837", "ISA~"))
    assert where.read_text() == "ISA~"
    assert oct(where.stat().st_mode & 0o777) == "0o600"
    assert drop.deliver("c.837", "ISA~") == str(where)
    with pytest.raises(FileExistsError):
        drop.deliver("c.837", "OTHER~")
