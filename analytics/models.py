"""Daily fact tables: what the KPIs and dashboards read (issue 8), one row per distributor and tenant-local date.

Facts are derived, never entered: `analytics.builders.facts_refresh` rebuilds a (tenant, distributors, date) slice
from the operational tables in one transaction (a DELETE and an INSERT .. SELECT per table), after sync and nightly.
No operational code path writes them, and nothing but the builder should.

Decisions:
- Other rows are referenced by plain bigint ids, not foreign keys. A fact row is rebuilt wholesale, so a foreign key
  would add a lookup per inserted row (tenancy/ddl.py would make each a composite key) and pin master data that may
  be archived, and facts stay loadable into a separate analytical store. The ids are those of the same tenant's
  rows by construction (the builder reads them under the same RLS scope).
- No created_at / updated_at on the row-level facts (compactness at 10 million order lines); DistributorDayFact,
  one row per distributor and date, carries `refreshed_at` for the whole slice.
- Every table is unique on (tenant, distributor, date, ..): that index serves "one distributor over a date range"
  queries; (tenant, date) serves tenant-wide ones.
- Values are taxes included, discounts deducted (the documents' `total`), in the tenant's currency.
"""

from __future__ import annotations

from django.db import models

from dms.tenancy.models import DistributorModel


def _money() -> models.DecimalField:
    return models.DecimalField(max_digits=18, decimal_places=2, default=0)


class FactModel(DistributorModel):
    """A fact row: tenant + distributor (RLS applies as to every distributor-owned table), no timestamps."""

    created_at = None  # type: ignore[assignment]
    updated_at = None  # type: ignore[assignment]

    date = models.DateField(help_text="the tenant-local business date")

    class Meta:
        abstract = True


class BookerDayFact(FactModel):
    """One order-booker's day at one distributor: the journey (visits) and the orders the booker booked that day.

    - planned_visits: visits of the day's journey with planned = true (whatever became of them).
    - visits: visits of the journey checked in (planned or not); productive / unproductive / missed by status
      (a checked-in visit without an outcome yet counts in `visits` only; missed is set by the day close).
    - unplanned_visits: checked-in visits with planned = false (added by the app).
    - in_sequence_visits: planned visits checked in whose predecessor, among the day's planned visits checked in
      ordered by check-in time, has a smaller planned sequence number; the first one checked in is in sequence.
      (Consecutive-pair order: computed with one lag() window; planned 1,2,3,4 visited 2,1,3,4 gives 3.)
    - orders / order_lines / ordered_units / ordered_value: the booker's secondary orders (any source) whose
      booked_at falls on the date in the tenant's zone, cancelled ones excluded; value = order total.
    - unique_outlets_visited: distinct outlets checked in; first_check_in / last_check_out over the journey.
    - route_id: the route of the booker's journey of the date (null: orders but no journey).
    """

    booker_id = models.BigIntegerField()
    route_id = models.BigIntegerField(null=True, blank=True)
    planned_visits = models.PositiveIntegerField(default=0)
    visits = models.PositiveIntegerField(default=0)
    productive_visits = models.PositiveIntegerField(default=0)
    unproductive_visits = models.PositiveIntegerField(default=0)
    missed_visits = models.PositiveIntegerField(default=0)
    in_sequence_visits = models.PositiveIntegerField(default=0)
    unplanned_visits = models.PositiveIntegerField(default=0)
    orders = models.PositiveIntegerField(default=0)
    order_lines = models.PositiveIntegerField(default=0)
    ordered_units = models.BigIntegerField(default=0)
    ordered_value = _money()
    unique_outlets_visited = models.PositiveIntegerField(default=0)
    first_check_in = models.DateTimeField(null=True, blank=True)
    last_check_out = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "distributor", "date", "booker_id"],
                                               name="bookerdayfact_uniq")]
        indexes = [models.Index(fields=["tenant", "date"], name="bookerdayfact_tenant_date")]


