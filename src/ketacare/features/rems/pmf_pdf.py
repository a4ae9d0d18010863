"""The Patient Monitoring Form as a PDF in the form's order and sections (fpdf2).

Not the manufacturer's artwork: a plain A4 page listing each section of the revision in force,
each field with its value, ready to fax or to key into the REMS portal. The bytes are
reproducible (fixed creation date), so the same record gives the same SHA-256.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ketacare.domain.compliance.rems_ops import PmfRevision
from ketacare.features.charts.fonts import add_dejavu
from ketacare.features.sessions.rems_forms import printed_label

#: The form's sections, in order, with the fields each holds (fields of other revisions are
#: skipped when absent).
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Patient information",
        (
            "patient_first_name",
            "patient_last_name",
            "patient_birth_date",
            "patient_sex",
            "first_treatment",
            "enrolled",
        ),
    ),
    (
        "Concomitant medicines (sedation, dissociation, respiratory depression, BP)",
        (
            "conmed_benzodiazepines",
            "conmed_sedative_hypnotics",
            "conmed_psychostimulants",
            "conmed_maois",
            "conmed_opioids",
        ),
    ),
    ("Monitoring healthcare provider", ("monitor_name", "monitor_phone", "monitor_email")),
    ("Healthcare setting", ("setting_name", "setting_address", "prescriber_on_site")),
    (
        "Treatment",
        ("treatment_date", "dose", "lot_number", "duration_min", "ready_to_leave_min"),
    ),
    (
        "Vital signs",
        ("vitals_ok_before", "vitals_ok_end", "bp_pre", "bp_40min", "bp_end"),
    ),
    (
        "Sedation, dissociation, respiratory depression and adverse events",
        (
            "sedation",
            "dissociation",
            "respiratory_depression",
            "adverse_events",
            "adverse_event_details",
        ),
    ),
)

EXTRA_LABELS = {"prescriber_on_site": "Prescriber on site (attested)"}


def render_pmf(revision: PmfRevision, values: dict[str, Any], session_id: int, days: int) -> bytes:
    """The PMF of one session as PDF bytes."""
    labels = {f.id: printed_label(f.label) for f in revision.fields} | EXTRA_LABELS
    from fpdf import FPDF  # fpdf2 loads with the first PDF (docs/architecture.md, Hot paths)

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    add_dejavu(pdf)
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_title("SPRAVATO REMS Patient Monitoring Form")
    pdf.set_creator("ketacare")
    pdf.set_creation_date(datetime(2000, 1, 1))  # reproducible bytes
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 13)
    pdf.cell(0, 7, "SPRAVATO REMS Patient Monitoring Form", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 8)
    pdf.multi_cell(
        0,
        4,
        f"{revision.title} (fields revision {revision.id}) · ketacare session {session_id} · "
        f"submit within {days} calendar days of the treatment via the REMS portal or by fax. "
        "Not the manufacturer's form: transcribe or fax as your REMS contact accepts.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    for title, ids in SECTIONS:
        present = [i for i in ids if i in labels]
        if not present:
            continue
        pdf.ln(2)
        pdf.set_font("DejaVu", "B", 10)
        pdf.cell(0, 6, title, new_x="LMARGIN", new_y="NEXT")
        for field_id in present:
            value = values.get(field_id)
            text = "—" if value is None or value == "" else str(value)
            if pdf.get_y() > 265:
                pdf.add_page()
            y = pdf.get_y()
            pdf.set_font("DejaVu", "", 8)
            pdf.multi_cell(105, 4.5, labels[field_id], new_x="LMARGIN", new_y="NEXT")
            y_label = pdf.get_y()
            pdf.set_xy(125, y)
            pdf.set_font("DejaVu", "B", 9)
            pdf.multi_cell(70, 4.5, text, new_x="LMARGIN", new_y="NEXT")
            pdf.set_y(max(pdf.get_y(), y_label) + 0.8)
    return bytes(pdf.output())
