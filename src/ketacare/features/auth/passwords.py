"""Argon2id password hashing (pwdlib), with transparent rehash on login."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

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
    """Common and breached passwords (lower-case), all shipped offline.

    ketacare's own list (``common_passwords.txt``: defaults, product and clinic words) and the
    30,000 most frequent passwords of the Xato 10-million-password corpus as zxcvbn ships them
    (zxcvbn is MIT-licensed; the corpus was published by Mark Burnett for research).
    """
    text = resources.files("ketacare.features.auth").joinpath("common_passwords.txt").read_text()
    own = {line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")}
    return frozenset(own | {p.lower() for p in FREQUENCY_LISTS["passwords"]})


#: Words that make a password guessable at any clinic running ketacare.
PRODUCT_WORDS = ("ketacare", "ketamine", "esketamine", "spravato", "ketalar", "clinic")
#: zxcvbn's score (0-4) a password needs: 3 = "safely unguessable: moderate protection from an
#: offline slow-hash scenario" (about 10^8 guesses and more).
MIN_STRENGTH = 3
#: zxcvbn is estimated on this many leading characters (its cost grows with the length).
STRENGTH_PREFIX = 64

_SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_TRAILER = "0123456789!.?#@$%&*-_ "


def password_problem(password: str, email: str = "", words: tuple[str, ...] = ()) -> str | None:
    """Why ``password`` is not acceptable, or None.

    NIST SP 800-63B style: a minimum length, no maximum below 1024, and a refusal of common
    or breached passwords, of passwords built from the account's own email or the product's
    name (``words`` adds e.g. the clinic's name), of one repeated character, of keyboard walks
    and alphabet runs, and of anything zxcvbn estimates below ``MIN_STRENGTH``.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > 1024:
        return "must be at most 1024 characters"
    if password.strip() != password:
        return "must not start or end with spaces"
    lowered = password.lower()
    if lowered in common_passwords() or lowered.rstrip(_TRAILER) in common_passwords():
        return "is too common (it appears in lists of breached passwords)"
    if len(set(lowered)) <= 2:
        return "must not be one or two characters repeated"
    if any(lowered in seq or lowered in seq[::-1] for seq in _SEQUENCES):
        return "must not be a run of keys or letters"
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and local in lowered:
        return "must not contain your email name"
    letters = "".join(ch for ch in lowered if ch.isalpha())
    context = [w.lower() for w in (*PRODUCT_WORDS, *words) if len(w) >= 4]
    if any(letters == w or (letters.startswith(w) and len(letters) - len(w) < 4) for w in context):
        return "must not be the product's or clinic's name with digits or symbols"
    user_inputs = [*context, local, *email.split("@", 1)[-1].split(".")]
    estimate = zxcvbn(password[:STRENGTH_PREFIX], user_inputs=[u for u in user_inputs if u])
    if estimate["score"] < MIN_STRENGTH:
        walk = sum(len(m["token"]) for m in estimate["sequence"] if m["pattern"] == "spatial")
        if walk * 2 >= len(password[:STRENGTH_PREFIX]):
            return "must not be a keyboard walk (keys next to each other)"
        return (
            "is too easy to guess; use a passphrase of four or more unrelated words "
            f"(estimated strength {estimate['score']} of 4, at least {MIN_STRENGTH} needed)"
        )
    return None


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A real hash to verify against when no such user exists (equal timing)."""
    return hash_password("no-such-user-password")
