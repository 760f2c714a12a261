"""The facts builder: rebuild one tenant-local date's facts of some or all of a tenant's distributors, set-based.

Per fact table one DELETE of the (tenant, distributors, date) slice and one INSERT .. SELECT aggregating the
operational tables (the statements are in analytics/builders_sql.py), all in the caller's transaction (the task's
tenant_scope), so a refresh is idempotent and a reader sees the old slice or the new one, never half of it. No row
passes through Python.

The SQL filters by `tenant_id = %(tenant_id)s` and `distributor_id = ANY(%(dist)s)` explicitly (the distributor
ids are resolved in Python: the tenant's distributors, narrowed by the caller's list and the scope); row-level
security is the backstop. Instants are compared with the date's bounds in UTC, computed from the tenant's zone.
What each column means is in analytics/models.py.

Decisions:
- BrandDayFact is rolled up from the OutletSkuDayFact slice written just before it, not from the operational
  tables again: half the work, and the two can never disagree.
- Snapshots (stock on hand, receivables ageing) are taken only when the refresh runs on the date itself (tenant
  zone): balances and open amounts keep no history to rebuild a past day's from. Later refreshes leave them NULL.
- OutletMonthFact is not a slice: the date's bit is cleared and set in its month's rows (builders_sql.MONTH_*).
  CoverageMonthFact is then rebuilt for the date's month from those rows (builders_sql.COVERAGE_*).
- An order's due date (ServiceDayFact) is its delivery_date, else its local booking date + the tenant's
  delivery_due_days, read here once per refresh and turned into the booking-instant bounds of the date it serves.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, models, transaction
from django.utils import timezone

from catalog.models import Outlet, Sku
from dispatch.enums import DeliveryOutcome, LoadFormStatus
from dispatch.models import (
    DeliveryLine,
    DispatchAdviceLine,
    GoodsReceipt,
    GoodsReceiptLine,
    LoadForm,
    LoadFormInvoice,
)
from dms.tenancy.context import current_scope_or_none
from dms.tenancy.models import Distributor, Tenant, TenantSettings
from dms.tenancy.scope import Scope
from inventory.models import StockBalance
from invoicing.enums import PaymentStatus
from invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine, Payment
from orders.enums import OrderStatus
from orders.models import SecondaryOrder, SecondaryOrderLine
from pjp.enums import VisitStatus
from pjp.models import DailyJourney, Visit

from .builders_sql import (
    COVERAGE_DELETE,
    COVERAGE_INSERT,
    DELETE,
    FACTS,
    MONTH_CLEAR,
    MONTH_SET,
    ORDER_JOURNEY,
    POWERS,
    STALE_MONTHS,
)
from .models import (
    BookerDayFact,
    BrandDayFact,
    CoverageMonthFact,
    DistributorActivityDayFact,
    DistributorBrandDayFact,
    DistributorDayFact,
    OutletDayFact,
    OutletMonthFact,
    OutletSkuDayFact,
    ServiceDayFact,
)

# The visit statuses of a visit made (checked in), as the reconciliation counts them.
VISITED = (VisitStatus.CHECKED_IN, VisitStatus.PRODUCTIVE, VisitStatus.UNPRODUCTIVE)
# Every order status but cancelled: an equality list, so (distributor, status, booked_at) can serve it.
LIVE_ORDER = tuple(s for s in OrderStatus if s != OrderStatus.CANCELLED)
# A stop whose goods reached the outlet, in full or in part (on time counts these).
DELIVERED = (DeliveryOutcome.DELIVERED, DeliveryOutcome.PARTIALLY_DELIVERED)
WORK_MEM_MB = 64


def table(model: type[models.Model]) -> str:
    """A model's table name, quoted for SQL."""
    return f'"{model._meta.db_table}"'


def _tables() -> dict[str, str]:
    return {
        "booker_fact": table(BookerDayFact), "sku_fact": table(OutletSkuDayFact),
        "dist_fact": table(DistributorDayFact), "brand_fact": table(BrandDayFact),
        "outlet_fact": table(OutletDayFact), "service_fact": table(ServiceDayFact),
        "month_fact": table(OutletMonthFact), "coverage_fact": table(CoverageMonthFact),
        "dist_activity_fact": table(DistributorActivityDayFact),
        "outlet": table(Outlet), "dist_brand_fact": table(DistributorBrandDayFact),
        "distributor": table(Distributor), "journey": table(DailyJourney), "visit": table(Visit),
        "order": table(SecondaryOrder), "order_line": table(SecondaryOrderLine), "invoice": table(Invoice),
        "invoice_line": table(InvoiceLine), "credit_note": table(CreditNote), "credit_line": table(CreditNoteLine),
        "payment": table(Payment), "load_form": table(LoadForm), "stop": table(LoadFormInvoice),
        "delivery_line": table(DeliveryLine), "receipt": table(GoodsReceipt), "receipt_line": table(GoodsReceiptLine),
        "advice_line": table(DispatchAdviceLine), "balance": table(StockBalance), "sku": table(Sku),
    }


def _distributor_ids(scope: Scope, distributor_ids: Iterable[int] | None) -> list[int]:
    """The tenant's distributors (read under RLS), narrowed by the caller's list and the scope's."""
    ids = set(Distributor.objects.filter(tenant_id=scope.tenant_id).values_list("pk", flat=True))
    if distributor_ids is not None:
        ids &= {int(d) for d in distributor_ids}
    if scope.distributor_ids is not None:
        ids &= scope.distributor_ids
    return sorted(ids)


