"""The built-in challenge bank: enough of each habit, keys that stay valid, words that fit."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from bot.challenges.bank import (
    BANK,
    MAX_KEY_LENGTH,
    MAX_TEXT_LENGTH,
    MAX_TITLE_LENGTH,
    Difficulty,
    built_in,
)
from bot.challenges.rules import CompletionRule, RuleKind
from bot.habits import HABIT_ORDER, Habit

RULES_TESTS = Path(__file__).parent / "services" / "test_challenge_rules.py"
KEY = re.compile(r"[a-z0-9]+(?:[.-][a-z0-9]+)*")


@pytest.mark.parametrize("habit", HABIT_ORDER)
def test_every_habit_has_enough_challenges_of_every_difficulty(habit: Habit) -> None:
    mine = [challenge for challenge in BANK if challenge.habit is habit]
    assert len(mine) >= 8
    assert {challenge.difficulty for challenge in mine} == set(Difficulty)
    # Most of them the bot can tick off by itself.
    assert sum(challenge.rule is not None for challenge in mine) >= 6


def test_keys_are_unique_stable_looking_and_name_their_habit() -> None:
    counts = Counter(challenge.key for challenge in BANK)
    assert [key for key, seen in counts.items() if seen > 1] == []
    for challenge in BANK:
        assert KEY.fullmatch(challenge.key), challenge.key
        assert len(challenge.key) <= MAX_KEY_LENGTH
        assert challenge.key.startswith(f"{challenge.habit.value}."), challenge.key


def test_titles_and_texts_fit_and_are_not_repeated() -> None:
    for challenge in BANK:
        assert 0 < len(challenge.title) <= MAX_TITLE_LENGTH, challenge.key
        assert 0 < len(challenge.text) <= MAX_TEXT_LENGTH, challenge.key
        assert challenge.title == challenge.title.strip()
        assert challenge.text == challenge.text.strip()
        assert "  " not in challenge.text, challenge.key
        # Nothing the bot posts may ping a crowd.
        assert "@" not in challenge.title + challenge.text, challenge.key
    assert len({challenge.title for challenge in BANK}) == len(BANK)
    assert len({challenge.text for challenge in BANK}) == len(BANK)


def test_built_in_finds_a_challenge_by_key() -> None:
    for challenge in BANK:
        assert built_in(challenge.key) is challenge
    assert built_in("connect.no-such-challenge") is None
    assert built_in("custom:1") is None


def test_every_rule_the_bank_uses_is_a_known_kind_tested_on_a_ledger() -> None:
    used = {challenge.rule.kind for challenge in BANK if challenge.rule is not None}
    assert used <= set(RuleKind)
    tested = set(re.findall(r"RuleKind\.([A-Z_]+)", RULES_TESTS.read_text(encoding="utf-8")))
    assert {kind.name for kind in RuleKind} <= tested


@pytest.mark.parametrize("kind", list(RuleKind))
def test_every_rule_describes_itself(kind: RuleKind) -> None:
    counts = [1] if kind is RuleKind.INTRODUCE_YOURSELF else [1, 3]
    for count in counts:
        sentence = CompletionRule(kind, count).describe()
        assert sentence
        assert sentence[0].isupper()
        assert len(sentence) <= 100
        if count > 1:
            assert str(count) in sentence


def test_descriptions_say_one_and_many_in_good_english() -> None:
    assert CompletionRule(RuleKind.REACH_NEW_PEOPLE, 1).describe() == (
        "Reach 1 person you had not talked with before"
    )
    assert CompletionRule(RuleKind.REACH_NEW_PEOPLE, 3).describe() == (
        "Reach 3 people you had not talked with before"
    )
    assert CompletionRule(RuleKind.SHARE, 2).describe() == "Share 2 resources with /share"
