"""Superbill and patient statement PDFs (fpdf2; DejaVu Sans from matplotlib, as the reports).

A superbill lists the confirmed lines of one visit or a period with the provider's NPI and tax
id, so a self-pay or out-of-network patient can claim from their insurer; a statement lists
the ledger and the balance. Amounts come from the clinic's fee schedule, never built in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from fpdf import FPDF

from ketacare.domain.billing.codes import code_rule
from ketacare.features.charts.fonts import add_dejavu


def money(cents: int) -> str:
    """``$1,290.00`` (negative: ``-$5.00``)."""
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) / 100:,.2f}"


@dataclass(frozen=True)
class Party:
    """Provider or patient block."""

    name: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Row:
    """One line of a superbill or statement."""

    day: date
    code: str
    text: str
    units: int | None
    cents: int


class _Doc(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        add_dejavu(self)
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=18)
        self.set_title(title)
        self.set_creator("ketacare")
        self.set_creation_date(datetime(2000, 1, 1))  # reproducible bytes; the date is printed
        self.add_page()
        self.set_font("DejaVu", "B", 14)
        self.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")

    def party(self, heading: str, p: Party) -> None:
        self.set_font("DejaVu", "B", 9)
        self.cell(0, 5, heading, new_x="LMARGIN", new_y="NEXT")
        self.set_font("DejaVu", "", 9)
        for text in (p.name, *p.lines):
            if text:
                self.cell(0, 4.5, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def lines_table(self, rows: Sequence[Row], total_label: str, total: int) -> None:
        widths = (24, 20, 96, 14, 26)
        self.set_font("DejaVu", "B", 9)
        for w, h in zip(widths, ("Date", "Code", "Description", "Units", "Amount"), strict=True):
            self.cell(w, 6, h, border="B")
        self.ln()
        self.set_font("DejaVu", "", 9)
        for r in rows:
            units = "" if r.units is None else str(r.units)
            values = (r.day.isoformat(), r.code, r.text[:60], units, money(r.cents))
            for w, v in zip(widths, values, strict=True):
                self.cell(w, 5.5, v)
            self.ln()
        self.set_font("DejaVu", "B", 10)
        self.cell(sum(widths[:4]), 7, total_label, border="T")
        self.cell(widths[4], 7, money(total), border="T", new_x="LMARGIN", new_y="NEXT")


def describe(code: str, day: date) -> str:
    """The code's description on that day (the code table), else the code."""
    rule = code_rule(code, day)
    return rule.description if rule else code


def superbill_pdf(
    provider: Party, patient: Party, period: str, rows: Sequence[Row], diagnoses: Sequence[str],
    printed: str,
) -> bytes:  # fmt: skip
    """A superbill for one visit or a period."""
    doc = _Doc("Superbill")
    doc.set_font("DejaVu", "", 9)
    doc.cell(0, 5, f"Services: {period} · printed {printed}", new_x="LMARGIN", new_y="NEXT")
    doc.ln(2)
    doc.party("Provider", provider)
    doc.party("Patient", patient)
    if diagnoses:
        doc.set_font("DejaVu", "", 9)
        doc.cell(0, 5, "Diagnoses (ICD-10): " + ", ".join(diagnoses), new_x="LMARGIN", new_y="NEXT")
        doc.ln(2)
    doc.lines_table(rows, "Total charges", sum(r.cents for r in rows))
    doc.ln(4)
    doc.set_font("DejaVu", "", 8)
    doc.multi_cell(0, 4, "Codes were suggested from the signed session record and confirmed by "
                   "the clinic. Submit this superbill to your insurer for out-of-network "
                   "reimbursement.")  # fmt: skip
    return bytes(doc.output())


def statement_pdf(
    provider: Party, patient: Party, rows: Sequence[Row], balance: int, printed: str
) -> bytes:
    """A patient statement: charges, payments and adjustments, and the balance."""
    doc = _Doc("Patient statement")
    doc.set_font("DejaVu", "", 9)
    doc.cell(0, 5, f"Printed {printed}", new_x="LMARGIN", new_y="NEXT")
    doc.ln(2)
    doc.party("From", provider)
    doc.party("To", patient)
    doc.lines_table(rows, "Balance due", balance)
    return bytes(doc.output())
