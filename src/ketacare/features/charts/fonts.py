"""The typeface of every PDF ketacare writes: DejaVu Sans, the TrueType font that ships inside
matplotlib, so no system font is needed and every character of the definitions (≥, ±, –)
prints. Found without importing matplotlib (half a second of start-up)."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from fpdf import FPDF

__all__ = ["FONT_DIR", "add_dejavu"]


def _font_dir() -> Path:
    spec = find_spec("matplotlib")  # the package is located, not imported
    if spec is None or spec.origin is None:  # pragma: no cover - a dependency of ketacare
        raise RuntimeError("matplotlib is not installed; it ships the PDFs' font")
    return Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"


FONT_DIR: Final = _font_dir()


def add_dejavu(pdf: FPDF) -> None:
    """Register DejaVu Sans, regular and bold, with an fpdf2 document as family ``DejaVu``."""
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
