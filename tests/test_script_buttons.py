"""A button that only a script can make work (``type="button"``) is rendered ``hidden`` and
shown by its script once its listener is attached: before the script has run (a slow
connection, a deferred script) there is no button that does nothing. CI caught a test
clicking "Copy link" in that gap; a user can do the same. The browser tests click each of
them after it appears."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[1] / "src" / "ketacare" / "templates"
STATIC = TEMPLATES.parent / "static"
BUTTON = re.compile(r"<button\b[^>]*\btype=\"button\"[^>]*>", re.S)


def test_script_only_buttons_are_hidden_until_their_script_runs() -> None:
    scripts = "".join(p.read_text("utf-8") for p in STATIC.glob("*.js"))
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for tag in BUTTON.findall(path.read_text("utf-8")):
            found.append(tag)
            assert re.search(r"\shidden[\s>]", tag), f"{path.relative_to(TEMPLATES)}: {tag}"
            ident = re.search(r'\bid="([^"]+)"', tag)
            assert ident, f"{path.relative_to(TEMPLATES)}: {tag} has no id for its script"
            assert f'"{ident.group(1)}"' in scripts, f"no script looks up #{ident.group(1)}"
    assert len(found) >= 4  # copy (2 pages), find slots, clear, typed signature
