"""Charts drawn on the server as SVG: no script, no library, allowed by the CSP (colours come
from classes in errorlogs.css, never a style attribute)."""

from datetime import datetime

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from errorlogs.selectors import PerMinute

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 24


def _n(value: float) -> str:
    """A coordinate (format_html escapes its arguments to text: numbers are formatted first)."""
    return f"{value:.1f}"


def _time(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


def stacked_bars(chart: PerMinute, *, title: str, labels: dict[str, str]) -> SafeString:
    """Reports per bucket, one colour per series (``labels``: how each series is named)."""
    columns = max(len(chart.buckets), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / columns
    peak = max(chart.peak, 1)
    parts: list[SafeString] = []
    for index, moment in enumerate(chart.buckets):
        y = float(TOP + plot_h)
        for number, series in enumerate(chart.series):
            count = series.counts[index]
            if not count:
                continue
            height = plot_h * count / peak
            y -= height
            parts.append(
                format_html(
                    '<rect class="el-s{}" x="{}" y="{}" width="{}" height="{}">'
                    "<title>{} {}: {}</title></rect>",
                    number,
                    _n(LEFT + index * step),
                    _n(y),
                    _n(max(step - 1, 0.5)),
                    _n(height),
                    _time(moment),
                    labels.get(series.label, series.label),
                    count,
                )
            )
    ticks = max(1, columns // 6)
    for index in range(0, columns, ticks):
        parts.append(
            format_html(
                '<text x="{}" y="{}">{}</text>',
                _n(LEFT + index * step),
                HEIGHT - 6,
                _time(chart.buckets[index]),
            )
        )
    return format_html(
        '<svg viewBox="0 0 {} {}" role="img" aria-label="{}">'
        '<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"></line>'
        '<text x="4" y="{}">{}</text><text x="4" y="{}">0</text>{}</svg>',
        WIDTH,
        HEIGHT,
        title,
        LEFT,
        TOP + plot_h,
        WIDTH - RIGHT,
        TOP + plot_h,
        TOP + 10,
        peak,
        TOP + plot_h,
        mark_safe("".join(parts)),  # noqa: S308 (each part was escaped by format_html)
    )


def legend(chart: PerMinute, *, labels: dict[str, str]) -> SafeString:
    return format_html(
        '<ul class="el-legend">{}</ul>',
        format_html_join(
            "",
            '<li><span class="el-swatch el-s{}"></span>{} ({})</li>',
            (
                (number, labels.get(s.label, s.label), s.total)
                for number, s in enumerate(chart.series)
            ),
        ),
    )
