"""The computational graph drawn as inline SVG, laid out by symgd itself (no Graphviz).

Nodes go left to right in forward order: an operation sits one column right of its deepest
input, and a leaf one column left of its first user, so that every edge points right. Within
a column the boxes are ordered and placed near the mean height of their neighbours (a few
sweeps left and right), then packed so that they never overlap; columns never share an x
range. :func:`graph_boxes` returns the boxes, so that a test can check they are disjoint.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

#: the SVG's font size and the width of one character of its monospaced font (px); a wide
#: letter (Hangul, CJK) takes two such columns, a little more than its 1 em
FONT = 12.0
CHAR = 7.4
#: the fonts of the SVG's text: a monospaced Latin font, then symgd's Hangul font (declared by
#: a Korean page and by the PDF step) for the letters the Latin fonts lack
FONT_FAMILY = "DejaVu Sans Mono, Menlo, Consolas, Symgd Hangul, monospace"
LINE = 15.0
PAD_X = 8.0
PAD_Y = 6.0
GAP_X = 30.0
GAP_Y = 14.0
MARGIN = 10.0
SWEEPS = 4


@dataclass(frozen=True)
class Box:
    """One node's box: its top-left corner, size, lines of text and look."""

    node: int
    x: float
    y: float
    width: float
    height: float
    lines: tuple[str, ...]
    kind: str  # "parameter", "input", "constant", "operation", "output"

    @property
    def centre_y(self) -> float:
        """The height of the box's middle."""
        return self.y + self.height / 2

    def overlaps(self, other: Box) -> bool:
        """True when the two boxes share any area."""
        return (
            self.x < other.x + other.width
            and other.x < self.x + self.width
            and self.y < other.y + other.height
            and other.y < self.y + self.height
        )


@dataclass(frozen=True)
class GraphNode:
    """What the layout needs to know of a node: its lines are its name (and operation), then
    its value, then its adjoint (drawn in blue)."""

    id: int
    inputs: tuple[int, ...]
    lines: tuple[str, ...]
    kind: str


def graph_boxes(nodes: Sequence[GraphNode]) -> tuple[Box, ...]:
    """The boxes of ``nodes`` (given in forward order, ``id`` = index), laid out left to
    right; no two overlap.

    >>> boxes = graph_boxes([GraphNode(0, (), ("x",), "input"),
    ...                      GraphNode(1, (0,), ("v1 = x²",), "output")])
    >>> boxes[0].x < boxes[1].x, boxes[0].overlaps(boxes[1])
    (True, False)
    """
    columns = _columns(nodes)
    count = max(columns, default=0) + 1
    members: list[list[int]] = [[] for _ in range(count)]
    for node in nodes:
        members[columns[node.id]].append(node.id)
    sizes = [_size(node.lines) for node in nodes]
    users: list[list[int]] = [[] for _ in nodes]
    for node in nodes:
        for i in node.inputs:
            users[i].append(node.id)
    centre = _place(nodes, members, sizes, users)
    left = MARGIN
    boxes: list[Box | None] = [None] * len(nodes)
    for column in members:
        width = max((sizes[i][0] for i in column), default=0.0)
        for i in column:
            w, h = sizes[i]
            node = nodes[i]
            boxes[i] = Box(
                i, left + (width - w) / 2, centre[i] - h / 2, w, h, node.lines, node.kind
            )
        left += width + GAP_X
    top = min((b.y for b in boxes if b is not None), default=MARGIN)
    shift = MARGIN - top
    return tuple(
        Box(b.node, b.x, b.y + shift, b.width, b.height, b.lines, b.kind)
        for b in boxes
        if b is not None
    )


def _columns(nodes: Sequence[GraphNode]) -> list[int]:
    """Operations one column right of their deepest input; leaves just left of their first
    user."""
    column = [0] * len(nodes)
    for node in nodes:
        if node.inputs:
            column[node.id] = 1 + max(column[i] for i in node.inputs)
    first_user: dict[int, int] = {}
    for node in nodes:
        for i in node.inputs:
            if not nodes[i].inputs:
                first_user[i] = min(first_user.get(i, 1 << 30), column[node.id])
    for leaf, user in first_user.items():
        column[leaf] = user - 1
    return column


