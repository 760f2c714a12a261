"""Many journeys at once: the picker's rows (`journey_list`) and a route's most common actual paths
(`common_paths`). Both are set-based: one query whatever the number of journeys and visits.

journey_list counts per journey what journey_compare lists for one (same definitions, see compare.py): planned,
visited (every visit made, planned or added), skipped, added and swapped. The swaps need the longest increasing
run of planned sequence numbers in check-in order, which SQL does not do well: the query returns each journey's
sequence numbers in that order (array_agg) and the run is found in Python on those few numbers, with no query per
journey.

common_paths groups a route's journeys of the period by the outlets they actually visited, in check-in order (the
codes, array_agg ordered by check-in time), most frequent first. A journey with no visit made has no path and is
left out of the counts and of the share's denominator. `equals_planned` is true when, on every journey of the group,
the path was that day's planned order (the plan may differ between days: fortnightly stops, a re-sequenced route);
`planned_journeys` counts the journeys on which it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection
from django.db.models import Count, Q

from catalog.models import Outlet
from dms.tenancy.scope import Scope
from pjp.models import DailyJourney, Visit

from .common import NOT_VISITED, VISITED, display_name, distributor_ids, route_distributor, share, table
from .compare import swapped_count

MAX_JOURNEYS = 1000
MAX_PATHS = 50


@dataclass(frozen=True)
class JourneyRow:
    journey_id: int
    date: date
    distributor_id: int
    booker_id: int
    booker_name: str
    route_id: int
    route_code: str
    route_name: str
    planned: int
    visited: int  # every visit made, planned or added
    skipped: int
    added: int
    swapped: int


@dataclass(frozen=True)
class PathRow:
    path: tuple[str, ...]  # outlet codes in check-in order
    journeys: int
    share: Decimal | None  # journeys / journeys of the period with a visit made, 4 places
    equals_planned: bool
    planned_journeys: int  # journeys of the group on which this path was the day's planned order


def journey_list(*, scope: Scope, date_from: date, date_to: date, distributor_id: int | None = None,
                 route_id: int | None = None, booker_id: int | None = None, limit: int = 200) -> list[JourneyRow]:
    """The journeys of the tenant-local dates date_from..date_to in the scope and the filters, newest first (then
    booker, then id), at most `limit` (capped at MAX_JOURNEYS). A distributor or route outside the scope is
    NotFound; a booker id only narrows. One query for the rows (and one for the scope's distributors)."""
    dist = distributor_ids(scope, distributor_id)
    if route_id is not None:
        route_distributor(scope, route_id)
    qs = scope.filter(DailyJourney.objects.filter(tenant_id=scope.tenant_id, date__gte=date_from, date__lte=date_to,
                                                  distributor_id__in=dist))
    if route_id is not None:
        qs = qs.filter(route_id=route_id)
    if booker_id is not None:
        qs = qs.filter(booker_id=booker_id)
    order = ("-date", "booker__username", "pk")
    # the page of journeys first (an IN subquery with its LIMIT), so only its visits are aggregated
    page = qs.order_by(*order).values("pk")[:max(0, min(limit, MAX_JOURNEYS))]
    made = Q(visits__status__in=VISITED)
    rows = DailyJourney.objects.filter(tenant_id=scope.tenant_id, pk__in=page).annotate(
        n_planned=Count("visits", filter=Q(visits__planned=True)),
        n_visited=Count("visits", filter=made),
        n_skipped=Count("visits", filter=Q(visits__planned=True, visits__status__in=NOT_VISITED)),
        n_added=Count("visits", filter=made & Q(visits__planned=False)),
        made_sequences=ArrayAgg("visits__sequence", filter=made & Q(visits__planned=True),
                                order_by=("visits__checked_in_at", "visits__sequence"), default=[]),
    ).order_by(*order).values(
        "pk", "date", "distributor_id", "booker_id", "booker__username", "booker__first_name", "booker__last_name",
        "route_id", "route__code", "route__name", "n_planned", "n_visited", "n_skipped", "n_added",
        "made_sequences")
    return [JourneyRow(
        journey_id=r["pk"], date=r["date"], distributor_id=r["distributor_id"], booker_id=r["booker_id"],
        booker_name=display_name(r["booker__first_name"], r["booker__last_name"], r["booker__username"]),
        route_id=r["route_id"], route_code=r["route__code"],
        route_name=r["route__name"], planned=r["n_planned"], visited=r["n_visited"], skipped=r["n_skipped"],
        added=r["n_added"], swapped=swapped_count(r["made_sequences"] or [])) for r in rows]


PATHS_SQL = """
WITH paths AS (
    SELECT j.id,
        array_agg(o.code ORDER BY v.checked_in_at, v.sequence) FILTER (WHERE v.status = ANY(%(visited)s)) AS actual,
        array_agg(o.code ORDER BY v.sequence) FILTER (WHERE v.planned) AS planned
    FROM {journey} j
    JOIN {visit} v ON v.distributor_id = j.distributor_id AND v.journey_id = j.id AND v.tenant_id = %(tenant_id)s
    JOIN {outlet} o ON o.id = v.outlet_id AND o.tenant_id = %(tenant_id)s
    WHERE j.tenant_id = %(tenant_id)s AND j.distributor_id = %(distributor_id)s AND j.route_id = %(route_id)s
      AND j.date >= %(date_from)s AND j.date <= %(date_to)s
    GROUP BY j.id
)
SELECT actual, count(*) AS journeys, count(*) FILTER (WHERE actual = planned) AS planned_journeys,
    sum(count(*)) OVER () AS total
FROM paths
WHERE actual IS NOT NULL
GROUP BY actual
ORDER BY journeys DESC, actual
LIMIT %(limit)s
"""


def common_paths(*, scope: Scope, route_id: int, date_from: date, date_to: date, limit: int = 5) -> list[PathRow]:
    """The most common actual visit orders on the route over the tenant-local dates date_from..date_to (inclusive),
    most frequent first (then by path), at most `limit` (capped at MAX_PATHS). A route outside the scope is
    NotFound. One query."""
    distributor_id = route_distributor(scope, route_id)
    params: dict[str, Any] = {"tenant_id": scope.tenant_id, "distributor_id": distributor_id, "route_id": route_id,
              "date_from": date_from, "date_to": date_to, "visited": [s.value for s in VISITED],
              "limit": max(0, min(limit, MAX_PATHS))}
    sql = PATHS_SQL.format(journey=table(DailyJourney), visit=table(Visit), outlet=table(Outlet))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    return [PathRow(path=tuple(path), journeys=n, share=share(n, int(total)), equals_planned=planned == n,
                    planned_journeys=planned) for path, n, planned, total in found]