class OutletSkuDayFact(FactModel):
    """What happened to one SKU at one outlet on one date, each event on its own business date:

    - ordered_*: secondary order lines of orders booked (booked_at, tenant zone) that date, cancelled orders
      excluded; ordered_lines counts the lines (free-goods lines included), value = line total;
    - invoiced_*: invoice lines of invoices whose invoice_date is the date;
    - delivered_* / returned_*: delivery lines recorded on load forms whose (delivery) date is the date;
      returned_value is the credit note's line for the units back (credit_note_issue: pro rata, to the cent),
      delivered_value the invoice line's total less it.

    booker_id and route_id are those of the originating order (its booker and the route of the booker's journey of
    the order's booking date; null when it has none), so an invoice or delivery is credited to the call that made
    it. brand_id is the SKU's brand, copied for brand roll-ups without a join.
    """

    outlet_id = models.BigIntegerField()
    sku_id = models.BigIntegerField()
    brand_id = models.BigIntegerField()
    route_id = models.BigIntegerField(null=True, blank=True)
    booker_id = models.BigIntegerField(null=True, blank=True)
    ordered_lines = models.PositiveIntegerField(default=0)
    ordered_units = models.BigIntegerField(default=0)
    ordered_value = _money()
    invoiced_units = models.BigIntegerField(default=0)
    invoiced_value = _money()
    delivered_units = models.BigIntegerField(default=0)
    delivered_value = _money()
    returned_units = models.BigIntegerField(default=0)
    returned_value = _money()

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["tenant", "distributor", "date", "outlet_id", "sku_id", "booker_id", "route_id"],
            name="outletskudayfact_uniq", nulls_distinct=False)]
        indexes = [models.Index(fields=["tenant", "date"], name="outletskudayfact_tenant_date")]


class DistributorDayFact(FactModel):
    """A distributor's day (one row per distributor and refreshed date, zeros included):

    - collections: payments received_on the date (amount, cash and cheques, allocated or on account);
    - primary_received_units / _cases: good units / cases of goods receipts received_on the date;
    - stock_on_hand_units: on hand over all warehouses and SKUs, when the refresh runs on the date itself (tenant
      zone): the last refresh of the day is its end-of-day snapshot. Refreshed on a later day it is null: balances
      keep no history to rebuild a past day's from;
    - invoices_issued / invoice_value: invoices of invoice_date the date; credit_note_value: credit notes of
      note_date the date;
    - outlets_with_orders: distinct outlets with an order booked that date (cancelled excluded).
    """

    collections = _money()
    primary_received_units = models.BigIntegerField(default=0)
    primary_received_cases = models.BigIntegerField(default=0)
    stock_on_hand_units = models.BigIntegerField(null=True, blank=True)
    invoices_issued = models.PositiveIntegerField(default=0)
    invoice_value = _money()
    credit_note_value = _money()
    outlets_with_orders = models.PositiveIntegerField(default=0)
    # Receivables ageing, a snapshot like stock_on_hand_units (null unless refreshed on the date itself): the open
    # balance (total - credited - paid) of the distributor's issued invoices by age = the date - invoice_date.
    receivables = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    ar_0_30 = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True, help_text="0-30 days")
    ar_31_60 = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    ar_61_90 = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    ar_over_90 = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    refreshed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "distributor", "date"],
                                               name="distributordayfact_uniq")]
        indexes = [models.Index(fields=["tenant", "date"], name="distributordayfact_tenant_date")]


class OutletDayFact(FactModel):
    """One outlet's call on one date: a row for every outlet planned on a journey of the date or visited (checked in)
    that date, whatever the outcome. What coverage (distinct outlets called over a period) counts.

    route_id / booker_id: those of the journey the visit belongs to. planned: the visit was on the plan;
    visited: checked in (planned or not); productive: the visit's status is productive.
    """

    outlet_id = models.BigIntegerField()
    route_id = models.BigIntegerField(null=True, blank=True)
    booker_id = models.BigIntegerField(null=True, blank=True)
    planned = models.BooleanField(default=False)
    visited = models.BooleanField(default=False)
    productive = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "distributor", "date", "outlet_id", "booker_id"],
                                               name="outletdayfact_uniq", nulls_distinct=False)]
        indexes = [models.Index(fields=["tenant", "date"], name="outletdayfact_tenant_date")]


