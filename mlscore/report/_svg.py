"""Small inline SVG charts (no JavaScript, no network, a few kB each).

Every chart is an ``<svg class="chart">`` string; all text is HTML-escaped.
Series colours come from the CSS classes ``s0``, ``s1`` … of the report.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

__all__ = ["Series", "grouped_bars", "line_chart", "nice_ticks"]

Series = tuple[str, Sequence[float]]
"""``(name, values)``: one value per category (NaN = no bar)."""


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering ``[lo, hi]``.

    Examples
    --------
    >>> nice_ticks(0, 1)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    >>> nice_ticks(-3, 7)
    [-4.0, -2.0, 0.0, 2.0, 4.0, 6.0, 8.0]
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        hi = lo + 1.0 if math.isfinite(lo) else 1.0
        lo = lo if math.isfinite(lo) else 0.0
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    v = start
    while v < hi + step * 0.5:
        ticks.append(round(v, 10) + 0.0)
        v += step
    if ticks[-1] < hi:
        ticks.append(round(v, 10) + 0.0)
    return ticks


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 100 or float(v).is_integer():
        return f"{v:.0f}"
    if abs(v) >= 1:
        return f"{v:.1f}".rstrip("0").rstrip(".")
    return f"{v:.3f}".rstrip("0").rstrip(".")


def _legend(names: Sequence[str], x: float, y: float, *, dashed_last: bool = False) -> str:
    parts = []
    cx = x
    for i, name in enumerate(names):
        if dashed_last and i == len(names) - 1:
            mark = _ln("ref", cx, y - 4, cx + 12, y - 4)
        else:
            mark = f'<rect class="s{i}" x="{cx:.1f}" y="{y - 9:.1f}" width="10" height="10"/>'
        parts.append(mark + f'<text x="{cx + 16:.1f}" y="{y:.1f}">{escape(name)}</text>')
        cx += 24 + 7 * len(name)
    return '<g class="legend">' + "".join(parts) + "</g>"


def _ln(cls: str, x1: float, y1: float, x2: float, y2: float) -> str:
    return f'<line class="{cls}" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>'


def _finite(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def grouped_bars(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str = "",
    x_title: str = "",
    y_title: str = "",
    horizontal: bool = False,
    width: int = 520,
    height: int | None = None,
    reference: float | None = None,
) -> str:
    """Grouped bar chart; values may be negative.

    Parameters
    ----------
    categories
        One label per group of bars.
    series
        ``(name, values)`` pairs, one value per category.
    horizontal
        Bars grow to the right and categories are listed top to bottom
        (readable for long labels).
    reference
        Draw a dashed line at this value (e.g. lift = 1).

    Examples
    --------
    >>> svg = grouped_bars(["a", "b<"], [("model", [1.0, 2.0])], title="t")
    >>> svg.startswith("<svg") and "b&lt;" in svg and svg.count("<rect class=\\"s0") == 2
    True
    """
    n_cat = len(categories)
    n_ser = max(len(series), 1)
    vals = [v for _, values in series for v in _finite(values)]
    lo, hi = min([0.0, *vals]), max([0.0, *vals])
    if reference is not None:
        hi = max(hi, reference)
    ticks = nice_ticks(lo, hi)
    t_lo, t_hi = ticks[0], ticks[-1]
    legend_h = 18 if len(series) > 1 else 0
    title_h = 20 if title else 0
    if horizontal:
        longest = max((len(c) for c in categories), default=4)
        left = min(8 + 6.2 * longest, width * 0.45)
        row_h = 12 + 9 * n_ser
        height = height or int(title_h + legend_h + 16 + n_cat * row_h + 34)
    else:
        left = 48.0
        height = height or 260
    right, top, bottom = 12, title_h + legend_h + 8, 34
    pw, ph = width - left - right, height - top - bottom
    out = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">'
    ]
    if title:
        out.append(f'<text class="title" x="{left:.1f}" y="14">{escape(title)}</text>')
    if len(series) > 1:
        out.append(_legend([s[0] for s in series], left, title_h + 14))

    def scale(v: float) -> float:
        frac = (v - t_lo) / (t_hi - t_lo)
        return left + frac * pw if horizontal else top + ph - frac * ph

    # grid and value axis
    for t in ticks:
        p = scale(t)
        if horizontal:
            out.append(_ln("grid", p, top, p, top + ph))
            out.append(
                f'<text class="tick" x="{p:.1f}" y="{top + ph + 14}" '
                f'text-anchor="middle">{_fmt(t)}</text>'
            )
        else:
            out.append(_ln("grid", left, p, left + pw, p))
            out.append(
                f'<text class="tick" x="{left - 5}" y="{p + 4:.1f}" '
                f'text-anchor="end">{_fmt(t)}</text>'
            )
    zero = scale(0.0)
    band = (ph if horizontal else pw) / max(n_cat, 1)
    bar = band * 0.8 / n_ser
    for ci, cat in enumerate(categories):
        start = (top if horizontal else left) + ci * band + band * 0.1
        for si, (name, values) in enumerate(series):
            v = float(values[ci]) if ci < len(values) and values[ci] is not None else math.nan
            if not math.isfinite(v):
                continue
            p = scale(v)
            tip = f"<title>{escape(name)} · {escape(cat)}: {_fmt(v)}</title>"
            if horizontal:
                x0, x1 = sorted((zero, p))
                out.append(
                    f'<rect class="s{si}" x="{x0:.1f}" y="{start + si * bar:.1f}" '
                    f'width="{max(x1 - x0, 0.5):.1f}" height="{bar * 0.92:.1f}">{tip}</rect>'
                )
            else:
                y0, y1 = sorted((zero, p))
                out.append(
                    f'<rect class="s{si}" x="{start + si * bar:.1f}" y="{y0:.1f}" '
                    f'width="{bar * 0.92:.1f}" height="{max(y1 - y0, 0.5):.1f}">{tip}</rect>'
                )
        mid = start + band * 0.4
        if horizontal:
            out.append(
                f'<text class="cat" x="{left - 5:.1f}" y="{mid + 4:.1f}" '
                f'text-anchor="end">{escape(cat)}</text>'
            )
        elif n_cat <= 12 or ci % max(1, n_cat // 10) == 0:
            out.append(
                f'<text class="cat" x="{mid:.1f}" y="{top + ph + 14}" '
                f'text-anchor="middle">{escape(cat)}</text>'
            )
    if reference is not None:
        r = scale(reference)
        if horizontal:
            out.append(_ln("ref", r, top, r, top + ph))
        else:
            out.append(_ln("ref", left, r, left + pw, r))
    if horizontal:
        out.append(_ln("axis", zero, top, zero, top + ph))
    else:
        out.append(_ln("axis", left, zero, left + pw, zero))
    if x_title:
        out.append(
            f'<text class="axis-title" x="{left + pw / 2:.1f}" y="{height - 4}" '
            f'text-anchor="middle">{escape(x_title)}</text>'
        )
    if y_title and not horizontal:
        out.append(
            f'<text class="axis-title" transform="translate(11 {top + ph / 2:.1f}) rotate(-90)" '
            f'text-anchor="middle">{escape(y_title)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def line_chart(
    series: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    *,
    title: str = "",
    x_title: str = "",
    y_title: str = "",
    diagonal: str | None = None,
    width: int = 520,
    height: int = 260,
) -> str:
    """Lines with markers through ``(x, y)`` points; optional ``y = x`` diagonal.

    Parameters
    ----------
    series
        ``(name, xs, ys)`` triples.
    diagonal
        Legend name of a dashed ``y = x`` line (calibration charts), or ``None``.

    Examples
    --------
    >>> svg = line_chart([("m", [0.1, 0.5], [0.2, 0.4])], diagonal="perfect")
    >>> svg.count("<circle") == 2 and 'class="ref"' in svg
    True
    """
    pts = [
        (float(x), float(y))
        for _, xs, ys in series
        for x, y in zip(xs, ys, strict=False)
        if math.isfinite(float(x)) and math.isfinite(float(y))
    ]
    hi = max([p for xy in pts for p in xy] + [1e-9])
    ticks = nice_ticks(0.0, hi)
    t_hi = ticks[-1]
    names = [s[0] for s in series] + ([diagonal] if diagonal else [])
    title_h = 20 if title else 0
    left, right, top, bottom = 48, 12, title_h + 26, 34
    pw, ph = width - left - right, height - top - bottom

    def sx(v: float) -> float:
        return left + v / t_hi * pw

    def sy(v: float) -> float:
        return top + ph - v / t_hi * ph

    out = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">'
    ]
    if title:
        out.append(f'<text class="title" x="{left}" y="14">{escape(title)}</text>')
    out.append(_legend(names, left, title_h + 14, dashed_last=bool(diagonal)))
    for t in ticks:
        out.append(_ln("grid", left, sy(t), left + pw, sy(t)))
        out.append(
            f'<text class="tick" x="{left - 5}" y="{sy(t) + 4:.1f}" '
            f'text-anchor="end">{_fmt(t)}</text>'
        )
        out.append(
            f'<text class="tick" x="{sx(t):.1f}" y="{top + ph + 14}" '
            f'text-anchor="middle">{_fmt(t)}</text>'
        )
    if diagonal:
        out.append(
            f'<line class="ref" x1="{sx(0):.1f}" y1="{sy(0):.1f}" '
            f'x2="{sx(t_hi):.1f}" y2="{sy(t_hi):.1f}"/>'
        )
    for si, (name, xs, ys) in enumerate(series):
        xy = [
            (float(x), float(y))
            for x, y in zip(xs, ys, strict=False)
            if math.isfinite(float(x)) and math.isfinite(float(y))
        ]
        if not xy:
            continue
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in xy)
        out.append(f'<polyline class="s{si}-line" points="{path}"/>')
        for x, y in xy:
            out.append(
                f'<circle class="s{si}" cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3.5">'
                f"<title>{escape(name)}: {_fmt(x)} → {_fmt(y)}</title></circle>"
            )
    out.append(_ln("axis", left, top + ph, left + pw, top + ph))
    if x_title:
        out.append(
            f'<text class="axis-title" x="{left + pw / 2:.1f}" y="{height - 4}" '
            f'text-anchor="middle">{escape(x_title)}</text>'
        )
    if y_title:
        out.append(
            f'<text class="axis-title" transform="translate(11 {top + ph / 2:.1f}) rotate(-90)" '
            f'text-anchor="middle">{escape(y_title)}</text>'
        )
    out.append("</svg>")
    return "".join(out)
