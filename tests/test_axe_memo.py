"""The page walk's axe-core memo (``tests.axe.AxeMemo``) finds what a full run finds: a
violation in a top bar it has not seen, in content it has not seen, and again in content that
failed before; it spares only markup it has checked and passed at the same width."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from tests.axe import AxeMemo, Violation, axe_violations
from tests.browser import require_chromium, shared_chromium

pytestmark = pytest.mark.browser

GOOD_TOP = '<header class="top"><nav aria-label="Main"><a href="/a">A</a></nav></header>'
#: A link with no text: axe's ``link-name`` (serious).
BAD_TOP = '<header class="top"><nav aria-label="Main"><a href="/b"></a></nav></header>'
GOOD_MAIN = "<main><h1>Patients</h1><p>Two patients.</p></main>"
#: An image without a text alternative: axe's ``image-alt`` (critical).
BAD_MAIN = '<main><h1>Patients</h1><img src="data:image/png;base64,iVBORw0KGgo="></main>'


def _show(page: Page, top: str, main: str) -> None:
    page.set_content(
        f'<!doctype html><html lang="en"><head><title>t</title></head><body>{top}{main}'
        "</body></html>"
    )


@pytest.fixture
def page() -> Iterator[Page]:
    require_chromium()
    with shared_chromium() as browser:
        p = browser.new_page(viewport={"width": 1280, "height": 900})
        yield p
        p.close()


def _rules(found: list[Violation]) -> set[str]:
    return {v.rule for v in found}


def test_memo_checks_new_parts_and_spares_only_checked_ones(page: Page) -> None:
    memo = AxeMemo()
    _show(page, GOOD_TOP, GOOD_MAIN)
    assert memo.violations(page) == [] and memo.full == 1

    # Only the top bar is new: its own violation is found (by the top bar alone).
    _show(page, BAD_TOP, GOOD_MAIN)
    assert "link-name" in _rules(memo.violations(page))
    assert memo.top_only == 1
    assert _rules(memo.violations(page)) == _rules(axe_violations(page))  # found again

    # The same page checked and passed: only the document-wide rules run.
    _show(page, GOOD_TOP, GOOD_MAIN)
    assert memo.violations(page) == [] and memo.page_only == 1

    # New content, under a top bar seen before: the full run, the same verdict as axe's own.
    _show(page, GOOD_TOP, BAD_MAIN)
    found = memo.violations(page)
    assert "image-alt" in _rules(found) and _rules(found) == _rules(axe_violations(page))
    assert memo.full == 2

    # At another width, nothing counts as checked.
    page.set_viewport_size({"width": 390, "height": 844})
    _show(page, GOOD_TOP, GOOD_MAIN)
    assert memo.violations(page) == [] and memo.full == 3

    # Checked parts shown together again: the document-wide rules run (on the whole page).
    page.set_viewport_size({"width": 1280, "height": 900})
    _show(page, BAD_TOP, GOOD_MAIN)
    assert "link-name" in _rules(memo.violations(page))  # failed before: checked again
    assert memo.top_only == 3 and memo.page_only == 1


def test_memo_takes_a_page_axe_has_measured_for_the_same_page(page: Page) -> None:
    """axe-core leaves an empty ``style=""`` on elements it measured; the memo's digest
    ignores it (it styles nothing), so a page checked once is not checked in full again."""
    memo = AxeMemo()
    _show(page, GOOD_TOP, GOOD_MAIN)
    assert memo.violations(page) == [] and memo.full == 1
    page.evaluate(
        "() => document.querySelectorAll('main *').forEach(e => e.setAttribute('style', ''))"
    )
    assert memo.violations(page) == [] and memo.full == 1 and memo.page_only == 1
    page.evaluate(
        "() => document.querySelector('main p').setAttribute('style', 'font-weight: bold')"
    )
    assert memo.violations(page) == [] and memo.full == 2  # a real style is new content
