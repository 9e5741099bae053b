"""r/AskAcademia as member actions for the emulator's feed, and the ledger rows they should leave.

Each thread of the data set becomes what a member does on Discord: a question posted in
#askacademia, then a public thread started from it. Each comment is a message in that thread,
a reply (with a message reference) when it answers another comment, and the asker reacts 👍 to
each answer from someone else (as ``bench.ingest_store`` does). Every action keeps its post's
time as ``at``, with silences longer than ``MAX_GAP`` shortened, so a paced feed keeps the
community's rhythm (bursts and lulls) at any average rate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench._askacademia import Thread, community

CHANNEL = "askacademia"
EMOJI = "👍"
MAX_GAP = 600  # seconds of the data set's time
# Gateway events each action makes: a thread from a message is THREAD_CREATE, MESSAGE_UPDATE
# of the question and the thread's starter message; the question itself is one more.
_FRAMES = {"message": 1, "react": 1, "thread": 3}


@dataclass(frozen=True, slots=True)
class Row:
    """The ledger row an action should leave: its kind and the actions naming its ids."""

    kind: str  # "thread", "message" or "reaction"
    action: int  # the action that made the thread or message (reacted to, for a reaction)
    user: str = ""  # the reactor's key, for a reaction


@dataclass
class Stream:
    actions: list[dict[str, Any]] = field(default_factory=list)
    rows: list[Row | None] = field(default_factory=list)  # per action
    authors: dict[str, None] = field(default_factory=dict)  # user keys, in order of appearance
    counts: dict[str, int] = field(
        default_factory=lambda: {"threads": 0, "messages": 0, "replies": 0, "reactions": 0}
    )
    estimated_events: int = 0

    def add(self, action: dict[str, Any], row: Row | None) -> int:
        self.actions.append(action)
        self.rows.append(row)
        self.estimated_events += _FRAMES[action["do"]]
        return len(self.actions) - 1


def askacademia_stream(events: int | None) -> Stream:
    """The data set's actions, oldest first, until about ``events`` gateway events (or all)."""
    stream = Stream()
    threads: dict[str, tuple[int, str]] = {}  # thread key -> (thread action, owner)
    messages: dict[str, int] = {}  # comment key -> message action
    channel = CHANNEL  # a key until ``resolve``; "$N" refers to what action N made
    clock, last = 0, None
    for post in community():
        if events is not None and stream.estimated_events >= events:
            break
        clock += 0 if last is None else min(post.at - last, MAX_GAP)
        last = post.at
        stream.authors[post.author] = None
        if isinstance(post, Thread):
            question = stream.add(
                {"do": "message", "channel": channel, "author": post.author, "at": clock}, None
            )
            action: dict[str, Any] = {"do": "thread", "channel": channel, "author": post.author}
            action["at"] = clock
            action |= {"name": f"question {post.key}", "message": f"${question}"}
            index = stream.add(action, None)
            stream.rows[index] = Row("thread", index)
            threads[post.key] = (index, post.author)
            stream.counts["threads"] += 1
            continue
        thread, owner = threads[post.thread]
        action = {"do": "message", "channel": f"${thread}", "author": post.author}
        action["at"] = clock
        parent = messages.get(post.parent)
        if not post.top_level and parent is not None:
            action["reply_to"] = f"${parent}"
            stream.counts["replies"] += 1
        index = messages[post.key] = stream.add(action, None)
        stream.rows[index] = Row("message", index)
        stream.counts["messages"] += 1
        if post.top_level and post.author != owner:
            reaction: dict[str, Any] = {"do": "react", "channel": f"${thread}", "at": clock}
            reaction |= {"message": f"${index}", "user": owner, "emoji": EMOJI}
            stream.add(reaction, Row("reaction", index, owner))
            stream.counts["reactions"] += 1
    return stream


def resolve(stream: Stream, users: Mapping[str, str], channel_id: str) -> list[dict[str, Any]]:
    """The actions with world ids in place of user and channel keys (``$N`` is for the feed)."""
    resolved = []
    for action in stream.actions:
        concrete = dict(action)
        for key in ("author", "user"):
            if key in concrete:
                concrete[key] = users[concrete[key]]
        if concrete["channel"] == CHANNEL:
            concrete["channel"] = channel_id
        resolved.append(concrete)
    return resolved


def row_keys(
    stream: Stream, ids: Sequence[str | None], users: Mapping[str, str]
) -> list[str | None]:
    """Per action, the dedupe key of the ledger row PLN Coach should store for it."""
    keys: list[str | None] = []
    for row in stream.rows:
        if row is None:
            keys.append(None)
        elif row.kind == "reaction":
            keys.append(f"reaction:{ids[row.action]}:{users[row.user]}:{EMOJI}")
        else:
            keys.append(f"{row.kind}:{ids[row.action]}")
    return keys
