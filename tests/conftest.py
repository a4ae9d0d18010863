"""Shared fixtures: every database test runs on SQLite and on a real PostgreSQL server.

PostgreSQL is reached at ``KETACARE_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``); each test session creates and
drops its own database. When the server is unreachable the PostgreSQL tests are skipped with
the reason, except when ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Engine, Select, create_engine, func, select, text
from sqlalchemy.orm import Session

from ketacare.db import migrate
from ketacare.db.engine import get_engine, session_factory
from ketacare.features.audit.service import register_key
from ketacare.features.auth import passwords
from ketacare.features.auth import service as accounts
from ketacare.features.auth.models import Role, User
from ketacare.features.clinics.models import Clinic
from ketacare.features.clinics.repository import get_or_create
from ketacare.features.models import Base
from ketacare.settings import Settings
from ketacare.web.app import create_app
from tests.cs_guards import empty_tables

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get(
    "KETACARE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SECRET = "test-secret-key-not-for-production"
AUDIT_KEY = "test-audit-key-not-for-production"
PASSWORD = "correct-horse-battery"
REPO = Path(__file__).resolve().parent.parent


#: Argon2id with the cheapest parameters (1 pass over 1 MiB, about 1 ms) for the test
#: users: the production parameters (pwdlib's defaults, 64 MiB and 3 passes) cost 0.1-0.5 s per
#: hash and per login, several times in most page tests: the biggest single cost of the suite
#: (benchmarks/README.md, "Suite"). The algorithm, the library and the code paths stay the same;
#: tests/test_suite_setup.py checks the product keeps its own. A server that a test
#: starts in a subprocess hashes with the real ones.
FAST_HASHER = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
PRODUCT_HASHER = passwords._hasher


def pytest_configure(config: pytest.Config) -> None:
    """Use the cheap Argon2id parameters in this process (each xdist worker runs this too)."""
    passwords._hasher = lambda: FAST_HASHER  # type: ignore[assignment]  # a cached function
    passwords.dummy_hash.cache_clear()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Close the worker's shared Chromium (tests/browser.py), if a browser test started it."""
    from tests.browser import stop_shared_chromium

    stop_shared_chromium()


