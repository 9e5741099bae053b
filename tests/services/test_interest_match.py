"""What a suggestion says two members have in common, and how much it weighs."""

from __future__ import annotations

from bot.services.interest_match import NO_MATCH, Interests, TagBits

MINE = {
    ("subject", "science"),
    ("grade", "grade 7"),
    ("learn", "assessment"),
    ("help", "lab safety"),
}


def test_each_way_two_members_meet_is_named_and_weighed() -> None:
    theirs = {
        ("subject", "science"),
        ("subject", "math"),  # not the member's
        ("grade", "grade 7"),
        ("help", "assessment"),  # what the member wants to learn
        ("learn", "lab safety"),  # what the member can help with
        ("learn", "science"),  # the member teaches it, so can help with it too
    }
    bits = TagBits(tag for _, tag in theirs)
    candidate, member = Interests.of(bits, theirs), Interests.of(bits, MINE)

    match = candidate.match(member)

    assert match.common == ("grade 7", "science")
    assert match.they_help == ("assessment",)
    assert match.they_learn == ("lab safety", "science")
    # 2 for each grade or subject in common, 3 for help the member wants, 2 for help they want.
    assert candidate.weight(member) == 2 * 2 + 3 * 1 + 2 * 2


def test_what_they_can_help_with_is_not_also_counted_as_what_they_want_to_learn() -> None:
    theirs = {("subject", "assessment"), ("learn", "assessment")}
    mine = {("learn", "assessment"), ("help", "assessment")}
    bits = TagBits(["assessment"])
    candidate, member = Interests.of(bits, theirs), Interests.of(bits, mine)

    match = candidate.match(member)

    assert (match.common, match.they_help, match.they_learn) == ((), ("assessment",), ())
    assert candidate.weight(member) == 3


def test_a_tag_nobody_numbered_matches_nothing() -> None:
    bits = TagBits(["math"])  # the pool's tags: nobody there has the member's
    candidate = Interests.of(bits, {("subject", "math")})
    member = Interests.of(bits, MINE)

    assert candidate.weight(member) == 0
    assert candidate.match(member) == NO_MATCH
