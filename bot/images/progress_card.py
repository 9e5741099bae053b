"""The `/progress` card: the four habits, the level in each and this week's activity, as a PNG.

Discord-agnostic: it takes plain values and returns PNG bytes. It draws with Pillow's bundled
font so a fresh machine needs no system fonts; that font covers printable ASCII and a little
punctuation only, so text is first made drawable (accents dropped, invisible characters removed,
other scripts and emoji shown as "?" or left out) and then fitted with an ellipsis. The text
version of the answer carries the names exactly as written.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from types import MappingProxyType

from PIL import Image, ImageDraw, ImageFont

from bot.habits import HABIT_ORDER, Habit, Level

WIDTH, HEIGHT = 800, 420

LEVEL_NAMES: Mapping[Level, str] = MappingProxyType(
    {
        Level.NOT_STARTED: "Not started",
        Level.STARTED: "Started",
        Level.PRACTICING: "Practicing",
        Level.HABIT: "Habit",
    }
)


@dataclass(frozen=True, slots=True)
class HabitCard:
    habit: Habit
    level: Level
    # This week's activity in the habit, as plain text ("3 colleagues reached").
    this_week: str


@dataclass(frozen=True, slots=True)
class ProgressCard:
    member_name: str
    server_name: str
    week_label: str  # "Week of 30 Nov 2026"
    habits: tuple[HabitCard, ...]  # the four habits, in HABIT_ORDER


# Colours: one blue from the Okabe-Ito palette (distinct for every kind of colour vision) on
# neutral greys; the meter is read by how many bars are filled, and the level is also written.
BACKGROUND = (255, 255, 255)
STRIPE = (243, 246, 249)
RULE = (208, 215, 222)
INK = (31, 35, 40)
MUTED = (87, 96, 106)
FILLED = (0, 114, 178)
START_STEP = (140, 149, 159)
EMPTY = (255, 255, 255)

MARGIN = 32
HEADER_RULE_Y = 96
COLUMNS_Y = 104
FIRST_ROW_Y = 128
ROW_HEIGHT = 64
FOOTER_Y = 392

HABIT_X = MARGIN
METER_X = 184
LEVEL_X = 300
WEEK_X = 440
RIGHT = WIDTH - MARGIN

BAR_WIDTH, BAR_GAP = 16, 6
BAR_HEIGHTS = (10, 18, 26, 34)  # one bar per level, rising like a staircase

TITLE_SIZE, SUBTITLE_SIZE, HABIT_SIZE, LEVEL_SIZE, WEEK_SIZE, SMALL_SIZE = 28, 16, 22, 20, 16, 13

ELLIPSIS = "…"
# What Pillow's bundled font (Aileron Regular) can draw; tests/test_progress_card.py checks it.
DRAWABLE = frozenset(chr(code) for code in range(0x20, 0x7F)) | frozenset("©«°±´·»‘’“”…‹›⁄™")
# Letters that carry no accent to strip but have a usual plain spelling.
_SPELLED = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Ø": "O",
        "ø": "o",
        "Đ": "D",
        "đ": "d",
        "Ħ": "H",
        "ħ": "h",
        "ı": "i",
        "ß": "ss",
        "Æ": "AE",
        "æ": "ae",
        "Œ": "OE",
        "œ": "oe",
        "Þ": "Th",
        "þ": "th",
        "Ð": "D",
        "ð": "d",
        "–": "-",
        "—": "-",
        "‐": "-",
        "‑": "-",
        "−": "-",
        "•": "·",
        "→": "->",
    }
)
UNKNOWN = "?"


def row_box(index: int) -> tuple[int, int, int, int]:
    """The band (left, top, right, bottom) that row ``index`` (0 = Connect) is drawn in."""
    top = FIRST_ROW_Y + index * ROW_HEIGHT
    return (0, top, WIDTH, top + ROW_HEIGHT)


@cache
def font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's bundled font at ``size``, laid out the same way with or without libraqm."""
    face = ImageFont.load_default(size=size)
    if not isinstance(face, ImageFont.FreeTypeFont):  # only a Pillow built without FreeType
        raise RuntimeError("drawing the progress card needs Pillow with FreeType")
    return face.font_variant(layout_engine=ImageFont.Layout.BASIC)


