"""Reading HTML form posts in sync routes (the form is parsed once and cached)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form as ``name -> value`` (files and repeated names: first text value)."""
    form = await request.form()
    out: dict[str, str] = {}
    for key, value in form.multi_items():
        if isinstance(value, str) and key not in out:
            out[key] = value
    return out


FormFields = Annotated[dict[str, str], Depends(form_fields)]
