"""Chromium over the login page, the patient's landing page and /docs (issues 13 and 15)."""

from __future__ import annotations

from fastapi import FastAPI
from playwright.sync_api import Route, expect, sync_playwright

from tests.browser import CHROMIUM_ARGS, live_server, require_chromium


def test_api_docs_render_offline_without_csp_violations(app: FastAPI) -> None:
    """13.21 / 15.18: /docs was blank offline (Swagger UI from a CDN, 'unsafe-inline')."""
    chromium = require_chromium()
    violations: list[str] = []
    outside: list[str] = []
    with live_server(app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("console", lambda m: violations.append(m.text) if m.type == "error" else None)

        def offline(route: Route) -> None:
            if route.request.url.startswith(base):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", offline)
        page.goto(f"{base}/docs")
        expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)
        expect(page.locator("body")).to_contain_text("/api/v1/patients")
        browser.close()
    assert outside == []
    assert violations == []
