"""The weekly recap chart: how far the community is with each habit, and the last weeks' trend.

Discord-agnostic like the progress card, and drawn the same way: Pillow's bundled font, text
made drawable and fitted with an ellipsis, an opaque white background so it reads the same on
Discord's dark and light themes. It never raises for odd figures (no members, all zeros, no
weeks yet, millions): a recap that fails to draw is a recap nobody sees.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from PIL import Image, ImageDraw

from bot.images.progress_card import (
    BACKGROUND,
    FILLED,
    INK,
    MUTED,
    RULE,
    drawable,
    fit,
    font,
    legible,
)

WIDTH, HEIGHT = 900, 500


@dataclass(frozen=True, slots=True)
class FunnelStep:
    habit: str  # display name: "Connect", "Contribute", "Converse", "Request"
    members: int  # members at level Started or above in that habit


@dataclass(frozen=True, slots=True)
class TrendWeek:
    label: str  # the week's start, "Nov 23"
    active_members: int
    shares: int
    conversations: int
    asks_answered: int


@dataclass(frozen=True, slots=True)
class RecapChart:
    title: str  # "Week of Nov 23"; may carry a server name, so any text at all
    community_size: int  # the active members the funnel is out of
    funnel: Sequence[FunnelStep]  # in habit order, usually four
    trend: Sequence[TrendWeek]  # oldest first, up to MAX_WEEKS; may be one week or none


# Okabe-Ito colours (distinct for every kind of colour vision), each line also with its own
# marker shape so the series can be told apart without colour at all.
TRACK = (234, 238, 242)
BAR = FILLED
SERIES: tuple[tuple[str, tuple[int, int, int], str], ...] = (
    ("Active members", FILLED, "circle"),
    ("Shares", (213, 94, 0), "square"),
    ("Conversations", (0, 158, 115), "diamond"),
    ("Asks answered", (204, 121, 167), "triangle"),
)

MARGIN = 32
RIGHT = WIDTH - MARGIN
HEADER_RULE_Y = 96
PANEL_TOP, PANEL_BOTTOM = 112, HEIGHT - 24
HEADING_Y = 132  # baseline of each panel's heading

FUNNEL_LEFT, FUNNEL_RIGHT = MARGIN, 392
DIVIDER_X = 416
FIRST_STEP_Y = 148
STEP_HEIGHT = 80
# The product has four habits; any more steps are left out rather than squeezed in.
MAX_STEPS = 4
BAR_TOP, BAR_HEIGHT = 40, 22  # inside a step's band

TREND_LEFT = 436
LEGEND_Y = 160  # first legend row's centre
LEGEND_ROW = 22
AXIS_WIDTH = 40  # room for the value labels left of the plot
PLOT_TOP, PLOT_BOTTOM = 216, 432
PLOT_LEFT, PLOT_RIGHT = TREND_LEFT + AXIS_WIDTH, RIGHT
WEEK_LABEL_Y = 454
MAX_WEEKS = 8
MARKER_RADIUS = 4
# Figures are plotted up to this, so absurd ones (say, 10**400) still scale as floats.
PLOT_CAP = 10**15

TITLE_SIZE, SUBTITLE_SIZE, HABIT_SIZE, COUNT_SIZE, SMALL_SIZE = 28, 16, 20, 16, 13


def step_box(index: int) -> tuple[int, int, int, int]:
    """The band (left, top, right, bottom) the funnel's step ``index`` (0 = Connect) is in."""
    top = FIRST_STEP_Y + index * STEP_HEIGHT
    return (FUNNEL_LEFT, top, FUNNEL_RIGHT, top + STEP_HEIGHT)


def bar_box(index: int) -> tuple[int, int, int, int]:
    """The full-length track of step ``index``'s bar: a bar this long is the whole community."""
    _, top, _, _ = step_box(index)
    return (FUNNEL_LEFT, top + BAR_TOP, FUNNEL_RIGHT, top + BAR_TOP + BAR_HEIGHT)


def bar_length(members: int, community_size: int) -> int:
    """How many pixels of the track a step fills: in proportion, never past the end, and at
    least a sliver for anyone at all so "1 of 5,000" does not look like nobody."""
    if members <= 0 or community_size <= 0:
        return 0
    track = FUNNEL_RIGHT - FUNNEL_LEFT
    return max(3, round(track * min(members, community_size) / community_size))


