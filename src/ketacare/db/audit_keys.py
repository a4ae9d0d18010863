"""Which key chains the audit log of which database (features/audit signs with it).

Kept below the features so that the CLI start-up (``features/_kit/cli.load_settings``) can
register the key without importing the audit feature.
"""

from __future__ import annotations

import weakref

from sqlalchemy import Engine, make_url
from sqlalchemy.engine import Connection

from ketacare.db.engine import normalise_url
from ketacare.settings import Settings, get_settings

_KEYS: dict[str, bytes] = {}
_BY_ENGINE: weakref.WeakKeyDictionary[Engine, bytes] = weakref.WeakKeyDictionary()


class AuditKeyMissing(RuntimeError):
    """No audit key is registered for this database (call ``use_settings`` first)."""


def _url_key(url: str) -> str:
    return make_url(normalise_url(url)).render_as_string(hide_password=False)


def register_key(database_url: str, key: bytes) -> None:
    """Chain the events of ``database_url`` with ``key``."""
    _KEYS[_url_key(database_url)] = key
    _BY_ENGINE.clear()


def use_settings(settings: Settings) -> None:
    """Register the audit key of ``settings`` for its database (app start, CLI start)."""
    register_key(settings.database_url, settings.audit_key.get_secret_value().encode())


def audit_key(bind: Engine | Connection) -> bytes:
    """The audit key registered for the database of ``bind`` (else the environment's)."""
    engine = bind.engine
    key = _BY_ENGINE.get(engine)
    if key is not None:
        return key
    url = engine.url.render_as_string(hide_password=False)
    if url not in _KEYS:
        settings = get_settings()
        if _url_key(settings.database_url) != url:
            raise AuditKeyMissing("no audit key registered for this database")
        use_settings(settings)
    key = _BY_ENGINE[engine] = _KEYS[url]
    return key
