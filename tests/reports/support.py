"""Shared helpers for the report tests: a small generated clinic, PDF pages as PNG, the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy.orm import Session

from ketacare.features.clinics.models import Clinic
from ketacare.features.demo.generate import GenerateResult, generate
from ketacare.settings import Settings, get_settings
from tests.conftest import SECRET, make_clinic

TODAY = date(2025, 6, 2)


def small_clinic(
    db: Session, settings: Settings, n: int = 8, seed: int = 3, slug: str = "public"
) -> tuple[Clinic, GenerateResult]:
    """A generated clinic (committed)."""
    clinic = make_clinic(db, slug, "Test Clinic" if slug == "public" else slug)
    result = generate(db, settings, clinic, n, seed, today=TODAY)
    db.commit()
    return clinic, result


def cli_environment(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> Iterator[None]:
    """Point the in-process CLI at the test database."""
    for key in [k for k in os.environ if k.startswith("KETACARE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("KETACARE_DATABASE_URL", database_url)
    monkeypatch.setenv("KETACARE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KETACARE_SECRET_KEY", SECRET)
    monkeypatch.setenv("KETACARE_PUBLIC_CLINIC", "public")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def pdf_pages_png(pdf: bytes, tmp_path: Path) -> list[Path]:
    """Render every page with pdftoppm (skip without it, fail when CI=true)."""
    if shutil.which("pdftoppm") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("pdftoppm (poppler-utils) is required when CI=true")
        pytest.skip("pdftoppm not installed (apt-get install poppler-utils)")
    tmp_path.mkdir(parents=True, exist_ok=True)
    src = tmp_path / "report.pdf"
    src.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", str(src), str(tmp_path / "page")], check=True, timeout=60
    )
    return sorted(tmp_path.glob("page-*.png"))


def ink(path: Path) -> float:
    """Share of pixels that are not (near) white."""
    grey = np.asarray(Image.open(path).convert("L"), dtype=np.uint8)
    return float((grey < 200).mean())
