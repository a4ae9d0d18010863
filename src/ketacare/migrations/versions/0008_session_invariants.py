"""session invariants: one active plan, one open session, one charting per planned session,
idempotency keys of charting steps (issues 13.2, 13.18, 15.4, 15.20)

Revision ID: 0008
Revises: 0007

Rows that already break a new rule (from the races this revision closes) are kept: older
duplicate active plans become ``superseded``; older open sessions of a patient get a
``concurrent_reason`` saying so; later chartings of one planned session are marked
``legacy_duplicate`` (never deleted: they are clinical records).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEGACY_REASON = "open before migration 0008 (one open session per patient)"


def upgrade() -> None:
    op.add_column(
        "treatment_session",
        sa.Column("concurrent_reason", sa.Text(), nullable=False, server_default=""),
    )
    op.add_column(
        "treatment_session",
        sa.Column("planned_link", sa.String(length=16), nullable=False, server_default=""),
    )
    op.add_column(
        "treatment_session",
        sa.Column("legacy_duplicate", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute(
        "UPDATE treatment_plan SET status = 'superseded' WHERE status = 'active' AND id NOT IN "
        "(SELECT max(id) FROM treatment_plan WHERE status = 'active' GROUP BY patient_id)"
    )
    op.execute(
        "UPDATE treatment_session SET legacy_duplicate = TRUE WHERE id NOT IN "
        "(SELECT min(id) FROM treatment_session GROUP BY planned_session_id)"
    )
    op.execute(
        sa.text(
            "UPDATE treatment_session SET concurrent_reason = :reason WHERE status = 'open' "
            "AND id NOT IN (SELECT max(id) FROM treatment_session WHERE status = 'open' "
            "GROUP BY patient_id)"
        ).bindparams(reason=LEGACY_REASON)
    )
    op.create_index(
        "uq_treatment_plan_one_active",
        "treatment_plan",
        ["patient_id"],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
        sqlite_where=sa.text("status = 'active'"),
    )
    op.create_index(
        "uq_treatment_session_planned",
        "treatment_session",
        ["planned_session_id"],
        unique=True,
        postgresql_where=sa.text("legacy_duplicate = false"),
        sqlite_where=sa.text("legacy_duplicate = 0"),
    )
    op.create_index(
        "uq_treatment_session_one_open",
        "treatment_session",
        ["patient_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open' AND concurrent_reason = ''"),
        sqlite_where=sa.text("status = 'open' AND concurrent_reason = ''"),
    )
    op.create_table(
        "session_request_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["treatment_session.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", "key", name="uq_session_request_key"),
    )


def downgrade() -> None:
    op.drop_table("session_request_key")
    op.drop_index("uq_treatment_session_one_open", table_name="treatment_session")
    op.drop_index("uq_treatment_session_planned", table_name="treatment_session")
    op.drop_index("uq_treatment_plan_one_active", table_name="treatment_plan")
    with op.batch_alter_table("treatment_session") as batch:
        batch.drop_column("legacy_duplicate")
        batch.drop_column("planned_link")
        batch.drop_column("concurrent_reason")