@pytest.hookimpl(trylast=True)  # after pytest has grouped the tests by their database
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Chromium tests (marked ``browser``) and tests marked ``postgresql_only`` run on
    PostgreSQL only, the production database; tests marked ``long`` start first.

    What a browser test adds is the page's JavaScript path, which does not depend on the
    database; every route it drives has HTTP tests on both databases. The SQLite runs cost
    166 s of the suite's 1,625 s of test time (benchmarks/README.md, "Suite, sixth session").
    A browser test that needs no database is kept as it is. A ``postgresql_only`` test checks
    a property the database cannot change (the synthetic cohort's calibration: what it
    stores on SQLite is checked by the generator's other tests, which run on both).

    pytest-xdist's work stealing takes tests from the end of a worker's queue, never a test
    that is running: a 95-second test that starts last leaves the other core idle for most of
    it (the staff page walk did, "Suite, eighth session"). The long tests go to the front of
    each worker's share (``long_tests_first``), so that the short ones fill in around them."""
    dropped = [
        item
        for item in items
        if _on_sqlite(item)
        and (item.get_closest_marker("browser") or item.get_closest_marker("postgresql_only"))
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        gone = set(map(id, dropped))
        items[:] = [item for item in items if id(item) not in gone]
    items[:] = long_tests_first(items, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))


def long_tests_first(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """The tests in the order that starts each ``long`` one first on some worker.

    pytest-xdist's work stealing hands each of the ``workers`` a contiguous share of the list
    (``len(rest) // workers_left`` tests each, in turn) and later moves tests from the end of a
    long queue to an idle worker. So the long tests are dealt round-robin to the front of
    each share; the rest keep pytest's order, which groups tests by database."""
    long = [item for item in items if item.get_closest_marker("long")]
    if not long:
        return items
    first = set(map(id, long))
    rest = [item for item in items if id(item) not in first]
    ordered: list[pytest.Item] = []
    total = len(items)
    for worker in range(workers):
        dealt = long[worker::workers]
        size = (total - len(ordered)) // (workers - worker)  # what xdist will send this worker
        take = max(size - len(dealt), 0)
        ordered += dealt + rest[:take]
        rest = rest[take:]
    return ordered + rest


def _on_sqlite(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return callspec is not None and callspec.params.get("database_url") == "sqlite"


def _postgres_database() -> Iterator[str]:
    name = f"ketacare_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required when CI=true but unreachable: {exc}")
        pytest.skip(
            f"PostgreSQL not reachable at {PG_ADMIN_URL} ({type(exc).__name__}); "
            "set KETACARE_TEST_POSTGRES_URL or start the server to run these tests"
        )
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A freshly migrated database URL on each backend."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "ketacare.db"
        url = f"sqlite:///{path}"
        migrate.upgrade(get_engine(url))
        yield url
        get_engine(url).dispose()
    else:
        gen = _postgres_database()
        url = next(gen)
        migrate.upgrade(get_engine(url))
        yield url
        for _ in gen:
            pass


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The engine; every table is emptied after the test."""
    eng = get_engine(database_url)
    register_key(database_url, AUDIT_KEY.encode())
    yield eng
    empty_tables(eng, Base.metadata)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Test settings (rate limits high enough not to interfere unless a test lowers them)."""
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        secret_key=SECRET,
        audit_key=AUDIT_KEY,
        public_clinic="public",
        clinic_name="Test Clinic",
        public_rate_limit=10_000,
        login_rate_limit=10_000,
        rems_gate_enforced=False,  # the REMS gate's own tests (tests/rems/) turn it on
        consent_required=False,  # so does tests/consent/
    )


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    """The application on the test database."""
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client for the app (real ASGI stack, no mocks)."""
    with TestClient(app, follow_redirects=False) as c:
        yield c


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed at the end of the test body if it succeeds."""
    with session_factory(engine)() as session:
        yield session
        session.commit()


def make_clinic(db: Session, slug: str = "public", name: str = "Test Clinic") -> Clinic:
    """A clinic (flushed)."""
    return get_or_create(db, slug, name)


def make_user(db: Session, clinic: Clinic, role: Role = Role.clinician, email: str = "") -> User:
    """A user with the test password, committed so the app can see it."""
    email = email or f"{role.value}-{uuid.uuid4().hex[:6]}@{clinic.slug}.example"
    user = accounts.create_user(db, clinic, email, role, PASSWORD)
    db.commit()
    return user


def login(client: TestClient, email: str, password: str = PASSWORD) -> None:
    """Log ``client`` in through the real login form."""
    client.get("/login")
    token = client.cookies.get("kc_csrf")
    r = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert r.status_code == 303, r.text


def csrf(client: TestClient, path: str = "/screen") -> str:
    """Fetch a page so the CSRF cookie is set; return its value."""
    client.get(path)
    value = client.cookies.get("kc_csrf")
    assert value
    return value


def api_token(db: Session, user: User) -> str:
    """A personal API token for ``user``."""
    token = accounts.create_api_token(db, SECRET, user, "tests")
    db.commit()
    return token


def count(db: Session, model: type[Any]) -> int:
    """Rows of ``model``; ends the read transaction (SQLite takes the write lock at BEGIN)."""
    db.expire_all()
    n = int(db.execute(select(func.count()).select_from(model)).scalar_one())
    db.commit()
    return n


def scalar(db: Session, stmt: Select[Any]) -> Any:
    """One value, ending the read transaction."""
    db.expire_all()
    value = db.execute(stmt).scalar_one()
    db.commit()
    return value


@pytest.fixture(scope="session")
def test_data() -> Path:
    """The folder of third-party test files (tests/data/; origin and licence in its README)."""
    from tests.data_files import DATA

    return DATA
