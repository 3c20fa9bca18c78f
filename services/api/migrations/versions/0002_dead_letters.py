"""dead letters: events that can never be stored, kept sealed in chunks

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("camera", sa.String(length=64), nullable=False),
        sa.Column(
            "plate_ct",
            sa.LargeBinary(length=255)
            .with_variant(mysql.VARBINARY(length=255), "mariadb")
            .with_variant(mysql.VARBINARY(length=255), "mysql"),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime()
            .with_variant(mysql.DATETIME(fsp=6), "mariadb")
            .with_variant(mysql.DATETIME(fsp=6), "mysql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
        sa.UniqueConstraint("event_id", name=op.f("uq_dead_letters_event_id")),
    )
    op.create_table(
        "dead_letter_chunks",
        sa.Column("dead_letter_pk", BIG_ID, nullable=False),
        sa.Column("n", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column(
            "data_ct",
            sa.LargeBinary()
            .with_variant(mysql.MEDIUMBLOB(), "mariadb")
            .with_variant(mysql.MEDIUMBLOB(), "mysql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["dead_letter_pk"],
            ["dead_letters.id"],
            name=op.f("fk_dead_letter_chunks_dead_letter_pk_dead_letters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dead_letter_pk", "n", name=op.f("pk_dead_letter_chunks")),
    )


def downgrade() -> None:
    op.drop_table("dead_letter_chunks")
    op.drop_table("dead_letters")
