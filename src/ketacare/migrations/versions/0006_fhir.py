"""FHIR interoperability: external identifiers of imported records, diagnoses (issue 7)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fhir_external_ref",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("resource", sa.String(length=32), nullable=False),
        sa.Column("local_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_fhir_external_ref_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_fhir_external_ref_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fhir_external_ref")),
        sa.UniqueConstraint("clinic_id", "system", "value", name="uq_fhir_external_ref_key"),
    )
    op.create_index(
        "ix_fhir_external_ref_local", "fhir_external_ref", ["resource", "local_id"], unique=False
    )
    op.create_table(
        "diagnosis",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("snomed_code", sa.String(length=32), nullable=True),
        sa.Column("snomed_display", sa.String(length=200), nullable=True),
        sa.Column("icd10_code", sa.String(length=16), nullable=True),
        sa.Column("icd10_display", sa.String(length=200), nullable=True),
        sa.Column("clinical_status", sa.String(length=16), nullable=False),
        sa.Column("onset", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_diagnosis_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_diagnosis_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnosis")),
    )
    op.create_index("ix_diagnosis_patient", "diagnosis", ["patient_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_diagnosis_patient", table_name="diagnosis")
    op.drop_table("diagnosis")
    op.drop_index("ix_fhir_external_ref_local", table_name="fhir_external_ref")
    op.drop_table("fhir_external_ref")
