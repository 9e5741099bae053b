"""How every row about a server or a member is forgotten, in one place.

Each table that refers to a server or a member is listed with the columns that do, and how its
rows go when that server or member is forgotten. A test fails when a table is missing here, or
when a "cascade" claimed here is not what the schema's foreign keys do, so a new feature cannot
quietly keep data that a member asked to be deleted.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class How(enum.Enum):
    # A foreign key with ON DELETE CASCADE removes the row with the server or member row.
    CASCADE = "cascade"
    # No foreign key (a plain id, e.g. the other side of an interaction): deleted by the
    # forgetting code itself.
    DELETE = "delete"
    # The row is not about a person: kept, it refers to no member.
    NOT_PERSONAL = "not personal"


@dataclass(frozen=True)
class Forgetting:
    server: dict[str, How]
    member: dict[str, How]
    # Also gone on their own after a while, whatever happens.
    expires: str | None = None


FORGETTING: dict[str, Forgetting] = {
    # A server's row goes at once with `pln-coach purge-server`, or a retention period after the
    # bot was removed from it (``removed_at``; config ``privacy.retention_days``).
    "servers": Forgetting(server={"id": How.DELETE}, member={}),
    "members": Forgetting(
        server={"server_id": How.CASCADE}, member={"server_id, user_id": How.DELETE}
    ),
    "resources": Forgetting(
        server={"server_id": How.CASCADE}, member={"server_id, shared_by": How.CASCADE}
    ),
    # server_id is a copy kept for the tag index; the row goes with its resource.
    "resource_tags": Forgetting(
        server={"resource_id": How.CASCADE, "server_id": How.DELETE},
        member={"resource_id": How.CASCADE},
    ),
    "activity_events": Forgetting(
        server={"server_id": How.CASCADE},
        member={"server_id, member_id": How.CASCADE, "other_member_id": How.DELETE},
    ),
    # A post refers to its subject (a resource card to its resource) by a plain id: posts of a
    # forgotten member's subjects are deleted with them.
    "outbox_posts": Forgetting(
        server={"server_id": How.CASCADE}, member={"subject_id": How.DELETE}
    ),
    "pending_answers": Forgetting(
        server={"server_id": How.CASCADE},
        member={"server_id, member_id": How.CASCADE},
        expires="15 minutes after the interaction (the token's lifetime)",
    ),
    "ties": Forgetting(
        server={"server_id": How.CASCADE},
        member={"member_a": How.DELETE, "member_b": How.DELETE},
    ),
    "conversation_weeks": Forgetting(
        server={"server_id": How.CASCADE},
        member={"member_a": How.DELETE, "member_b": How.DELETE},
    ),
    "introductions": Forgetting(
        server={"server_id": How.CASCADE}, member={"server_id, user_id": How.CASCADE}
    ),
    "member_interests": Forgetting(
        server={"server_id": How.CASCADE}, member={"server_id, user_id": How.CASCADE}
    ),
    "asks": Forgetting(
        server={"server_id": How.CASCADE}, member={"server_id, asker_id": How.CASCADE}
    ),
    # server_id is a copy kept for the tag index; the row goes with its ask.
    "ask_tags": Forgetting(
        server={"ask_id": How.CASCADE, "server_id": How.DELETE}, member={"ask_id": How.CASCADE}
    ),
    # A member named on someone else's ask: that row is deleted when they are forgotten.
    "ask_helpers": Forgetting(
        server={"ask_id": How.CASCADE, "server_id": How.DELETE},
        member={"ask_id": How.CASCADE, "member_id": How.DELETE},
    ),
    # An answer by a forgotten member is deleted; answers to their asks go with the ask.
    "ask_answers": Forgetting(
        server={"ask_id": How.CASCADE, "server_id": How.DELETE},
        member={"ask_id": How.CASCADE, "answerer_id": How.DELETE},
    ),
    "bot_state": Forgetting(server={}, member={}),
    "weekly_schedules": Forgetting(server={"server_id": How.CASCADE}, member={}),
    "custom_challenges": Forgetting(server={"server_id": How.CASCADE}, member={}),
    "hidden_challenges": Forgetting(server={"server_id": How.CASCADE}, member={}),
    "challenge_weeks": Forgetting(server={"server_id": How.CASCADE}, member={}),
    "challenge_completions": Forgetting(
        server={"challenge_week_id": How.CASCADE, "server_id": How.DELETE},
        member={"server_id, member_id": How.CASCADE},
    ),
    # Recaps store no figures: shout-outs are read from the ledger when a recap is drawn.
    "recaps": Forgetting(server={"server_id": How.CASCADE}, member={}),
    "member_preferences": Forgetting(
        server={"server_id, user_id": How.CASCADE}, member={"server_id, user_id": How.CASCADE}
    ),
    "blocked_channels": Forgetting(server={"server_id": How.CASCADE}, member={}),
    "nudges_sent": Forgetting(
        server={"server_id, user_id": How.CASCADE},
        member={"server_id, user_id": How.CASCADE},
        expires="after 30 days (only today's row is needed to keep to one DM a day)",
    ),
}
