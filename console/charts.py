"""Chart geometry for the dashboard, drawn as inline SVG by the template (no script, no CDN).

The server computes every rectangle, so the chart works with the page's strict content
security policy and prints as it looks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from console.rendering import fa, intent_label
from persian import to_jalali
from services.dashboard import DayIntents

WIDTH = 720
HEIGHT = 260
PAD_LEFT = 48  # room for the fallback-rate axis (0–100 %) on the left
PAD_RIGHT = 48  # room for the axis figures on the right (the page reads right to left)
PAD_TOP = 16
PAD_BOTTOM = 40


@dataclass(frozen=True, slots=True)
class DayBar:
    x: float
    width: float
    understood_y: float
    understood_h: float
    fallback_y: float
    fallback_h: float
    label: str
    title: str


@dataclass(frozen=True, slots=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True, slots=True)
class MessagesChart:
    width: int
    height: int
    baseline: float
    left: float
    right: float
    bars: tuple[DayBar, ...]
    ticks: tuple[Tick, ...]
    rate_ticks: tuple[Tick, ...]
    empty: bool
    # The fallback-rate line as SVG polyline points, one string per run of days with messages:
    # a day without messages has no rate, so the line breaks there instead of dropping to 0 %.
    rate_lines: tuple[str, ...]
    # Days with a rate but no neighbour to draw a line to (a lone point of a polyline is
    # invisible), as (x, y) dots.
    rate_dots: tuple[tuple[float, float], ...]


def _nice_step(value: int, divisions: int = 4) -> int:
    """An axis step of 1, 2 or 5 × 10ⁿ that covers ``value`` in about ``divisions`` steps."""
    raw = max(value / divisions, 1)
    magnitude: int = 10 ** int(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def messages_chart(days: Sequence[DayIntents]) -> MessagesChart:
    """Stacked bars per day (understood below, not understood above) and the fallback rate."""
    most = max((d.total for d in days), default=0)
    step = _nice_step(most)
    top = step * max(math.ceil(most / step), 1)
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    baseline = PAD_TOP + plot_h
    slot = plot_w / max(len(days), 1)
    bars = []
    runs: list[list[tuple[float, float]]] = [[]]
    # Oldest day on the right: the page reads right to left.
    for i, day in enumerate(days):
        x = WIDTH - PAD_RIGHT - (i + 1) * slot + slot * 0.15
        understood = day.total - day.fallback
        understood_h = plot_h * understood / top
        fallback_h = plot_h * day.fallback / top
        _, month, dom = to_jalali(day.day)
        bars.append(
            DayBar(
                x=round(x, 1),
                width=round(slot * 0.7, 1),
                understood_y=round(baseline - understood_h, 1),
                understood_h=round(understood_h, 1),
                fallback_y=round(baseline - understood_h - fallback_h, 1),
                fallback_h=round(fallback_h, 1),
                label=fa(f"{month}/{dom}"),
                title=fa(f"{day.total} / {day.fallback}"),
            )
        )
        if day.total == 0:
            if runs[-1]:
                runs.append([])
            continue
        rate_y = baseline - plot_h * day.fallback_rate
        runs[-1].append((round(x + slot * 0.35, 1), round(rate_y, 1)))
    ticks = tuple(
        Tick(round(baseline - plot_h * value / top, 1), fa(value))
        for value in range(0, top + 1, step)
    )
    return MessagesChart(
        width=WIDTH,
        height=HEIGHT,
        baseline=baseline,
        left=PAD_LEFT,
        right=WIDTH - PAD_RIGHT,
        bars=tuple(bars),
        ticks=ticks,
        rate_ticks=tuple(
            Tick(round(baseline - plot_h * share, 1), fa(int(share * 100)) + "٪")
            for share in (0.0, 0.5, 1.0)
        ),
        empty=all(d.total == 0 for d in days),
        rate_lines=tuple(" ".join(f"{x},{y}" for x, y in run) for run in runs if len(run) > 1),
        rate_dots=tuple(run[0] for run in runs if len(run) == 1),
    )


INTENT_WIDTH = 600
INTENT_ROW = 28
INTENT_LABEL_W = 170
INTENT_COUNT_W = 60


@dataclass(frozen=True, slots=True)
class IntentBar:
    label: str
    count: str
    y: float
    bar_x: float
    bar_w: float
    label_x: float
    count_x: float


@dataclass(frozen=True, slots=True)
class IntentChart:
    width: int
    height: int
    bars: tuple[IntentBar, ...]


def intent_bars(totals: Sequence[tuple[str, int]], limit: int = 10) -> IntentChart:
    """The most asked intents as horizontal bars growing leftwards from their labels."""
    shown = list(totals)[:limit]
    most = max((n for _, n in shown), default=0) or 1
    right = INTENT_WIDTH - INTENT_LABEL_W
    room = right - INTENT_COUNT_W
    bars = []
    for i, (name, n) in enumerate(shown):
        width = max(room * n / most, 1.0)
        bars.append(
            IntentBar(
                label=intent_label(name),
                count=fa(n),
                y=i * INTENT_ROW + 4,
                bar_x=round(right - width, 1),
                bar_w=round(width, 1),
                label_x=INTENT_WIDTH - 4,
                count_x=round(right - width - 6, 1),
            )
        )
    return IntentChart(INTENT_WIDTH, max(len(shown), 1) * INTENT_ROW + 8, tuple(bars))
