"""The order-booker's day as the app downloads it: the journey, its visits in sequence with arrival times, each
outlet's details and its last orders, and the day's notification.

Reads only (pjp's journey_notification_deliver marks the notification delivered). Queries do not grow with the
number of
visits or orders: the journey with its route, the visits with their outlets, the last orders of all the outlets
(one window-function query), their line counts, and the notification.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, F, Prefetch, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from dms.tenancy.scope import Scope
from orders.models import SecondaryOrder, SecondaryOrderLine
from pjp.models import DailyJourney, JourneyNotification, Visit

MAX_DAYS_AWAY = 30  # the app asks for today, maybe a few days around it; further is refused
LAST_ORDERS = 3
# Orders older than this are not "recent": bounds the scan of an outlet's order history.
LAST_ORDERS_LOOKBACK = timedelta(days=365)


@dataclass(frozen=True)
class VisitCard:
    """One planned call with what the booker needs at the outlet. `last_orders` are newest first."""

    visit: Visit
    last_orders: list[SecondaryOrder]


@dataclass(frozen=True)
class BookerDay:
    """A booker's day. `journey` is None on an off day (no route planned): then there are no visits."""

    date: date
    time_zone: str
    journey: DailyJourney | None
    visits: list[VisitCard] = field(default_factory=list)
    notification: JourneyNotification | None = None

    @property
    def journey_id(self) -> int | None:
        return self.journey.pk if self.journey is not None else None


def booker_day_get(*, scope: Scope, booker_id: int, day: date, time_zone: str) -> BookerDay:
    """The booker's journey for `day` within the scope's distributors, with visits in sequence, each outlet's
    last LAST_ORDERS secondary orders (newest first, with `line_count`) and the day's notification.

    At most five queries whatever the number of visits and orders; an off day is one.
    """
    visits = Visit.objects.select_related("outlet").order_by("sequence", "pk")
    journey = (scope.filter(DailyJourney.objects.filter(booker_id=booker_id, date=day)).select_related("route")
               .prefetch_related(Prefetch("visits", queryset=visits)).first())
    if journey is None:
        return BookerDay(date=day, time_zone=time_zone, journey=None)
    day_visits = list(journey.visits.all())
    orders = last_orders_by_outlet(scope=scope, outlet_ids={v.outlet_id for v in day_visits})
    notification = scope.filter(JourneyNotification.objects.filter(
        booker_id=booker_id, date=day, journey_id=journey.pk)).first()
    return BookerDay(date=day, time_zone=time_zone, journey=journey,
                     visits=[VisitCard(visit=v, last_orders=orders.get(v.outlet_id, [])) for v in day_visits],
                     notification=notification)


def last_orders_by_outlet(*, scope: Scope, outlet_ids: Collection[int], limit: int = LAST_ORDERS,
                          now: datetime | None = None) -> dict[int, list[SecondaryOrder]]:
    """outlet id -> its `limit` most recent secondary orders (any status), newest first, each with `line_count`.

    Two queries for any number of outlets: the orders ranked per outlet by a window function, then their line
    counts. Both name the tenant and distributor, so each runs on one shard under Citus.
    """
    if not outlet_ids:
        return {}
    since = (now or timezone.now()) - LAST_ORDERS_LOOKBACK
    ranked = (scope.filter(SecondaryOrder.objects.filter(outlet_id__in=outlet_ids, booked_at__gte=since))
              .annotate(recency=Window(RowNumber(), partition_by=[F("outlet_id")],
                                       order_by=[F("booked_at").desc(), F("pk").desc()]))
              .filter(recency__lte=limit)
              .only("pk", "uuid", "outlet_id", "booked_at", "status", "currency", "total")
              .order_by("outlet_id", "-booked_at", "-pk"))
    orders = list(ranked)
    counts: dict[int, int] = dict(
        scope.filter(SecondaryOrderLine.objects.filter(order_id__in=[o.pk for o in orders]))
        .order_by().values("order_id").annotate(n=Count("pk")).values_list("order_id", "n")) if orders else {}
    out: dict[int, list[SecondaryOrder]] = defaultdict(list)
    for order in orders:
        order.line_count = counts.get(order.pk, 0)  # type: ignore[attr-defined]  # an annotation by hand
        out[order.outlet_id].append(order)
    return dict(out)