def _local_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _params(scope: Scope, business_date: date, dist: list[int]) -> dict[str, Any]:
    tz = Tenant.objects.get(pk=scope.tenant_id).tz
    due_days = TenantSettings.objects.filter(tenant_id=scope.tenant_id).values_list(
        "delivery_due_days", flat=True).first()
    due_days = TenantSettings().delivery_due_days if due_days is None else due_days
    booked_on = business_date - timedelta(days=due_days)  # orders without a delivery date due on business_date
    now = timezone.now()
    return {
        "tenant_id": scope.tenant_id, "business_date": business_date, "dist": dist, "tz": str(tz.key),
        "day_start": _local_start(business_date, tz), "day_end": _local_start(business_date + timedelta(days=1), tz),
        "due_booked_start": _local_start(booked_on, tz),
        "due_booked_end": _local_start(booked_on + timedelta(days=1), tz),
        "now": now, "is_today": now.astimezone(tz).date() == business_date,
        "month": business_date.replace(day=1), "day_bit": 1 << (business_date.day - 1),
        "visited": [s.value for s in VISITED], "productive": VisitStatus.PRODUCTIVE.value,
        "unproductive": VisitStatus.UNPRODUCTIVE.value, "missed": VisitStatus.MISSED.value,
        "live_order": [s.value for s in LIVE_ORDER], "cancelled_load": LoadFormStatus.CANCELLED.value,
        "delivered": [s.value for s in DELIVERED], "paid": PaymentStatus.PAID.value,
    }


def facts_refresh(*, scope: Scope, business_date: date, distributor_ids: Iterable[int] | None = None
                  ) -> dict[str, int]:
    """Rebuild the facts of the tenant-local `business_date` for the tenant's distributors (all, or those of
    `distributor_ids`), in one transaction: each fact table's slice is deleted and inserted anew. Idempotent.
    Call it inside tenant_scope of the scope's tenant. Returns the rows written per table
    ({"booker", "outlet_sku", "brand", "distributor_brand", "outlet", "service", "distributor_activity",
    "distributor"} -> rows)."""
    current = current_scope_or_none()
    if current is None or current.tenant_id != scope.tenant_id:
        raise RuntimeError("facts_refresh runs inside tenant_scope() of the scope's tenant")
    dist = _distributor_ids(scope, distributor_ids)
    counts = {name: 0 for _key, _insert, name in FACTS}
    if not dist:
        return counts
    params = _params(scope, business_date, dist)
    tables = _tables()
    order_journey = ORDER_JOURNEY.format(**tables)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SET LOCAL jit = off; SET LOCAL work_mem = '{WORK_MEM_MB:d}MB'")
        for key, insert, name in FACTS:
            cursor.execute(DELETE.format(fact=tables[key]), params)
            cursor.execute(insert.format(order_journey=order_journey, **tables), params)
            counts[name] = cursor.rowcount
        cursor.execute(MONTH_CLEAR.format(**tables), params)
        cursor.execute(MONTH_SET.format(**tables), params)
        _coverage_rebuild(cursor, tables, params)
    return counts


def _coverage_rebuild(cursor: Any, tables: dict[str, str], params: dict[str, Any]) -> None:
    """Rebuild the coverage months. SHARE on the outlet table first, held to the commit (the statements come last in
    their transaction): an outlet change committing while the months were counted would otherwise make them stale
    after its trigger had already run. Outlet writes wait for the commit; in-flight ones are waited for, and
    counted."""
    cursor.execute(f"LOCK TABLE {tables['outlet']} IN SHARE MODE")
    cursor.execute(COVERAGE_DELETE.format(**tables), params)
    cursor.execute(COVERAGE_INSERT.format(**tables), {**params, "powers": POWERS})


def coverage_refresh(*, scope: Scope, month: date, distributor_ids: Iterable[int] | None = None) -> int:
    """Rebuild CoverageMonthFact of a month (any day of it) from its month bits, for the tenant's distributors (all,
    or those of `distributor_ids`), in one transaction; facts_refresh does it for its date's month. For the months
    an outlet change made stale (they are read from the bits meanwhile). Returns the rows written, markers
    included. Call it inside tenant_scope of the scope's tenant."""
    current = current_scope_or_none()
    if current is None or current.tenant_id != scope.tenant_id:
        raise RuntimeError("coverage_refresh runs inside tenant_scope() of the scope's tenant")
    dist = _distributor_ids(scope, distributor_ids)
    if not dist or connection.vendor != "postgresql":
        return 0
    params = {"tenant_id": scope.tenant_id, "dist": dist, "month": month.replace(day=1)}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        _coverage_rebuild(cursor, _tables(), params)
        return int(cursor.rowcount)


def coverage_heal(*, scope: Scope, until: date, months: int) -> int:
    """Rebuild the coverage months (of the `months` months up to until's) that have month bits but no marker row:
    made stale by an outlet change, or never built. One query finds them; each month is rebuilt for its stale
    distributors (coverage_refresh). Returns the (distributor, month) pairs rebuilt."""
    if connection.vendor != "postgresql":
        return 0
    first = until.replace(day=1)
    wanted = [date(first.year + (first.month - 1 - k) // 12, (first.month - 1 - k) % 12 + 1, 1) for k in range(months)]
    dist = _distributor_ids(scope, None)
    with connection.cursor() as cursor:
        cursor.execute(STALE_MONTHS.format(**_tables()), {"tenant_id": scope.tenant_id, "dist": dist,
                                                           "months": wanted})
        stale = cursor.fetchall()
    by_month: dict[date, list[int]] = {}
    for distributor, month in stale:
        by_month.setdefault(month, []).append(distributor)
    for month, distributors in sorted(by_month.items()):
        coverage_refresh(scope=scope, month=month, distributor_ids=distributors)
    return len(stale)
