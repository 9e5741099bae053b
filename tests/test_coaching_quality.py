"""The coaching-quality benchmark on a tiny community whose right answers are known."""

from __future__ import annotations

import csv
import gzip
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.coaching_quality import main, precision, read_posts, recall, score, top_active
from bot.db import Database

START = datetime(2021, 6, 1, tzinfo=UTC)
CUTOFF = datetime(2021, 6, 20, tzinfo=UTC)
COLUMNS = ["id", "kind", "thread_id", "parent_id", "author", "parent_author", "created_utc"]


def _rows() -> list[dict[str, str]]:
    """Helen answers every question, before and after the cutoff; the chatty pair (Carl, Dora)
    post the most but only to each other; Ann and Bea ask, and meet Helen and each other."""
    rows: list[dict[str, str]] = []
    serial = 0

    def post(thread: str, parent: str, author: str, parent_author: str, at: datetime) -> str:
        nonlocal serial
        serial += 1
        key = thread if not parent else f"t1_{serial}"
        depth = 0 if not parent else 1 if parent == thread else 2
        rows.append(
            {
                "id": key,
                "kind": "submission" if not parent else "comment",
                "thread_id": thread,
                "parent_id": parent,
                "author": author,
                "parent_author": parent_author,
                "created_utc": str(int(at.timestamp())),
                "depth": str(depth),
            }
        )
        return key

    def question(key: str, asker: str, at: datetime, helper: str = "helen") -> str:
        thread = post(key, "", asker, "", at)
        answer = post(thread, thread, helper, asker, at + timedelta(hours=1))
        return post(thread, answer, asker, helper, at + timedelta(hours=2))

    chat = post("t3_chat", "", "carl", "", START)
    for day in range(30):  # the most active members, talking only to each other
        at = START + timedelta(days=day, hours=5)
        reply = post(chat, chat, "dora", "carl", at)
        post(chat, reply, "carl", "dora", at + timedelta(minutes=5))
        post(chat, reply, "dora", "carl", at + timedelta(minutes=9))
    for day in range(0, 18, 3):
        question(f"t3_before{day}", "ann" if day % 2 else "bea", START + timedelta(days=day))
    for day in range(20, 30, 2):
        at = START + timedelta(days=day)
        thanks = question(f"t3_after{day}", "ann" if day % 4 else "bea", at)
        if day == 22:  # Ann and Bea meet after the cutoff, deeper in a thread
            post(f"t3_after{day}", thanks, "bea", "ann", at + timedelta(hours=3))
    # A deleted account's thread and its comments are skipped, as bots are.
    post("t3_gone", "", "", "", START + timedelta(days=21))
    post("t3_gone", "t3_gone", "helen", "", START + timedelta(days=21, hours=1))
    return rows


def _write(path: Path) -> Path:
    with gzip.open(path, "wt", newline="") as handle:
        writer = csv.DictWriter(handle, [*COLUMNS, "depth"])
        writer.writeheader()
        writer.writerows(_rows())
    return path


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return _write(tmp_path / "crafted.csv.gz")


async def test_known_answers(database: Database, data: Path) -> None:
    posts = read_posts(data)
    assert not [p for p in posts if p.key == "t3_gone" or getattr(p, "thread", "") == "t3_gone"]
    scores, _ = await score(posts, CUTOFF, database)
    # Helen answered every question before, so /ask names her for every one after.
    assert scores.questions == 5
    assert scores.routing == 1.0
    # The most active are Carl and Dora (never answering) and then Helen or an asker: the
    # baseline names Helen for some questions at most, never all of them.
    assert scores.routing_baseline < 1.0
    # Ann, Bea, Carl, Dora and Helen are active before and after the cutoff. The baseline
    # names Dora and Carl (the most active) and one of the three tied at 6 posts (Bea, the
    # first seen, or Helen when it is Bea's turn): each member meets exactly one of the three.
    assert scores.members == 5
    assert scores.connect_baseline == pytest.approx(1 / 3)
    assert 0.0 <= scores.connect <= 1.0


def test_metrics() -> None:
    activity = Counter({1: 5, 2: 9, 3: 5, 4: 1})
    assert top_active(activity, excluding=2) == [1, 3, 4]
    assert top_active(activity, excluding=4) == [2, 1, 3]
    answerers = {"a": {1}, "b": {2, 3}, "c": {4}}
    assert recall({"a": [1, 9], "b": [9, 3], "c": [9]}, answerers) == pytest.approx(2 / 3)
    met = {1: {2, 3}, 2: {1}}
    assert precision({1: [2, 3, 4], 2: [5]}, met) == pytest.approx(2 / 6)


def test_command_line_prints_the_two_lines(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main([str(data), "--cutoff", CUTOFF.strftime("%Y-%m-%d")])
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].startswith("routing recall@3: 1.000 (baseline ")
    assert lines[-1].startswith("connect precision@3: ")
    assert lines[-1].endswith(")")
