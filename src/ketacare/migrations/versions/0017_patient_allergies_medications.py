"""patient allergies and current medicines (issue 21.1)

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _common(table: str) -> list[Any]:
    return [
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f(f"fk_{table}_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f(f"fk_{table}_patient_id_patient"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["app_user.id"],
            name=op.f(f"fk_{table}_recorded_by_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["removed_by_id"],
            ["app_user.id"],
            name=op.f(f"fk_{table}_removed_by_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    """Create the allergy and medication tables."""
    op.create_table(
        "patient_allergy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("substance", sa.String(length=120), nullable=False),
        sa.Column("reaction", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        *_common("patient_allergy"),
    )
    op.create_index("ix_patient_allergy_patient", "patient_allergy", ["patient_id", "removed_at"])
    op.create_table(
        "patient_medication",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("dose", sa.String(length=120), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=True),
        *_common("patient_medication"),
    )
    op.create_index(
        "ix_patient_medication_patient", "patient_medication", ["patient_id", "removed_at"]
    )


def downgrade() -> None:
    """Drop the allergy and medication tables."""
    op.drop_index("ix_patient_medication_patient", table_name="patient_medication")
    op.drop_table("patient_medication")
    op.drop_index("ix_patient_allergy_patient", table_name="patient_allergy")
    op.drop_table("patient_allergy")