def drawable(text: str) -> str:
    """``text`` with only characters the bundled font draws, on one line.

    Accents are dropped ("José" → "Jose"); zero-width, direction and other invisible marks
    removed; whitespace collapsed; each run of letters or digits from another script becomes
    one "?"; emoji and other symbols are left out.
    """
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPELLED)).translate(_SPELLED)
    out: list[str] = []
    for char in decomposed:
        category = unicodedata.category(char)
        if char in DRAWABLE:
            out.append(char)
        elif category[0] == "Z" or char in "\t\n\r\v\f":
            out.append(" ")
        elif category[0] in "LN" and (not out or out[-1] != UNKNOWN):
            out.append(UNKNOWN)
        # Marks (accents), format characters (zero-width, bidi), controls and symbols: dropped.
    return " ".join("".join(out).split())


def legible(text: str) -> bool:
    """Whether ``text`` (already made drawable) still says something a reader can use."""
    return any(char.isascii() and char.isalnum() for char in text)


def _prefix(text: str, face: ImageFont.FreeTypeFont, width: float, suffix: str) -> str:
    """The longest prefix of ``text`` that fits in ``width`` pixels followed by ``suffix``."""
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if face.getlength(text[:middle].rstrip() + suffix) <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip()


def fit(text: str, face: ImageFont.FreeTypeFont, width: float) -> str:
    """``text`` if it fits in ``width`` pixels, else its longest prefix that fits with "…"."""
    if face.getlength(text) <= width:
        return text
    return _prefix(text, face, width, ELLIPSIS) + ELLIPSIS


def wrap(text: str, face: ImageFont.FreeTypeFont, width: float, lines: int) -> list[str]:
    """``text`` in at most ``lines`` lines of ``width`` pixels, broken between words (a word
    longer than a line is cut); the last line ends in "…" when text is left over."""
    result: list[str] = []
    rest = text.strip()
    while rest and len(result) < lines - 1:
        words = rest.split(" ")
        line, taken = words[0], 1
        while taken < len(words) and face.getlength(f"{line} {words[taken]}") <= width:
            line, taken = f"{line} {words[taken]}", taken + 1
        if face.getlength(line) > width:
            line = _prefix(line, face, width, "") or line[0]
            rest = rest[len(line) :].strip()
        else:
            rest = " ".join(words[taken:])
        result.append(line)
    if rest:
        result.append(fit(rest, face, width))
    return result


def _draw_header(draw: ImageDraw.ImageDraw, card: ProgressCard) -> None:
    week = fit(drawable(card.week_label), font(SUBTITLE_SIZE), 220)
    week_width = font(SUBTITLE_SIZE).getlength(week)
    draw.text((RIGHT, 44), week, font=font(SUBTITLE_SIZE), fill=MUTED, anchor="rs")
    name = drawable(card.member_name)
    title = name if legible(name) else "Learning network"
    draw.text(
        (MARGIN, 44),
        fit(title, font(TITLE_SIZE), RIGHT - MARGIN - week_width - 24),
        font=font(TITLE_SIZE),
        fill=INK,
        anchor="ls",
    )
    server = drawable(card.server_name)
    subtitle = "Four habits of a learning network"
    if legible(server):
        subtitle = f"{server} · {subtitle.lower()}"
    draw.text(
        (MARGIN, 76),
        fit(subtitle, font(SUBTITLE_SIZE), RIGHT - MARGIN),
        font=font(SUBTITLE_SIZE),
        fill=MUTED,
        anchor="ls",
    )


