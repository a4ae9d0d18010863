"""clinic time zone (IANA name; NULL: KETACARE_TIMEZONE)

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``clinic.timezone``."""
    op.add_column("clinic", sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Drop ``clinic.timezone``."""
    # SQLite >= 3.35 drops a column in place (a batch copy of ``clinic`` would trip the
    # foreign keys that point at it).
    op.drop_column("clinic", "timezone")
