"""audit chain keyed with HMAC from the next event on; disclosed patient lists

Revision ID: 0010
Revises: 0009

Existing events keep their plain SHA-256 hashes (they cannot be re-keyed honestly: nothing
proves they were intact before the key existed). ``audit_head.keyed_from`` records the switch
point: every event from it on is chained with HMAC-SHA256 under the audit key.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``audit_event.patients`` and ``audit_head.keyed_from`` (= the next event)."""
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("patients", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("keyed_from", sa.Integer(), nullable=False, server_default="1")
        )
    op.execute("UPDATE audit_head SET keyed_from = seq + 1")


def downgrade() -> None:
    """Drop both columns (keyed events then no longer verify with the old code)."""
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.drop_column("keyed_from")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("patients")
