"""controlled-substance records: registrations, receipts, containers, append-only ledger,
draws, counts, discrepancy cases, inventories (issue 18)

Revision ID: 0014
Revises: 0013

Triggers (PostgreSQL and SQLite) make ``cs_event`` append-only (no UPDATE, no DELETE), refuse an
event on a closed container or one that does not follow the container's sequence and balance,
refuse closing a container with unsettled draws, and move the container's running balance,
sequence and status with each event in the same transaction (the CHECK ``balance_ug >= 0``
then holds in the database whatever writes the rows).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ketacare.db.base import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLOSING = "('transfer', 'dispose', 'close')"

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER cs_event_before_insert BEFORE INSERT ON cs_event
BEGIN
  SELECT RAISE(ABORT, 'cs_event: the container is closed')
   WHERE (SELECT status FROM cs_container WHERE id = NEW.container_id) = 'closed';
  SELECT RAISE(ABORT, 'cs_event: the event does not follow the container''s sequence and balance')
   WHERE NOT EXISTS (SELECT 1 FROM cs_container c WHERE c.id = NEW.container_id
                     AND c.seq + 1 = NEW.seq AND c.balance_ug + NEW.delta_ug = NEW.balance_ug);
  SELECT RAISE(ABORT, 'cs_event: settle every draw before closing the container')
   WHERE NEW.kind IN {CLOSING} AND EXISTS
     (SELECT 1 FROM cs_draw d WHERE d.container_id = NEW.container_id AND d.settled = 0);
END""",
    f"""CREATE TRIGGER cs_event_after_insert AFTER INSERT ON cs_event
BEGIN
  UPDATE cs_container SET balance_ug = NEW.balance_ug, seq = NEW.seq,
    status = CASE WHEN NEW.kind IN {CLOSING} THEN 'closed'
                  WHEN NEW.kind = 'expire' THEN 'quarantined' ELSE status END
   WHERE id = NEW.container_id;
END""",
    """CREATE TRIGGER cs_event_no_update BEFORE UPDATE ON cs_event
BEGIN SELECT RAISE(ABORT, 'cs_event is append-only: record a correction'); END""",
    """CREATE TRIGGER cs_event_no_delete BEFORE DELETE ON cs_event
BEGIN SELECT RAISE(ABORT, 'cs_event is append-only: record a correction'); END""",
    """CREATE TRIGGER cs_container_balance BEFORE UPDATE OF balance_ug, seq, status ON cs_container
BEGIN
  SELECT RAISE(ABORT, 'cs_container: the balance moves only with a ledger event')
   WHERE NOT EXISTS (SELECT 1 FROM cs_event e WHERE e.container_id = NEW.id
                     AND e.seq = NEW.seq AND e.balance_ug = NEW.balance_ug);
END""",
    """CREATE TRIGGER cs_container_no_delete BEFORE DELETE ON cs_container
BEGIN SELECT RAISE(ABORT, 'controlled-substance records are never deleted'); END""",
]

PG_FUNCTIONS = [
    f"""CREATE FUNCTION cs_event_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE c cs_container%ROWTYPE;
BEGIN
  SELECT * INTO c FROM cs_container WHERE id = NEW.container_id;
  IF c.status = 'closed' THEN
    RAISE EXCEPTION 'cs_event: the container is closed' USING ERRCODE = 'check_violation';
  END IF;
  IF c.seq + 1 <> NEW.seq OR c.balance_ug + NEW.delta_ug <> NEW.balance_ug THEN
    RAISE EXCEPTION 'cs_event: the event does not follow the container''s sequence and balance'
      USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.kind IN {CLOSING} AND EXISTS
     (SELECT 1 FROM cs_draw d WHERE d.container_id = NEW.container_id AND NOT d.settled) THEN
    RAISE EXCEPTION 'cs_event: settle every draw before closing the container'
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$""",
    f"""CREATE FUNCTION cs_event_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE cs_container SET balance_ug = NEW.balance_ug, seq = NEW.seq,
    status = CASE WHEN NEW.kind IN {CLOSING} THEN 'closed'
                  WHEN NEW.kind = 'expire' THEN 'quarantined' ELSE status END
   WHERE id = NEW.container_id;
  RETURN NULL;
END $$""",
    """CREATE FUNCTION cs_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%: controlled-substance records are append-only (record a correction)',
    TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$""",
    """CREATE FUNCTION cs_container_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM cs_event e WHERE e.container_id = NEW.id
                 AND e.seq = NEW.seq AND e.balance_ug = NEW.balance_ug) THEN
    RAISE EXCEPTION 'cs_container: the balance moves only with a ledger event'
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$""",
]
PG_TRIGGERS = [
    "CREATE TRIGGER cs_event_before_insert BEFORE INSERT ON cs_event "
    "FOR EACH ROW EXECUTE FUNCTION cs_event_before_insert()",
    "CREATE TRIGGER cs_event_after_insert AFTER INSERT ON cs_event "
    "FOR EACH ROW EXECUTE FUNCTION cs_event_after_insert()",
    "CREATE TRIGGER cs_event_no_change BEFORE UPDATE OR DELETE ON cs_event "
    "FOR EACH ROW EXECUTE FUNCTION cs_refuse_change()",
    "CREATE TRIGGER cs_event_no_truncate BEFORE TRUNCATE ON cs_event "
    "FOR EACH STATEMENT EXECUTE FUNCTION cs_refuse_change()",
    "CREATE TRIGGER cs_container_balance BEFORE UPDATE OF balance_ug, seq, status ON cs_container "
    "FOR EACH ROW EXECUTE FUNCTION cs_container_balance()",
    "CREATE TRIGGER cs_container_no_delete BEFORE DELETE ON cs_container "
    "FOR EACH ROW EXECUTE FUNCTION cs_refuse_change()",
]


