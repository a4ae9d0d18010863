"""scheduling: sites, chairs, closures, staff shifts, bookings (no double booking enforced in
the database), waitlist, reminders, calendar feeds (issue 17)

Revision ID: 0013
Revises: 0012

PostgreSQL: exclusion constraints on ``tstzrange(starts_at, ends_at)`` per chair and per
patient (extension ``btree_gist``, trusted since PostgreSQL 13: a database owner may create
it). SQLite: triggers that abort an overlapping insert or update.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_GUARD = (
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    "ALTER TABLE sched_booking ADD CONSTRAINT ex_sched_booking_chair EXCLUDE USING gist "
    "(chair_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (holds)",
    "ALTER TABLE sched_booking ADD CONSTRAINT ex_sched_booking_patient EXCLUDE USING gist "
    "(patient_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (holds)",
)
_SQLITE_CHECK = (
    "WHEN NEW.holds AND EXISTS (SELECT 1 FROM sched_booking b WHERE b.holds "
    "AND b.id IS NOT NEW.id AND (b.{col} = NEW.{col}) "
    "AND b.starts_at < NEW.ends_at AND NEW.starts_at < b.ends_at) "
    "BEGIN SELECT RAISE(ABORT, 'sched_booking overlap: {col}'); END"
)
SQLITE_GUARD = tuple(
    f"CREATE TRIGGER IF NOT EXISTS tr_sched_booking_{col}_{op_} BEFORE "
    f"{'INSERT' if op_ == 'ins' else 'UPDATE'} ON sched_booking FOR EACH ROW "
    + _SQLITE_CHECK.format(col=col)
    for col in ("chair_id", "patient_id")
    for op_ in ("ins", "upd")
)
TABLES = (
    "sched_reminder", "sched_booking", "sched_waitlist", "sched_shift", "sched_feed",
    "sched_closure", "sched_chair", "sched_site",
)  # fmt: skip


def upgrade() -> None:
    """Create the scheduling tables and the overlap guard."""
    op.create_table(
        "sched_site",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("rems_certified", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_sched_site_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sched_site")),
        sa.UniqueConstraint("clinic_id", "name", name="uq_sched_site_clinic_name"),
    )
    op.create_table(
        "sched_chair",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_sched_chair_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sched_site.id"],
            name=op.f("fk_sched_chair_site_id_sched_site"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sched_chair")),
        sa.UniqueConstraint("site_id", "name", name="uq_sched_chair_site_name"),
    )
    op.create_table(
        "sched_closure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sched_site.id"],
            name=op.f("fk_sched_closure_site_id_sched_site"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sched_closure")),
        sa.UniqueConstraint("site_id", "day", name="uq_sched_closure_site_day"),
    )
    op.create_table(
        "sched_feed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_sched_feed_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sched_site.id"],
            name=op.f("fk_sched_feed_site_id_sched_site"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_sched_feed_user_id_app_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sched_feed")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sched_feed_token_hash")),
    )
    op.create_table(
        "sched_shift",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("staff_name", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum("prescriber", "nurse", "other", name="staffrole", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_sched_shift_order")),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_sched_shift_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sched_site.id"],
            name=op.f("fk_sched_shift_site_id_sched_site"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_sched_shift_user_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sched_shift")),
    )
    op.create_index(
        "ix_sched_shift_site_start", "sched_shift", ["site_id", "starts_at"], unique=False
    )
    op.create_table(
        "sched_waitlist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("iv", "esketamine", name="kind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("earliest", sa.Date(), nullable=False),
        sa.Column("latest", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "waiting",
                "offered",
                "booked",
                "closed",
                name="waitstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("offered_chair_id", sa.Integer(), nullable=True),
        sa.Column("offered_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_sched_waitlist_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["offered_chair_id"],
            ["sched_chair.id"],
            name=op.f("fk_sched_waitlist_offered_chair_id_sched_chair"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_sched_waitlist_patient_id_patient"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sched_site.id"],
            name=op.f("fk_sched_waitlist_site_id_sched_site"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sched_waitlist")),
    )
    op.create_table(
        "sched_booking",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("chair_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("planned_session_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum("iv", "esketamine", name="kind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "booked",
                "checked_in",
                "attended",
                "cancelled",
                "no_show",
                name="bookingstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("holds", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("confirm_token_hash", sa.String(length=64), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reschedule_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("instructions_ack_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_email", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_sched_booking_order")),
        sa.ForeignKeyConstraint(
            ["chair_id"],
            ["sched_chair.id"],
            name=op.f("fk_sched_booking_chair_id_sched_chair"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_sched_booking_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_sched_booking_patient_id_patient"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["treatment_plan.id"],
            name=op.f("fk_sched_booking_plan_id_treatment_plan"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["planned_session_id"],
            ["planned_session.id"],
            name=op.f("fk_sched_booking_planned_session_id_planned_session"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_session.id"],
            name=op.f("fk_sched_booking_session_id_treatment_session"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sched_site.id"],
            name=op.f("fk_sched_booking_site_id_sched_site"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sched_booking")),
        sa.UniqueConstraint("confirm_token_hash", name=op.f("uq_sched_booking_confirm_token_hash")),
    )
    op.create_index(
        "ix_sched_booking_patient_start", "sched_booking", ["patient_id", "starts_at"], unique=False
    )
    op.create_index(
        "ix_sched_booking_site_start", "sched_booking", ["site_id", "starts_at"], unique=False
    )
    op.create_table(
        "sched_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sent",
                "failed",
                "cancelled",
                name="reminderstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["sched_booking.id"],
            name=op.f("fk_sched_reminder_booking_id_sched_booking"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_sched_reminder_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sched_reminder")),
    )
    op.create_index(
        "ix_sched_reminder_status_due", "sched_reminder", ["status", "due_at"], unique=False
    )

    bind = op.get_bind()
    for statement in PG_GUARD if bind.dialect.name == "postgresql" else SQLITE_GUARD:
        op.execute(statement)


def downgrade() -> None:
    """Drop the scheduling tables (their triggers and constraints go with them)."""
    for table in TABLES:
        op.drop_table(table)
