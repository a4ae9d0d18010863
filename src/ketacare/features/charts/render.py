"""Drawing and saving matplotlib charts safely from many threads.

matplotlib keeps its settings (``rcParams``) in one process-global dict, and
``rc_context`` changes it for everyone while it is open: a page and a PDF drawn at once on
two worker threads could each see (or restore) the other's settings. So every chart is drawn
*and* saved inside :func:`drawing`, which holds the one lock and applies :data:`style.RC`;
nothing else in ketacare may touch ``rcParams`` or use ``pyplot``.

matplotlib is imported with the first chart drawn, not with this module: it is half a second
of every server's and command's start-up, and most processes never draw (docs/architecture.md,
"Hot paths"). Create figures with :func:`figure`.
"""

from __future__ import annotations

import io
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ketacare.features.charts.style import RC

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "LOCK",
    "drawing",
    "figure",
    "page_svg",
    "pdf_svg",
    "to_file",
    "to_pdf",
    "to_png",
    "to_svg",
]

LOCK = threading.RLock()
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"


@contextmanager
def drawing() -> Iterator[None]:
    """Hold the chart lock with ketacare's style applied; create, draw and save in here."""
    import matplotlib  # no backend is chosen: figures are saved by format, never shown

    with LOCK, matplotlib.rc_context(RC):
        yield


def figure(**kwargs: Any) -> Figure:
    """A new matplotlib ``Figure`` (its keyword arguments); call inside :func:`drawing`."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def to_svg(fig: Figure, *, tight: bool = False) -> str:
    """The figure as SVG text (no date, so the same chart gives the same bytes)."""
    buf = io.StringIO()
    with drawing():
        fig.savefig(
            buf,
            format="svg",
            metadata={"Date": None, "Creator": None},
            bbox_inches="tight" if tight else None,
        )
    return buf.getvalue()


def to_png(fig: Figure, *, dpi: int = 120, tight: bool = True) -> bytes:
    """The figure as PNG bytes (for PDFs)."""
    buf = io.BytesIO()
    with drawing():
        fig.savefig(
            buf,
            format="png",
            dpi=dpi,
            metadata={"Software": None},
            bbox_inches="tight" if tight else None,
        )
    return buf.getvalue()


def to_pdf(fig: Figure, metadata: Mapping[str, str]) -> bytes:
    """The figure as a one-page PDF (matplotlib's PDF backend, no system libraries)."""
    buf = io.BytesIO()
    with drawing():
        fig.savefig(buf, format="pdf", metadata=dict(metadata))
    return buf.getvalue()


def to_file(fig: Figure, path: Path) -> None:
    """Write the figure to ``path``; the format comes from its suffix (``.png``, ``.svg``)."""
    with drawing():
        fig.savefig(path, format=path.suffix.lstrip(".").lower(), metadata=None)


def _presentation_attributes(root: ET.Element) -> None:
    for el in root.iter():
        style = el.attrib.pop("style", None)
        if not style:
            continue
        for decl in style.split(";"):
            name, sep, value = decl.partition(":")
            if sep and name.strip():
                el.set(name.strip(), value.strip())


def _drop(root: ET.Element, tags: tuple[str, ...]) -> None:
    names = {f"{{{SVG_NS}}}{t}" for t in tags}
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag in names:
                parent.remove(child)


def _parse(svg: str) -> ET.Element:
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    return ET.fromstring(svg)


def page_svg(svg: str, title: str) -> str:
    """A matplotlib SVG rewritten for inline use under the page CSP ``style-src 'self'``.

    ``style`` attributes become SVG presentation attributes; the ``<style>`` element, the
    metadata, the XML prolog and the fixed size go; the chart is an image named ``title``.
    """
    root = _parse(svg)
    _drop(root, ("metadata", "style"))
    _presentation_attributes(root)
    for attr in ("width", "height"):
        root.attrib.pop(attr, None)
    root.set("stroke-linejoin", "round")
    root.set("stroke-linecap", "butt")
    root.set("role", "img")
    root.set("aria-label", title)
    return ET.tostring(root, encoding="unicode")


def pdf_svg(svg: str) -> bytes:
    """A page SVG made ready for fpdf2 (``FPDF.image``): tooltips (``<title>``) dropped."""
    root = _parse(svg)
    _drop(root, ("title", "metadata", "style"))
    body: bytes = ET.tostring(root, encoding="utf-8")
    return body