def upgrade() -> None:
    """Create the controlled-substance tables and their guard triggers."""
    op.create_table(
        "cs_registration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("site_name", sa.String(length=200), nullable=False),
        sa.Column("dea_number", sa.String(length=9), nullable=False),
        sa.Column("schedules", sa.String(length=64), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("registrant", sa.String(length=200), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by_email", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_cs_registration_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cs_registration")),
        sa.UniqueConstraint("clinic_id", "dea_number", name=op.f("uq_cs_registration_clinic_id")),
    )
    op.create_table(
        "cs_inventory",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("timing", sa.String(length=16), nullable=False),
        sa.Column("taken_at", UTCDateTime(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.Column("signed_by_email", sa.String(length=320), nullable=False),
        sa.CheckConstraint(
            "kind IN ('initial', 'biennial', 'annual')", name=op.f("ck_cs_inventory_kind")
        ),
        sa.CheckConstraint("timing IN ('opening', 'close')", name=op.f("ck_cs_inventory_timing")),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_cs_inventory_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["cs_registration.id"],
            name=op.f("fk_cs_inventory_registration_id_cs_registration"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_id"],
            ["app_user.id"],
            name=op.f("fk_cs_inventory_signed_by_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cs_inventory")),
    )
    op.create_index(
        "ix_cs_inventory_registration",
        "cs_inventory",
        ["registration_id", "taken_at"],
        unique=False,
    )
    op.create_table(
        "cs_receipt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("invoice_number", sa.String(length=64), nullable=False),
        sa.Column("supplier_name", sa.String(length=200), nullable=False),
        sa.Column("supplier_address", sa.Text(), nullable=False),
        sa.Column("supplier_dea", sa.String(length=9), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("ndc", sa.String(length=13), nullable=False),
        sa.Column("drug", sa.String(length=16), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("form", sa.String(length=16), nullable=False),
        sa.Column("concentration_mg_ml", sa.Double(), nullable=True),
        sa.Column("container_ug", sa.BigInteger(), nullable=False),
        sa.Column("container_ml", sa.Double(), nullable=True),
        sa.Column("lot", sa.String(length=64), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=False),
        sa.Column("containers", sa.Integer(), nullable=False),
        sa.Column("receiver_id", sa.Integer(), nullable=True),
        sa.Column("receiver_email", sa.String(length=320), nullable=False),
        sa.Column("witness_id", sa.Integer(), nullable=True),
        sa.Column("witness_email", sa.String(length=320), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("container_ug > 0", name=op.f("ck_cs_receipt_container_ug")),
        sa.CheckConstraint(
            "containers >= 1 AND containers <= 1000", name=op.f("ck_cs_receipt_containers")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_cs_receipt_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["receiver_id"],
            ["app_user.id"],
            name=op.f("fk_cs_receipt_receiver_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["cs_registration.id"],
            name=op.f("fk_cs_receipt_registration_id_cs_registration"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["witness_id"],
            ["app_user.id"],
            name=op.f("fk_cs_receipt_witness_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cs_receipt")),
    )
    op.create_index(
        "ix_cs_receipt_registration", "cs_receipt", ["registration_id", "received_at"], unique=False
    )
    op.create_table(
        "cs_container",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("receipt_id", sa.Integer(), nullable=True),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("drug", sa.String(length=16), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("form", sa.String(length=16), nullable=False),
        sa.Column("concentration_mg_ml", sa.Double(), nullable=True),
        sa.Column("lot", sa.String(length=64), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=False),
        sa.Column("full_ug", sa.BigInteger(), nullable=False),
        sa.Column("balance_ug", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'quarantined', 'closed')", name=op.f("ck_cs_container_status")
        ),
        sa.CheckConstraint("balance_ug <= full_ug", name=op.f("ck_cs_container_balance_max")),
        sa.CheckConstraint("balance_ug >= 0", name=op.f("ck_cs_container_balance_nonnegative")),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_cs_container_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["cs_receipt.id"],
            name=op.f("fk_cs_container_receipt_id_cs_receipt"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["cs_registration.id"],
            name=op.f("fk_cs_container_registration_id_cs_registration"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cs_container")),
        sa.UniqueConstraint("label", name=op.f("uq_cs_container_label")),
    )
    op.create_index("ix_cs_container_open", "cs_container", ["clinic_id", "status"], unique=False)
    op.create_index(
        "ix_cs_container_registration", "cs_container", ["registration_id", "status"], unique=False
    )
    op.create_table(
        "cs_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("container_id", sa.Integer(), nullable=True),
        sa.Column("discovered_at", UTCDateTime(), nullable=False),
        sa.Column("difference_ug", sa.BigInteger(), nullable=False),
        sa.Column("significant", sa.Boolean(), nullable=False),
        sa.Column("notice_due", sa.Date(), nullable=True),
        sa.Column("form106_due", sa.Date(), nullable=True),
        sa.Column("notice_sent_at", UTCDateTime(), nullable=True),
        sa.Column("form106_filed_at", UTCDateTime(), nullable=True),
        sa.Column("investigation", sa.Text(), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("opened_by_email", sa.String(length=320), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by_email", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_cs_case_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["container_id"],
            ["cs_container.id"],
            name=op.f("fk_cs_case_container_id_cs_container"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["cs_registration.id"],
            name=op.f("fk_cs_case_registration_id_cs_registration"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cs_case")),
    )
    op.create_index("ix_cs_case_open", "cs_case", ["clinic_id", "closed_at"], unique=False)
    op.create_table(
        "cs_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("container_id", sa.Integer(), nullable=False),
        sa.Column("expected_ug", sa.BigInteger(), nullable=False),
        sa.Column("counted_ug", sa.BigInteger(), nullable=False),
        sa.Column("counted_at", UTCDateTime(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("by_email", sa.String(length=320), nullable=False),
        sa.Column("witness_email", sa.String(length=320), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["by_id"], ["app_user.id"], name=op.f("fk_cs_count_by_id_app_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cs_case.id"],
            name=op.f("fk_cs_count_case_id_cs_case"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_cs_count_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["container_id"],
            ["cs_container.id"],
            name=op.f("fk_cs_count_container_id_cs_container"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["cs_registration.id"],
            name=op.f("fk_cs_count_registration_id_cs_registration"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cs_count")),
    )
    op.create_index(
        "ix_cs_count_registration", "cs_count", ["registration_id", "counted_at"], unique=False
    )
    op.create_table(
        "cs_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("container_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("qty_ug", sa.BigInteger(), nullable=False),
        sa.Column("delta_ug", sa.BigInteger(), nullable=False),
        sa.Column("balance_ug", sa.BigInteger(), nullable=False),
        sa.Column("draw_id", sa.Integer(), nullable=True),
        sa.Column("corrects_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("target_registration_id", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("by_email", sa.String(length=320), nullable=False),
        sa.Column("witness_id", sa.Integer(), nullable=True),
        sa.Column("witness_email", sa.String(length=320), nullable=False),
        sa.Column("witnessed_at", UTCDateTime(), nullable=True),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind <> 'breakage' OR witness_id IS NOT NULL",
            name=op.f("ck_cs_event_breakage_witness"),
        ),
        sa.CheckConstraint(
            "kind <> 'correction' OR corrects_id IS NOT NULL", name=op.f("ck_cs_event_corrects")
        ),
        sa.CheckConstraint(
            "kind IN ('receive', 'draw', 'administer', 'waste', 'return', 'breakage', 'expire', "
            "'transfer', 'dispose', 'close', 'correction')",
            name=op.f("ck_cs_event_kind"),
        ),
        sa.CheckConstraint(
            "kind NOT IN ('administer', 'waste', 'return') OR draw_id IS NOT NULL",
            name=op.f("ck_cs_event_draw_linked"),
        ),
        sa.CheckConstraint("balance_ug >= 0", name=op.f("ck_cs_event_balance_nonnegative")),
        sa.CheckConstraint("qty_ug >= 0", name=op.f("ck_cs_event_qty_nonnegative")),
        sa.ForeignKeyConstraint(
            ["by_id"], ["app_user.id"], name=op.f("fk_cs_event_by_id_app_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_cs_event_clinic_id_clinic"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["container_id"],
            ["cs_container.id"],
            name=op.f("fk_cs_event_container_id_cs_container"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["corrects_id"],
            ["cs_event.id"],
            name=op.f("fk_cs_event_corrects_id_cs_event"),
        ),
        sa.ForeignKeyConstraint(
            ["draw_id"],
            ["cs_event.id"],
            name=op.f("fk_cs_event_draw_id_cs_event"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_cs_event_patient_id_patient"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["cs_registration.id"],
            name=op.f("fk_cs_event_registration_id_cs_registration"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_session.id"],
            name=op.f("fk_cs_event_session_id_treatment_session"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["target_registration_id"],
            ["cs_registration.id"],
            name=op.f("fk_cs_event_target_registration_id_cs_registration"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["witness_id"],
            ["app_user.id"],
            name=op.f("fk_cs_event_witness_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cs_event")),
        sa.UniqueConstraint("container_id", "seq", name=op.f("uq_cs_event_container_id")),
        sa.UniqueConstraint("corrects_id", name=op.f("uq_cs_event_corrects_id")),
    )
    op.create_index("ix_cs_event_clinic_at", "cs_event", ["clinic_id", "occurred_at"], unique=False)
    op.create_index("ix_cs_event_draw", "cs_event", ["draw_id"], unique=False)
    op.create_index("ix_cs_event_session", "cs_event", ["session_id"], unique=False)
    op.create_table(
        "cs_draw",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("container_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("drawn_ug", sa.BigInteger(), nullable=False),
        sa.Column("administered_ug", sa.BigInteger(), nullable=False),
        sa.Column("wasted_ug", sa.BigInteger(), nullable=False),
        sa.Column("returned_ug", sa.BigInteger(), nullable=False),
        sa.Column("settled", sa.Boolean(), nullable=False),
        sa.Column("void", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "administered_ug + wasted_ug + returned_ug <= drawn_ug",
            name=op.f("ck_cs_draw_not_over_accounted"),
        ),
        sa.CheckConstraint(
            "administered_ug >= 0 AND wasted_ug >= 0 AND returned_ug >= 0",
            name=op.f("ck_cs_draw_nonnegative"),
        ),
        sa.CheckConstraint(
            "settled = (administered_ug + wasted_ug + returned_ug = drawn_ug)",
            name=op.f("ck_cs_draw_settled"),
        ),
        sa.ForeignKeyConstraint(
            ["container_id"],
            ["cs_container.id"],
            name=op.f("fk_cs_draw_container_id_cs_container"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["id"], ["cs_event.id"], name=op.f("fk_cs_draw_id_cs_event"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_session.id"],
            name=op.f("fk_cs_draw_session_id_treatment_session"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cs_draw")),
    )
    op.create_index(
        "ix_cs_draw_container_open", "cs_draw", ["container_id", "settled"], unique=False
    )
    op.create_index("ix_cs_draw_session", "cs_draw", ["session_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for sql in PG_FUNCTIONS + PG_TRIGGERS:
            op.execute(sql)
    else:
        for sql in SQLITE_TRIGGERS:
            op.execute(sql)


def downgrade() -> None:
    """Drop the controlled-substance tables (their triggers go with them) and functions."""
    op.drop_index("ix_cs_draw_session", table_name="cs_draw")
    op.drop_index("ix_cs_draw_container_open", table_name="cs_draw")
    op.drop_table("cs_draw")
    op.drop_index("ix_cs_event_session", table_name="cs_event")
    op.drop_index("ix_cs_event_draw", table_name="cs_event")
    op.drop_index("ix_cs_event_clinic_at", table_name="cs_event")
    op.drop_table("cs_event")
    op.drop_index("ix_cs_count_registration", table_name="cs_count")
    op.drop_table("cs_count")
    op.drop_index("ix_cs_case_open", table_name="cs_case")
    op.drop_table("cs_case")
    op.drop_index("ix_cs_container_registration", table_name="cs_container")
    op.drop_index("ix_cs_container_open", table_name="cs_container")
    op.drop_table("cs_container")
    op.drop_index("ix_cs_receipt_registration", table_name="cs_receipt")
    op.drop_table("cs_receipt")
    op.drop_index("ix_cs_inventory_registration", table_name="cs_inventory")
    op.drop_table("cs_inventory")
    op.drop_table("cs_registration")

    if op.get_bind().dialect.name == "postgresql":
        for name in (
            "cs_event_before_insert",
            "cs_event_after_insert",
            "cs_refuse_change",
            "cs_container_balance",
        ):
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
