"""axe-core in the Chromium tests: ``assert_accessible(page, name)`` fails on any serious or
critical violation of the page as it is now, naming each rule and the elements it hit.

The engine is the ``axe.min.js`` shipped in the ``axe-playwright-python`` wheel (axe-core,
MPL-2.0, Deque Systems; the dev extra of pyproject.toml pins it): it is evaluated in the page
through the DevTools protocol, so the pages' Content-Security-Policy does not have to allow it.
The rules run are axe's WCAG 2.0/2.1/2.2 A and AA tags plus its best practices.

Use it from any browser test::

    from tests.axe import assert_accessible
    page.goto(f"{base}/my/page")
    assert_accessible(page, "my page")
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Page


@cache
def axe_script() -> str:
    """axe-core's ``axe.min.js`` from the installed ``axe_playwright_python`` package."""
    spec = importlib.util.find_spec("axe_playwright_python")
    assert spec is not None and spec.origin, "pip install axe-playwright-python (dev extra)"
    return (Path(spec.origin).parent / "axe.min.js").read_text("utf-8")


#: The impacts that fail a page (axe's four are minor, moderate, serious, critical).
FAILING = ("serious", "critical")

OPTIONS: dict[str, Any] = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}


@dataclass(frozen=True)
class Violation:
    """One axe rule broken on a page: its id, impact, help text and the elements' selectors."""

    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        shown = ", ".join(self.targets[:8]) + (" …" if len(self.targets) > 8 else "")
        return f"{self.rule} ({self.impact}): {self.help} -> {shown}"


def axe_violations(page: Page, impacts: tuple[str, ...] = FAILING) -> list[Violation]:
    """Run axe-core on the page as it is now; the violations of the given impacts."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_script())
    results: dict[str, Any] = page.evaluate("(options) => axe.run(document, options)", OPTIONS)
    found = []
    for v in results["violations"]:
        if v.get("impact") in impacts:
            targets = tuple(" ".join(map(str, n["target"])) for n in v["nodes"])
            found.append(Violation(v["id"], v["impact"], v["help"], targets))
    return found


def assert_accessible(page: Page, name: str = "") -> None:
    """Fail listing every serious or critical axe-core violation of the page."""
    found = axe_violations(page)
    where = name or page.url
    assert not found, f"axe-core on {where}:\n" + "\n".join(f"  {v}" for v in found)
