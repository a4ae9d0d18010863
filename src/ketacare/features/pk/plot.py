"""Static concentration-time plots (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from ketacare.domain.pk import PKSimulation


def plot_curve(sim: PKSimulation, path: Path, title: str) -> None:
    """Write the curve of ``sim`` to ``path`` (format from the suffix: .png or .svg)."""
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    try:
        ax.plot(sim.times_min, sim.conc_ng_per_ml, lw=1.5)
        ax.set_xlabel("Time since first dose (min)")
        ax.set_ylabel("Plasma concentration (ng/mL)")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        fig.text(0.01, 0.01, "Model prediction: decision support, not dosing guidance.", fontsize=7)
        fig.savefig(path, format=path.suffix.lstrip(".").lower(), metadata=None)
    finally:
        plt.close(fig)
