"""The suite's own set-up: what it changes for speed leaves the product as it is."""

from __future__ import annotations

from ketacare.features.auth import passwords
from tests.conftest import FAST_HASHER, PRODUCT_HASHER


def test_the_product_hashes_with_argon2id_default_parameters() -> None:
    stored = PRODUCT_HASHER().hash("correct-horse-battery")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PRODUCT_HASHER().verify("correct-horse-battery", stored)


def test_the_tests_hash_with_cheap_argon2id_parameters() -> None:
    assert passwords._hasher() is FAST_HASHER
    stored = passwords.hash_password("correct-horse-battery")
    assert stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert passwords.verify_password("correct-horse-battery", stored) == (True, None)
