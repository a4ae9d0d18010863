"""The numpydoc Examples in ketacare.domain.pk run as doctests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["engine", "regimen", "simulate", "cohort", "metrics", "protocols", "models"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(f"ketacare.domain.pk.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
