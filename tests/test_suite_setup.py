"""The suite's own set-up: what it changes for speed leaves the product as it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import pytest

from ketacare.features.auth import passwords
from tests.conftest import FAST_HASHER, PRODUCT_HASHER, long_tests_first


def test_the_product_hashes_with_argon2id_default_parameters() -> None:
    stored = PRODUCT_HASHER().hash("correct-horse-battery")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PRODUCT_HASHER().verify("correct-horse-battery", stored)


def test_the_tests_hash_with_cheap_argon2id_parameters() -> None:
    assert passwords._hasher() is FAST_HASHER
    stored = passwords.hash_password("correct-horse-battery")
    assert stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert passwords.verify_password("correct-horse-battery", stored) == (True, None)


@dataclass(frozen=True)
class _Item:
    """A stand-in for a collected test: its name and whether it is marked ``long``."""

    name: str
    long: bool = False

    def get_closest_marker(self, name: str) -> object | None:
        return object() if name == "long" and self.long else None


def _xdist_shares(items: list[Any], workers: int) -> list[list[Any]]:
    """How pytest-xdist's work stealing first splits the list (worksteal.check_schedule)."""
    shares, pending = [], list(items)
    for i in range(workers):
        n = len(pending) // (workers - i)
        shares.append(pending[:n])
        pending = pending[n:]
    return shares


@pytest.mark.parametrize("workers", [1, 2, 3, 4])
def test_each_worker_starts_with_long_tests(workers: int) -> None:
    """The long tests are dealt round-robin to the front of each worker's first share; the
    rest keep their order and nothing is lost or repeated."""
    items = [_Item(f"t{i}", long=i % 97 == 5) for i in range(1000)]
    long = [i for i in items if i.long]
    ordered = cast(list[_Item], long_tests_first(cast(list[pytest.Item], items), workers))
    assert sorted(i.name for i in ordered) == sorted(i.name for i in items)
    assert [i for i in ordered if not i.long] == [i for i in items if not i.long]
    for w, share in enumerate(_xdist_shares(ordered, workers)):
        dealt = long[w::workers]
        assert share[: len(dealt)] == dealt
