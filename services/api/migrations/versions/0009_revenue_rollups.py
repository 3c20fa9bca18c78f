"""revenue roll-ups: each hour's fees of the visits that ended in it, beside its counts, summed from the
fees already kept on visit rows

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.api.pairing import hour_of

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    op.add_column("stats_hourly", sa.Column("charged", sa.BigInteger(), server_default="0", nullable=False))
    conn = op.get_bind()
    visits = sa.table(
        "visits", sa.column("exit_time", sa.DateTime()), sa.column("fee_amount", sa.BigInteger())
    )
    hourly = sa.table("stats_hourly", sa.column("hour", sa.DateTime()), sa.column("charged", sa.BigInteger()))
    # Only completed visits carry a fee, and their exit hours already have a roll-up row (visits_ended).
    per_hour: dict = defaultdict(int)
    for exit_time, amount in conn.execute(
        sa.select(visits.c.exit_time, visits.c.fee_amount).where(visits.c.fee_amount.is_not(None))
    ):
        per_hour[hour_of(exit_time)] += amount
    update = sa.update(hourly).where(hourly.c.hour == sa.bindparam("h")).values(charged=sa.bindparam("c"))
    rows = [{"h": h, "c": c} for h, c in per_hour.items()]
    for i in range(0, len(rows), BATCH):
        conn.execute(update, rows[i : i + BATCH])


def downgrade() -> None:
    with op.batch_alter_table("stats_hourly") as batch:
        batch.drop_column("charged")
