"""waitlist offers sent to the patient: link token hash, sent time, attempts, last error

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Columns of the waitlist offer message (issue 17.2)."""
    with op.batch_alter_table("sched_waitlist", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offer_token_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("offer_sent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("offer_attempts", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("offer_error", sa.String(length=200), server_default="", nullable=False)
        )
        batch_op.create_unique_constraint(
            "uq_sched_waitlist_offer_token_hash", ["offer_token_hash"]
        )


def downgrade() -> None:
    """Drop the offer columns."""
    with op.batch_alter_table("sched_waitlist", schema=None) as batch_op:
        batch_op.drop_constraint("uq_sched_waitlist_offer_token_hash", type_="unique")
        batch_op.drop_column("offer_error")
        batch_op.drop_column("offer_attempts")
        batch_op.drop_column("offer_sent_at")
        batch_op.drop_column("offer_token_hash")
