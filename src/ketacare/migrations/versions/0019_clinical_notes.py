"""clinical notes: clinic note templates, notes (draft, signed, addenda) with guard triggers

Revision ID: 0019
Revises: 0018

Triggers on SQLite and PostgreSQL refuse any UPDATE or DELETE of a signed note (issue 21.7):
the service never tries, so a refusal means someone went around it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ketacare.db.base import UTCDateTime

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "clinical_note: a signed note is never changed (write an addendum)"
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER note_signed_no_update BEFORE UPDATE ON clinical_note
WHEN OLD.status = 'signed'
BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER note_signed_no_delete BEFORE DELETE ON clinical_note
WHEN OLD.status = 'signed'
BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
]
PG_FUNCTION = f"""CREATE FUNCTION note_signed_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status = 'signed' THEN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$"""
PG_TRIGGERS = [
    "CREATE TRIGGER note_signed_no_change BEFORE UPDATE OR DELETE ON clinical_note "
    "FOR EACH ROW EXECUTE FUNCTION note_signed_refuse()",
]


def upgrade() -> None:
    """Create the note tables and the guard triggers."""
    op.create_table(
        "note_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_note_template_version")),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_note_template_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_note_template")),
        sa.UniqueConstraint("clinic_id", "key", "version", name="uq_note_template_version"),
    )
    op.create_table(
        "clinical_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("addendum_of_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("template_key", sa.String(length=64), nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("author_email", sa.String(length=320), nullable=False),
        sa.Column("author_role", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("signed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "kind IN ('psychiatric_evaluation', 'progress', 'nursing')",
            name=op.f("ck_clinical_note_kind"),
        ),
        sa.CheckConstraint(
            "status = 'draft' OR (signed_at IS NOT NULL AND length(content_hash) = 64)",
            name=op.f("ck_clinical_note_signed"),
        ),
        sa.CheckConstraint("status IN ('draft', 'signed')", name=op.f("ck_clinical_note_status")),
        sa.ForeignKeyConstraint(
            ["addendum_of_id"],
            ["clinical_note.id"],
            name=op.f("fk_clinical_note_addendum_of_id_clinical_note"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["app_user.id"],
            name=op.f("fk_clinical_note_author_id_app_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_clinical_note_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_clinical_note_patient_id_patient"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_session.id"],
            name=op.f("fk_clinical_note_session_id_treatment_session"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinical_note")),
    )
    op.create_index(
        "ix_clinical_note_addendum_of", "clinical_note", ["addendum_of_id"], unique=False
    )
    op.create_index(
        "ix_clinical_note_patient",
        "clinical_note",
        ["patient_id", "status", "signed_at"],
        unique=False,
    )
    op.create_index("ix_clinical_note_session", "clinical_note", ["session_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for sql in PG_TRIGGERS:
            op.execute(sql)
    else:
        for sql in SQLITE_TRIGGERS:
            op.execute(sql)


def downgrade() -> None:
    """Drop the note tables (their triggers go with them) and the trigger function."""
    op.drop_index("ix_clinical_note_session", table_name="clinical_note")
    op.drop_index("ix_clinical_note_patient", table_name="clinical_note")
    op.drop_index("ix_clinical_note_addendum_of", table_name="clinical_note")
    op.drop_table("clinical_note")
    op.drop_table("note_template")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS note_signed_refuse()")