def _draw_meter(draw: ImageDraw.ImageDraw, level: Level, bottom: int) -> None:
    for step, height in enumerate(BAR_HEIGHTS):
        left = METER_X + step * (BAR_WIDTH + BAR_GAP)
        reached = step <= level
        colour = (START_STEP if step == 0 else FILLED) if reached else EMPTY
        outline = INK if reached else START_STEP
        draw.rectangle(
            (left, bottom - height, left + BAR_WIDTH - 1, bottom - 1),
            fill=colour,
            outline=outline,
            width=1,
        )


def _draw_row(draw: ImageDraw.ImageDraw, index: int, item: HabitCard) -> None:
    _, top, _, _ = row_box(index)
    middle = top + ROW_HEIGHT // 2
    _draw_meter(draw, item.level, middle + BAR_HEIGHTS[-1] // 2)
    draw.text(
        (LEVEL_X, middle),
        LEVEL_NAMES[item.level],
        font=font(LEVEL_SIZE),
        fill=INK,
        anchor="lm",
    )
    face = font(WEEK_SIZE)
    lines = wrap(drawable(item.this_week), face, RIGHT - WEEK_X, lines=2) or ["-"]
    line_height = WEEK_SIZE + 4
    first = middle - (len(lines) - 1) * line_height / 2
    for number, line in enumerate(lines):
        draw.text((WEEK_X, first + number * line_height), line, font=face, fill=INK, anchor="lm")


@cache
def _template() -> Image.Image:
    """What every card shares: the rules, column headings, row stripes, habit names, legend."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.line((MARGIN, HEADER_RULE_Y, RIGHT, HEADER_RULE_Y), fill=RULE, width=1)
    for x, label in ((HABIT_X, "Habit"), (LEVEL_X, "Level"), (WEEK_X, "This week")):
        draw.text((x, COLUMNS_Y + 14), label, font=font(SMALL_SIZE), fill=MUTED, anchor="ls")
    for index, habit in enumerate(HABIT_ORDER):
        _, top, _, bottom = row_box(index)
        if index % 2 == 0:
            draw.rectangle((0, top, WIDTH - 1, bottom - 1), fill=STRIPE)
        draw.text(
            (HABIT_X, top + ROW_HEIGHT // 2),
            f"{index + 1}  {habit.display_name}",
            font=font(HABIT_SIZE),
            fill=INK,
            anchor="lm",
        )
    legend = ", ".join(LEVEL_NAMES[level] for level in Level)
    draw.text(
        (MARGIN, FOOTER_Y + 14),
        f"One bar per level: {legend}. Habits grow in order, from 1 to 4.",
        font=font(SMALL_SIZE),
        fill=MUTED,
        anchor="ls",
    )
    return image


# Cards drawn lately, by what they show: a member who looks again before anything changed (and
# every member with the same levels, name and week) gets the same bytes without drawing. PNG
# encoding is most of the ~10 ms a card takes; 256 cards of about 40 kB each is 10 MB at most.
RECENT_CARDS = 256


@lru_cache(maxsize=RECENT_CARDS)
def render_progress_card(card: ProgressCard) -> bytes:
    """The card as PNG bytes (``WIDTH`` x ``HEIGHT``); the same card always gives the same bytes.

    Takes about 10 ms, unless the same card was drawn lately. Raises ValueError unless
    ``card.habits`` is the four habits in ``HABIT_ORDER``.
    """
    if tuple(item.habit for item in card.habits) != HABIT_ORDER:
        raise ValueError("a progress card shows the four habits in HABIT_ORDER")
    image = _template().copy()
    draw = ImageDraw.Draw(image)
    _draw_header(draw, card)
    for index, item in enumerate(card.habits):
        _draw_row(draw, index, item)
    buffer = io.BytesIO()
    # Level 3 compresses these flat colours almost as well as the default, in half the time.
    image.save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()
