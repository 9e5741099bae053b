"""Sustained rates and backlog trends from (time, count) samples taken while a stream is fed.

"Sustained" is what a bot processes *while the stream is coming in*, leaving out the start
(connections warming up, first batches) and the tail: the window runs from the moment the bot had
received 10 % of the stream to the moment it had received 90 % (its heartbeats say how far it
has read), and the rate is what it processed within that window divided by its length. A bot
that only buffers while events pour in and stores them afterwards has a low sustained rate, as
it would under a stream that never ends.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

Samples = Sequence[tuple[float, float]]  # (time.monotonic(), cumulative count), in time order
LOW, HIGH = 0.10, 0.90


def crossing(samples: Samples, level: float) -> float | None:
    """When the count first reached ``level``, interpolated between the samples around it."""
    previous = None
    for moment, count in samples:
        if count >= level:
            if previous is None or previous[1] >= count:
                return moment
            (t0, c0), (t1, c1) = previous, (moment, count)
            return t0 + (t1 - t0) * (level - c0) / (c1 - c0)
        previous = (moment, count)
    return None


def value_at(samples: Samples, moment: float) -> float:
    """The count at ``moment``, interpolated (flat before the first and after the last sample)."""
    times = [t for t, _ in samples]
    index = bisect.bisect_right(times, moment)
    if index == 0:
        return samples[0][1] if samples else 0.0
    if index == len(samples):
        return samples[-1][1]
    (t0, c0), (t1, c1) = samples[index - 1], samples[index]
    return c0 + (c1 - c0) * (moment - t0) / (t1 - t0)


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    rate: float  # events processed per second between start and end
    arriving: float  # events received per second between start and end


def sustained(received: Samples, processed: Samples, total: int) -> Window | None:
    start, end = crossing(received, LOW * total), crossing(received, HIGH * total)
    if start is None or end is None or end <= start:
        return None
    done = value_at(processed, end) - value_at(processed, start)
    return Window(start, end, done / (end - start), (HIGH - LOW) * total / (end - start))


@dataclass(frozen=True)
class Backlog:
    """Events received but not yet processed, across the sustained window."""

    start: float
    middle: float
    end: float
    peak: float
    trend: float  # least-squares slope, events per second
    grows: bool


def backlog(received: Samples, processed: Samples, window: Window) -> Backlog:
    """The backlog at each processing sample in ``window``, and whether it trends upwards.

    It grows when the fitted trend adds more than one second's worth of arriving events across
    the window: a backlog that only swings with each one-second batch does not.
    """
    points = [
        (moment, value_at(received, moment) - count)
        for moment, count in processed
        if window.start <= moment <= window.end
    ]
    if len(points) < 3:
        points = [
            (moment, value_at(received, moment) - value_at(processed, moment))
            for moment in (window.start, (window.start + window.end) / 2, window.end)
        ]
    mean_t = sum(t for t, _ in points) / len(points)
    mean_b = sum(b for _, b in points) / len(points)
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    trend = sum((t - mean_t) * (b - mean_b) for t, b in points) / spread if spread else 0.0
    return Backlog(
        start=points[0][1],
        middle=value_at(points, (window.start + window.end) / 2),
        end=points[-1][1],
        peak=max(b for _, b in points),
        trend=trend,
        grows=trend * (window.end - window.start) > window.arriving * 1.0,
    )
