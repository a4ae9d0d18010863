"""REMS operations (setting registry, enrolment, prescriber on site, PMF submissions) and
consent (versioned templates, signed documents)

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the REMS and consent tables."""
    op.create_table(
        "consent_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attestation", sa.String(length=500), nullable=False),
        sa.Column("routes", sa.String(length=64), nullable=False),
        sa.Column("countersign", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_consent_template_version")),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_consent_template_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_template")),
        sa.UniqueConstraint("clinic_id", "key", "version", name="key_version"),
    )
    op.create_table(
        "rems_attestation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("prescriber_name", sa.String(length=200), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attested_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_rems_attestation_span")),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_rems_attestation_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rems_attestation")),
    )
    op.create_index(
        "ix_rems_attestation_clinic", "rems_attestation", ["clinic_id", "starts_at"], unique=False
    )
    op.create_table(
        "rems_setting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("setting_type", sa.String(length=16), nullable=False),
        sa.Column("certified", sa.Boolean(), nullable=False),
        sa.Column("certified_on", sa.Date(), nullable=True),
        sa.Column("certification_id", sa.String(length=64), nullable=False),
        sa.Column("authorised_representative", sa.String(length=200), nullable=False),
        sa.Column("acquisition_route", sa.String(length=16), nullable=False),
        sa.Column("pulse_oximeter", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=320), nullable=False),
        sa.CheckConstraint(
            "acquisition_route IN ('', 'pharmacy', 'distributor')",
            name=op.f("ck_rems_setting_acquisition"),
        ),
        sa.CheckConstraint(
            "setting_type IN ('outpatient', 'inpatient')", name=op.f("ck_rems_setting_type")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_rems_setting_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rems_setting")),
        sa.UniqueConstraint("clinic_id", name=op.f("uq_rems_setting_clinic_id")),
    )
    op.create_table(
        "consent_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("patient_typed_name", sa.String(length=200), nullable=False),
        sa.Column("patient_signature_png", sa.LargeBinary(), nullable=True),
        sa.Column("signer_name", sa.String(length=200), nullable=False),
        sa.Column("signer_role", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("recorded_by", sa.String(length=320), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('signed', 'countersigned', 'revoked')", name=op.f("ck_consent_document_kind")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_consent_document_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_consent_document_patient_id_patient"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["consent_document.id"],
            name=op.f("fk_consent_document_supersedes_id_consent_document"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["consent_template.id"],
            name=op.f("fk_consent_document_template_id_consent_template"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_document")),
        sa.UniqueConstraint("supersedes_id", name=op.f("uq_consent_document_supersedes_id")),
    )
    op.create_index(
        "ix_consent_document_patient", "consent_document", ["patient_id", "id"], unique=False
    )
    op.create_table(
        "rems_enrolment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("enrolled_on", sa.Date(), nullable=True),
        sa.Column("patient_signed", sa.Boolean(), nullable=False),
        sa.Column("prescriber_signed", sa.Boolean(), nullable=False),
        sa.Column("prescriber_name", sa.String(length=200), nullable=False),
        sa.Column("rems_patient_id", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("recorded_by", sa.String(length=320), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('enrolled', 'withdrawn')", name=op.f("ck_rems_enrolment_kind")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_rems_enrolment_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_rems_enrolment_patient_id_patient"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rems_enrolment")),
    )
    op.create_index(
        "ix_rems_enrolment_patient", "rems_enrolment", ["patient_id", "id"], unique=False
    )
    op.create_table(
        "rems_pmf_submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("confirmation", sa.String(length=100), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("submitted_by", sa.String(length=320), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('portal', 'fax')", name=op.f("ck_rems_pmf_submission_channel")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_rems_pmf_submission_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_session.id"],
            name=op.f("fk_rems_pmf_submission_session_id_treatment_session"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rems_pmf_submission")),
        sa.UniqueConstraint("session_id", name=op.f("uq_rems_pmf_submission_session_id")),
    )
    op.create_index(
        "ix_rems_pmf_submission_clinic",
        "rems_pmf_submission",
        ["clinic_id", "submitted_at"],
        unique=False,
    )
    op.create_table(
        "rems_session_cover",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("attestation_id", sa.Integer(), nullable=True),
        sa.Column("prescriber_name", sa.String(length=200), nullable=False),
        sa.Column("setting_name", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attestation_id"],
            ["rems_attestation.id"],
            name=op.f("fk_rems_session_cover_attestation_id_rems_attestation"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_rems_session_cover_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_session.id"],
            name=op.f("fk_rems_session_cover_session_id_treatment_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rems_session_cover")),
        sa.UniqueConstraint("session_id", name=op.f("uq_rems_session_cover_session_id")),
    )


def downgrade() -> None:
    """Drop the REMS and consent tables."""
    op.drop_table("rems_session_cover")
    op.drop_index("ix_rems_pmf_submission_clinic", table_name="rems_pmf_submission")
    op.drop_table("rems_pmf_submission")
    op.drop_index("ix_rems_enrolment_patient", table_name="rems_enrolment")
    op.drop_table("rems_enrolment")
    op.drop_index("ix_consent_document_patient", table_name="consent_document")
    op.drop_table("consent_document")
    op.drop_table("rems_setting")
    op.drop_index("ix_rems_attestation_clinic", table_name="rems_attestation")
    op.drop_table("rems_attestation")
    op.drop_table("consent_template")
