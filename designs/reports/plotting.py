"""The report's plotting style and the conversion of a matplotlib figure to one inline SVG element.

Figures are built with the object API (:class:`matplotlib.figure.Figure`, no pyplot state, nothing to
close) and written by matplotlib's SVG backend with a fixed hash salt, glyphs as paths and no date, so
that the same bundle gives the same bytes. Several SVGs share one HTML page, where matplotlib's ids
(``DejaVuSans-31``, ``axes_1``, clip paths ...) would collide: :func:`svg_element` namespaces every id
and every reference to one with a per-figure prefix.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from xml.etree import ElementTree

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure

CM = 1 / 2.54
FULL_WIDTH = 16 * CM
"""Inches: a figure across an A4 page between its margins."""
PANEL_WIDTH = 8 * CM
"""Inches: a per-stratum panel, two side by side on an A4 page."""

# Okabe & Ito (2008), "Color universal design": distinguishable with every common colour-vision deficiency.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
DECISION_COLOURS = {"no-go": "#D55E00", "continue": "#CCCCCC", "go": "#0072B2"}
REFERENCE_COLOUR = "#444444"

STYLE = {
    "svg.hashsalt": "gonogo-report",
    "svg.fonttype": "none",  # text as <text>: a quarter of the bytes and of WeasyPrint's time that glyph paths take
    "svg.image_inline": True,  # never a reference to an image file beside the SVG
    "text.parse_math": False,  # a "$" in a trial's or stratum's name is a dollar, not TeX
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.titlesize": 8.5,
    "axes.labelsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO),
    "lines.linewidth": 1.2,
    "figure.dpi": 72,
}

_LOCK = threading.Lock()
"""matplotlib's rcParams are process-global: one figure is built and written at a time."""

_PROLOG = re.compile(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>")
SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"


def stratum_colour(index: int) -> str:
    """The stratum's colour: its place among the trial's strata, the same in every figure."""
    return OKABE_ITO[index % len(OKABE_ITO)]


def figure_prefix(kind: str, *parts: str) -> str:
    """A per-figure id prefix, unique on a page: the figure's kind and a short hash of its subject."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:8] if parts else "all"
    return f"gonogo-{kind}-{digest}-"


@contextmanager
def report_style() -> Iterator[None]:
    """The report's matplotlib settings, held for the time it takes to build and write one figure."""
    with _LOCK, matplotlib.rc_context(STYLE):
        yield


def render_svg(draw: Callable[[Figure], None], *, width: float, height: float, title: str, prefix: str) -> str:
    """Build a figure of ``width`` × ``height`` inches with ``draw`` and return it as one SVG element."""
    with report_style():
        figure = Figure(figsize=(width, height))
        draw(figure)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Format": None, "Type": None, "Creator": None})
    return svg_element(buffer.getvalue(), title=title, prefix=prefix)


def axes_in(figure: Figure, *, left: float = 1.3, right: float = 0.3, bottom: float = 1.0, top: float = 0.7,
            **kwargs) -> Axes:
    """Axes placed by fixed margins in cm: a layout engine (constrained, tight) would draw every
    figure twice to measure it, which more than doubles the time to write it."""
    width, height = (size / CM for size in figure.get_size_inches())
    rect = (left / width, bottom / height, 1 - (left + right) / width, 1 - (bottom + top) / height)
    return figure.add_axes(rect, **kwargs)


def svg_element(svg: str, *, title: str, prefix: str) -> str:
    """matplotlib's SVG document as an element to inline in HTML.

    - no prolog, DOCTYPE, comments or metadata (whose namespaces are URLs);
    - ``role="img"`` and a ``<title>`` (``aria-labelledby``) for screen readers;
    - every id and every ``#`` reference to one prefixed, so that figures on one page do not collide;
    - the namespaces written as ``xmlns`` and ``xlink:`` whatever prefixes other libraries registered
      with ElementTree (WeasyPrint's imports leave it writing ``<ns0:svg>``, which HTML does not draw);
    - inline ``style`` declarations as presentation attributes, and matplotlib's document-wide
      ``<style>*{stroke-linejoin: round; stroke-linecap: butt}</style>`` as inherited attributes of the
      root: a ``<style>`` inlined in HTML styles the whole page, and WeasyPrint reads every ``style``
      attribute of the page as HTML CSS (one warning per SVG property) before its SVG renderer reads it.
    """
    root = ElementTree.fromstring(_PROLOG.sub("", svg))  # the parser drops comments
    for child in list(root):  # matplotlib writes both as children of the root
        if child.tag == f"{{{SVG}}}metadata" or (
            child.tag == f"{{{SVG}}}defs" and all(c.tag == f"{{{SVG}}}style" for c in child)
        ):
            root.remove(child)
    for element in root.iter():
        element.tag = element.tag.removeprefix(f"{{{SVG}}}")
        style = element.attrib.pop("style", "")
        for declaration in style.split(";"):
            if declaration.strip():
                name, _, value = declaration.partition(":")
                element.set(name.strip(), value.strip())
        for name, value in list(element.attrib.items()):
            if name == "font-family":  # text is drawn by the reader: a generic fallback where DejaVu Sans is missing
                element.set(name, f"{value}, sans-serif")
            elif name == "id":
                element.set(name, prefix + value)
            elif name == f"{{{XLINK}}}href":
                del element.attrib[name]
                element.set("xlink:href", f"#{prefix}{value[1:]}" if value.startswith("#") else value)
            elif "url(#" in value:
                element.set(name, value.replace("url(#", f"url(#{prefix}"))
    title_id = f"{prefix}title"
    root.attrib = {"xmlns": SVG, "xmlns:xlink": XLINK, **root.attrib, "role": "img", "aria-labelledby": title_id,
                   "stroke-linejoin": "round", "stroke-linecap": "butt"}
    heading = ElementTree.Element("title", {"id": title_id})
    heading.text = title
    root.insert(0, heading)
    return ElementTree.tostring(root, encoding="unicode")
