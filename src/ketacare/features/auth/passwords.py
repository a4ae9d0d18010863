"""Argon2id password hashing (pwdlib), with transparent rehash on login."""

from __future__ import annotations

from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

MIN_PASSWORD_LENGTH = 10


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    return PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    """Argon2id hash of ``password``."""
    return _hasher().hash(password)


def verify_password(password: str, stored: str) -> tuple[bool, str | None]:
    """Check ``password``; also return a new hash when the parameters have changed."""
    return _hasher().verify_and_update(password, stored)


def password_problem(password: str) -> str | None:
    """Why ``password`` is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if password.strip() != password:
        return "must not start or end with spaces"
    return None


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A real hash to verify against when no such user exists (equal timing)."""
    return hash_password("no-such-user-password")
