"""audit redaction: an entry's chain covers the digests of its sealed fields (chain 2), so retention
can drop an old entry's sealed `before` / `after` (they may hold a plate) and keep the chain whole

Entries written before this revision keep chain 1 (their hash covers the ciphertext itself) and are
never redacted.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
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
    with op.batch_alter_table("audit_log") as t:
        t.add_column(sa.Column("chain", sa.SmallInteger(), server_default="1", nullable=False))
        t.add_column(sa.Column("before_digest", sa.String(length=64), nullable=True))
        t.add_column(sa.Column("after_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as t:
        t.drop_column("after_digest")
        t.drop_column("before_digest")
        t.drop_column("chain")
