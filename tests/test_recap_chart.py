"""The weekly recap chart: a PNG of the habit funnel and the weekly trend, whatever the figures."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image, ImageChops

from bot.images import recap_chart as layout
from bot.images.recap_chart import FunnelStep, RecapChart, TrendWeek, draw_recap_chart

HABITS = ("Connect", "Contribute", "Converse", "Request")
WEEKS = (
    TrendWeek("Nov 2", 22, 5, 9, 1),
    TrendWeek("Nov 9", 25, 8, 12, 2),
    TrendWeek("Nov 16", 24, 7, 15, 2),
    TrendWeek("Nov 23", 29, 11, 14, 4),
    TrendWeek("Nov 30", 31, 9, 18, 3),
    TrendWeek("Dec 7", 33, 14, 21, 5),
    TrendWeek("Dec 14", 35, 12, 19, 6),
    TrendWeek("Dec 21", 38, 16, 24, 7),
)


def chart(
    members: tuple[int, ...] = (31, 18, 9, 3),
    *,
    community: int = 40,
    title: str = "Week of Dec 21",
    trend: tuple[TrendWeek, ...] = WEEKS,
) -> RecapChart:
    funnel = tuple(FunnelStep(habit, count) for habit, count in zip(HABITS, members, strict=True))
    return RecapChart(title, community, funnel, trend)


def image(png: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(png))
    picture.load()
    return picture


def changed_box(before: RecapChart, after: RecapChart) -> tuple[int, int, int, int]:
    first = image(draw_recap_chart(before)).convert("RGB")
    second = image(draw_recap_chart(after)).convert("RGB")
    box = ImageChops.difference(first, second).getbbox()
    assert box is not None, "the change was not drawn"
    return box


def bar_pixels(picture: Image.Image, index: int) -> int:
    """How many pixels of the bar colour lie on the middle line of step ``index``'s bar."""
    left, top, right, bottom = layout.bar_box(index)
    middle = (top + bottom) // 2
    rgb = picture.convert("RGB")
    return sum(rgb.getpixel((x, middle)) == layout.BAR for x in range(left, right))


def test_the_chart_is_a_png_of_the_documented_size() -> None:
    png = draw_recap_chart(chart())
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    picture = image(png)
    assert picture.format == "PNG"
    assert picture.size == (layout.WIDTH, layout.HEIGHT) == (900, 500)


def test_the_same_chart_gives_the_same_bytes() -> None:
    assert draw_recap_chart(chart()) == draw_recap_chart(chart())
    # Lists and tuples of the same figures draw the same chart.
    as_lists = RecapChart("Week of Dec 21", 40, list(chart().funnel), list(WEEKS))
    assert draw_recap_chart(as_lists) == draw_recap_chart(chart())


def test_a_larger_count_draws_a_longer_bar() -> None:
    picture = image(draw_recap_chart(chart((40, 20, 1, 0))))
    full, half, one, none = (bar_pixels(picture, index) for index in range(4))
    track = layout.FUNNEL_RIGHT - layout.FUNNEL_LEFT
    assert full == track
    assert abs(half - track / 2) <= 1
    assert 0 < one < half < full
    assert none == 0


def test_bars_are_out_of_the_community_and_never_overflow() -> None:
    small = bar_pixels(image(draw_recap_chart(chart((10, 10, 10, 10), community=40))), 0)
    large = bar_pixels(image(draw_recap_chart(chart((10, 10, 10, 10), community=20))), 0)
    assert small < large
    more_than_everyone = image(draw_recap_chart(chart((90, 0, 0, 0), community=40)))
    assert bar_pixels(more_than_everyone, 0) == layout.FUNNEL_RIGHT - layout.FUNNEL_LEFT


def test_a_funnel_figure_changes_only_its_own_step() -> None:
    box = changed_box(chart((31, 18, 9, 3)), chart((31, 18, 30, 3)))
    left, top, right, bottom = layout.step_box(2)
    assert left <= box[0] <= box[2] <= right
    assert top <= box[1] <= box[3] <= bottom


