"""visit fees: each completed visit's final fee on its visit row, charged for the rows already stored

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from services.api.stored_fees import FEE_COLUMNS, Charger, listed_of, lists_stmt, versions_stmt

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000
FEES = FEE_COLUMNS


def upgrade() -> None:
    op.add_column("visits", sa.Column("fee_amount", sa.BigInteger(), nullable=True))
    op.add_column("visits", sa.Column("fee_currency", sa.String(3), nullable=True))
    op.add_column("visits", sa.Column("fee_tariff_version", sa.Integer(), nullable=True))
    conn = op.get_bind()
    visits = sa.table(
        "visits",
        sa.column("id", sa.BigInteger()),
        sa.column("plate_index", sa.String(64)),
        sa.column("entry_time", sa.DateTime()),
        sa.column("exit_time", sa.DateTime()),
        *(sa.column(c) for c in FEES),
    )
    completed = conn.execute(
        sa.select(visits.c.id, visits.c.plate_index, visits.c.entry_time, visits.c.exit_time).where(
            visits.c.entry_time.is_not(None), visits.c.exit_time.is_not(None)
        )
    ).all()
    # The zone the service charges in (its default when unset).
    tz = ZoneInfo(os.environ.get("ANPR_TIMEZONE", "America/Chicago"))
    listed = listed_of(conn.execute(lists_stmt(r.plate_index for r in completed)).all())
    charger = Charger(conn.execute(versions_stmt()).all(), listed, tz)
    charged = [charger.charge(r._asdict()) for r in completed]
    update = (
        sa.update(visits)
        .where(visits.c.id == sa.bindparam("visit_id"))
        .values({k: sa.bindparam(k) for k in FEES})
    )
    rows = [{"visit_id": c["id"], **{k: c[k] for k in FEES}} for c in charged if c["fee_amount"] is not None]
    for i in range(0, len(rows), BATCH):
        conn.execute(update, rows[i : i + BATCH])


def downgrade() -> None:
    with op.batch_alter_table("visits") as batch:
        for column in reversed(FEES):
            batch.drop_column(column)
