"""Routes neither query nor audit (docs/architecture.md "Access"): a route module calls no
``audit.service.record`` and no query method of the session (``db.get``, ``db.execute``,
``db.scalar(s)``, ``db.query``, ``db.add``, ``db.delete``); services do. The import-linter
contract keeps SQLAlchemy out of these modules; this test catches what an import cannot
(a method call on the request's session, an audit written by the route)."""

from __future__ import annotations

import ast
from pathlib import Path

FEATURES = Path(__file__).resolve().parents[1] / "src" / "ketacare" / "features"
SESSION_CALLS = {"get", "execute", "scalar", "scalars", "query", "add", "add_all", "delete"}


def route_modules() -> list[Path]:
    """Every module of a feature that defines a FastAPI router."""
    out = []
    for path in sorted(FEATURES.glob("*/*.py")):
        text = path.read_text("utf-8")
        if "APIRouter(" in text:
            out.append(path)
    return out


def offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"))
    audit_names = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "ketacare.features.audit.service"
        for alias in node.names
        if alias.name == "record"
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Name) and f.id in audit_names:
            found.append(f"{path.name}:{node.lineno} record()")
        if (
            isinstance(f, ast.Attribute)
            and f.attr in SESSION_CALLS
            and isinstance(f.value, ast.Name)
            and f.value.id == "db"
        ):
            found.append(f"{path.name}:{node.lineno} db.{f.attr}()")
    return found


def test_there_are_route_modules() -> None:
    assert len(route_modules()) > 20


def test_routes_neither_query_nor_audit() -> None:
    found = {str(p.relative_to(FEATURES)): o for p in route_modules() if (o := offences(p))}
    assert found == {}, found
