"""A route drawn as inline SVG, server-side: no tiles, no scripts, nothing fetched from the internet.

Points are projected equirectangularly (x = longitude x cos(mid latitude), y = latitude), which keeps a
town-sized route's shape true to within a fraction of a percent, and scaled to fit the route's bounding box
into the picture with the aspect ratio kept. Every piece of text goes through format_html, so an outlet
named `<script>` is drawn as those characters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

Point = tuple[float, float]  # (lat, lng) in degrees

WIDTH = 640
MIN_ASPECT, MAX_ASPECT = 0.4, 0.75
PADDING = 40
# Below this span (about 100 m) the box is widened so a route of one street is not blown up to the frame.
MIN_SPAN_DEG = 0.001
STOP_RADIUS = 11
MARKER_SIZE = 16


@dataclass(frozen=True)
class MapStop:
    sequence: int
    point: Point | None
    label: str  # drawn next to the circle (the outlet code)
    title: str  # the hover text (sequence, code and name)


class _Projection:
    """Scale the bounding box into `width`; the picture is as tall as the box needs, between MIN_ASPECT and
    MAX_ASPECT of the width, so an east-west route is not drawn in a mostly empty square."""

    def __init__(self, points: Sequence[Point], *, width: int, padding: int) -> None:
        lats = [p[0] for p in points]
        lngs = [p[1] for p in points]
        self.kx = math.cos(math.radians((min(lats) + max(lats)) / 2))
        xs = [lng * self.kx for lng in lngs]
        min_x, max_x, min_y, max_y = min(xs), max(xs), min(lats), max(lats)
        span_x = max(max_x - min_x, MIN_SPAN_DEG)
        span_y = max(max_y - min_y, MIN_SPAN_DEG)
        natural = 2 * padding + span_y * (width - 2 * padding) / span_x
        self.height = int(min(max(natural, MIN_ASPECT * width), MAX_ASPECT * width))
        self.scale = min((width - 2 * padding) / span_x, (self.height - 2 * padding) / span_y)
        # Centre the box: the unused room is shared between both sides.
        self.x0 = (min_x + max_x) / 2 - (width / 2) / self.scale
        self.y0 = (min_y + max_y) / 2 + (self.height / 2) / self.scale

    def __call__(self, point: Point) -> tuple[float, float]:
        lat, lng = point
        return round((lng * self.kx - self.x0) * self.scale, 1), round((self.y0 - lat) * self.scale, 1)


def _arrow(a: tuple[float, float], b: tuple[float, float]) -> SafeString | None:
    """A small arrowhead half-way along a leg, pointing the way the booker walks it."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy)
    if length < 4 * STOP_RADIUS:
        return None
    ux, uy = dx / length, dy / length
    mx, my = a[0] + dx / 2, a[1] + dy / 2
    tip = (mx + 5 * ux, my + 5 * uy)
    left = (mx - 5 * ux - 4 * uy, my - 5 * uy + 4 * ux)
    right = (mx - 5 * ux + 4 * uy, my - 5 * uy - 4 * ux)
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (tip, left, right))
    return format_html('<polygon class="leg-arrow" points="{}" fill="#64748b"/>', pts)


def route_map_svg(*, stops: Sequence[MapStop], start: Point | None, end: Point | None, caption: str,
                  width: int = WIDTH) -> SafeString:
    """The stops as numbered circles in sequence, joined by the path start -> stops -> end.

    Stops without coordinates are left off the picture (the caller lists them). With no point at all the
    picture says so instead of drawing an empty box.
    """
    placed = [s for s in stops if s.point is not None]
    points: list[Point] = [p for p in (start, end) if p is not None] + [s.point for s in placed if s.point]
    if not points:
        height = int(MIN_ASPECT * width)
        body = format_html('{}<text x="{}" y="{}" text-anchor="middle" fill="#64748b">No coordinates to draw.</text>',
                           _frame(width, height), width // 2, height // 2)
        return _svg(body, caption=caption, width=width, height=height)

    project = _Projection(points, width=width, padding=PADDING)
    height = project.height
    frame = _frame(width, height)
    path = [project(p) for p in [start, *(s.point for s in placed), end] if p is not None]
    legs = format_html_join("", "{}", ((arrow,) for a, b in zip(path, path[1:], strict=False)
                                        if (arrow := _arrow(a, b)) is not None))
    line = format_html('<polyline class="route-path" points="{}" fill="none" stroke="#64748b" stroke-width="2" '
                       'stroke-linejoin="round"/>', " ".join(f"{x},{y}" for x, y in path)) if len(path) > 1 else ""

    ends = []
    same = start is not None and end is not None and project(start) == project(end)
    if start is not None:
        ends.append(_end_marker(project(start), "start", "Start and end" if same else "Start",
                                "S/E" if same else "S", "#16a34a"))
    if end is not None and not same:
        ends.append(_end_marker(project(end), "end", "End", "E", "#dc2626"))

    circles = format_html_join("", "{}", ((_stop(project(s.point), s),) for s in placed if s.point is not None))
    body = format_html("{}{}{}{}{}", frame, line, legs, format_html_join("", "{}", ((e,) for e in ends)), circles)
    return _svg(body, caption=caption, width=width, height=height)


def _frame(width: int, height: int) -> SafeString:
    return format_html('<rect x="0" y="0" width="{}" height="{}" rx="6" fill="#f8fafc" stroke="#cbd5e1"/>',
                       width, height)


def _end_marker(at: tuple[float, float], css: str, title: str, text: str, colour: str) -> SafeString:
    x, y = at
    wide = MARKER_SIZE + 6 * (len(text) - 1)
    return format_html(
        '<g class="route-{}"><title>{}</title>'
        '<rect x="{}" y="{}" width="{}" height="{}" rx="3" fill="{}" stroke="#fff" stroke-width="1.5"/>'
        '<text x="{}" y="{}" text-anchor="middle" font-size="9" font-weight="bold" fill="#fff">{}</text></g>',
        css, title, round(x - wide / 2, 1), round(y - MARKER_SIZE / 2, 1), wide, MARKER_SIZE, colour,
        x, round(y + 3, 1), text)


def _stop(at: tuple[float, float], stop: MapStop) -> SafeString:
    x, y = at
    return format_html(
        '<g class="stop" data-sequence="{}"><title>{}</title>'
        '<circle class="stop-marker" cx="{}" cy="{}" r="{}" fill="#2563eb" stroke="#fff" stroke-width="1.5"/>'
        '<text class="stop-number" x="{}" y="{}" text-anchor="middle" font-size="10" font-weight="bold" '
        'fill="#fff">{}</text>'
        '<text class="stop-label" x="{}" y="{}" font-size="10" fill="#0f172a" stroke="#f8fafc" stroke-width="3" '
        'paint-order="stroke">{}</text></g>',
        stop.sequence, stop.title, x, y, STOP_RADIUS, x, round(y + 3.5, 1), stop.sequence,
        round(x + STOP_RADIUS + 3, 1), round(y + 4, 1), stop.label)


def _svg(body: SafeString, *, caption: str, width: int, height: int) -> SafeString:
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="route-map" viewBox="0 0 {} {}" width="{}" height="{}" '
        'role="img" aria-label="{}" style="max-width: 100%; height: auto; font-family: sans-serif">'
        "<title>{}</title>{}</svg>",
        width, height, width, height, caption, caption, body)
