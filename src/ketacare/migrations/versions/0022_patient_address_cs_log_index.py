"""patient address (21 CFR 1304.22(c)); keyset index of the controlled-substance log

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """The patient's address (optional fields) and the log's (registration, at, id) index."""
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("address_line", sa.String(length=200), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("city", sa.String(length=100), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("state", sa.String(length=2), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("postal_code", sa.String(length=10), server_default="", nullable=False)
        )
    op.create_index(
        "ix_cs_event_registration_at",
        "cs_event",
        ["registration_id", "occurred_at", "id"],
        postgresql_include=["kind", "patient_id"],
    )


def downgrade() -> None:
    """Drop the index and the address columns."""
    op.drop_index("ix_cs_event_registration_at", table_name="cs_event")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_column("postal_code")
        batch_op.drop_column("state")
        batch_op.drop_column("city")
        batch_op.drop_column("address_line")
