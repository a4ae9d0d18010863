"""clinic settings kept for the admin pages (contact text, alert rules) and user display names

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``clinic.contact_text``, ``clinic.alert_disabled``, ``clinic.alert_mcid`` and
    ``app_user.display_name``."""
    op.add_column("clinic", sa.Column("contact_text", sa.Text(), nullable=False, server_default=""))
    op.add_column(
        "clinic",
        sa.Column("alert_disabled", sa.String(length=500), nullable=False, server_default=""),
    )
    op.add_column("clinic", sa.Column("alert_mcid", sa.JSON(), nullable=True))
    op.add_column(
        "app_user",
        sa.Column("display_name", sa.String(length=200), nullable=False, server_default=""),
    )


def downgrade() -> None:
    """Drop the columns (SQLite >= 3.35 drops a column in place)."""
    op.drop_column("app_user", "display_name")
    op.drop_column("clinic", "alert_mcid")
    op.drop_column("clinic", "alert_disabled")
    op.drop_column("clinic", "contact_text")
