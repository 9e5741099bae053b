"""The `/progress` card image: a PNG of the four habits that shows each level, whatever the name."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image, ImageChops, ImageDraw

from bot.habits import HABIT_ORDER, Level
from bot.images import LEVEL_NAMES, HabitCard, ProgressCard, render_progress_card
from bot.images import progress_card as layout

ACTIVITY = ("3 colleagues reached", "No shares yet", "1 conversation", "Not tracked yet")


def card(
    levels: tuple[Level, ...] = (Level.STARTED, Level.NOT_STARTED, Level.PRACTICING, Level.HABIT),
    *,
    name: str = "Ana (7th-grade science)",
    server: str = "Demo Educators",
    activity: tuple[str, ...] = ACTIVITY,
) -> ProgressCard:
    habits = tuple(
        HabitCard(habit, level, text)
        for habit, level, text in zip(HABIT_ORDER, levels, activity, strict=True)
    )
    return ProgressCard(name, server, "Week of 30 Nov 2026", habits)


def image(png: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(png))
    picture.load()
    return picture


def test_the_card_is_a_png_of_the_documented_size() -> None:
    png = render_progress_card(card())
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    picture = image(png)
    assert picture.format == "PNG"
    assert picture.size == (layout.WIDTH, layout.HEIGHT) == (800, 420)


def test_the_same_card_gives_the_same_bytes() -> None:
    assert render_progress_card(card()) == render_progress_card(card())


def test_the_level_names_are_the_products() -> None:
    assert [LEVEL_NAMES[level] for level in Level] == [
        "Not started",
        "Started",
        "Practicing",
        "Habit",
    ]


@pytest.mark.parametrize("row", range(4))
def test_a_different_level_changes_only_that_habits_row(row: int) -> None:
    levels = [Level.NOT_STARTED] * 4
    before = image(render_progress_card(card(tuple(levels))))
    levels[row] = Level.HABIT
    after = image(render_progress_card(card(tuple(levels))))
    changed = ImageChops.difference(before.convert("RGB"), after.convert("RGB")).getbbox()
    assert changed is not None
    _, top, _, bottom = layout.row_box(row)
    assert top <= changed[1] <= changed[3] <= bottom


@pytest.mark.parametrize("level", list(Level))
def test_each_row_writes_its_level_in_words(level: Level) -> None:
    """The level cell holds exactly the level's name, drawn as the card draws text."""
    levels = (level, Level.NOT_STARTED, Level.NOT_STARTED, Level.NOT_STARTED)
    drawn = image(render_progress_card(card(levels))).convert("RGB")
    _, top, _, bottom = layout.row_box(0)
    cell = (layout.LEVEL_X, top, layout.WEEK_X - 8, bottom)
    expected = Image.new("RGB", drawn.size, layout.STRIPE)
    ImageDraw.Draw(expected).text(
        (layout.LEVEL_X, top + layout.ROW_HEIGHT // 2),
        LEVEL_NAMES[level],
        font=layout.font(layout.LEVEL_SIZE),
        fill=layout.INK,
        anchor="lm",
    )
    assert ImageChops.difference(drawn.crop(cell), expected.crop(cell)).getbbox() is None


def test_the_meter_fills_one_bar_per_level_reached() -> None:
    drawn = image(render_progress_card(card())).convert("RGB")
    for row, item in enumerate(card().habits):
        _, top, _, _ = layout.row_box(row)
        bottom = top + layout.ROW_HEIGHT // 2 + layout.BAR_HEIGHTS[-1] // 2
        filled = 0
        for step in range(4):
            centre = layout.METER_X + step * (layout.BAR_WIDTH + layout.BAR_GAP) + 8
            if drawn.getpixel((centre, bottom - 4)) != layout.EMPTY:
                filled += 1
        assert filled == item.level + 1


HOSTILE_NAMES = [
    "Ana 👩🏽‍🏫🍎",
    "שלום עליכם",  # right to left
    "مرحبا بالجميع",
    "A\u200bn\u200da\u2060",  # zero-width characters
    "\u202eana\u202c",  # a right-to-left override
    "x" * 200,
    "W" * 200,
    "李明 " * 70,
    "José Łukasz Ærø",
    "e\u0301" * 150,  # combining accents
    "\ud800 lone surrogate",
    "",
    "   ",
    "tab\there\nnew line\x00\x07",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_do_not_break_the_card(name: str) -> None:
    png = render_progress_card(card(name=name, server=name, activity=(name,) * 4))
    assert image(png).size == (800, 420)


def test_text_is_made_drawable_and_fitted_with_an_ellipsis() -> None:
    assert layout.drawable("José  Łukasz\u200b 😀") == "Jose Lukasz"
    assert layout.drawable("שלום Ana") == "? Ana"
    assert layout.drawable("\u202eana\u202c") == "ana"
    face = layout.font(layout.TITLE_SIZE)
    fitted = layout.fit(layout.drawable("x" * 200), face, 300)
    assert fitted.endswith("…")
    assert face.getlength(fitted) <= 300
    lines = layout.wrap("word " * 80, layout.font(16), 200, lines=2)
    assert len(lines) == 2
    assert lines[-1].endswith("…")
    assert all(layout.font(16).getlength(line) <= 200 for line in lines)
    assert layout.wrap("W" * 100, layout.font(16), 200, lines=2)[0].startswith("WWW")


def test_a_long_week_text_stays_in_its_row() -> None:
    long_text = "12 colleagues reached · " * 20
    plain = image(render_progress_card(card()))
    busy = image(render_progress_card(card(activity=(long_text, *ACTIVITY[1:]))))
    changed = ImageChops.difference(plain.convert("RGB"), busy.convert("RGB")).getbbox()
    assert changed is not None
    _, top, _, bottom = layout.row_box(0)
    assert layout.WEEK_X <= changed[0] <= changed[2] <= layout.RIGHT
    assert top <= changed[1] <= changed[3] <= bottom


def test_the_drawable_characters_have_glyphs_in_the_bundled_font() -> None:
    face = layout.font(20)
    missing = face.getmask("\ue000")  # a private-use character: the font's "missing" box
    no_glyph = (missing.size, bytes(missing))
    for char in layout.DRAWABLE - {" "}:
        mask = face.getmask(char)
        assert (mask.size, bytes(mask)) != no_glyph, repr(char)


def test_the_habits_must_be_the_four_in_order() -> None:
    three = card()
    with pytest.raises(ValueError, match="four habits"):
        render_progress_card(ProgressCard("Ana", "Demo", "Week", three.habits[:3]))
    with pytest.raises(ValueError, match="four habits"):
        render_progress_card(ProgressCard("Ana", "Demo", "Week", three.habits[::-1]))


def test_rendering_takes_milliseconds() -> None:
    render_progress_card(card())  # fonts and the template load once
    started = time.perf_counter()
    for _ in range(10):
        render_progress_card(card(name="W" * 200))
    assert (time.perf_counter() - started) / 10 < 0.1  # generous: a few ms on a laptop