def text_columns(text: str) -> int:
    """The columns ``text`` takes in the monospaced font: two for a wide letter (Hangul)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _size(lines: Sequence[str]) -> tuple[float, float]:
    width = max(text_columns(line) for line in lines) * CHAR + 2 * PAD_X
    return max(width, 44.0), len(lines) * LINE + 2 * PAD_Y


def _place(
    nodes: Sequence[GraphNode],
    members: list[list[int]],
    sizes: Sequence[tuple[float, float]],
    users: Sequence[Sequence[int]],
) -> list[float]:
    """The vertical centre of each box: packed columns, then sweeps that pull each box
    toward the mean centre of its neighbours and pack the column again."""
    centre = [0.0] * len(nodes)
    for column in members:
        _pack(column, [0.0] * len(column), sizes, centre)
    for sweep in range(SWEEPS):
        forward = sweep % 2 == 0
        for column in members if forward else list(reversed(members)):
            targets = []
            for i in column:
                near = list(nodes[i].inputs) if forward else list(users[i])
                near = near or list(users[i]) or list(nodes[i].inputs)
                targets.append(sum(centre[j] for j in near) / len(near) if near else centre[i])
            ranked = sorted(zip(targets, column, strict=True))
            column[:] = [i for _, i in ranked]
            _pack(column, [t for t, _ in ranked], sizes, centre)
    return centre


def _pack(
    column: Sequence[int],
    targets: Sequence[float],
    sizes: Sequence[tuple[float, float]],
    centre: list[float],
) -> None:
    """Put each box of ``column`` (top to bottom) at its target, or just below the one above
    when that would overlap; then centre the column's excess on the targets."""
    bottom = -1e18
    placed = []
    for i, target in zip(column, targets, strict=True):
        h = sizes[i][1]
        top = max(target - h / 2, bottom + GAP_Y)
        placed.append(top + h / 2)
        bottom = top + h
    if placed:
        drift = (sum(placed) - sum(targets)) / len(placed)
        for i, y in zip(column, placed, strict=True):
            centre[i] = y - max(drift, 0.0)


_STYLE = {
    "parameter": ("#e8f1fa", "#0b5ea8", "1.5"),
    "input": ("#f5f7fa", "#5b6570", "1"),
    "constant": ("#ffffff", "#9aa3ad", "1"),
    "operation": ("#ffffff", "#1d232b", "1"),
    "output": ("#fff7e6", "#a35a00", "2"),
}


def graph_svg(nodes: Sequence[GraphNode], title: str) -> str:
    """The graph as an ``<svg>`` element: boxes, their text, and an arrow along every edge.

    The SVG is as wide as its layout in pixels; a page lets it shrink (to a floor) and
    scroll. Text is escaped; the arrowhead's id is the only id.
    """
    boxes = graph_boxes(nodes)
    width = max((b.x + b.width for b in boxes), default=0.0) + MARGIN
    height = max((b.y + b.height for b in boxes), default=0.0) + MARGIN
    parts = [
        f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'style="--natural-width: {width:.0f}px" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        '<defs><marker id="backprop-arrow" viewBox="0 0 8 8" refX="8" refY="4" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L8,4 L0,8 z" fill="#6b7580"/></marker></defs>',
        '<g fill="none" stroke="#6b7580" stroke-width="1.2">',
    ]
    for node in nodes:
        target = boxes[node.id]
        for i in node.inputs:
            source = boxes[i]
            x1, y1 = source.x + source.width, source.centre_y
            x2, y2 = target.x - 1, target.centre_y
            bend = max((x2 - x1) / 2, 12.0)
            parts.append(
                f'<path d="M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} '
                f'{x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}" '
                'marker-end="url(#backprop-arrow)"/>'
            )
    parts.append("</g>")
    parts.append(f'<g font-family="{FONT_FAMILY}" font-size="{FONT:g}">')
    for box in boxes:
        parts.append(_box_svg(box))
    parts.append("</g></svg>")
    return "".join(parts)


def _box_svg(box: Box) -> str:
    fill, stroke, thickness = _STYLE.get(box.kind, _STYLE["operation"])
    dash = ' stroke-dasharray="3 2"' if box.kind == "constant" else ""
    out = [
        f'<g class="node {box.kind}" data-node="{box.node}">'
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" '
        f'height="{box.height:.1f}" rx="5" fill="{fill}" stroke="{stroke}" '
        f'stroke-width="{thickness}"{dash}/>'
    ]
    for k, line in enumerate(box.lines):
        y = box.y + PAD_Y + LINE * (k + 1) - 4
        colour = "#1d232b" if k == 0 else ("#0b5ea8" if k == 2 else "#3d4650")
        weight = ' font-weight="700"' if k == 0 else ""
        out.append(
            f'<text x="{box.x + PAD_X:.1f}" y="{y:.1f}" fill="{colour}"{weight}>'
            f"{escape(line)}</text>"
        )
    out.append("</g>")
    return "".join(out)
