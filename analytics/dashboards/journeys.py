"""The journey pages' content, from analytics.journeys (whose module docstrings define every figure): the booker days
against their plans (journey_list), a route's common paths (common_paths), one journey's plan against what happened
(journey_compare, with analytics.journeymap's map) and the outlet funnel (outlet_funnel).

Times are shown in the tenant's zone; the CSV keeps them as ISO 8601 with the zone's offset. Distances are metres in
the CSV and kilometres on the page; shares are fractions (0.5000) in the CSV and percentages on the page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.utils.safestring import SafeString

from analytics.journeymap import journey_map_svg
from analytics.journeys import Funnel, JourneyComparison, JourneyRow, PathRow, StopRef

from .tables import Chart, Column, Table, chart_value

NO_JOURNEYS = "No journeys for these filters: journeys are built from the published plans, day by day."
STAGE_LABELS = {"planned": "Planned", "visited": "Visited", "ordered": "Ordered", "invoiced": "Invoiced",
                "delivered": "Delivered", "paid": "Paid"}


def _local(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    return value.astimezone(tz) if value is not None else None


def _km(metres: int | None) -> str:
    if metres is None:
        return "—"
    return f"{(Decimal(metres) / 1000).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,} km"


def _signed_km(metres: int) -> str:
    return ("+" if metres > 0 else "") + _km(metres)


def _minutes(seconds: int | None, *, signed: bool = False) -> str:
    if seconds is None:
        return "—"
    minutes = int((Decimal(abs(seconds)) / 60).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    text = f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
    sign = "-" if seconds < 0 else ("+" if signed and seconds > 0 else "")
    return sign + text


# --- the journeys of a period ------------------------------------------------------------------------------------

def journeys_table(rows: list[JourneyRow], *, distributors: dict[int, str] | None,
                   url_of: Callable[[int], str]) -> Table:
    """One row per booker day; `distributors` (id -> code) adds a distributor column for a manufacturer user."""
    columns = [Column("date", "Date", "date"), Column("journey_id", "Journey", on_page=False)]
    if distributors is not None:
        columns.append(Column("distributor", "Distributor"))
    columns += [Column("distributor_id", "Distributor id", on_page=False),
                Column("booker_id", "Booker id", on_page=False), Column("booker_name", "Order-booker"),
                Column("route_id", "Route id", on_page=False), Column("route_code", "Route"),
                Column("route_name", "Route name"),
                Column("planned", "Planned", "count"), Column("visited", "Visited", "count"),
                Column("skipped", "Skipped", "count"), Column("added", "Added", "count"),
                Column("swapped", "Swapped", "count")]
    table = Table("journeys", "Booker days", columns, empty=NO_JOURNEYS)
    for r in rows:
        dist = [distributors.get(r.distributor_id, str(r.distributor_id))] if distributors is not None else []
        table.rows.append([r.date, r.journey_id, *dist, r.distributor_id, r.booker_id, r.booker_name, r.route_id,
                           r.route_code, r.route_name, r.planned, r.visited, r.skipped, r.added, r.swapped])
        table.urls.append(url_of(r.journey_id))
    return table


def paths_table(rows: list[PathRow], route_label: str) -> Table:
    table = Table("paths", f"Common paths of route {route_label}", [
        Column("path", "Outlets in the order visited"), Column("journeys", "Days", "count"),
        Column("share", "Share of the days", "percent"), Column("equals_planned", "Always the planned order"),
        Column("planned_journeys", "Days it was the planned order", "count")],
        empty="No visits made on this route in these dates.",
        note="The outlets each day's visits went to, in check-in order; days with no visit made are not counted.")
    for r in rows:
        table.rows.append([" → ".join(r.path), r.journeys, r.share, r.equals_planned, r.planned_journeys])
    return table


# --- one journey -------------------------------------------------------------------------------------------------

def comparison_facts(c: JourneyComparison, *, tz: ZoneInfo, distributor: str) -> list[tuple[str, str]]:
    h, t = c.header, c.totals

    def hm(value: datetime | None) -> str:
        local = _local(value, tz)
        return local.strftime("%H:%M") if local is not None else "—"

    facts = [
        ("Date", h.date.isoformat()), ("Distributor", distributor), ("Order-booker", h.booker_name),
        ("Route", f"{h.route_code} {h.route_name}"),
        ("Planned day", f"{hm(h.planned_start)}–{hm(h.planned_end)} ({_minutes(t.planned_day_s)})"),
        ("Stops", f"{len(c.planned)} planned, {len(c.actual)} made: {len(c.skipped)} skipped, {len(c.added)} added, "
                  f"{len(c.swapped)} out of sequence"),
        ("In the market", f"{hm(t.first_check_in)}–{hm(t.last_check_out)}: {_minutes(t.actual_market_s)} against "
                          f"{_minutes(t.planned_market_s)} planned ({_minutes(t.extra_market_s, signed=True)})"),
        ("Distance", f"{_km(t.actual_distance_m)} travelled against {_km(t.planned_distance_m)} planned: "
                     f"{_signed_km(t.extra_distance_m)} ({_signed_km(t.extra_distance_stops_m)} from the stops "
                     f"skipped and added, {_signed_km(t.extra_distance_order_m)} from the order)"),
        ("Travel time", f"{_minutes(t.actual_travel_s)} against {_minutes(t.planned_travel_s)} planned "
                        f"({_minutes(t.extra_travel_s, signed=True)})"),
        ("Travel model", t.travel_provider),
    ]
    if t.stored_planned_distance_m != t.planned_distance_m:
        facts.append(("Planned distance when the journey was built", _km(t.stored_planned_distance_m)))
    return facts


def comparison_tables(c: JourneyComparison, *, tz: ZoneInfo) -> list[Table]:
    planned = Table("planned", "Planned stops", [
        Column("sequence", "No.", "count"), Column("outlet_id", "Outlet id", on_page=False),
        Column("outlet_code", "Outlet"), Column("outlet_name", "Name"), Column("eta", "ETA", "time"),
        Column("etd", "ETD", "time"), Column("status", "Status"), Column("visit_order", "Visited as", "count")],
        empty="No planned stops.")
    for p in c.planned:
        planned.rows.append([p.sequence, p.outlet_id, p.outlet_code, p.outlet_name, _local(p.eta, tz),
                             _local(p.etd, tz), p.status, p.visit_order])
    actual = Table("actual", "Stops made, in check-in order", [
        Column("visit_order", "Order", "count"), Column("outlet_id", "Outlet id", on_page=False),
        Column("outlet_code", "Outlet"), Column("outlet_name", "Name"),
        Column("planned_sequence", "Planned no.", "count"), Column("checked_in_at", "Checked in", "time"),
        Column("checked_out_at", "Checked out", "time"), Column("status", "Status"),
        Column("delay_minutes", "Late by (min)", "count"), Column("in_sequence", "In sequence")],
        empty="No visit made.")
    for a in c.actual:
        actual.rows.append([a.visit_order, a.outlet_id, a.outlet_code, a.outlet_name, a.planned_sequence,
                            _local(a.checked_in_at, tz), _local(a.checked_out_at, tz), a.status, a.delay_minutes,
                            a.in_sequence])
    return [planned, actual,
            _refs("skipped", "Skipped: planned, not made", c.skipped, "Every planned stop was made."),
            _refs("added", "Added: made, not planned", c.added, "No stop was added."),
            _refs("swapped", "Out of sequence: planned stops made out of the plan's order", c.swapped,
                  "The planned stops were made in the plan's order.")]


def _refs(name: str, title: str, refs: tuple[StopRef, ...], empty: str) -> Table:
    table = Table(name, title, [
        Column("outlet_id", "Outlet id", on_page=False), Column("outlet_code", "Outlet"),
        Column("outlet_name", "Name"), Column("planned_sequence", "Planned no.", "count"),
        Column("visit_order", "Visited as", "count")], empty=empty)
    for r in refs:
        table.rows.append([r.outlet_id, r.outlet_code, r.outlet_name, r.planned_sequence, r.visit_order])
    return table


def journey_map(c: JourneyComparison) -> SafeString:
    return journey_map_svg(c)


# --- the funnel ----------------------------------------------------------------------------------------------------

def funnel_tables(f: Funnel, *, outlet_url: Callable[[int], str]) -> list[Table]:
    stages = Table("stages", "Calls per stage", [
        Column("stage", "Stage"), Column("entered", "Began here", "count"), Column("reached", "Got here", "count"),
        Column("stopped", "Stopped here", "count"), Column("timed", "Steps timed", "count"),
        Column("median_hours", "Median hours from the stage before", "number"),
        Column("p90_hours", "90th percentile hours", "number")], empty="No calls in these dates.")
    for s in f.stages:
        stages.rows.append([STAGE_LABELS.get(s.stage, s.stage), s.entered, s.reached, s.stopped, s.timed,
                            s.median_hours, s.p90_hours])
    tables = [stages]
    if f.outlets_listed:
        outlets = Table("outlets", "Where each outlet's calls stopped", [
            Column("outlet_id", "Outlet id", on_page=False), Column("outlet_code", "Outlet"),
            Column("outlet_name", "Name"), Column("calls", "Calls", "count"),
            *(Column(f"stopped_{k}", f"Stopped at {v.lower()}", "count") for k, v in STAGE_LABELS.items())],
            empty="No calls in these dates.",
            note="At most 500 outlets, most calls first." if f.outlets_truncated else "")
        for o in f.outlets:
            outlets.rows.append([o.outlet_id, o.outlet_code, o.outlet_name, o.calls, o.stopped_planned,
                                 o.stopped_visited, o.stopped_ordered, o.stopped_invoiced, o.stopped_delivered,
                                 o.stopped_paid])
            outlets.urls.append(outlet_url(o.outlet_id))
        tables.append(outlets)
    return tables


def funnel_chart(f: Funnel) -> Chart:
    labels = [STAGE_LABELS.get(s.stage, s.stage) for s in f.stages]
    return Chart("chart-funnel", "Calls per stage", "bar", "count", labels, [
        {"label": "Got here", "data": [chart_value(s.reached, "count") for s in f.stages]},
        {"label": "Stopped here", "data": [chart_value(s.stopped, "count") for s in f.stages]}])
