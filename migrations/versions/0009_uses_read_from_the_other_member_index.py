"""activity events: the index on whom an event reached covers its kind, member and resource

How many of a member's resources others used (every /share receipt and /progress) was read
by joining the member's resources to their uses: one index search per resource and use kind,
100 µs of a 320 µs progress read for a member with 150 shares. Every use names the resource's
sharer as other_member_id, so with these columns in the index that already starts with
(server_id, other_member_id) the same count is one range of it, read from the index alone.
Appending columns keeps the index's order, so what it served before it still serves.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 13:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "ix_activity_events_other_time"
_BEFORE = ["server_id", "other_member_id", "occurred_at"]
_AFTER = [*_BEFORE, "kind", "member_id", "resource_id"]


def upgrade() -> None:
    op.drop_index(_NAME, table_name="activity_events")
    op.create_index(_NAME, "activity_events", _AFTER, unique=False)


def downgrade() -> None:
    op.drop_index(_NAME, table_name="activity_events")
    op.create_index(_NAME, "activity_events", _BEFORE, unique=False)
