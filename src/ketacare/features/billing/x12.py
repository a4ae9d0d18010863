"""ANSI X12 837P version 5010 (005010X222A1) professional claims, written as text (no I/O).

One interchange per claim: submitter and receiver (the clearinghouse), the billing provider
(the clinic: NPI, tax id, address), the subscriber (the patient), the payer, one claim with its
diagnoses (ICD-10) and service lines. Values are upper-cased and stripped of the delimiters
``~ * : ^`` so that no field can break the file. Validated in tests by ``pyx12``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

SEGMENT_END = "~\n"
ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")


def clean(value: str, limit: int) -> str:
    """Upper-case ``value`` without X12 delimiters, at most ``limit`` characters."""
    return re.sub(r"[~*:^\r\n]", " ", value).strip().upper()[:limit]


def digits(value: str) -> str:
    """Only the digits of ``value``."""
    return re.sub(r"\D", "", value)


def amount(cents: int) -> str:
    """An X12 decimal amount: 129000 -> "1290", 12345 -> "123.45"."""
    whole, part = divmod(cents, 100)
    return f"{whole}" if part == 0 else f"{whole}.{part:02d}".rstrip("0")


def npi_valid(npi: str) -> bool:
    """Luhn check of a 10-digit NPI with the 80840 prefix (CMS NPI check digit)."""
    if not re.fullmatch(r"\d{10}", npi):
        return False
    total = 24  # the constant for the 80840 prefix
    for i, ch in enumerate(reversed(npi[:9])):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return (10 - total % 10) % 10 == int(npi[9])


@dataclass(frozen=True)
class Provider:
    """The billing provider and the interchange parties."""

    name: str
    npi: str
    tax_id: str
    address: str
    city: str
    state: str
    postal_code: str
    phone: str
    submitter_id: str
    receiver_id: str
    receiver_name: str
    taxonomy: str = ""


@dataclass(frozen=True)
class Subscriber:
    """The patient as subscriber of the coverage."""

    family_name: str
    given_name: str
    member_id: str
    birth_date: date | None
    sex: str
    address: str
    city: str
    state: str
    postal_code: str
    group_number: str = ""


@dataclass(frozen=True)
class ServiceLine:
    """One service line (SV1)."""

    code: str
    modifiers: tuple[str, ...]
    units: int
    charge_cents: int
    service_date: date
    place_of_service: str


@dataclass(frozen=True)
class ClaimData:
    """Everything one 837P claim carries."""

    provider: Provider
    subscriber: Subscriber
    payer_name: str
    payer_id: str
    patient_account: str
    diagnoses: tuple[str, ...]
    lines: tuple[ServiceLine, ...]


class ClaimError(ValueError):
    """Data a claim cannot be made from; ``field`` names it."""

    def __init__(self, reason: str, field: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.reason = reason
        self.field = field


def check(data: ClaimData) -> None:
    """Refuse data that would make an invalid claim (ClaimError names the field)."""
    p = data.provider
    if not npi_valid(digits(p.npi)):
        raise ClaimError("the billing NPI must be 10 digits with a valid check digit", "npi")
    if len(digits(p.tax_id)) != 9:
        raise ClaimError("the tax id (EIN) must be 9 digits", "tax_id")
    if len(digits(p.postal_code)) != 9:
        raise ClaimError(
            "the billing provider's ZIP code must have 9 digits (ZIP+4)", "postal_code"
        )
    for name in ("address", "city", "state", "submitter_id", "receiver_id"):
        if not getattr(p, name).strip():
            raise ClaimError("is required for claims (billing profile)", name)
    if not data.payer_id.strip():
        raise ClaimError("the payer has no payer id", "payer_id")
    s = data.subscriber
    if not s.member_id.strip():
        raise ClaimError("the coverage has no member id", "member_id")
    if s.birth_date is None:
        raise ClaimError("the patient's birth date is needed for a claim", "birth_date")
    if not (s.address.strip() and s.city.strip() and len(s.state.strip()) == 2):
        raise ClaimError("the coverage needs the patient's address", "address")
    if len(digits(s.postal_code)) not in (5, 9):
        raise ClaimError("the patient's ZIP code must have 5 or 9 digits", "postal_code")
    if not data.diagnoses or len(data.diagnoses) > 12:
        raise ClaimError("give 1 to 12 ICD-10 codes", "diagnoses")
    for dx in data.diagnoses:
        if not ICD10.match(dx.upper()):
            raise ClaimError(f"{dx!r} is not an ICD-10-CM code", "diagnoses")
    if not data.lines or len(data.lines) > 50:
        raise ClaimError("a claim has 1 to 50 service lines", "lines")


def build_837p(data: ClaimData, control: int, created: datetime, test: bool = False) -> str:
    """The 837P interchange text (``control``: interchange control number, 1..999999999)."""
    check(data)
    if not 1 <= control <= 999_999_999:
        raise ClaimError("must be 1..999999999", "control_number")
    p, s = data.provider, data.subscriber
    sender = clean(p.submitter_id, 15)
    receiver = clean(p.receiver_id, 15)
    isa_date, gs_date, hhmm = (
        created.strftime("%y%m%d"),
        created.strftime("%Y%m%d"),
        created.strftime("%H%M"),
    )
    icn = f"{control:09d}"
    total = sum(line.charge_cents for line in data.lines)
    sex = {"female": "F", "male": "M"}.get(s.sex, "U")
    body: list[list[str]] = [
        ["ST", "837", "0001", "005010X222A1"],
        ["BHT", "0019", "00", icn, gs_date, hhmm, "CH"],
        ["NM1", "41", "2", clean(p.name, 60), "", "", "", "", "46", sender],
        ["PER", "IC", "BILLING OFFICE", "TE", digits(p.phone) or "0000000000"],
        ["NM1", "40", "2", clean(p.receiver_name or receiver, 60), "", "", "", "", "46", receiver],
        ["HL", "1", "", "20", "1"],
    ]  # fmt: skip
    if p.taxonomy.strip():
        body.append(["PRV", "BI", "PXC", clean(p.taxonomy, 10)])
    body += [
        ["NM1", "85", "2", clean(p.name, 60), "", "", "", "", "XX", digits(p.npi)],
        ["N3", clean(p.address, 55)],
        ["N4", clean(p.city, 30), clean(p.state, 2), digits(p.postal_code)],
        ["REF", "EI", digits(p.tax_id)],
        ["HL", "2", "1", "22", "0"],
        ["SBR", "P", "18", clean(s.group_number, 50), "", "", "", "", "", "CI"],
        ["NM1", "IL", "1", clean(s.family_name, 60), clean(s.given_name, 35), "", "", "", "MI",
         clean(s.member_id, 80)],
        ["N3", clean(s.address, 55)],
        ["N4", clean(s.city, 30), clean(s.state, 2), digits(s.postal_code)],
        ["DMG", "D8", s.birth_date.strftime("%Y%m%d") if s.birth_date else "", sex],
        ["NM1", "PR", "2", clean(data.payer_name, 60), "", "", "", "", "PI",
         clean(data.payer_id, 80)],
        ["CLM", clean(data.patient_account, 38), amount(total), "", "",
         f"{data.lines[0].place_of_service}:B:1", "Y", "A", "Y", "Y"],
        ["HI", *[("ABK" if i == 0 else "ABF") + ":" + dx.upper().replace(".", "")
                 for i, dx in enumerate(data.diagnoses)]],
    ]  # fmt: skip
    pointers = ":".join(str(i + 1) for i in range(min(4, len(data.diagnoses))))
    for n, line in enumerate(data.lines, 1):
        proc = ":".join(["HC", clean(line.code, 5), *[clean(m, 2) for m in line.modifiers[:4]]])
        body += [
            ["LX", str(n)],
            ["SV1", proc, amount(line.charge_cents), "UN", str(line.units),
             "" if line.place_of_service == data.lines[0].place_of_service
             else line.place_of_service, "", pointers],
            ["DTP", "472", "D8", line.service_date.strftime("%Y%m%d")],
        ]  # fmt: skip
    body.append(["SE", str(len(body) + 1), "0001"])
    isa = [
        "ISA", "00", " " * 10, "00", " " * 10, "ZZ", sender.ljust(15), "ZZ", receiver.ljust(15),
        isa_date, hhmm, "^", "00501", icn, "0", "T" if test else "P", ":",
    ]  # fmt: skip
    gs = ["GS", "HC", sender, receiver, gs_date, hhmm, str(control), "X", "005010X222A1"]
    tail = [["GE", "1", str(control)], ["IEA", "1", icn]]
    segments = [isa, gs, *body, *tail]
    return "".join("*".join(_trim(seg)) + SEGMENT_END for seg in segments)


def _trim(seg: list[str]) -> list[str]:
    """Drop empty trailing elements (X12 forbids them), keep ISA fixed-width."""
    if seg[0] == "ISA":
        return seg
    while seg and seg[-1] == "":
        seg = seg[:-1]
    return seg
