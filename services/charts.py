"""Chart geometry for server-rendered SVG (the flow dashboard): plain numbers the templates draw, no chart
library and nothing loaded from elsewhere. The viewBox is narrow (560 units) so that the text stays
readable when a phone scales the chart down to ~350 px."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import format_date

# Each colour has at least 3:1 contrast against the white background (WCAG 1.4.11, graphical objects); the
# segments of one bar are also set apart by a white gap, and the legend and the table name every status.
STATUS_COLOURS = {
    "succeeded": "#1f7a4d",
    "failed": "#c0392b",
    "needs_review": "#a64d00",
    "skipped": "#6b7280",
    "cancelled": "#374151",
    "pending": "#2563eb",
    "scheduled": "#7c3aed",
    "running": "#0e7490",
    "sending": "#a21caf",
}
OTHER_COLOUR = "#4b5563"
MEDIAN_COLOUR = "#1d4ed8"
P90_COLOUR = "#93a6d6"  # the p90 part of a bar sits next to the darker median part; its outline keeps 3:1
P90_OUTLINE = "#1d4ed8"

WIDTH = 560
LEFT, RIGHT, TOP, BOTTOM = 52, 8, 12, 30


def colour(status: str) -> str:
    return STATUS_COLOURS.get(status, OTHER_COLOUR)


def nice_max(value: float) -> int:
    """A round upper bound for an axis (1, 2, 5 × 10^k) at or above `value`."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


@dataclass
class Segment:
    status: str
    count: int
    y: float
    height: float
    colour: str


@dataclass
class Bar:
    day: date
    x: float
    width: float
    total: int
    segments: list[Segment] = field(default_factory=list)


@dataclass
class StackedBars:
    width: int
    height: int
    plot_top: int
    plot_bottom: int
    left: int
    right: int
    bars: list[Bar]
    ticks: list[tuple[float, int]]  # (y, value)
    labels: list[tuple[float, str, str]]  # (x, day, text-anchor) under some bars


def stacked_bars(days: list[date], counts: dict[date, dict[str, int]], statuses: list[str],
                 height: int = 240) -> StackedBars:
    """One bar per day, its statuses stacked bottom-up in `statuses` order, on a 0…nice-max axis."""
    bottom = height - BOTTOM
    plot_h = bottom - TOP
    top_value = nice_max(max((sum(counts.get(d, {}).values()) for d in days), default=0))
    slot = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    gap = min(2.0, slot * 0.2)
    bars = []
    for i, day in enumerate(days):
        per = counts.get(day, {})
        bar = Bar(day, LEFT + i * slot + gap / 2, slot - gap, sum(per.values()))
        y = bottom
        for status in statuses:
            n = per.get(status, 0)
            if n:
                h = n / top_value * plot_h
                y -= h
                bar.segments.append(Segment(status, n, round(y, 2), round(h, 2), colour(status)))
        bars.append(bar)
    ticks = [(round(bottom - f * plot_h, 2), int(top_value * f)) for f in (0, 0.5, 1) if top_value * f == int(top_value * f)]
    # Four or five dates under the axis, the last day always among them (room for phone-sized text).
    every = max(1, -(-len(days) // 4))
    labels = [(LEFT + i * slot + slot / 2, format_date(d, "d MMM"), "middle") for i, d in enumerate(days)
              if (len(days) - 1 - i) % every == 0]
    if labels:  # the last day's date ends at the plot's edge instead of running past it
        labels[-1] = (WIDTH - RIGHT, labels[-1][1], "end")
    return StackedBars(WIDTH, height, TOP, bottom, LEFT, RIGHT, bars, ticks, labels)


@dataclass
class DurationRow:
    label: str
    y: float
    median_w: float
    p90_w: float
    median: float
    p90: float


@dataclass
class DurationBars:
    width: int
    height: int
    left: int
    rows: list[DurationRow]
    scale_days: int


ROW = 42


def duration_bars(items: list[tuple[str, float, float]]) -> DurationBars:
    """A row per substate (label above its bar): the median as a dark bar, the p90 as a lighter bar that
    continues it; all on one scale in days."""
    longest = max((p90 for _label, _median, p90 in items), default=0) / 86400
    scale = nice_max(longest) if longest >= 1 else 1
    usable = WIDTH - 16
    rows = []
    for i, (label, median, p90) in enumerate(items):
        rows.append(DurationRow(label, 8 + i * ROW, round(median / 86400 / scale * usable, 2),
                                round(p90 / 86400 / scale * usable, 2), median, p90))
    return DurationBars(WIDTH, 8 + len(items) * ROW + 4, 8, rows, scale)
