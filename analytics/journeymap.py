"""A journey's planned and actual paths drawn as one inline SVG, server-side (no tiles, no scripts), for the
journey dashboard.

It reuses pjp.mapsvg's projection, frame and start/end markers, so a route looks the same here as on the route
page. Both paths run from the journey's start to its end as journey_compare measures them: the plan dashed, its
stops numbered by planned sequence; the actual path solid (3 px aside, so legs walked as planned show both),
numbered by visit order (a small badge on a planned stop, the number inside the marker of an added one). A skipped
stop is a hollow red circle, an added stop an orange diamond, a planned stop visited out of sequence has an amber
ring. A legend below the map says so. Every piece of text goes through format_html, so an outlet named `<script>` is
drawn as those characters.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from pjp.mapsvg import MIN_ASPECT, PADDING, STOP_RADIUS, WIDTH, _end_marker, _frame, _Projection

from .journeys import JourneyComparison

Point = tuple[float, float]
LEGEND_HEIGHT = 30
# The actual path is drawn this many pixels right and down of the plan, so a leg walked as planned shows both lines
# side by side instead of one hiding the other (still inside the stop markers' radius).
ACTUAL_SHIFT = 3
PLANNED_COLOUR, ACTUAL_COLOUR, SKIPPED_COLOUR, SWAPPED_COLOUR = "#2563eb", "#ea580c", "#dc2626", "#f59e0b"


@dataclass(frozen=True)
class _Stop:
    outlet_code: str
    outlet_name: str
    point: Point
    planned_sequence: int | None
    visit_order: int | None
    swapped: bool


def _stops(comparison: JourneyComparison) -> list[_Stop]:
    """One marker per outlet: the planned stops (visited or skipped), then the added ones."""
    swapped = {s.outlet_id for s in comparison.swapped}
    out = [_Stop(p.outlet_code, p.outlet_name, (p.lat, p.lng), p.sequence, p.visit_order, p.outlet_id in swapped)
           for p in comparison.planned if p.lat is not None and p.lng is not None]
    out += [_Stop(a.outlet_code, a.outlet_name, (a.lat, a.lng), None, a.visit_order, False)
            for a in comparison.actual if a.planned_sequence is None and a.lat is not None and a.lng is not None]
    return out


def _path(points: list[tuple[float, float] | None], css: str, colour: str, dash: str,
          shift: float = 0) -> SafeString | str:
    placed = [p for p in points if p is not None]
    if len(placed) < 2:
        return ""
    return format_html('<polyline class="{}" points="{}" fill="none" stroke="{}" stroke-width="2.5" '
                       'stroke-linejoin="round" stroke-dasharray="{}" stroke-opacity="0.85" '
                       'transform="translate({} {})"/>',
                       css, " ".join(f"{x},{y}" for x, y in placed), colour, dash, shift, shift)


def _marker(at: tuple[float, float], stop: _Stop) -> SafeString:
    x, y = at
    label = format_html('<text class="stop-label" x="{}" y="{}" font-size="10" fill="#0f172a" stroke="#f8fafc" '
                        'stroke-width="3" paint-order="stroke">{}</text>',
                        round(x + STOP_RADIUS + 3, 1), round(y + 4, 1), stop.outlet_code)
    if stop.planned_sequence is None:
        title = format_html("Added: visit {}, {} {}", stop.visit_order, stop.outlet_code, stop.outlet_name)
        r = STOP_RADIUS + 1
        shape = format_html(
            '<polygon class="stop-marker" points="{},{} {},{} {},{} {},{}" fill="{}" stroke="#fff" '
            'stroke-width="1.5"/><text class="visit-order" x="{}" y="{}" text-anchor="middle" font-size="10" '
            'font-weight="bold" fill="#fff">{}</text>',
            x, round(y - r, 1), round(x + r, 1), y, x, round(y + r, 1), round(x - r, 1), y, ACTUAL_COLOUR,
            x, round(y + 3.5, 1), stop.visit_order)
        return format_html('<g class="stop stop-added" data-visit-order="{}"><title>{}</title>{}{}</g>',
                           stop.visit_order, title, shape, label)
    if stop.visit_order is None:
        title = format_html("Skipped: planned {}, {} {}", stop.planned_sequence, stop.outlet_code, stop.outlet_name)
        shape = format_html(
            '<circle class="stop-marker" cx="{}" cy="{}" r="{}" fill="#fff" stroke="{}" stroke-width="2" '
            'stroke-dasharray="3 2"/><text class="stop-number" x="{}" y="{}" text-anchor="middle" font-size="10" '
            'font-weight="bold" fill="{}">{}</text>',
            x, y, STOP_RADIUS, SKIPPED_COLOUR, x, round(y + 3.5, 1), SKIPPED_COLOUR, stop.planned_sequence)
        return format_html('<g class="stop stop-skipped" data-sequence="{}"><title>{}</title>{}{}</g>',
                           stop.planned_sequence, title, shape, label)
    css = "stop stop-visited stop-swapped" if stop.swapped else "stop stop-visited"
    title = format_html("Planned {}, visit {}{}: {} {}", stop.planned_sequence, stop.visit_order,
                        " (out of sequence)" if stop.swapped else "", stop.outlet_code, stop.outlet_name)
    ring = format_html('<circle class="swap-ring" cx="{}" cy="{}" r="{}" fill="none" stroke="{}" stroke-width="3"/>',
                       x, y, STOP_RADIUS + 4, SWAPPED_COLOUR) if stop.swapped else ""
    bx, by = round(x + STOP_RADIUS * 0.8, 1), round(y - STOP_RADIUS * 0.8, 1)
    shape = format_html(
        '{}<circle class="stop-marker" cx="{}" cy="{}" r="{}" fill="{}" stroke="#fff" stroke-width="1.5"/>'
        '<text class="stop-number" x="{}" y="{}" text-anchor="middle" font-size="10" font-weight="bold" '
        'fill="#fff">{}</text>'
        '<circle cx="{}" cy="{}" r="7" fill="{}" stroke="#fff" stroke-width="1"/>'
        '<text class="visit-order" x="{}" y="{}" text-anchor="middle" font-size="8" font-weight="bold" '
        'fill="#fff">{}</text>',
        ring, x, y, STOP_RADIUS, PLANNED_COLOUR, x, round(y + 3.5, 1), stop.planned_sequence,
        bx, by, ACTUAL_COLOUR, bx, round(by + 3, 1), stop.visit_order)
    return format_html('<g class="{}" data-sequence="{}" data-visit-order="{}"><title>{}</title>{}{}</g>',
                       css, stop.planned_sequence, stop.visit_order, title, shape, label)


def _legend(top: int) -> SafeString:
    y = top + LEGEND_HEIGHT // 2
    items = (
        format_html('<line x1="10" y1="{}" x2="40" y2="{}" stroke="{}" stroke-width="2.5" stroke-dasharray="6 4"/>'
                    '<text x="46" y="{}">Planned (number: planned sequence)</text>', y, y, PLANNED_COLOUR, y + 4),
        format_html('<line x1="250" y1="{}" x2="280" y2="{}" stroke="{}" stroke-width="2.5"/>'
                    '<text x="286" y="{}">Actual (badge: visit order)</text>', y, y, ACTUAL_COLOUR, y + 4),
        format_html('<circle cx="452" cy="{}" r="6" fill="#fff" stroke="{}" stroke-width="2" stroke-dasharray="3 2"/>'
                    '<text x="462" y="{}">Skipped</text>', y, SKIPPED_COLOUR, y + 4),
        format_html('<polygon points="520,{} 527,{} 520,{} 513,{}" fill="{}"/><text x="532" y="{}">Added</text>',
                    y - 7, y, y + 7, y, ACTUAL_COLOUR, y + 4),
        format_html('<circle cx="586" cy="{}" r="6" fill="none" stroke="{}" stroke-width="3"/>'
                    '<text x="596" y="{}">Swap</text>', y, SWAPPED_COLOUR, y + 4),
    )
    return format_html('<g class="legend" font-size="10" fill="#334155">{}</g>',
                       format_html_join("", "{}", ((item,) for item in items)))


def journey_map_svg(comparison: JourneyComparison, *, width: int = WIDTH) -> SafeString:
    """The journey's planned and actual paths with their stops and a legend (module docstring). Stops without
    coordinates are left off the picture (the dashboard's tables list them); with no point at all it says so."""
    head = comparison.header
    caption = f"Planned and actual path of route {head.route_code} on {head.date.isoformat()} ({head.booker_name})"
    stops = _stops(comparison)
    points: list[Point] = [p for p in (head.start, head.end) if p is not None] + [s.point for s in stops]
    if not points:
        height = int(MIN_ASPECT * width)
        body = format_html('{}<text x="{}" y="{}" text-anchor="middle" fill="#64748b">No coordinates to draw.</text>',
                           _frame(width, height), width // 2, height // 2)
        return _svg(body, caption=caption, width=width, height=height)

    project = _Projection(points, width=width, padding=PADDING)
    height = project.height

    def at(p: Point | None) -> tuple[float, float] | None:
        return None if p is None else project(p)

    planned = _path([at(head.start), *(at((p.lat, p.lng)) for p in comparison.planned
                                       if p.lat is not None and p.lng is not None), at(head.end)],
                    "planned-path", PLANNED_COLOUR, "6 4")
    actual = _path([at(head.start), *(at((a.lat, a.lng)) for a in comparison.actual
                                      if a.lat is not None and a.lng is not None), at(head.end)],
                   "actual-path", ACTUAL_COLOUR, "none", shift=ACTUAL_SHIFT)
    ends = []
    same = head.start is not None and head.end is not None and project(head.start) == project(head.end)
    if head.start is not None:
        ends.append(_end_marker(project(head.start), "start", "Start and end" if same else "Start",
                                "S/E" if same else "S", "#16a34a"))
    if head.end is not None and not same:
        ends.append(_end_marker(project(head.end), "end", "End", "E", "#dc2626"))
    markers = format_html_join("", "{}", ((_marker(project(s.point), s),) for s in stops))
    body = format_html("{}{}{}{}{}<rect x=\"0\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fff\"/>{}",
                       _frame(width, height), planned, actual, format_html_join("", "{}", ((e,) for e in ends)),
                       markers, height, width, LEGEND_HEIGHT, _legend(height))
    return _svg(body, caption=caption, width=width, height=height + LEGEND_HEIGHT)


def _svg(body: SafeString, *, caption: str, width: int, height: int) -> SafeString:
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="journey-map" viewBox="0 0 {} {}" width="{}" height="{}" '
        'role="img" aria-label="{}" style="max-width: 100%; height: auto; font-family: sans-serif">'
        "<title>{}</title>{}</svg>",
        width, height, width, height, caption, caption, body)