def compact(value: int) -> str:
    """A figure shortened to fit the axis's few pixels: 950, 2.5k, 1M."""
    for divisor, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if abs(value) >= divisor:
            scaled = value / divisor
            text = f"{scaled:.1f}" if abs(scaled) < 10 else f"{scaled:.0f}"
            return text.removesuffix(".0") + suffix
    return str(value)


def axis_ticks(largest: int) -> list[int]:
    """Tick values a reader takes in at a glance: from 0 to just past ``largest``, at most
    five, on a 1-2-5 step."""
    value = min(max(largest, 1), PLOT_CAP)
    step = 1
    while -(-value // step) > 4:
        step = _next_step(step)
    return list(range(0, -(-value // step) * step + 1, step))


def _next_step(step: int) -> int:
    """The 1-2-5 sequence: 1, 2, 5, 10, 20, 50, …"""
    leading = step // 10 ** (len(str(step)) - 1)
    return step * 5 // 2 if leading == 2 else step * 2


def _count_label(members: int, community_size: int) -> str:
    if community_size > 0:
        return f"{max(members, 0):,} of {community_size:,}"
    return f"{max(members, 0):,}"


@cache
def _template() -> Image.Image:
    """What every recap shares: the rules between header and panels and the funnel's heading."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.line((MARGIN, HEADER_RULE_Y, RIGHT, HEADER_RULE_Y), fill=RULE, width=1)
    draw.line((DIVIDER_X, PANEL_TOP, DIVIDER_X, PANEL_BOTTOM), fill=RULE, width=1)
    draw.text(
        (FUNNEL_LEFT, HEADING_Y),
        "Members who have started each habit",
        font=font(SMALL_SIZE),
        fill=MUTED,
        anchor="ls",
    )
    return image


def _draw_header(draw: ImageDraw.ImageDraw, chart: RecapChart) -> None:
    # One line holds well under 400 characters; a longer (hostile) title is not worth cleaning.
    title = drawable(chart.title[:400])
    draw.text(
        (MARGIN, 44),
        fit(title if legible(title) else "Weekly recap", font(TITLE_SIZE), RIGHT - MARGIN),
        font=font(TITLE_SIZE),
        fill=INK,
        anchor="ls",
    )
    size = max(chart.community_size, 0)
    members = "1 active member" if size == 1 else f"{size:,} active members"
    draw.text(
        (MARGIN, 76),
        fit(f"{members} · four habits, week by week", font(SUBTITLE_SIZE), RIGHT - MARGIN),
        font=font(SUBTITLE_SIZE),
        fill=MUTED,
        anchor="ls",
    )


def _draw_funnel(draw: ImageDraw.ImageDraw, chart: RecapChart) -> None:
    steps = list(chart.funnel)[:MAX_STEPS]
    if not steps:
        draw.text(
            (FUNNEL_LEFT, FIRST_STEP_Y + 28),
            "No habit figures yet",
            font=font(COUNT_SIZE),
            fill=MUTED,
            anchor="ls",
        )
        return
    width = FUNNEL_RIGHT - FUNNEL_LEFT
    for index, step in enumerate(steps):
        _, top, _, _ = step_box(index)
        baseline = top + 28
        count = fit(_count_label(step.members, chart.community_size), font(COUNT_SIZE), width / 2)
        count_width = font(COUNT_SIZE).getlength(count)
        draw.text((FUNNEL_RIGHT, baseline), count, font=font(COUNT_SIZE), fill=INK, anchor="rs")
        habit = drawable(step.habit) or "?"
        draw.text(
            (FUNNEL_LEFT, baseline),
            fit(f"{index + 1}  {habit}", font(HABIT_SIZE), width - count_width - 12),
            font=font(HABIT_SIZE),
            fill=INK,
            anchor="ls",
        )
        left, bar_top, right, bar_bottom = bar_box(index)
        draw.rectangle((left, bar_top, right - 1, bar_bottom - 1), fill=TRACK)
        length = bar_length(step.members, chart.community_size)
        if length:
            draw.rectangle((left, bar_top, left + length - 1, bar_bottom - 1), fill=BAR)


def _values(week: TrendWeek) -> tuple[int, int, int, int]:
    figures = (week.active_members, week.shares, week.conversations, week.asks_answered)
    a, b, c, d = (min(max(figure, 0), PLOT_CAP) for figure in figures)
    return (a, b, c, d)


def _draw_marker(
    draw: ImageDraw.ImageDraw, shape: str, x: int, y: int, colour: tuple[int, int, int]
) -> None:
    r = MARKER_RADIUS
    if shape == "circle":
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    elif shape == "square":
        draw.rectangle((x - r + 1, y - r + 1, x + r - 1, y + r - 1), fill=colour)
    elif shape == "diamond":
        draw.polygon([(x, y - r - 1), (x + r + 1, y), (x, y + r + 1), (x - r - 1, y)], fill=colour)
    else:
        draw.polygon([(x, y - r - 1), (x + r + 1, y + r), (x - r - 1, y + r)], fill=colour)


def _draw_legend(draw: ImageDraw.ImageDraw, latest: tuple[int, int, int, int] | None) -> None:
    column = (RIGHT - TREND_LEFT) // 2
    for index, (name, colour, shape) in enumerate(SERIES):
        x = TREND_LEFT + (index % 2) * column
        y = LEGEND_Y + (index // 2) * LEGEND_ROW
        draw.line((x, y, x + 18, y), fill=colour, width=3)
        _draw_marker(draw, shape, x + 9, y, colour)
        label = name if latest is None else f"{name}: {latest[index]:,}"
        draw.text(
            (x + 26, y),
            fit(label, font(SMALL_SIZE), column - 34),
            font=font(SMALL_SIZE),
            fill=INK,
            anchor="lm",
        )


def _draw_trend(draw: ImageDraw.ImageDraw, chart: RecapChart) -> None:
    weeks = list(chart.trend)[-MAX_WEEKS:]
    heading = {0: "Weekly activity", 1: "This week"}.get(len(weeks), f"Last {len(weeks)} weeks")
    small = font(SMALL_SIZE)
    draw.text((TREND_LEFT, HEADING_Y), heading, font=small, fill=MUTED, anchor="ls")
    _draw_legend(draw, _values(weeks[-1]) if weeks else None)

    if not weeks:
        draw.line((PLOT_LEFT, PLOT_BOTTOM, PLOT_RIGHT, PLOT_BOTTOM), fill=MUTED, width=1)
        draw.text(
            ((PLOT_LEFT + PLOT_RIGHT) // 2, (PLOT_TOP + PLOT_BOTTOM) // 2),
            "No weeks to show yet",
            font=font(COUNT_SIZE),
            fill=MUTED,
            anchor="mm",
        )
        return
    ticks = axis_ticks(max(max(_values(week)) for week in weeks))
    top = ticks[-1]

    def y_of(value: int) -> int:
        share = min(max(value, 0), top) / top
        return round(PLOT_BOTTOM - share * (PLOT_BOTTOM - PLOT_TOP))

    for tick in ticks:
        y = y_of(tick)
        draw.line((PLOT_LEFT, y, PLOT_RIGHT, y), fill=RULE if tick else MUTED, width=1)
        draw.text((PLOT_LEFT - 8, y), compact(tick), font=small, fill=MUTED, anchor="rm")

    slot = (PLOT_RIGHT - PLOT_LEFT) / len(weeks)
    xs = [round(PLOT_LEFT + slot * (index + 0.5)) for index in range(len(weeks))]
    labels = [drawable(week.label) for week in weeks]
    widest = max(small.getlength(label) for label in labels)
    stride = 1
    while stride < len(weeks) and widest > slot * stride - 4 and stride * slot < 100:
        stride += 1
    # Label the newest week always, then every stride-th one back from it.
    for index in range(len(weeks) - 1, -1, -stride):
        text = fit(labels[index], small, slot * stride - 4)
        draw.text((xs[index], WEEK_LABEL_Y), text, font=small, fill=MUTED, anchor="ms")

    for series, (_, colour, shape) in enumerate(SERIES):
        points = [(x, y_of(_values(week)[series])) for x, week in zip(xs, weeks, strict=True)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=3, joint="curve")
        for x, y in points:
            _draw_marker(draw, shape, x, y, colour)


def draw_recap_chart(chart: RecapChart) -> bytes:
    """The recap as PNG bytes (``WIDTH`` x ``HEIGHT``); the same chart always gives the same
    bytes, so a re-posted recap is identical. Takes a few milliseconds and never raises for odd
    figures, since it is drawn unattended for a scheduled post."""
    image = _template().copy()
    draw = ImageDraw.Draw(image)
    _draw_header(draw, chart)
    _draw_funnel(draw, chart)
    _draw_trend(draw, chart)
    buffer = io.BytesIO()
    # Level 3 compresses these flat colours almost as well as the default, in half the time.
    image.save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()
