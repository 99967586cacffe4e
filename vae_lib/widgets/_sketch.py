"""Private: small line-and-bar plots drawn as inline SVG, or once as a matplotlib figure.

Widgets on the static site store a picture for every slider setting. Rendering dozens of
matplotlib PNGs costs about a second each on a busy 2-core machine; writing the same simple
plot as SVG text costs a millisecond and a few kilobytes. A :class:`Sketch` records what to
draw, panel by panel, in data coordinates; :meth:`Sketch.svg` writes it as SVG for the
precomputed pictures and :meth:`Sketch.figure` draws the same with matplotlib, once, for the
PNG that PDF builds show instead of the widget.

>>> panel = Panel(x_range=(0, 1), y_range=(0, 1), title="a line")
>>> panel.line([0, 1], [0, 1], "black")
>>> svg = Sketch([panel]).svg()
>>> svg.startswith("<svg") and "a line" in svg
True
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

FONT = 'font-family="sans-serif"'
MARGIN = {"left": 52, "right": 14, "top": 26, "bottom": 44}  # pixels around each panel's plotting area
PIXELS_PER_INCH = 80  # the matplotlib version has the same proportions at this resolution


@dataclass
class Panel:
    """One set of axes: ranges, labels, ticks and the marks to draw (all in data coordinates)."""

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    xticks: Sequence[tuple[float, str]] = ()
    yticks: Sequence[tuple[float, str]] = ()
    legend: list[tuple[str, str, bool]] = field(default_factory=list)  # (label, colour, dashed)
    legend_corner: str = "left"  # "left" or "right": the upper corner the legend sits in
    marks: list[tuple] = field(default_factory=list)

    def line(self, xs: Sequence[float], ys: Sequence[float], colour: str, width: float = 2.0,
             dashed: bool = False, label: str | None = None) -> None:
        """A polyline through the points (y clamped to the panel)."""
        self.marks.append(("line", [float(v) for v in xs], [float(v) for v in ys], colour, width, dashed))
        if label:
            self.legend.append((label, colour, dashed))

    def bars(self, lefts: Sequence[float], width: float, heights: Sequence[float], colour: str) -> None:
        """Vertical bars from y = 0."""
        self.marks.append(("bars", [float(v) for v in lefts], float(width), [float(v) for v in heights], colour))

    def text(self, x: float, y: float, words: str, colour: str = "black", size: int = 10,
             anchor: str = "middle") -> None:
        """Text at a data position; ``anchor`` is ``"start"``, ``"middle"`` or ``"end"``."""
        self.marks.append(("text", float(x), float(y), words, colour, size, anchor))

    def arrow(self, start: tuple[float, float], end: tuple[float, float], colour: str) -> None:
        """A straight arrow from ``start`` to ``end``."""
        self.marks.append(("arrow", start, end, colour))

    def down_marker(self, x: float, y: float, colour: str) -> None:
        """A ▼ at (x, y): "the value is below the axis"."""
        self.marks.append(("down", float(x), float(y), colour))


class Sketch:
    """Panels side by side, each ``panel_width`` × ``height`` pixels."""

    def __init__(self, panels: Sequence[Panel], panel_width: int = 300, height: int = 240):
        self.panels = list(panels)
        self.panel_width, self.height = panel_width, height

    # ----------------------------------------------------------------- SVG

    def svg(self) -> str:
        """The picture as an ``<svg>`` element (a few kilobytes)."""
        width = self.panel_width * len(self.panels)
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{self.height}" '
                 f'viewBox="0 0 {width} {self.height}" style="max-width:100%;height:auto;background:white">']
        for index, panel in enumerate(self.panels):
            parts.append(f'<g transform="translate({index * self.panel_width},0)">')
            parts.extend(_SvgPanel(panel, self.panel_width, self.height).parts())
            parts.append("</g>")
        parts.append("</svg>")
        return "".join(parts)

    # ----------------------------------------------------------------- matplotlib

    def figure(self) -> Figure:
        """The same picture drawn with matplotlib (for the PNG fallback)."""
        width = self.panel_width * len(self.panels) / PIXELS_PER_INCH
        fig, axes = plt.subplots(1, len(self.panels), figsize=(width, self.height / PIXELS_PER_INCH),
                                 layout="constrained", squeeze=False)
        for ax, panel in zip(axes[0], self.panels):
            _draw_with_matplotlib(ax, panel)
        return fig


class _SvgPanel:
    """Coordinates and elements of one panel in SVG."""

    def __init__(self, panel: Panel, width: int, height: int):
        self.panel = panel
        self.left, self.right = MARGIN["left"], width - MARGIN["right"]
        self.top, self.bottom = MARGIN["top"], height - MARGIN["bottom"]

    def x(self, value: float) -> float:
        """Pixel column of ``value``, clamped to the panel."""
        low, high = self.panel.x_range
        column = self.left + (value - low) / (high - low) * (self.right - self.left)
        return min(max(column, self.left), self.right)

    def y(self, value: float) -> float:
        """Pixel row of ``value``, clamped to the panel (no clip paths: their ids would clash on a page)."""
        low, high = self.panel.y_range
        row = self.bottom - (value - low) / (high - low) * (self.bottom - self.top)
        return min(max(row, self.top), self.bottom)

    def parts(self) -> list[str]:
        # The title first: it names the setting, so pictures differ from their first characters on.
        return [self._title()] + [self._mark(mark) for mark in self.panel.marks] + self._axes() + self._legend()

    def _title(self) -> str:
        middle = (self.left + self.right) / 2
        return (f'<text x="{middle:.1f}" y="{self.top - 9}" {FONT} font-size="11" '
                f'text-anchor="middle">{html.escape(self.panel.title)}</text>')

    def _mark(self, mark: tuple) -> str:
        kind = mark[0]
        if kind == "line":
            _, xs, ys, colour, width, dashed = mark
            points = " ".join(f"{self.x(a):.1f},{self.y(b):.1f}" for a, b in zip(xs, ys))
            dash = ' stroke-dasharray="6,4"' if dashed else ""
            return f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="{width}"{dash}/>'
        if kind == "bars":
            _, lefts, width, heights, colour = mark
            rects = [f'<rect x="{self.x(a):.1f}" y="{self.y(h):.1f}" width="{self.x(a + width) - self.x(a):.1f}" '
                     f'height="{self.y(0) - self.y(h):.1f}"/>' for a, h in zip(lefts, heights) if h > 0]
            return f'<g fill="{colour}" fill-opacity="0.7">{"".join(rects)}</g>'
        if kind == "text":
            _, x, y, words, colour, size, anchor = mark
            return (f'<text x="{self.x(x):.1f}" y="{self.y(y):.1f}" {FONT} font-size="{size}" fill="{colour}" '
                    f'text-anchor="{anchor}">{html.escape(words)}</text>')
        if kind == "arrow":
            _, (x0, y0), (x1, y1), colour = mark
            return (f'<line x1="{self.x(x0):.1f}" y1="{self.y(y0):.1f}" x2="{self.x(x1):.1f}" y2="{self.y(y1):.1f}" '
                    f'stroke="{colour}" stroke-width="1.5"/>' + self._arrow_head(x0, y0, x1, y1, colour))
        _, x, y, colour = mark  # "down"
        cx, cy = self.x(x), self.y(y)
        return f'<path d="M{cx - 6:.1f} {cy - 10:.1f}H{cx + 6:.1f}L{cx:.1f} {cy:.1f}Z" fill="{colour}"/>'

    def _arrow_head(self, x0: float, y0: float, x1: float, y1: float, colour: str) -> str:
        ax, ay, bx, by = self.x(x0), self.y(y0), self.x(x1), self.y(y1)
        length = max(((bx - ax) ** 2 + (by - ay) ** 2) ** 0.5, 1e-9)
        ux, uy = (bx - ax) / length, (by - ay) / length
        left = (bx - 8 * ux - 4 * uy, by - 8 * uy + 4 * ux)
        right = (bx - 8 * ux + 4 * uy, by - 8 * uy - 4 * ux)
        return (f'<path d="M{bx:.1f} {by:.1f}L{left[0]:.1f} {left[1]:.1f}L{right[0]:.1f} {right[1]:.1f}Z" '
                f'fill="{colour}"/>')

    def _axes(self) -> list[str]:
        panel, parts = self.panel, []
        parts.append(f'<path d="M{self.left} {self.top}V{self.bottom}H{self.right}" fill="none" stroke="#444"/>')
        for value, label in panel.xticks:
            x = self.x(value)
            parts.append(f'<path d="M{x:.1f} {self.bottom}v4" stroke="#444"/>')
            for line_number, line in enumerate(label.split("\n")):
                parts.append(f'<text x="{x:.1f}" y="{self.bottom + 15 + 11 * line_number}" {FONT} font-size="10" '
                             f'text-anchor="middle">{html.escape(line)}</text>')
        for value, label in panel.yticks:
            y = self.y(value)
            parts.append(f'<path d="M{self.left} {y:.1f}h-4" stroke="#444"/>'
                         f'<text x="{self.left - 6}" y="{y + 3.5:.1f}" {FONT} font-size="10" '
                         f'text-anchor="end">{html.escape(label)}</text>')
        middle = (self.left + self.right) / 2
        if panel.xlabel:
            parts.append(f'<text x="{middle:.1f}" y="{self.bottom + 38}" {FONT} font-size="11" '
                         f'text-anchor="middle">{html.escape(panel.xlabel)}</text>')
        if panel.ylabel:
            centre = (self.top + self.bottom) / 2
            parts.append(f'<text transform="translate(13,{centre:.1f}) rotate(-90)" {FONT} font-size="11" '
                         f'text-anchor="middle">{html.escape(panel.ylabel)}</text>')
        return parts

    def _legend(self) -> list[str]:
        parts = []
        start = self.left + 8 if self.panel.legend_corner == "left" else self.right - 120
        for number, (label, colour, dashed) in enumerate(self.panel.legend):
            y = self.top + 10 + 14 * number
            dash = ' stroke-dasharray="5,3"' if dashed else ""
            parts.append(f'<path d="M{start} {y}h18" stroke="{colour}" stroke-width="2"{dash}/>'
                         f'<text x="{start + 22}" y="{y + 3.5}" {FONT} font-size="10">{html.escape(label)}</text>')
        return parts


def _draw_with_matplotlib(ax, panel: Panel) -> None:
    for mark in panel.marks:
        kind = mark[0]
        if kind == "line":
            _, xs, ys, colour, width, dashed = mark
            ax.plot(xs, ys, "--" if dashed else "-", color=colour, lw=width)
        elif kind == "bars":
            _, lefts, width, heights, colour = mark
            ax.bar(lefts, heights, width=width, align="edge", color=colour, alpha=0.7)
        elif kind == "text":
            _, x, y, words, colour, size, anchor = mark
            ha = {"start": "left", "middle": "center", "end": "right"}[anchor]
            ax.text(x, y, words, color=colour, fontsize=size * 0.8, ha=ha)
        elif kind == "arrow":
            _, start, end, colour = mark
            ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "->", "color": colour, "lw": 1.5})
        else:
            _, x, y, colour = mark
            ax.plot(x, y, "v", color=colour, ms=8)
    for label, colour, dashed in panel.legend:
        ax.plot([], [], "--" if dashed else "-", color=colour, lw=2, label=label)
    if panel.legend:
        ax.legend(frameon=False, fontsize=7, loc=f"upper {panel.legend_corner}")
    ax.set_xlim(*panel.x_range)
    ax.set_ylim(*panel.y_range)
    ax.set_xticks([v for v, _ in panel.xticks], [label for _, label in panel.xticks], fontsize=7)
    ax.set_yticks([v for v, _ in panel.yticks], [label for _, label in panel.yticks], fontsize=7)
    ax.set_title(panel.title, fontsize=8)
    ax.set_xlabel(panel.xlabel, fontsize=8)
    ax.set_ylabel(panel.ylabel, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)


def nice_ticks(low: float, high: float, most: int = 6) -> list[tuple[float, str]]:
    """Round tick values between ``low`` and ``high`` (at most ``most`` of them), labelled with ``:g`` and a true minus.

    >>> [label for _, label in nice_ticks(-0.5, 1.3)]
    ['−0.5', '0', '0.5', '1']
    """
    for step in (0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 20.0):
        first = math.ceil(low / step - 1e-9)
        values = [round(step * i, 10) for i in range(first, int(math.floor(high / step + 1e-9)) + 1)]
        if len(values) <= most:
            return [(v, _number(v)) for v in values]
    return [(low, _number(low)), (high, _number(high))]


def _number(value: float) -> str:
    return f"{value:g}".replace("-", "−")