class ServiceDayFact(FactModel):
    """Order-level service on one date, by the originating call (the order's booker and the route of the booker's
    journey on the booking date, null when none):

    - orders_invoiced: orders whose invoice's invoice_date is the date; orders_filled: those of them where every
      order line (free lines included) was invoiced in full (invoiced units >= ordered units);
      order_lines_invoiced / lines_filled: the same at line level (order lines of the orders invoiced that date,
      and those invoiced in full).
    - orders_due: live orders (not cancelled) whose due date is the date: the order's delivery_date, else the local
      booking date + TenantSettings.delivery_due_days. orders_on_time: delivered on a load form dated on or before
      the due date; orders_in_full: delivered units >= ordered units over all lines, nothing returned;
      orders_otif: both. (Final once the due date has closed: a later delivery is late anyway.)
    """

    booker_id = models.BigIntegerField(null=True, blank=True)
    route_id = models.BigIntegerField(null=True, blank=True)
    orders_invoiced = models.PositiveIntegerField(default=0)
    orders_filled = models.PositiveIntegerField(default=0)
    order_lines_invoiced = models.PositiveIntegerField(default=0)
    lines_filled = models.PositiveIntegerField(default=0)
    orders_due = models.PositiveIntegerField(default=0)
    orders_on_time = models.PositiveIntegerField(default=0)
    orders_in_full = models.PositiveIntegerField(default=0)
    orders_otif = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "distributor", "date", "booker_id", "route_id"],
                                               name="servicedayfact_uniq", nulls_distinct=False)]
        indexes = [models.Index(fields=["tenant", "date"], name="servicedayfact_tenant_date")]


class SalesFactModel(FactModel):
    """The sales, sell-in and stock columns BrandDayFact and its roll-up DistributorBrandDayFact share."""

    ordered_lines = models.PositiveIntegerField(default=0)
    ordered_units = models.BigIntegerField(default=0)
    ordered_value = _money()
    invoiced_lines = models.PositiveIntegerField(default=0)
    invoiced_units = models.BigIntegerField(default=0)
    invoiced_value = _money()
    delivered_units = models.BigIntegerField(default=0)
    delivered_value = _money()
    returned_units = models.BigIntegerField(default=0)
    returned_value = _money()
    primary_received_units = models.BigIntegerField(default=0)
    primary_received_value = _money()
    stock_on_hand_units = models.BigIntegerField(null=True, blank=True)

    class Meta:
        abstract = True


class BrandDayFact(SalesFactModel):
    """OutletSkuDayFact rolled up to (booker, route, brand), which is what the dashboards filter by, plus the
    distributor's primary receipts and stock by brand (rows with booker_id and route_id null):

    - ordered_* / invoiced_* / delivered_* / returned_*: sums of OutletSkuDayFact's columns of the date;
      invoiced_lines: its rows with invoiced units.
    - primary_received_units / _value: good units received on goods receipts received_on the date, valued at the
      dispatch advice line's case price per case received (sell-in).
    - stock_on_hand_units: on hand over the distributor's warehouses, when refreshed on the date itself (else null;
      see DistributorDayFact).
    A date's OutletSkuDayFact rows of (booker, route, brand) sum exactly to its row here (a test keeps them equal).
    """

    booker_id = models.BigIntegerField(null=True, blank=True)
    route_id = models.BigIntegerField(null=True, blank=True)
    brand_id = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["tenant", "distributor", "date", "booker_id", "route_id", "brand_id"],
            name="branddayfact_uniq", nulls_distinct=False)]
        indexes = [models.Index(fields=["tenant", "date"], name="branddayfact_tenant_date")]


class OutletMonthFact(FactModel):
    """Which days of a month an outlet was called on (visited): bit d-1 of `visited_days` is set when the outlet was
    checked in on day d. `date` is the month's first day. What coverage over a period reads when it is not narrowed
    to a route or a booker: one row per outlet and month instead of one per outlet and day, so a tenant-wide month
    is some 200,000 small rows, not millions (OutletDayFact keeps the per-day rows, with route and booker).

    Maintained by the builder from the OutletDayFact slice it has just written: the date's bit is cleared for the
    outlets no longer visited that date and set for those visited (an upsert); a row whose bits are all clear may
    remain, and counts as not called."""

    outlet_id = models.BigIntegerField()
    visited_days = models.IntegerField(default=0, help_text="bit d-1: visited on day d of the month")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "distributor", "date", "outlet_id"],
                                               name="outletmonthfact_uniq")]
        indexes = [models.Index(fields=["tenant", "date"], name="outletmonthfact_tenant_date")]


