"""A browser test's login, side by side in one run: ``tests.browser.sign_in`` (the session
opened as the login form opens it, its cookie given to the context) against the peer it
replaced, ``tests.browser.log_in`` (the login form loaded, filled and posted, and the landing
page).

Each login is what a browser test does first: a new context and page, the login, then one
signed-in page (``/account``). The script serves the app on a fresh SQLite database in a
thread, as the browser tests do (``chromium_nav.app``), with the tests' cheap Argon2id parameters
(``tests.conftest.FAST_HASHER``), and logs in four roles ``--logins`` times each way,
interleaved over ``--rounds`` rounds. It prints the median CPU of a login: the machine's
(``/proc/stat``: this process's server and client, Playwright's driver and every Chromium
process, including the renderers that exit with their context), so run it on a quiet
machine.

    python benchmarks/suite_login.py [--logins 12] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from playwright.sync_api import Browser  # noqa: E402
from tests.browser import live_server, log_in, shared_chromium, sign_in  # noqa: E402
from tests.conftest import FAST_HASHER, PASSWORD  # noqa: E402

import chromium_nav  # noqa: E402
from ketacare.features.auth import passwords  # noqa: E402
from ketacare.features.auth import service as accounts  # noqa: E402
from ketacare.features.auth.models import Role  # noqa: E402
from ketacare.features.clinics.repository import get_or_create  # noqa: E402

ROLES = (Role.clinician, Role.nurse, Role.frontdesk, Role.admin)


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (``/proc/stat``)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields[:7])
    return (user + nice + system + irq + softirq) / 100


def one_login(browser: Browser, base: str, email: str, how: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    if how == "form":
        log_in(page, base, email)
        page.goto(f"{base}/account")
    else:
        sign_in(page, base, email, "/account")
    assert "Your account" in page.locator("h1").inner_text()
    context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args()
    passwords._hasher = lambda: FAST_HASHER  # type: ignore[assignment]  # as the tests do
    app = chromium_nav.app(login_rate_limit=1_000_000)  # the tests' serving, a fresh SQLite
    settings = app.state.settings
    with app.state.sessions() as db:
        clinic = get_or_create(db, settings.public_clinic, settings.clinic_name)
        emails = [
            accounts.create_user(db, clinic, f"{r.value}@bench.example", r, PASSWORD).email
            for r in ROLES
        ]
        db.commit()
    results: dict[str, list[float]] = {"form": [], "sign_in": []}
    with live_server(app) as base, shared_chromium() as browser:
        one_login(browser, base, emails[0], "form")  # caches and code, not measured
        for round_ in range(1, opts.rounds + 1):
            for how in results:
                cpu, wall = busy_seconds(), time.perf_counter()
                for i in range(opts.logins):
                    one_login(browser, base, emails[i % len(emails)], how)
                time.sleep(0.5)  # the closed contexts' renderers exit
                used = (busy_seconds() - cpu) / opts.logins
                results[how].append(used)
                took = (time.perf_counter() - wall - 0.5) / opts.logins
                line = f"round {round_}  {how:8} CPU {used * 1000:6.0f} ms a login"
                print(f"{line}  wall {took * 1000:5.0f} ms")
    form, signed = (statistics.median(v) for v in results.values())
    print(f"\n{opts.logins} logins a round, median of {opts.rounds} rounds, CPU a login:")
    print(f"  login form (peer): {form * 1000:.0f} ms")
    print(f"  sign_in:           {signed * 1000:.0f} ms ({signed / form - 1:+.0%})")


if __name__ == "__main__":
    main()
