"""billing: profile, payers, coverage, confirmed code lines, claims, prior auth, ledger

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the billing tables (issue 20)."""
    op.create_table(
        "billing_payer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("payer_id", sa.String(length=80), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_billing_payer_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_payer")),
        sa.UniqueConstraint("clinic_id", "name", name="uq_billing_payer_name"),
    )
    op.create_table(
        "billing_profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("billing_name", sa.String(length=60), nullable=False),
        sa.Column("npi", sa.String(length=10), nullable=False),
        sa.Column("tax_id", sa.String(length=9), nullable=False),
        sa.Column("taxonomy", sa.String(length=10), nullable=False),
        sa.Column("address", sa.String(length=55), nullable=False),
        sa.Column("city", sa.String(length=30), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("postal_code", sa.String(length=9), nullable=False),
        sa.Column("phone", sa.String(length=10), nullable=False),
        sa.Column("submitter_id", sa.String(length=15), nullable=False),
        sa.Column("receiver_id", sa.String(length=15), nullable=False),
        sa.Column("receiver_name", sa.String(length=60), nullable=False),
        sa.Column("fees", sa.JSON(), nullable=False),
        sa.Column("auth_expiry_lead_days", sa.Integer(), nullable=False),
        sa.Column("auth_units_lead", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_billing_profile_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_profile")),
        sa.UniqueConstraint("clinic_id", name=op.f("uq_billing_profile_clinic_id")),
    )
    op.create_table(
        "billing_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("payer_id", sa.Integer(), nullable=False),
        sa.Column("control_number", sa.Integer(), nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("delivered_to", sa.String(length=300), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_billing_claim_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["app_user.id"],
            name=op.f("fk_billing_claim_created_by_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_billing_claim_patient_id_patient"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["payer_id"],
            ["billing_payer.id"],
            name=op.f("fk_billing_claim_payer_id_billing_payer"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_claim")),
        sa.UniqueConstraint("clinic_id", "control_number", name="uq_billing_claim_control"),
    )
    op.create_table(
        "billing_coverage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("payer_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(length=80), nullable=False),
        sa.Column("group_number", sa.String(length=50), nullable=False),
        sa.Column("address", sa.String(length=55), nullable=False),
        sa.Column("city", sa.String(length=30), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("postal_code", sa.String(length=9), nullable=False),
        sa.Column("primary", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_billing_coverage_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_billing_coverage_patient_id_patient"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["payer_id"],
            ["billing_payer.id"],
            name=op.f("fk_billing_coverage_payer_id_billing_payer"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_coverage")),
        sa.UniqueConstraint("patient_id", "payer_id", name="uq_billing_coverage_patient_payer"),
    )
    op.create_table(
        "prior_auth",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("payer_id", sa.Integer(), nullable=False),
        sa.Column("codes", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("auth_number", sa.String(length=50), nullable=False),
        sa.Column("approved_units", sa.Integer(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "approved_units IS NULL OR approved_units > 0", name=op.f("ck_prior_auth_units")
        ),
        sa.CheckConstraint(
            "end_date IS NULL OR start_date IS NULL OR end_date >= start_date",
            name=op.f("ck_prior_auth_dates"),
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_prior_auth_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_prior_auth_patient_id_patient"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["payer_id"],
            ["billing_payer.id"],
            name=op.f("fk_prior_auth_payer_id_billing_payer"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prior_auth")),
    )
    op.create_index("ix_prior_auth_patient", "prior_auth", ["patient_id", "payer_id"], unique=False)
    op.create_table(
        "prior_auth_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prior_auth_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["by_id"],
            ["app_user.id"],
            name=op.f("fk_prior_auth_event_by_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["prior_auth_id"],
            ["prior_auth.id"],
            name=op.f("fk_prior_auth_event_prior_auth_id_prior_auth"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prior_auth_event")),
    )
    op.create_index(
        "ix_prior_auth_event_auth", "prior_auth_event", ["prior_auth_id", "at"], unique=False
    )
    op.create_table(
        "billing_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("payer_id", sa.Integer(), nullable=True),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("modifiers", sa.String(length=16), nullable=False),
        sa.Column("place_of_service", sa.String(length=2), nullable=False),
        sa.Column("charge_cents", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("confirmed_by_email", sa.String(length=320), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["billing_claim.id"],
            name=op.f("fk_billing_line_claim_id_billing_claim"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_billing_line_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["confirmed_by_id"],
            ["app_user.id"],
            name=op.f("fk_billing_line_confirmed_by_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_billing_line_patient_id_patient"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["payer_id"],
            ["billing_payer.id"],
            name=op.f("fk_billing_line_payer_id_billing_payer"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_session.id"],
            name=op.f("fk_billing_line_session_id_treatment_session"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_line")),
    )
    op.create_index(
        "ix_billing_line_patient_date", "billing_line", ["patient_id", "service_date"], unique=False
    )
    op.create_index(
        "uq_billing_line_session_code",
        "billing_line",
        ["session_id", "code"],
        unique=True,
        postgresql_where=sa.text("voided_at IS NULL"),
        sqlite_where=sa.text("voided_at IS NULL"),
    )
    op.create_table(
        "billing_ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("memo", sa.String(length=200), nullable=False),
        sa.Column("billing_line_id", sa.Integer(), nullable=True),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind = 'adjustment' OR amount_cents > 0", name=op.f("ck_billing_ledger_amount")
        ),
        sa.CheckConstraint(
            "kind IN ('charge', 'payment', 'adjustment')", name=op.f("ck_billing_ledger_kind")
        ),
        sa.ForeignKeyConstraint(
            ["billing_line_id"],
            ["billing_line.id"],
            name=op.f("fk_billing_ledger_billing_line_id_billing_line"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["by_id"],
            ["app_user.id"],
            name=op.f("fk_billing_ledger_by_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_billing_ledger_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_billing_ledger_patient_id_patient"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_ledger")),
    )
    op.create_index(
        "ix_billing_ledger_patient", "billing_ledger", ["patient_id", "on_date"], unique=False
    )


def downgrade() -> None:
    """Drop the billing tables."""
    op.drop_index("ix_billing_ledger_patient", table_name="billing_ledger")
    op.drop_table("billing_ledger")
    op.drop_index(
        "uq_billing_line_session_code",
        table_name="billing_line",
        postgresql_where=sa.text("voided_at IS NULL"),
        sqlite_where=sa.text("voided_at IS NULL"),
    )
    op.drop_index("ix_billing_line_patient_date", table_name="billing_line")
    op.drop_table("billing_line")
    op.drop_index("ix_prior_auth_event_auth", table_name="prior_auth_event")
    op.drop_table("prior_auth_event")
    op.drop_index("ix_prior_auth_patient", table_name="prior_auth")
    op.drop_table("prior_auth")
    op.drop_table("billing_coverage")
    op.drop_table("billing_claim")
    op.drop_table("billing_profile")
    op.drop_table("billing_payer")
