"""visit query indexes: a range's totals (all visits, or one plate's) read from an index alone, and
who is inside found by two index ranges (visits still open, open until after now) instead of a month
of visits

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_visits_start_time_stay", "visits", ["start_time", "duration_s"])
    op.create_index(
        "ix_visits_plate_index_start_time_stay", "visits", ["plate_index", "start_time", "duration_s"]
    )
    op.drop_index("ix_visits_plate_index_start_time", table_name="visits")
    op.create_index("ix_visits_open_until_entry_time", "visits", ["open_until", "entry_time"])


def downgrade() -> None:
    op.create_index("ix_visits_plate_index_start_time", "visits", ["plate_index", "start_time"])
    op.drop_index("ix_visits_plate_index_start_time_stay", table_name="visits")
    op.drop_index("ix_visits_open_until_entry_time", table_name="visits")
    op.drop_index("ix_visits_start_time_stay", table_name="visits")
