"""PDF reports (fpdf2, pure Python) with PNG charts from the analytics chart module.

Text is set in DejaVu Sans, the TrueType font that ships with matplotlib, so no system font
is needed and every character of the definitions (≥, ±, –) prints. Synthetic data carry a
banner on every page.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from fpdf import FPDF

from ketacare.db.base import utcnow
from ketacare.domain.analytics import Definitions, OutcomeAnalysis, OutcomeSummary
from ketacare.features._kit import clock
from ketacare.features.charts.fonts import add_dejavu
from ketacare.features.charts.outcomes import km_chart, rates_chart
from ketacare.features.charts.render import pdf_svg
from ketacare.features.reports.display import drawable, fmt_prop
from ketacare.features.reports.patient import PatientReport, trajectory
from ketacare.features.reports.service import ClinicOutcomes

__all__ = ["clinic_pdf", "patient_pdf"]

_W = 180.0  # usable width, mm (A4 with 15 mm margins)


class _Doc(FPDF):
    def __init__(self, title: str, subtitle: str, synthetic: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.doc_title, self.subtitle, self.synthetic = title, subtitle, synthetic
        add_dejavu(self)
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=18)
        self.set_title(title)
        self.set_creator("ketacare")
        self.set_creation_date(datetime(2000, 1, 1))  # reproducible bytes; date is printed
        self.add_page()

    def header(self) -> None:
        self.set_font("DejaVu", "B", 13)
        self.cell(0, 7, self.doc_title, new_x="LMARGIN", new_y="NEXT")
        self.set_font("DejaVu", "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, self.subtitle, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0, 0, 0)
        if self.synthetic:
            self.set_fill_color(253, 240, 207)
            self.set_font("DejaVu", "B", 9)
            self.multi_cell(
                0, 6, f"SYNTHETIC DATA — {self.synthetic}", fill=True, new_x="LMARGIN", new_y="NEXT"
            )
        self.ln(2)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", "", 7)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, f"ketacare · page {self.page_no()}/{{nb}}", align="C")

    def h2(self, text: str, keep_mm: float = 35.0) -> None:
        """A heading, moved to the next page when less than ``keep_mm`` would follow it on
        this one (a heading is never stranded at the foot of a page)."""
        if self.get_y() + keep_mm > self.page_break_trigger:
            self.add_page()
        self.ln(2)
        self.set_font("DejaVu", "B", 11)
        self.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
        self.set_font("DejaVu", "", 9)

    def para(self, text: str, size: float = 9) -> None:
        self.set_font("DejaVu", "", size)
        self.multi_cell(0, 4.6, text, new_x="LMARGIN", new_y="NEXT")

    def rows(
        self,
        header: Sequence[str],
        body: Sequence[Sequence[str]],
        widths: Sequence[float] | None = None,
        size: float = 8,
    ) -> None:
        self.set_font("DejaVu", "", size)
        with self.table(
            col_widths=tuple(widths) if widths else None,
            text_align="LEFT",
            line_height=4.2,
            first_row_as_headings=True,
        ) as table:
            for r in (header, *body):
                row = table.row()
                for cell in r:
                    row.cell(cell)
        self.ln(1)

    def chart(self, png: bytes, width: float = _W) -> None:
        self.image(io.BytesIO(png), w=width)
        self.ln(2)

    def svg_chart(self, svg: str, width: float = _W) -> None:
        """A page SVG chart drawn as vector graphics (the same chart the page shows)."""
        self.image(io.BytesIO(pdf_svg(svg)), w=width)
        self.ln(2)


def _definitions(doc: _Doc, d: Definitions) -> None:
    doc.h2("Definitions")
    for name, text in (
        ("Instrument", d.instrument_name),
        ("Baseline", d.baseline),
        ("Response", d.response),
        ("Remission", d.remission or "not defined for this instrument"),
        ("Relapse", d.relapse or "not defined"),
        ("Timepoints", d.timepoints),
        ("End of induction", d.end_of_induction),
        ("Denominator", d.denominator),
        ("Dropout", d.dropout),
        ("Time to response", d.time_to_response),
        ("Intervals", d.interval),
    ):
        doc.para(f"{name}: {text}", 8)
    for u in d.unverified:
        doc.para(f"Unverified: {u}", 8)


def _summary_rows(s: OutcomeSummary) -> list[list[str]]:
    out = []
    for t in (s.end_of_induction, *s.timepoints, s.ever):
        c = t.change
        change = (
            "–"
            if c.mean is None
            else f"{c.mean:+.1f} (SD {'–' if c.sd is None else f'{c.sd:.1f}'})"
        )
        out.append(
            [
                t.label.replace("_", " "),
                f"{t.n_observed}/{t.n_eligible}",
                fmt_prop(t.response),
                fmt_prop(t.remission),
                change,
            ]
        )
    return out


def _generated(tz: str) -> str:
    now = utcnow()
    return f"generated {clock.format_local(now, tz)} {clock.tz_label(now, tz)}"


def clinic_pdf(result: ClinicOutcomes, clinic_name: str, period: str, tz: str = "UTC") -> bytes:
    """The clinic outcomes report (times in the clinic's zone ``tz``)."""
    a: OutcomeAnalysis | None = result.analysis
    doc = _Doc(
        f"Clinic outcomes report — {clinic_name}",
        f"{period} · {_generated(tz)}",
        result.synthetic_note,
    )
    if a is None:
        doc.para("No patient has a session with a recorded dose in this period.")
        return bytes(doc.output())
    d, o = a.definitions, a.overall
    doc.para(
        f"{d.instrument_name}: {o.n_patients} patients treated, {o.n_analysable} with a "
        f"baseline. Induction completed: {fmt_prop(o.induction_completed)}. Dropout after "
        f"the first session: {fmt_prop(o.dropout_after_first)}."
    )
    doc.h2("Response and remission (Wilson 95% intervals)")
    doc.rows(
        ["timepoint", "observed", "response", "remission", "mean change (SD)"],
        _summary_rows(o),
        (28, 20, 48, 48, 36),
    )
    doc.chart(rates_chart(o, d, fmt="png"), 165)
    km = o.time_to_response
    days = [float(t.day) for t in o.timepoints if t.day is not None]
    doc.h2("Time to response (Kaplan–Meier)")
    med = "not reached" if km.median_days is None else f"{km.median_days:g} days"
    if km.n == 0:
        doc.para("No patients with a baseline: no time to response (—).")
    else:
        doc.para(
            f"n {km.n}, {km.n_events} {'response' if km.n_events == 1 else 'responses'}, "
            f"median {med}. " + "; ".join(f"by day {x:g}: {o.km_response_by(x):.1%}" for x in days)
        )
    if drawable(km):
        doc.chart(
            km_chart({"all": km}, risk_days=[0.0, *days], note=[d.time_to_response], fmt="png"),
            165,
        )
    if o.time_to_relapse is not None:
        kr = o.time_to_relapse
        doc.h2(f"Time to relapse after the first {d.relapse_origin} (Kaplan–Meier)")
        doc.para(f"n {kr.n}, {kr.n_events} relapses. Relapse: {d.relapse}")
        if drawable(kr):
            doc.chart(
                km_chart(
                    {"all": kr},
                    title="Time to relapse (Kaplan–Meier)",
                    cumulative=False,
                    note=[d.relapse or ""],
                    fmt="png",
                ),
                165,
            )
    for key, groups in a.breakdowns.items():
        doc.h2(f"By {key} (end of induction)")
        doc.rows(
            [key, "n", "induction completed", "response", "remission"],
            [
                [
                    g.group,
                    str(g.n_patients),
                    fmt_prop(g.induction_completed),
                    fmt_prop(g.end_of_induction.response),
                    fmt_prop(g.end_of_induction.remission),
                ]
                for g in groups
            ],
            (36, 15, 43, 43, 43),
        )
    if a.published:
        doc.h2("Published rates beside this clinic (end of induction)")
        doc.rows(
            [
                "study",
                "design / arm",
                "n",
                "timepoint",
                "resp.%",
                "rem.%",
                "not directly comparable because",
            ],
            [
                [
                    c.published.study,
                    c.published.design,
                    str(c.published.n),
                    c.published.timepoint,
                    "–" if c.published.response_pct is None else f"{c.published.response_pct:g}",
                    "–" if c.published.remission_pct is None else f"{c.published.remission_pct:g}",
                    "; ".join(c.differences) or "–",
                ]
                for c in a.published
            ],
            (24, 36, 9, 24, 13, 13, 61),
            size=6.5,
        )
        doc.para(
            f"This clinic: response {fmt_prop(o.end_of_induction.response)}, remission "
            f"{fmt_prop(o.end_of_induction.remission)}.",
            8,
        )
    _definitions(doc, d)
    return bytes(doc.output())


def _f(x: float | None, unit: str = "") -> str:
    return "–" if x is None else f"{x:g}{unit}"


def _day(x: float | None) -> str:
    """``day 14``: whole days since the first session (times of day make fractions)."""
    return "–" if x is None else f"day {round(x):d}"


def patient_pdf(report: PatientReport, clinic_name: str, tz: str = "UTC") -> bytes:
    """The patient progress report (times in the clinic's zone ``tz``)."""
    p = report.patient
    note = "this is a generated record, not a real patient." if report.synthetic else ""
    doc = _Doc(
        f"Patient progress report — {p.display_name}",
        f"{clinic_name} · record no. {p.mrn or '–'} · born {p.birth_date or '–'} · "
        f"sex {p.sex.value} · {_generated(tz)}",
        note,
    )
    if report.plan is not None:
        doc.para(
            f"Course: {report.plan.protocol_title} ({report.plan.protocol_id} "
            f"{report.plan.protocol_version}), planned from {report.plan.start_date}."
        )
    doc.h2(f"Outcome ({report.instrument_name})")
    o = report.outcome
    if o is None:
        doc.para("No session with a recorded dose yet: outcome not classifiable.")
    else:
        doc.rows(
            [
                "classification",
                "baseline",
                "end of induction",
                "change",
                "first response",
                "first remission",
                "relapse",
                "induction completed",
            ],
            [
                [
                    o.classification,
                    f"{_f(o.baseline)} ({o.baseline_date or '–'})",
                    f"{_f(o.end_of_induction)} ({_day(o.end_of_induction_day)})",
                    _f(o.change),
                    _day(o.response_day),
                    _day(o.remission_day),
                    _day(o.relapse_day),
                    "yes" if o.induction_completed else "no",
                ]
            ],
            (40, 20, 24, 14, 20, 20, 18, 24),
        )
    svg = trajectory(report, tz)
    if svg is not None:
        doc.svg_chart(svg, 170)
    doc.h2("Sessions and doses")
    if report.sessions:
        doc.rows(
            ["#", "date", "route", "product", "planned mg", "given mg", "status"],
            [
                [
                    str(s.number),
                    "–" if s.when is None else clock.format_local(s.when, tz),
                    s.route,
                    s.product,
                    _f(s.planned_dose_mg),
                    _f(s.given_dose_mg),
                    s.status,
                ]
                for s in report.sessions
            ],
            (8, 30, 20, 50, 22, 20, 30),
        )
    else:
        doc.para("No sessions charted.")
    doc.h2(f"{report.instrument_name} assessments")
    if report.scores:
        doc.rows(
            ["date", "total", "band"],
            [
                [clock.format_local(t, tz, clock.DATE_FORMAT), str(x), b.replace("_", " ")]
                for t, x, b in report.scores
            ],
            (40, 20, 60),
        )
    doc.h2("Notes")
    doc.para("\n".join(report.notes) if report.notes else "No notes.")
    _definitions(doc, report.definitions)
    return bytes(doc.output())
