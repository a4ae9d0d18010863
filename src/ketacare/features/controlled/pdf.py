"""PDF of the administration log and of an inventory (fpdf2, DejaVu Sans from matplotlib)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from fpdf import FPDF

from ketacare.features.charts.fonts import add_dejavu


class _Doc(FPDF):
    def __init__(self, title: str, subtitle: str) -> None:
        super().__init__(orientation="landscape", unit="mm", format="A4")
        self.doc_title, self.subtitle = title, subtitle
        add_dejavu(self)
        self.set_margins(12, 12, 12)
        self.set_auto_page_break(True, margin=14)
        self.set_title(title)
        self.set_creator("ketacare")
        self.set_creation_date(datetime(2000, 1, 1))
        self.add_page()

    def header(self) -> None:
        self.set_font("DejaVu", "B", 12)
        self.cell(0, 7, self.doc_title, new_x="LMARGIN", new_y="NEXT")
        self.set_font("DejaVu", "", 8)
        self.multi_cell(0, 4.5, self.subtitle, new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font("DejaVu", "", 7)
        self.cell(0, 5, f"ketacare · page {self.page_no()}/{{nb}}", align="C")

    def table_of(
        self,
        columns: tuple[str, ...],
        rows: Iterable[dict[str, Any]],
        size: float,
        widths: tuple[int, ...] | None = None,
    ) -> int:
        """The rows as a table under a heading row; returns how many rows it drew."""
        self.set_font("DejaVu", "", size)
        n = 0
        with self.table(text_align="LEFT", line_height=3.6, first_row_as_headings=True,
                        col_widths=widths) as t:  # fmt: skip
            head = t.row()
            for col in columns:
                head.cell(col)
            for r in rows:
                n += 1
                row = t.row()
                for col in columns:
                    value = r.get(col)
                    row.cell("" if value is None else str(value))
        return n


def log_pdf(title: str, subtitle: str, rows: Iterable[dict[str, Any]]) -> bytes:
    """The administration/disposal log as a landscape table (the patient's name and address
    beside each administration, 21 CFR 1304.22(c)); ``rows`` may be a stream."""
    doc = _Doc(title, subtitle)
    cols = ("occurred_at", "kind", "container", "lot", "qty_mg", "qty_ml", "balance_mg",
            "patient", "patient_address", "by", "witness", "method")  # fmt: skip
    widths = (12, 8, 8, 7, 6, 6, 7, 12, 18, 12, 12, 9)
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        doc.cell(0, 6, "No events in this period.")
    else:
        doc.table_of(cols, itertools.chain((first,), rows), 6.5, widths)
    return bytes(doc.output())


def inventory_pdf(title: str, subtitle: str, rows: list[dict[str, Any]], signed: str) -> bytes:
    """An inventory: every line, then the signature line."""
    doc = _Doc(title, subtitle)
    cols = ("label", "drug", "product", "strength_mg_ml", "container_mg", "lot", "expiry",
            "opened", "balance_mg", "balance_ml", "estimated_mg")  # fmt: skip
    if rows:
        doc.table_of(cols, rows, 7)
    else:
        doc.cell(0, 6, "Zero inventory: no controlled substances on hand.",
                 new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    doc.ln(4)
    doc.set_font("DejaVu", "", 9)
    doc.multi_cell(0, 5, signed, new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())