class DistributorBrandDayFact(SalesFactModel):
    """BrandDayFact summed over bookers and routes: one row per distributor, date and brand, plus one with brand_id
    null for all brands. What the sales KPIs read when no booker or route narrows them (a tenant's week is some
    3,500 all-brand rows instead of half a million booker x route x brand rows). Same columns and meanings as
    BrandDayFact; the builder writes it from the BrandDayFact slice it has just written (GROUPING SETS), so the two
    always agree (a test keeps them equal)."""

    brand_id = models.BigIntegerField(null=True, blank=True, help_text="null: all brands")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "distributor", "date", "brand_id"],
                                               name="distributorbranddayfact_uniq", nulls_distinct=False)]
        indexes = [models.Index(fields=["tenant", "date"], name="distbranddayfact_tenant_date")]


class CoverageMonthFact(FactModel):
    """Coverage of a distributor's month, precomputed from OutletMonthFact so that a period within one month is a
    lookup, not a pass over every outlet: `outlets` is the number of the distributor's active outlets whose first
    call (visited day) on or after day `from_day` of the month is on day `call_day` (rows with a count only). The
    outlets called in days a..b of the month are then the sum of the rows with from_day = a and call_day <= b, and
    those called on day d the row (d, d). `date` is the month's first day.

    The row (from_day 0, call_day 0) marks the distributor's month as built, and its `outlets` are the
    distributor's active outlets (the coverage KPI's outlets in scope): a distributor without it is read from the
    month bits instead. Built by the builder after the month bits, with the same outlet set the coverage KPI counts
    (active outlets, by their distributor); a change to that set (an outlet added, deactivated, reactivated, moved
    to another distributor or deleted) removes every month of the distributors concerned (the trigger
    analytics_coverage_stale on the outlet table), so a stale count is never read, and the markers a distributor
    has always hold its present outlet count."""

    from_day = models.PositiveSmallIntegerField()
    call_day = models.PositiveSmallIntegerField()
    outlets = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "distributor", "date", "from_day", "call_day"],
                                               name="coveragemonthfact_uniq")]
        # the tenant-wide lookup of one (from_day, call_day) range over every distributor
        indexes = [models.Index(fields=["tenant", "date", "from_day", "call_day"], name="coveragemonthfact_lookup")]


class DistributorActivityDayFact(FactModel):
    """BookerDayFact and ServiceDayFact summed per distributor and date: what the visit, order and service KPIs read
    when no booker or route narrows or groups them (a tenant's week is some 3,500 rows instead of 35,000 booker
    days and as many service rows). One row per distributor and date with a booker or a service row;
    booker_rows / service_rows count them (a KPI reads the rows whose count for its table is not 0, so a date or a
    distributor has a value where the source table has rows, exactly as when read from it). The other columns are
    the sums the KPIs take (analytics.kpi_reads.BOOKER_SUMS, SERVICE_SUMS): planned_visits_made = visits -
    unplanned_visits; market_time = last_check_out - first_check_in and market_days the booker days having both.
    The builder writes it from the two slices it has just written, so they always agree (a test keeps them equal).
    """

    booker_rows = models.PositiveIntegerField(default=0)
    planned_visits = models.BigIntegerField(default=0)
    planned_visits_made = models.BigIntegerField(default=0)
    in_sequence_visits = models.BigIntegerField(default=0)
    productive_visits = models.BigIntegerField(default=0)
    orders = models.BigIntegerField(default=0)
    order_lines = models.BigIntegerField(default=0)
    ordered_value = _money()
    unique_outlets_visited = models.BigIntegerField(default=0)
    market_time = models.DurationField(null=True, blank=True)
    market_days = models.PositiveIntegerField(default=0)
    service_rows = models.PositiveIntegerField(default=0)
    orders_invoiced = models.BigIntegerField(default=0)
    orders_filled = models.BigIntegerField(default=0)
    order_lines_invoiced = models.BigIntegerField(default=0)
    lines_filled = models.BigIntegerField(default=0)
    orders_due = models.BigIntegerField(default=0)
    orders_on_time = models.BigIntegerField(default=0)
    orders_in_full = models.BigIntegerField(default=0)
    orders_otif = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "distributor", "date"],
                                               name="distactivitydayfact_uniq")]
        indexes = [models.Index(fields=["tenant", "date"], name="distactivityday_tenant_date")]
