"""How a candidate's interests meet a member's, as bit masks: the sum every suggestion repeats.

A suggestion weighs each of a server's recently active members (up to a few hundred) against
the member who asked. Matched a tag at a time in Python, that was most of ``/connect suggest``'s
CPU on the bench's server of 120 (about 0.45 of 0.7 ms a call, cProfile and py-spy agreeing),
and the coach's next step in ``/progress`` paid it too. The candidates' tags are numbered once
per candidate pool (``TagBits``), so each candidate's interests are four ints and a match is a
few ANDs and bit counts; the tags' names come back only for the few suggested, for the reasons.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from bot.services.interests import InterestKind


class TagBits:
    """Tags numbered for one set of members, so that a set of their tags is one int.

    Fixed once made: a tag it does not number is in no mask, which is right for a member's
    tags that none of the numbered members has (they can match nobody here).
    """

    __slots__ = ("_bit", "_tags")

    def __init__(self, tags: Iterable[str]) -> None:
        self._tags = sorted(set(tags))
        self._bit = {tag: 1 << index for index, tag in enumerate(self._tags)}

    def bit(self, tag: str) -> int:
        """The tag's bit; 0 for a tag not numbered here."""
        return self._bit.get(tag, 0)

    def tags(self, mask: int) -> tuple[str, ...]:
        """The tags in ``mask``, in order (bits are numbered in the tags' sorted order)."""
        found = []
        while mask:
            lowest = mask & -mask
            found.append(self._tags[lowest.bit_length() - 1])
            mask ^= lowest
        return tuple(found)


@dataclass(frozen=True, slots=True)
class Match:
    """How a candidate's interests meet the member's, by name: for the reasons given."""

    common: tuple[str, ...]  # grades and subjects both have
    they_help: tuple[str, ...]  # what the member wants to learn and they can help with
    they_learn: tuple[str, ...]  # what they want to learn and the member can help with


NO_MATCH = Match((), (), ())
# Where each kind of interest goes in ``Interests``' masks (subjects, grades, learn, helps).
_SLOT = {
    InterestKind.SUBJECT.value: 0,
    InterestKind.GRADE.value: 1,
    InterestKind.LEARN.value: 2,
    InterestKind.HELP.value: 3,
}


@dataclass(frozen=True, slots=True)
class Interests:
    """One member's interests as masks on a ``TagBits``."""

    bits: TagBits
    subjects: int
    grades: int
    learn: int
    # What they can help with: what they said, and their subjects and grades.
    helps: int

    @classmethod
    def of(cls, bits: TagBits, interests: Iterable[tuple[str, str]]) -> Interests:
        """From (kind, tag) pairs (a pool's read makes one per member: a loop, no more)."""
        masks = [0, 0, 0, 0]  # in _SLOT's order
        for kind, tag in interests:
            slot = _SLOT.get(kind)
            if slot is not None:
                masks[slot] |= bits.bit(tag)
        subjects, grades, learn, helps = masks
        return cls(bits, subjects, grades, learn, helps | subjects | grades)

    def weight(self, mine: Interests) -> int:
        """How much these interests (a candidate's) have for ``mine`` (the member's, on the same
        ``TagBits``): 2 a grade or subject in common, 3 a thing the member wants to learn that
        the candidate can help with, 2 the other way round. Learning and helping also match
        subjects ("I want to learn assessment" / "assessment")."""
        they_help = self.helps & mine.learn
        common = (self.grades & mine.grades) | (self.subjects & mine.subjects)
        they_learn = self.learn & mine.helps & ~they_help
        return 2 * common.bit_count() + 3 * they_help.bit_count() + 2 * they_learn.bit_count()

    def match(self, mine: Interests) -> Match:
        """``weight``'s parts by name: grades first, then subjects, each in order."""
        grades = self.grades & mine.grades
        they_help = self.helps & mine.learn
        return Match(
            self.bits.tags(grades) + self.bits.tags(self.subjects & mine.subjects & ~grades),
            self.bits.tags(they_help),
            self.bits.tags(self.learn & mine.helps & ~they_help),
        )


def members_interests(
    rows: Iterable[tuple[int, str, str]], bits: TagBits | None = None
) -> tuple[TagBits, dict[int, Interests]]:
    """Interest rows (member, kind, tag) as each member's ``Interests`` on ``bits``; without
    ``bits``, on the rows' own tags, numbered."""
    by_member: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for user_id, kind, tag in rows:
        by_member[user_id].append((kind, tag))
    if bits is None:
        bits = TagBits(tag for pairs in by_member.values() for _, tag in pairs)
    return bits, {user_id: Interests.of(bits, pairs) for user_id, pairs in by_member.items()}