def test_the_trend_changes_only_the_right_panel() -> None:
    busier = (*WEEKS[:-1], TrendWeek("Dec 21", 38, 30, 24, 7))
    box = changed_box(chart(), chart(trend=busier))
    assert layout.DIVIDER_X < box[0] <= box[2] <= layout.WIDTH
    assert layout.PANEL_TOP <= box[1] <= box[3] <= layout.PANEL_BOTTOM


def test_a_long_title_is_fitted_inside_the_image() -> None:
    box = changed_box(chart(title="Week"), chart(title="Week of Nov 23 · " + "W" * 300))
    assert box[2] <= layout.RIGHT  # ends inside the margin...
    assert box[2] > layout.RIGHT - 60  # ...after running nearly to it, with an ellipsis
    assert box[3] < layout.HEADER_RULE_Y


EDGE_CASES = {
    "zero community": chart((0, 0, 0, 0), community=0),
    "members but no community": chart((5, 3, 0, 0), community=0),
    "all zeros": chart((0, 0, 0, 0), trend=(TrendWeek("Nov 23", 0, 0, 0, 0),) * 8),
    "empty trend": chart(trend=()),
    "one week": chart(trend=(WEEKS[0],)),
    "huge numbers": chart(
        (1_000_000,) * 4,
        community=1_000_000,
        trend=(TrendWeek("Nov 23", 1_000_000, 1_000_000, 999_999, 1_000_000),) * 8,
    ),
    "absurd numbers": chart((10**400, 1, 0, 0), community=10**400, trend=(WEEKS[0],) * 2),
    "negative numbers": chart((-3, 0, 0, 0), community=-1, trend=(TrendWeek("x", -1, -2, 0, 0),)),
    "more members than the community": chart((99, 50, 41, 40), community=40),
    "very long title": chart(title="Week of Nov 23 · " + "W" * 5000),
    "more than eight weeks": chart(trend=WEEKS * 3),
    "long week labels": chart(trend=(TrendWeek("Week of 23 November " * 5, 1, 2, 3, 4),) * 8),
    "no funnel": RecapChart("Week of Nov 23", 40, (), WEEKS),
    "many funnel steps": RecapChart(
        "Week of Nov 23", 40, tuple(FunnelStep(f"Habit {i}", i) for i in range(12)), WEEKS
    ),
}

HOSTILE_TEXT = [
    "Ana 👩🏽‍🏫🍎",
    "שלום עליכם",
    "A\u200bn\u200da\u2060",
    "\u202eana\u202c",
    "李明 " * 70,
    "e\u0301" * 150,
    "\ud800 lone surrogate",
    "",
    "   ",
    "tab\there\nnew line\x00\x07",
]


@pytest.mark.parametrize("case", EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_edge_cases_still_draw(case: RecapChart) -> None:
    assert image(draw_recap_chart(case)).size == (900, 500)


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_hostile_text_still_draws(text: str) -> None:
    hostile = RecapChart(
        text,
        40,
        tuple(FunnelStep(text, 10) for _ in HABITS),
        tuple(TrendWeek(text, 1, 2, 3, 4) for _ in range(3)),
    )
    assert image(draw_recap_chart(hostile)).size == (900, 500)


def test_axis_ticks_are_round_and_cover_the_largest_figure() -> None:
    assert layout.axis_ticks(0) == [0, 1]
    assert layout.axis_ticks(7) == [0, 2, 4, 6, 8]
    assert layout.axis_ticks(38) == [0, 10, 20, 30, 40]
    assert layout.axis_ticks(1_000_000) == [0, 500_000, 1_000_000]
    for largest in (1, 3, 19, 99, 101, 12_345, 10**12):
        ticks = layout.axis_ticks(largest)
        assert ticks[0] == 0 <= largest <= ticks[-1]
        assert 2 <= len(ticks) <= 5


def test_axis_figures_are_compact() -> None:
    assert [layout.compact(n) for n in (0, 950, 2_500, 500_000, 1_000_000, 25_000_000)] == [
        "0",
        "950",
        "2.5k",
        "500k",
        "1M",
        "25M",
    ]


def test_drawing_takes_milliseconds() -> None:
    draw_recap_chart(chart())  # fonts and the template load once
    started = time.perf_counter()
    for _ in range(10):
        draw_recap_chart(chart(title="W" * 300))
    assert (time.perf_counter() - started) / 10 < 0.1  # generous: about 12 ms on 2 cores
