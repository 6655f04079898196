"""Small server-side SVG charts: no JavaScript, no CDN, readable when printed.

Each function returns an SVG document as text with a title and a description for screen
readers; every label goes through XML escaping. Series are lists of (x, y) numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

PALETTE = ("#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c", "#0f766e", "#4b5563")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "10 4", "4 4")  # tell series apart in grey print


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    points: Sequence[tuple[float, float]]


def _scale(value: float, low: float, high: float, size: float) -> float:
    return 0.0 if high == low else (value - low) / (high - low) * size


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    step = (high - low) / count if high > low else 1.0
    return [low + step * i for i in range(count + 1)]


def line_chart(
    title: str,
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    x_format: str = "{:.0%}",
    y_format: str = "{:.0%}",
    diagonal: bool = False,
    width: int = 640,
    height: int = 360,
) -> str:
    """Lines with markers, a legend, axis ticks; `diagonal` draws y = x (calibration)."""
    left, right, top, bottom = 64, 170, 36, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    xs = [x for s in series for x, _ in s.points] or [0.0, 1.0]
    ys = [y for s in series for _, y in s.points] or [0.0, 1.0]
    x0, x1 = x_range or (min(xs), max(xs))
    y0, y1 = y_range or (min(0.0, min(ys)), max(ys) or 1.0)

    def px(x: float) -> float:
        return left + _scale(x, x0, x1, plot_w)

    def py(y: float) -> float:
        return top + plot_h - _scale(y, y0, y1, plot_h)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="t d" font-family="sans-serif" font-size="11">',
        f'<title id="t">{escape(title)}</title>',
        f'<desc id="d">{escape(y_label)} by {escape(x_label)}: '
        + escape("; ".join(s.name for s in series))
        + "</desc>",
        f'<text x="{left}" y="20" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" '
        'fill="none" stroke="#999"/>',
    ]
    for tick in _ticks(y0, y1):
        y = py(tick)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(y_format.format(tick))}</text>"
        )
    for tick in _ticks(x0, x1):
        x = px(tick)
        parts.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle">'
            f"{escape(x_format.format(tick))}</text>"
        )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
        f'<text transform="translate(14 {top + plot_h / 2}) rotate(-90)" text-anchor="middle">'
        f"{escape(y_label)}</text>"
    )
    if diagonal:
        parts.append(
            f'<line x1="{px(x0):.1f}" y1="{py(y0):.1f}" x2="{px(x1):.1f}" y2="{py(y1):.1f}" '
            f'stroke="#999" stroke-dasharray="3 3"/>'
        )
    for i, s in enumerate(series):
        color, dash = PALETTE[i % len(PALETTE)], DASHES[i % len(DASHES)]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in s.points)
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"{dashed}/>'
        )
        parts.extend(
            f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{color}"/>'
            for x, y in s.points
        )
        ly = top + 14 + i * 16
        parts.append(
            f'<line x1="{left + plot_w + 12}" x2="{left + plot_w + 32}" y1="{ly - 4}" '
            f'y2="{ly - 4}" stroke="{color}" stroke-width="2"{dashed}/>'
            f'<text x="{left + plot_w + 36}" y="{ly}">{escape(s.name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    title: str,
    bars: Sequence[tuple[str, float]],
    *,
    value_format: str = "${:,.0f}",
    width: int = 640,
    bar_height: int = 22,
) -> str:
    """Horizontal bars with their values written beside them."""
    left, right, top = 170, 90, 36
    height = top + bar_height * len(bars) + 16
    plot_w = width - left - right
    high = max((v for _, v in bars), default=0.0) or 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="bt" font-family="sans-serif" font-size="11">',
        f'<title id="bt">{escape(title)}</title>',
        f'<text x="8" y="20" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(bars):
        y = top + i * bar_height
        w = _scale(max(value, 0.0), 0.0, high, plot_w)
        parts.append(
            f'<text x="{left - 6}" y="{y + bar_height / 2 + 4:.1f}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{bar_height - 6}" '
            f'fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{left + w + 6:.1f}" y="{y + bar_height / 2 + 4:.1f}">'
            f"{escape(value_format.format(value))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def bars_and_line_chart(
    title: str,
    categories: Sequence[str],
    bars: Sequence[Series],
    line: Series | None = None,
    *,
    value_format: str = "${:,.0f}",
    line_format: str = "{:.0%}",
    line_range: tuple[float, float] = (0.0, 1.0),
    width: int = 760,
    height: int = 340,
) -> str:
    """Vertical grouped bars per category (y of each series' point i belongs to category i) and
    an optional line on a right-hand axis, e.g. dollars denied and recovered with the rate.

    Bars differ by fill and outline, the line is dashed with markers: all tell apart in grey.
    """
    left, right, top, bottom = 72, 64, 52, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [y for s in bars for _, y in s.points]
    high = max(values, default=0.0) or 1.0
    slot = plot_w / max(len(categories), 1)
    bar_w = max(2.0, slot * 0.8 / max(len(bars), 1))
    fills = ("#dbeafe", "#1e3a8a", "#9ca3af", "#047857")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="ct cd" font-family="sans-serif" font-size="11">',
        f'<title id="ct">{escape(title)}</title>',
        f'<desc id="cd">{escape(", ".join(s.name for s in bars))}'
        + (f"; {escape(line.name)}" if line else "")
        + f" for {len(categories)} periods</desc>",
        f'<text x="{left}" y="18" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" '
        'fill="none" stroke="#999"/>',
    ]
    for tick in _ticks(0.0, high, 4):
        y = top + plot_h - _scale(tick, 0.0, high, plot_h)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(value_format.format(tick))}</text>"
        )
    if line is not None:
        low, top_value = line_range
        for tick in _ticks(low, top_value, 4):
            y = top + plot_h - _scale(tick, low, top_value, plot_h)
            parts.append(
                f'<text x="{left + plot_w + 6}" y="{y + 4:.1f}">'
                f"{escape(line_format.format(tick))}</text>"
            )
    every = max(1, len(categories) // 12)  # at most a dozen x labels
    for i, name in enumerate(categories):
        x = left + slot * i + slot * 0.1
        for j, s in enumerate(bars):
            value = s.points[i][1] if i < len(s.points) else 0.0
            h = _scale(max(value, 0.0), 0.0, high, plot_h)
            parts.append(
                f'<rect x="{x + j * bar_w:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{fills[j % len(fills)]}" stroke="#1e3a8a" '
                f'stroke-width="0.8"><title>{escape(name)} {escape(s.name)}: '
                f"{escape(value_format.format(value))}</title></rect>"
            )
        if i % every == 0:
            parts.append(
                f'<text x="{left + slot * (i + 0.5):.1f}" y="{top + plot_h + 16}" '
                f'text-anchor="middle">{escape(name)}</text>'
            )
    if line is not None and line.points:
        low, top_value = line_range
        coords = [
            (
                left + slot * (i + 0.5),
                top + plot_h - _scale(min(max(y, low), top_value), low, top_value, plot_h),
            )
            for i, (_, y) in enumerate(line.points)
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="#b45309" stroke-width="2" '
            f'stroke-dasharray="6 3"/>'
        )
        parts.extend(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#fff" stroke="#b45309" '
            'stroke-width="2"/>'
            for x, y in coords
        )
    legend_x = left
    for j, s in enumerate(bars):
        parts.append(
            f'<rect x="{legend_x}" y="28" width="12" height="10" fill="{fills[j % len(fills)]}" '
            f'stroke="#1e3a8a" stroke-width="0.8"/>'
            f'<text x="{legend_x + 16}" y="37">{escape(s.name)}</text>'
        )
        legend_x += 28 + 7 * len(s.name)
    if line is not None:
        parts.append(
            f'<line x1="{legend_x}" x2="{legend_x + 22}" y1="33" y2="33" stroke="#b45309" '
            f'stroke-width="2" stroke-dasharray="6 3"/>'
            f'<text x="{legend_x + 26}" y="37">{escape(line.name)} (right axis)</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
