"""Argon2id password hashing (pwdlib), with transparent rehash on login."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

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


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common and breached passwords (lower-case)."""
    text = resources.files("ketacare.features.auth").joinpath("common_passwords.txt").read_text()
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


_SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm")


def password_problem(password: str, email: str = "") -> str | None:
    """Why ``password`` is not acceptable, or None.

    NIST SP 800-63B style: a minimum length, no maximum below 1024, and a refusal of common
    or breached passwords, of passwords built from the account's own email, of one repeated
    character and of keyboard or alphabet runs.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > 1024:
        return "must be at most 1024 characters"
    if password.strip() != password:
        return "must not start or end with spaces"
    lowered = password.lower()
    if lowered in common_passwords() or lowered.rstrip("0123456789!.") in common_passwords():
        return "is too common (it appears in lists of breached passwords)"
    if len(set(lowered)) <= 2:
        return "must not be one or two characters repeated"
    if any(lowered in seq or lowered in seq[::-1] for seq in _SEQUENCES):
        return "must not be a run of keys or letters"
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and local in lowered:
        return "must not contain your email name"
    return None


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A real hash to verify against when no such user exists (equal timing)."""
    return hash_password("no-such-user-password")
