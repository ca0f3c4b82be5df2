"""Inline SVG charts (rating histogram, price history) built from numbers, labels escaped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from markupsafe import Markup, escape

# Colour-blind-safe line colours (Okabe-Ito), dark enough for 3:1 contrast on white.
SERIES_COLOURS = ("#0b5cad", "#b35900", "#007a5a", "#a3307a", "#5b4ea3", "#6b6b00")
BAR_COLOUR = "#a86400"
INK = "#1d2327"
GRID = "#d5dbe0"


def _n(value: float) -> str:
    """A coordinate: always a plain finite number, so no text ever reaches an attribute."""
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"not a finite coordinate: {value!r}")
    return f"{number:.1f}"


def rating_histogram_svg(histogram: Mapping[int, int], title: str) -> Markup | None:
    """Horizontal bars for 5..1 stars with their counts; None when there are no ratings."""
    counts = {star: max(int(histogram.get(star, 0) or 0), 0) for star in range(1, 6)}
    total = sum(counts.values())
    if total == 0:
        return None
    width, row, label_w, count_w = 380, 24, 54, 110
    bar_max = width - label_w - count_w
    biggest = max(counts.values())
    parts = [
        f'<svg class="chart histogram" viewBox="0 0 {width} {row * 5 + 4}" width="{width}"'
        f' height="{row * 5 + 4}" role="img" aria-labelledby="hist-title">',
        f'<title id="hist-title">{escape(title)}</title>',
    ]
    for i, star in enumerate(range(5, 0, -1)):
        y = i * row + 2
        bar = bar_max * counts[star] / biggest
        share = round(100 * counts[star] / total)
        parts.append(
            f'<text x="0" y="{_n(y + 16)}" fill="{INK}" font-size="13">{star} star</text>'
            f'<rect x="{label_w}" y="{_n(y + 4)}" width="{_n(bar_max)}" height="16" fill="{GRID}"/>'
            f'<rect x="{label_w}" y="{_n(y + 4)}" width="{_n(bar)}" height="16"'
            f' fill="{BAR_COLOUR}"/>'
            f'<text x="{_n(width - count_w + 6)}" y="{_n(y + 16)}" fill="{INK}" font-size="13">'
            f"{counts[star]:,} ({share}%)</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def price_history_svg(
    series: Mapping[str, Sequence[tuple[datetime, Decimal]]],
    title: str,
    money: callable,  # type: ignore[valid-type]
) -> Markup | None:
    """One line per store over time, y axis from the lowest to the highest price seen.

    ``money`` formats an axis label (the site's ``money`` filter, currency bound). None when
    fewer than two snapshots exist in all, since one point is no history.
    """
    points = [(t, p) for line in series.values() for t, p in line if p is not None]
    if len(points) < 2:
        return None
    width, height, left, right, top, bottom = 560, 230, 72, 12, 12, 52
    times = [t.timestamp() for t, _ in points]
    prices = [float(p) for _, p in points]
    t0, t1 = min(times), max(times)
    low, high = min(prices), max(prices)
    if high == low:
        low, high = low * 0.95, high * 1.05 or 1.0
    span_t = (t1 - t0) or 1.0

    def x(moment: datetime) -> float:
        return left + (width - left - right) * (moment.timestamp() - t0) / span_t

    def y(price: Decimal) -> float:
        return top + (height - top - bottom) * (1 - (float(price) - low) / (high - low))

    parts = [
        f'<svg class="chart price-history" viewBox="0 0 {width} {height}" role="img"'
        f' aria-labelledby="price-title" preserveAspectRatio="xMinYMin meet">',
        f'<title id="price-title">{escape(title)}</title>',
    ]
    for price in (Decimal(str(high)), Decimal(str(low))):
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_n(y(price))}" y2="{_n(y(price))}"'
            f' stroke="{GRID}"/>'
            f'<text x="{left - 6}" y="{_n(y(price) + 4)}" text-anchor="end" fill="{INK}"'
            f' font-size="12">{escape(money(price.quantize(Decimal("0.01"))))}</text>'
        )
    first, last = min(t for t, _ in points), max(t for t, _ in points)
    for moment, anchor in ((first, "start"), (last, "end")):
        parts.append(
            f'<text x="{_n(x(moment))}" y="{height - bottom + 18}" text-anchor="{anchor}" fill="{INK}"'
            f' font-size="12">{escape(moment.strftime("%Y-%m-%d"))}</text>'
        )
    legend_x = left
    for i, (store, line) in enumerate(sorted(series.items())):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        line = sorted((t, p) for t, p in line if p is not None)
        if not line:
            continue
        coords = " ".join(f"{_n(x(t))},{_n(y(p))}" for t, p in line)
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2.5"/>'
        )
        parts.extend(
            f'<circle cx="{_n(x(t))}" cy="{_n(y(p))}" r="3" fill="{colour}"/>' for t, p in line
        )
        parts.append(
            f'<rect x="{_n(legend_x)}" y="{height - 12}" width="10" height="3" fill="{colour}"/>'
        )
        # Legend names are store text: escaped, and clipped to the chart by their position only.
        parts.append(
            f'<text x="{_n(legend_x + 14)}" y="{height - 6}" fill="{INK}" font-size="11">'
            f"{escape(store[:24])}</text>"
        )
        legend_x += 14 + 7 * min(len(store), 24) + 16
    parts.append("</svg>")
    return Markup("".join(parts))
