"""billing profile: the codes a booking of each route draws on a prior authorisation

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """``billing_profile.booking_codes`` (empty: the built-in [U] defaults)."""
    with op.batch_alter_table("billing_profile", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("booking_codes", sa.String(length=200), server_default="", nullable=False)
        )


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("billing_profile", schema=None) as batch_op:
        batch_op.drop_column("booking_codes")
