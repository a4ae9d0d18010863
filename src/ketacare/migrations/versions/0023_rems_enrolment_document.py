"""REMS enrolment as a signed document (the template's document kind, the enrolment's document);
coverage plan, subscriber and dates

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Consent templates get a document kind (``consent`` or ``rems-enrolment``); an enrolment
    record names the countersigned Patient Enrollment Form it was made from (issue 19.2)."""
    with op.batch_alter_table("consent_template", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "document_kind", sa.String(length=32), server_default="consent", nullable=False
            )
        )
    with op.batch_alter_table("rems_enrolment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_rems_enrolment_document_id_consent_document",
            "consent_document",
            ["document_id"],
            ["id"],
            ondelete="RESTRICT",
        )
    # Issue 20: the coverage page records the plan, the subscriber and the effective dates.
    with op.batch_alter_table("billing_coverage", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("plan_name", sa.String(length=80), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "subscriber_relationship",
                sa.String(length=16),
                server_default="self",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("subscriber_name", sa.String(length=120), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("subscriber_birth_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("start_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("end_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop the columns."""
    with op.batch_alter_table("billing_coverage", schema=None) as batch_op:
        for column in (
            "updated_at",
            "end_date",
            "start_date",
            "subscriber_birth_date",
            "subscriber_name",
            "subscriber_relationship",
            "plan_name",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("rems_enrolment", schema=None) as batch_op:
        batch_op.drop_constraint(
            "fk_rems_enrolment_document_id_consent_document", type_="foreignkey"
        )
        batch_op.drop_column("document_id")
    with op.batch_alter_table("consent_template", schema=None) as batch_op:
        batch_op.drop_column("document_kind")
