"""What the journey selectors share: the visit statuses of a call made, the scope checks of the filters (a foreign
distributor, route or outlet is "not found"), the tenant's day bounds, and SQL table names."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db.models import Model

from catalog.models import Outlet
from dms.core.errors import NotFound
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope
from dms.tenancy.selectors import tenant_zone
from pjp.enums import VisitStatus
from pjp.models import Route

# A visit made (checked in), as analytics.builders and the reconciliation count it; the others were not made.
VISITED = (VisitStatus.CHECKED_IN, VisitStatus.PRODUCTIVE, VisitStatus.UNPRODUCTIVE)
NOT_VISITED = (VisitStatus.PLANNED, VisitStatus.MISSED)
SHARE_PLACES = Decimal("0.0001")


def share(part: int, whole: int) -> Decimal | None:
    """part / whole to 4 places, half up (None when whole is 0), as the KPI ratios are rounded."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(SHARE_PLACES, rounding=ROUND_HALF_UP)


def display_name(first_name: str, last_name: str, username: str) -> str:
    """A user as the dashboards name them: the full name, else the username."""
    return f"{first_name} {last_name}".strip() or username


def distributor_ids(scope: Scope, distributor_id: int | None = None) -> list[int]:
    """The tenant's distributors the scope may read (narrowed to `distributor_id` when given). A distributor outside
    the scope is NotFound, as any foreign object."""
    qs = Distributor.objects.filter(tenant_id=scope.tenant_id)
    if scope.distributor_ids is not None:
        qs = qs.filter(pk__in=scope.distributor_ids)
    if distributor_id is not None:
        qs = qs.filter(pk=distributor_id)
    ids = sorted(qs.values_list("pk", flat=True))
    if distributor_id is not None and not ids:
        raise NotFound("Distributor not found.")
    return ids


def route_distributor(scope: Scope, route_id: int) -> int:
    """The route's distributor; NotFound when the route is not the scope's."""
    found = scope.filter(Route.objects.filter(tenant_id=scope.tenant_id, pk=route_id)).values_list(
        "distributor_id", flat=True).first()
    if found is None:
        raise NotFound("Route not found.")
    return int(found)


def outlet_distributor(scope: Scope, outlet_id: int) -> int:
    """The outlet's distributor; NotFound when the outlet is not the scope's."""
    found = scope.filter(Outlet.objects.filter(tenant_id=scope.tenant_id, pk=outlet_id)).values_list(
        "distributor_id", flat=True).first()
    if found is None:
        raise NotFound("Outlet not found.")
    return int(found)


def day_bounds(tz: ZoneInfo, date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """The instants the tenant-local dates date_from..date_to (inclusive) begin and end."""
    end = date_to + timedelta(days=1)
    return (datetime(date_from.year, date_from.month, date_from.day, tzinfo=tz),
            datetime(end.year, end.month, end.day, tzinfo=tz))


def zone(scope: Scope) -> ZoneInfo:
    return tenant_zone(scope=scope)


def table(model: type[Model]) -> str:
    """A model's table name, quoted for SQL."""
    return f'"{model._meta.db_table}"'
