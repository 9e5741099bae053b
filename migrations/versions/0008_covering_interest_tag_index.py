"""member interests: the tag index covers kind and member too

Routing an ask reads who offered help with, or works with, its tags. Through an index on
(server_id, tag) alone SQLite's planner preferred the primary key's covering index and read
every interest in the server (10 ms per /ask at 20,000 members); the covering index is read
for the tags only (0.2 ms).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 23:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("member_interests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_member_interests_server_id_tag_kind_user_id",
            ["server_id", "tag", "kind", "user_id"],
            unique=False,
        )
        batch_op.drop_index("ix_member_interests_server_id_tag")


def downgrade() -> None:
    with op.batch_alter_table("member_interests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_member_interests_server_id_tag", ["server_id", "tag"], unique=False
        )
        batch_op.drop_index("ix_member_interests_server_id_tag_kind_user_id")
