"""Charts drawn on the server as SVG: no script, nothing from elsewhere, CSP-clean.

Each chart is a picture of a table printed beside it, which carries the same figures for
screen readers and for anyone who prefers numbers. A suppressed figure is drawn as a gap in
a line or as an empty bar marked with what the table says ("<5", "·"), never as a value.
Colours are Okabe and Ito's palette, told apart by dashes as well.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from influence_reports.dashboard import Amount

COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "10 4", "4 4")
WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 36


def _nice_top(value: int) -> int:
    step = 1
    while step * 10 < value:
        step *= 10
    for factor in (1, 2, 5, 10):
        if value <= step * factor:
            return step * factor
    return value  # pragma: no cover - the loop above always returns


def _runs(indices: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive indices as (first, last) runs."""
    runs: list[tuple[int, int]] = []
    for index in sorted(indices):
        if runs and index == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return runs


def line_chart(
    *,
    title: str,
    labels: Sequence[str],
    lines: Sequence[tuple[str, Sequence[Amount]]],
    shaded: Sequence[int] = (),
    shaded_label: str = "",
) -> SafeString:
    """A line per series over the labels (weeks or quarters); shaded columns mark election
    periods. Exact figures only are drawn; a suppressed one breaks the line."""
    count = max(len(labels), 1)
    top = _nice_top(
        max([value.low for _name, values in lines for value in values if value.exact] or [1])
    )
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(count - 1, 1)

    def x(index: int) -> float:
        if count == 1:
            return LEFT + plot_w / 2  # a single point in the middle, not at the edge
        return LEFT + index * step

    def y(value: int) -> float:
        return TOP + plot_h - plot_h * value / top

    parts: list[SafeString] = []
    for first, last in _runs(shaded):  # one band for each run of weeks, without seams
        left = max(LEFT, x(first) - step / 2)
        right = min(WIDTH - RIGHT, x(last) + step / 2)
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="#e9e3f5"/>',
                f"{left:.1f}",
                TOP,
                f"{max(right - left, 1):.1f}",
                plot_h,
            )
        )
    # Whole numbers, evenly spaced: 0 to 5 by 1, 0 to 20 by 4, 0 to 50 by 10, ...
    ticks = next((n for n in (5, 4, 2) if top % n == 0), 1)
    for tick in range(ticks + 1):
        level = top * tick // ticks
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#c9ced6"/>'
                '<text x="{}" y="{}" text-anchor="end" font-size="11" fill="#333">{}</text>',
                LEFT,
                WIDTH - RIGHT,
                f"{y(level):.1f}",
                f"{y(level):.1f}",
                LEFT - 6,
                f"{y(level) + 4:.1f}",
                level,
            )
        )
    # About eight labels, and the last one, ending at the right edge; a label too close to
    # the last (less than a label's width and a half: 80 units) is left out.
    every = max(1, count // 8)
    last = count - 1
    for index, label in enumerate(labels):
        if index == last or (index % every == 0 and (last - index) * step >= 80):
            parts.append(
                format_html(
                    '<text x="{}" y="{}" text-anchor="{}" font-size="11" fill="#333">{}</text>',
                    f"{x(index):.1f}",
                    HEIGHT - BOTTOM + 16,
                    "end" if index == last and last else "middle",
                    label,
                )
            )
    for number, (_name, values) in enumerate(lines):
        colour, dash = COLOURS[number % len(COLOURS)], DASHES[number % len(DASHES)]
        segment: list[str] = []
        segments: list[list[str]] = []
        for index, value in enumerate(values):
            if value.exact:
                segment.append(f"{x(index):.1f},{y(value.low):.1f}")
            elif segment:
                segments.append(segment)
                segment = []
        if segment:
            segments.append(segment)
        for points in segments:
            if len(points) == 1:
                cx, cy = points[0].split(",")
                parts.append(
                    format_html('<circle cx="{}" cy="{}" r="2" fill="{}"/>', cx, cy, colour)
                )
            else:
                parts.append(
                    format_html(
                        '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"'
                        ' stroke-dasharray="{}"/>',
                        " ".join(points),
                        colour,
                        dash or "none",
                    )
                )
    legend = format_html_join(
        "",
        '<li><svg width="28" height="10" aria-hidden="true" focusable="false">'
        '<line x1="0" x2="28" y1="5" y2="5" stroke="{}" stroke-width="3" stroke-dasharray="{}"/>'
        "</svg> {}</li>",
        (
            (COLOURS[i % len(COLOURS)], DASHES[i % len(DASHES)] or "none", name)
            for i, (name, _values) in enumerate(lines)
        ),
    )
    if shaded and shaded_label:
        legend = format_html(
            '{}<li><svg width="28" height="10" aria-hidden="true" focusable="false">'
            '<rect width="28" height="10" fill="#e9e3f5"/></svg> {}</li>',
            legend,
            shaded_label,
        )
    return format_html(
        '<figure class="chart"><svg viewBox="0 0 {} {}" role="img" aria-label="{}"'
        ' preserveAspectRatio="xMidYMid meet"><title>{}</title>{}</svg>'
        '<ul class="legend">{}</ul></figure>',
        WIDTH,
        HEIGHT,
        title,
        title,
        format_html_join("", "{}", ((part,) for part in parts)),
        legend,
    )


def bar_chart(*, title: str, rows: Sequence[tuple[str, Amount]]) -> SafeString:
    """Horizontal bars, one a row. A range (a sum including a suppressed figure) is drawn
    pale up to its lower end and outlined up to its upper end (if it has one); a single
    suppressed figure gets no bar, only its mark."""
    bar_h, gap = 16, 6
    # Room for the longest label (about 7 units a character at this size), so none is cut.
    label_w = min(400, max(230, 8 + 7 * max((len(label) for label, _v in rows), default=0)))
    height = TOP + len(rows) * (bar_h + gap) + 4
    top = _nice_top(
        max(
            [v.low for _l, v in rows if v.known]
            + [v.high for _l, v in rows if v.known and v.high is not None and not v.mark]
            or [1]
        )
    )
    width = WIDTH - label_w - 60
    parts: list[SafeString] = []
    for index, (label, value) in enumerate(rows):
        row_y = TOP + index * (bar_h + gap)
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="end" font-size="12" fill="#1b1b1b">{}</text>',
                label_w - 8,
                row_y + bar_h - 4,
                label,
            )
        )
        ranged = value.known and not value.exact and not value.mark
        length = width * value.low / top if (value.exact or ranged) else 0
        if length:
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>',
                    label_w,
                    row_y,
                    f"{length:.1f}",
                    bar_h,
                    COLOURS[0] if value.exact else "#9cc3e3",
                )
            )
        if ranged and value.high is not None and value.high > value.low:
            upper = width * (value.high - value.low) / top
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="{}"'
                    ' stroke-dasharray="3 2"/>',
                    f"{label_w + length:.1f}",
                    row_y + 0.5,
                    f"{upper:.1f}",
                    bar_h - 1,
                    COLOURS[0],
                )
            )
            length += upper
        parts.append(
            format_html(
                '<text x="{}" y="{}" font-size="12" fill="#1b1b1b">{}</text>',
                f"{label_w + length + 6:.1f}",
                row_y + bar_h - 4,
                str(value),
            )
        )
    return format_html(
        '<figure class="chart"><svg viewBox="0 0 {} {}" role="img" aria-label="{}"'
        ' preserveAspectRatio="xMidYMid meet"><title>{}</title>{}</svg></figure>',
        WIDTH,
        height,
        title,
        title,
        format_html_join("", "{}", ((part,) for part in parts)),
    )
