"""Pictures for widgets: a matplotlib figure as a small PNG, and as an ``<img>`` a page can embed.

A static page stores every precomputed picture inline, so each one should weigh a few tens of
kilobytes at most: a modest resolution and, optionally, a reduced colour palette (line plots
use few colours, so quantizing them loses nothing visible and halves the size).

>>> import matplotlib; matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> fig, ax = plt.subplots(figsize=(2, 1.5)); _ = ax.plot([0, 1], [0, 1])
>>> png = figure_png(fig)
>>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n", len(png) < 20_000
(True, True)
>>> png_img(png).startswith('<img src="data:image/png;base64,')
True
"""

from __future__ import annotations

import base64
import html
import io

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from PIL import Image

__all__ = ["figure_png", "png_img", "as_html", "with_alt"]

#: Resolution of precomputed pictures: sharp enough on screen, light enough for a page.
DEFAULT_DPI = 80


def figure_png(fig: Figure, *, dpi: int = DEFAULT_DPI, colors: int | None = 64, close: bool = True) -> bytes:
    """The figure as PNG bytes, optionally reduced to ``colors`` palette colours (``None``: full colour).

    Args:
        fig: a matplotlib figure.
        dpi: dots per inch (the figure size in inches times this gives the pixel size).
        colors: palette size for quantization (64 keeps antialiased lines smooth), or ``None``.
        close: close the figure afterwards, so that a notebook does not also show it.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    if close:
        plt.close(fig)
    if colors is None:
        return buffer.getvalue()
    image = Image.open(buffer).convert("RGB").quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def png_img(png: bytes, alt: str = "") -> str:
    """An ``<img>`` tag holding the PNG inline (a data URI), so the page needs no image files."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" style="max-width:100%">'


def as_html(picture: str | Figure, alt: str = "") -> str:
    """A picture as HTML: a matplotlib figure becomes an inline PNG; a string (HTML, SVG) stays as it is."""
    if isinstance(picture, Figure):
        return png_img(figure_png(picture), alt)
    if isinstance(picture, str):
        return picture
    raise TypeError(f"A picture must be a matplotlib Figure or an HTML/SVG string, got {type(picture).__name__}.")


def with_alt(picture_html: str, alt: str) -> str:
    """The picture's HTML with ``alt`` as its text alternative, unless it already has one: an
    ``<img>`` gets ``alt``, an ``<svg>`` gets ``role="img"`` and ``aria-label`` (screen readers
    read them instead of the drawing).

    >>> with_alt('<svg width="2"><rect/></svg>', 'A "box"')
    '<svg role="img" aria-label="A &quot;box&quot;" width="2"><rect/></svg>'
    >>> with_alt('<img src="x.png" alt="">', "A box")
    '<img src="x.png" alt="A box">'
    >>> with_alt('<img src="x.png" alt="kept">', "A box")
    '<img src="x.png" alt="kept">'
    """
    text = html.escape(alt)
    stripped = picture_html.lstrip()
    if stripped.startswith("<svg") and "aria-label=" not in stripped[:stripped.find(">")]:
        return picture_html.replace("<svg", f'<svg role="img" aria-label="{text}"', 1)
    if stripped.startswith("<img") and 'alt=""' in stripped[:stripped.find(">")]:
        return picture_html.replace('alt=""', f'alt="{text}"', 1)
    return picture_html
