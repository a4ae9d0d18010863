"""Typed request parameters shared by routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

#: Largest id any backend stores (PostgreSQL ``integer``); larger ids are a 422, not a 500.
MAX_ID = 2_147_483_647

#: A row id in the path: 1 to 2**31 - 1.
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
#: An optional row id in the query string.
OptionalRowIdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
#: A look-back window in days (1 to 10 years).
DaysQuery = Annotated[int, Query(ge=1, le=3650)]
