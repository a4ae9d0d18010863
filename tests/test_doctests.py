"""Every example in a ``ketacare.domain`` docstring runs (doctest), module by module.

The examples document the clinical rules; a stale one is a wrong document. A failure prints
the example, what it expected and what it got.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import ketacare.domain

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(ketacare.domain.__path__, prefix="ketacare.domain.")
)


@pytest.mark.parametrize("name", ["ketacare.domain", *MODULES])
def test_domain_doctests(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(
        module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, report=True
    )
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"


def test_the_domain_has_examples() -> None:
    attempted = 0
    for name in ["ketacare.domain", *MODULES]:
        finder = doctest.DocTestFinder()
        for test in finder.find(importlib.import_module(name)):
            attempted += len(test.examples)
    assert attempted >= 68
