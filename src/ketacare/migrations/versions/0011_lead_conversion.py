"""lead conversion to patient, and the lead contact history

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lead") as batch:
        batch.add_column(sa.Column("patient_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("converted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("screening_consent_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.create_foreign_key(
            op.f("fk_lead_patient_id_patient"), "patient", ["patient_id"], ["id"],
            ondelete="SET NULL",
        )  # fmt: skip
        batch.create_index(op.f("ix_lead_patient_id"), ["patient_id"])
    op.create_table(
        "lead_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_email", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_lead_note_lead_id_lead"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_lead_note_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["app_user.id"],
            name=op.f("fk_lead_note_author_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_note")),
    )
    op.create_index("ix_lead_note_lead_created", "lead_note", ["lead_id", "created_at"])
    # The single note each lead had becomes the first entry of its history (author unknown).
    op.execute(
        "INSERT INTO lead_note (lead_id, clinic_id, author_id, author_email, status, body,"
        " created_at) SELECT id, clinic_id, NULL, '', '', note, created_at FROM lead"
        " WHERE note <> ''"
    )


def downgrade() -> None:
    op.drop_index("ix_lead_note_lead_created", table_name="lead_note")
    op.drop_table("lead_note")
    with op.batch_alter_table("lead") as batch:
        batch.drop_index(op.f("ix_lead_patient_id"))
        batch.drop_constraint(op.f("fk_lead_patient_id_patient"), type_="foreignkey")
        batch.drop_column("screening_consent_at")
        batch.drop_column("converted_at")
        batch.drop_column("patient_id")
