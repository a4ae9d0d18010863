"""Static concentration-time plots for the ``ketacare pk`` command (PNG or SVG files)."""

from __future__ import annotations

from pathlib import Path

from ketacare.domain.pk import PKSimulation
from ketacare.features.charts.render import drawing, figure, to_file
from ketacare.features.charts.style import BLUE


def plot_curve(sim: PKSimulation, path: Path, title: str) -> None:
    """Write the curve of ``sim`` to ``path`` (format from the suffix: .png or .svg)."""
    with drawing():
        fig = figure(figsize=(8, 4.5), dpi=100)
        ax = fig.add_subplot()
        ax.plot(sim.times_min, sim.conc_ng_per_ml, lw=1.5, color=BLUE)
        ax.set_xlabel("Time since first dose (min)")
        ax.set_ylabel("Plasma concentration (ng/mL)")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        fig.text(0.01, 0.01, "Model prediction: decision support, not dosing guidance.", fontsize=7)
        to_file(fig, path)
