"""Turning what a member typed about themselves into tags the bot can match on.

Members write "Science, Biology / 7th grade & 8th" in their own way; suggestions and question
routing need "science", "biology", "grade 7", "grade 8". The words they typed are kept as typed
for their intro card; only these tags are compared.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from bot.services.typed_text import storable

MAX_TAG_LENGTH = 40
MAX_TAGS_PER_ANSWER = 10


class InterestKind(enum.StrEnum):
    SUBJECT = "subject"
    GRADE = "grade"
    LEARN = "learn"
    HELP = "help"


# Commas, semicolons, slashes, ampersands, " and ", new lines and bullets separate answers.
_SEPARATORS = re.compile(r"\s*(?:[,;/&|\n•·+]|\band\b)\s*", re.IGNORECASE)
# Keep letters, digits, spaces, and the few marks subjects carry (c#, k-12, pre-k, ela's).
_NOT_IN_TAGS = re.compile(r"[^\w\s#\-']", re.UNICODE)
_SPACES = re.compile(r"\s+")
_ORDINAL = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?$")
_GRADE_WORDS = re.compile(r"\b(?:grades?|gr|year|yr|class)\b\.?", re.IGNORECASE)
_GRADE_RANGE = re.compile(r"^(\d{1,2}|k)\s*-\s*(\d{1,2})$")
_KINDERGARTEN = {"k", "kinder", "kindergarten", "kg"}
_SEPARATORS_IN_TAGS = re.compile(r"[\s_\-]")


def _clean(text: str) -> str:
    text = _NOT_IN_TAGS.sub(" ", text.casefold())
    return _SPACES.sub(" ", text).strip(" -'")[:MAX_TAG_LENGTH].strip()


def grade_band(text: str) -> str:
    """ "7th grade", "Grade 7", "year 7", "7" -> "grade 7"; "k-5" -> "grades k-5"."""
    words = _clean(text)
    bare = _SPACES.sub(" ", _GRADE_WORDS.sub(" ", words)).strip()
    if bare in _KINDERGARTEN:
        return "kindergarten"
    ordinal = _ORDINAL.match(bare)
    if ordinal:
        return f"grade {int(ordinal.group(1))}"
    grade_range = _GRADE_RANGE.match(bare.replace(" to ", "-"))
    if grade_range:
        low, high = grade_range.groups()
        low = low if low == "k" else str(int(low))
        return f"grades {low}-{int(high)}"
    return words


def split_tags(text: str, *, grades: bool = False) -> tuple[str, ...]:
    """The distinct tags in one answer, in the order typed, at most ``MAX_TAGS_PER_ANSWER``."""
    tags: list[str] = []
    # Grade ranges ("6-8") hold a dash, not a separator; "k-12" too.
    for part in _SEPARATORS.split(text):
        tag = grade_band(part) if grades else _clean(part)
        if tag and tag not in tags:
            tags.append(tag)
        if len(tags) == MAX_TAGS_PER_ANSWER:
            break
    return tuple(tags)


@dataclass(frozen=True, slots=True)
class IntroAnswers:
    """The five answers of the intro form, trimmed, as the member typed them."""

    role: str
    subjects: str
    grade_bands: str
    learning: str
    helping: str

    @classmethod
    def from_form(
        cls, role: str, subjects: str, grade_bands: str, learning: str, helping: str
    ) -> IntroAnswers:
        return cls(
            storable(role).strip()[:100],
            storable(subjects).strip()[:300],
            storable(grade_bands).strip()[:300],
            storable(learning).strip()[:300],
            storable(helping).strip()[:300],
        )

    def interests(self) -> set[tuple[InterestKind, str]]:
        """The tags matched on: subjects (with the role's words), grades, learn, help."""
        found: set[tuple[InterestKind, str]] = set()
        for tag in split_tags(self.subjects):
            found.add((InterestKind.SUBJECT, tag))
        for tag in split_tags(self.grade_bands, grades=True):
            found.add((InterestKind.GRADE, tag))
        for tag in split_tags(self.learning):
            found.add((InterestKind.LEARN, tag))
        for tag in split_tags(self.helping):
            found.add((InterestKind.HELP, tag))
        return found


def tag_variants(tag: str) -> set[str]:
    """The ways one tag can be written in interests: ``7th-grade`` is ``grade 7`` there, and
    ``project-based-learning`` is ``project-based learning`` or ``project based learning``.

    Command tags (``/share``, ``/ask``) join words with dashes; intro answers keep spaces.
    """
    spaced = tag.replace("_", " ").replace("-", " ")
    letters = _SEPARATORS_IN_TAGS.sub("", tag.casefold())
    variants = {tag}
    for cleaned in (_clean(spaced), _clean(tag)):
        if _SEPARATORS_IN_TAGS.sub("", cleaned) == letters:  # nothing but separators changed
            variants.add(cleaned)
    for band in (grade_band(spaced), grade_band(tag)):
        if band.startswith(("grade", "kindergarten")):
            variants.add(band)
    # "project-based learning": a dash kept inside the first words, as people type it.
    words = tag.split("-")
    if len(words) > 2:
        variants.add("-".join(words[:-1]) + " " + words[-1])
    return {variant for variant in variants if variant}
