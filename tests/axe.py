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

import hashlib
import importlib.util
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page


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


#: Runs axe-core in the page and returns only the violations of the given impacts, with the
#: fields a ``Violation`` keeps: axe's whole result (every rule that passed or did not apply,
#: with its description, tags and help URL) need not cross the DevTools pipe on each run.
RUN = """async ([within, options, impacts]) => {
  const results = await axe.run(within ? {include: [[within]]} : document, options);
  return results.violations.filter(v => impacts.includes(v.impact)).map(v => ({
    id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target)}));
}"""


def _inject(page: Page) -> None:
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_script())


def preload_axe(context: BrowserContext) -> None:
    """Load axe-core into every page of ``context`` as it opens, for a walk that runs it on
    every page: Chromium compiles the script once, not once a page as ``page.evaluate`` does
    (a 40-page walk: 0.4 s instead of 1.9 s in the page, benchmarks/README.md "Suite, eighth
    session"). Like ``page.evaluate``, it is not subject to the page's Content-Security-Policy."""
    context.add_init_script(script=axe_script())


def axe_violations(
    page: Page,
    impacts: tuple[str, ...] = FAILING,
    options: dict[str, Any] = OPTIONS,
    within: str = "",
) -> list[Violation]:
    """Run axe-core on the page as it is now (or on the elements ``within`` a CSS selector);
    the violations of the given impacts."""
    _inject(page)
    violations: list[dict[str, Any]] = page.evaluate(RUN, [within, options, list(impacts)])
    return [
        Violation(
            v["id"], v["impact"], v["help"], tuple(" ".join(map(str, t)) for t in v["targets"])
        )
        for v in violations
    ]


def assert_accessible(page: Page, name: str = "") -> None:
    """Fail listing every serious or critical axe-core violation of the page."""
    found = axe_violations(page)
    where = name or page.url
    assert not found, f"axe-core on {where}:\n" + "\n".join(f"  {v}" for v in found)


#: The rules whose verdict depends on the whole document rather than on one element and its
#: ancestors: landmarks, headings, ids, the page's title and language, the skip link.
PAGE_RULES = (
    "aria-hidden-body",
    "bypass",
    "document-title",
    "duplicate-id",
    "duplicate-id-active",
    "duplicate-id-aria",
    "heading-order",
    "html-has-lang",
    "html-lang-valid",
    "landmark-banner-is-top-level",
    "landmark-complementary-is-top-level",
    "landmark-contentinfo-is-top-level",
    "landmark-main-is-top-level",
    "landmark-no-duplicate-banner",
    "landmark-no-duplicate-contentinfo",
    "landmark-no-duplicate-main",
    "landmark-one-main",
    "landmark-unique",
    "page-has-heading-one",
    "region",
    "skip-link",
)

#: The page split for the memo: the top bar (``body > header``, which differs by role and by
#: the page marked current) and the rest of the document, as the browser has them now, after
#: the page's scripts ran. Each part's SHA-256 is taken in the page, so the markup (some 100
#: KB a page) does not cross the DevTools pipe; a page that is not a secure context, such as
#: ``about:blank``, has no ``crypto.subtle`` and sends the markup instead. Left out: hidden
#: inputs' values (CSRF tokens) and empty ``style=""`` attributes, which axe-core's own checks
#: leave behind on the elements they measured (an empty style attribute styles nothing): with
#: them, a page checked once looked new to the memo and was checked again.
PARTS = """async () => {
  const doc = document.documentElement.cloneNode(true);
  for (const i of doc.querySelectorAll('input[type=hidden]')) i.removeAttribute('value');
  for (const e of doc.querySelectorAll('[style=""]')) e.removeAttribute('style');
  const header = doc.querySelector('body > header');
  const top = header ? header.outerHTML : '';
  if (header) header.replaceWith(document.createComment('header'));
  const rest = doc.outerHTML;
  if (!window.isSecureContext) return [false, top, rest];
  const hex = async (text) => Array.from(
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))),
    (b) => b.toString(16).padStart(2, '0')).join('');
  return [true, await hex(top), await hex(rest)];
}"""


def part_digests(page: Page) -> tuple[str, str]:
    """SHA-256 of the page's top bar and of the rest of it (``PARTS``), as it is now."""
    hashed, top, rest = page.evaluate(PARTS)
    if hashed:
        return str(top), str(rest)
    return hashlib.sha256(top.encode()).hexdigest(), hashlib.sha256(rest.encode()).hexdigest()


@dataclass
class AxeMemo:
    """axe-core over a walk of many pages, without checking the same markup twice.

    The walks open every page as every role, and most pages' content is the same for several
    roles: only the top bar (the navigation) differs. Element rules give the same verdict on
    the same markup, styles and width, so the memo keys the top bar and the rest of the page
    separately (at each width). The document-wide rules (``PAGE_RULES``: landmarks,
    headings, ids, title) always run on the page as it is; the element rules run on the whole
    page if the rest of it is new, on the top bar alone if only the top bar is new (another
    role's navigation, or another page marked current), else not at all. Nothing the full run
    would find is skipped: an element rule's verdict on a part depends on that part and the
    width, and the part was checked at that width."""

    seen: set[tuple[int, str, str]] = field(default_factory=set)
    page_rules: list[str] | None = None
    full: int = 0
    top_only: int = 0
    page_only: int = 0

    def violations(self, page: Page, parts: tuple[str, str] | None = None) -> list[Violation]:
        """The page's serious and critical violations, as ``axe_violations`` finds them.
        ``parts``: the page's ``part_digests`` if the caller took them as it is now."""
        width = page.viewport_size["width"] if page.viewport_size else 0
        top, rest = parts or part_digests(page)
        top_key, rest_key = (width, "top", top), (width, "rest", rest)
        if rest_key not in self.seen:
            self.full += 1
            found = axe_violations(page)
        else:
            found = axe_violations(page, options=self._page_options(page))
            if top_key in self.seen:
                self.page_only += 1
            else:
                self.top_only += 1
                found += axe_violations(page, within="body > header")
        if not found:  # a failing part is checked again wherever it appears
            self.seen |= {top_key, rest_key}
        return found

    def _page_options(self, page: Page) -> dict[str, Any]:
        """``OPTIONS`` narrowed to the document-wide rules of the tags it runs."""
        if self.page_rules is None:
            _inject(page)
            tags = OPTIONS["runOnly"]["values"]
            known = set(
                page.evaluate(
                    """(tags) => axe.getRules(tags).filter(r => !r.tags.includes('deprecated'))
                       .map(r => r.ruleId)""",
                    tags,
                )
            )
            self.page_rules = [r for r in PAGE_RULES if r in known]
        return {
            "runOnly": {"type": "rule", "values": self.page_rules},
            "resultTypes": ["violations"],
        }
