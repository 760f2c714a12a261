"""The suggested primary order: every number of a hand-computed scenario (sales over the window on local dates,
on hand less reserved, in transit under a Dispatch Advice, on order, safety, minimum order, a SKU with no primary
price), a fixed query budget, a draft made from it with its reasons kept, and the API's roles and isolation.

Sales and primary-order states are written straight through the ORM in the tenant's scope (pricing and the order
flow have their own tests); Dispatch Advices too, as the dispatch services are not this unit's.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Outlet, Sku
from dispatch.models import DispatchAdvice, DispatchAdviceLine
from dms.core.errors import DomainError, NotFound
from dms.tenancy.context import tenant_scope
from dms.tenancy.ddl import tenant_tables
from dms.tenancy.enums import Role
from dms.tenancy.principals import scope_for_user
from dms.tenancy.scope import Scope
from orders.models import PrimaryOrder, PrimaryOrderEvent, PrimaryOrderLine, SecondaryOrder, SecondaryOrderLine
from orders.services import primary_order_create_suggested, primary_order_suggest
from tests.factories.catalog import make_outlet, make_sku
from tests.factories.inventory import allocate, make_stock_norm, make_warehouse, receive
from tests.factories.orders import make_primary_order

pytestmark = pytest.mark.django_db

API = "/api/v1/orders/primary/suggestion"
KHI = ZoneInfo("Asia/Karachi")  # the cast's tenants' time zone
D = Decimal

COLA_REASON = ("sold 2.6 cases/day over 28 days; 14 days of cover + 5 safety = 41.3 cases; 10 on hand (12.5 less "
               "2.5 reserved), 10 in transit, 5 on order \u2192 17 cases")
CHIPS_REASON = ("sold 0.5 cases/day over 28 days; 7 days of cover = 3.5 cases; 0 on hand, 0 in transit, 0 on order "
                "\u2192 4 cases, raised to the minimum order of 20 cases")
JUICE_REASON = ("no primary price, cannot be ordered (sold 1 case/day over 28 days; 14 days of cover = 14 cases; "
                "0 on hand, 0 in transit, 0 on order \u2192 14 cases)")
WATER_REASON = ("sold 0 cases/day over 28 days; 14 days of cover = 0 cases; 10 on hand, 0 in transit, 0 on order "
                "\u2192 nothing to order")


# --- helpers (also used by test_sell_through_api and test_primary_suggestion_admin) ---------------------------

def untenanted_queries(client: Any, url: str, params: dict[str, Any] | None = None) -> list[str]:
    """The queries of a GET that touch a tenant table without naming the tenant (DESIGN §5: what lets Citus
    route a query to one shard); the GET must succeed."""
    tables = set(tenant_tables())
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200, response.content
    return [q["sql"][:160] for q in ctx.captured_queries
            if {t for t in re.findall(r'(?:FROM|JOIN)\s+"(\w+)"', q["sql"]) if t in tables}
            and '"tenant_id" = ' not in q["sql"] and '"tenant_id" IN' not in q["sql"]]


def local(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """A tenant-local wall-clock time on `day`, as an aware datetime."""
    return datetime.combine(day, time(hour, minute), tzinfo=KHI)


def today() -> date:
    return timezone.now().astimezone(KHI).date()


def sell(outlet: Outlet, lines: Sequence[tuple[Sku, int, int] | tuple[Sku, int, int, str, str]], booked_at: datetime,
         status: str = "booked") -> SecondaryOrder:
    """A secondary order written as booked: lines of (sku, cases, units[, gross, discount]); tax 0."""
    with tenant_scope(Scope.system(outlet.tenant_id)):
        priced = [(sku, cases, units, D(rest[0]) if rest else D(cases * 10), D(rest[1]) if rest else D("0.00"))
                  for sku, cases, units, *rest in lines]
        gross = sum((g for *_x, g, _d in priced), D("0.00"))
        discount = sum((d for *_x, d in priced), D("0.00"))
        order = SecondaryOrder.objects.create(
            distributor_id=outlet.distributor_id, uuid=uuid.uuid4(), outlet=outlet, booked_at=booked_at, status=status,
            currency="PKR", gross=gross, discount=discount, tax=D("0.00"), total=gross - discount,
            fingerprint="0" * 64)
        for i, (sku, cases, units, g, d) in enumerate(priced, start=1):
            SecondaryOrderLine.objects.create(
                distributor_id=outlet.distributor_id, order=order, line_no=i, sku=sku, cases=cases, units=units,
                qty_units=cases * sku.units_per_case + units, case_price=D("10.0000"), gross=g, discount=d,
                tax_rate=D("0.0000"), tax=D("0.00"), total=g - d)
        return order


def primary(distributor: Any, lines: Sequence[tuple[Sku, int]], status: str = "draft",
            approved: dict[Sku, int] | None = None) -> PrimaryOrder:
    """A primary order drafted through the service, then put straight into `status` with `approved` cases."""
    order = make_primary_order(distributor, lines)
    with tenant_scope(Scope.system(order.tenant_id)):
        for sku, cases in (approved or {}).items():
            PrimaryOrderLine.objects.filter(order_id=order.pk, sku_id=sku.pk).update(approved_cases=cases)
        PrimaryOrder.objects.filter(pk=order.pk).update(status=status)
        return PrimaryOrder.objects.get(pk=order.pk)


def dispatch(order: PrimaryOrder, cases: dict[Sku, int], status: str = "issued") -> DispatchAdvice:
    """A Dispatch Advice for `order` (status issued = in transit), written through the ORM."""
    with tenant_scope(Scope.system(order.tenant_id)):
        advice = DispatchAdvice.objects.create(
            distributor_id=order.distributor_id, order=order, number=f"DA-{order.pk:06d}", reference=f"ERP-{order.pk}",
            status=status, dispatched_on=today(), currency="PKR", actor_kind="system")
        for line in PrimaryOrderLine.objects.filter(order_id=order.pk).select_related("sku"):
            n = cases[line.sku]
            DispatchAdviceLine.objects.create(
                distributor_id=order.distributor_id, advice=advice, order_line=line, line_no=line.line_no,
                sku=line.sku, ordered_cases=line.ordered_cases, approved_cases=line.approved_cases or n,
                dispatched_cases=n, case_price=line.case_price, dispatched_value=line.case_price * n)
        return advice


# --- the scenario ---------------------------------------------------------------------------------------------

@pytest.fixture
def juice(tid: int, cat: Any) -> Sku:
    """Sold, but on no price list: it cannot be ordered."""
    return make_sku(tid, brand=cat.cola.brand, code="JUICE", units_per_case=12)


@pytest.fixture
def scenario(tid: int, cat: Any, outlet: Outlet, juice: Sku, dist_a1: Any, dist_a2: Any) -> date:
    """Distributor A1, today D (tenant-local); the window is D-28 .. D-1. Returns D."""
    d = today()
    old = make_sku(tid, brand=cat.cola.brand, code="OLD", units_per_case=12, active=False)
    # cola sold in the window: 30 cases 6 units + 40 cases + 2 cases (the window's first local minutes) = 870 units
    sell(outlet, [(cat.cola, 30, 6)], local(d - timedelta(days=8), 11, 30), status="invoiced")
    sell(outlet, [(cat.cola, 40, 0)], local(d - timedelta(days=21)), status="delivered")
    sell(outlet, [(cat.cola, 2, 0)], local(d - timedelta(days=28), 0, 30))
    # not counted: the local day before the window, today, a cancelled order, a sibling distributor's sale
    sell(outlet, [(cat.cola, 50, 0)], local(d - timedelta(days=29), 23, 30))
    sell(outlet, [(cat.cola, 10, 0)], local(d, 0, 5))
    sell(outlet, [(cat.cola, 100, 0)], local(d - timedelta(days=7)), status="cancelled")
    sell(make_outlet(dist_a2), [(cat.cola, 77, 0)], local(d - timedelta(days=5)))
    sell(outlet, [(cat.chips, 14, 0)], local(d - timedelta(days=5)))  # 336 units
    sell(outlet, [(juice, 28, 0), (old, 5, 0)], local(d - timedelta(days=10)))  # 336 juice units; OLD is inactive
    make_stock_norm(dist_a1, cat.cola, target_cover_days=14, safety_cases=5)
    make_stock_norm(dist_a1, cat.chips, target_cover_days=7, min_order_cases=20)
    make_stock_norm(dist_a2, cat.cola, target_cover_days=1, safety_cases=99, min_order_cases=99)
    # cola: 150 on hand in two warehouses, 30 reserved; water: 60 held, never sold
    main, back = make_warehouse(dist_a1), make_warehouse(dist_a1)
    receive(main, cat.cola, 100)
    receive(back, cat.cola, 50)
    allocate(main, cat.cola, 30)
    receive(main, cat.water, 60)
    receive(make_warehouse(dist_a2), cat.cola, 999)
    # cola in transit: 10 cases; on order: 3 submitted + 2 approved of 4
    dispatch(primary(dist_a1, [(cat.cola, 12)], "dispatched", approved={cat.cola: 10}), {cat.cola: 10})
    primary(dist_a1, [(cat.cola, 3)], "submitted")
    primary(dist_a1, [(cat.cola, 4)], "partially_approved", approved={cat.cola: 2})
    # not counted: a draft, a rejected order, a received Dispatch Advice, a sibling's order
    primary(dist_a1, [(cat.cola, 50)])
    primary(dist_a1, [(cat.cola, 9)], "rejected", approved={cat.cola: 0})
    dispatch(primary(dist_a1, [(cat.cola, 7)], "received", approved={cat.cola: 7}), {cat.cola: 7}, "received")
    primary(dist_a2, [(cat.cola, 20)], "submitted")
    return d


def suggest(cast: Any, distributor: Any, **kw: Any) -> list[Any]:
    with tenant_scope(Scope.system(cast.tenant.pk)) as scope:
        return primary_order_suggest(scope=scope, distributor_id=distributor.pk, **kw)


# --- the numbers ---------------------------------------------------------------------------------------------

def test_every_number_of_the_hand_computed_scenario(cast_a, dist_a1, cat, scenario):
    # when
    lines = suggest(cast_a, dist_a1)
    # then: SKU code order; OLD (inactive) is not there
    assert [x.sku_code for x in lines] == ["CHIPS", "COLA", "JUICE", "WATER"]
    chips, cola, juice, water = lines
    # cola: (870 x 14 / 28 + 5 x 12) = 495 units wanted; 120 available + (10 + 5) x 12 covered -> 195 / 12 -> 17
    assert (cola.sold_units, cola.avg_daily_units, cola.avg_daily_cases, cola.target_units) == (
        870, D("31.071"), D("2.589"), D("495.000"))
    assert (cola.on_hand_units, cola.reserved_units, cola.available_units) == (150, 30, 120)
    assert (cola.in_transit_cases, cola.on_order_cases, cola.cover_days, cola.safety_cases) == (10, 5, 14, 5)
    assert (cola.needed_cases, cola.suggested_cases, cola.case_price, cola.suggested_value) == (
        17, 17, D("1234.5678"), D("20987.65"))
    assert cola.reason == COLA_REASON
    # chips: 336 x 7 / 28 = 84 units = 3.5 cases -> 4, raised to the minimum order of 20
    assert (chips.sold_units, chips.target_units, chips.needed_cases, chips.suggested_cases) == (
        336, D("84.000"), 20, 20)
    assert chips.suggested_value == D("9600.00") and chips.reason == CHIPS_REASON
    # juice: needs 14 cases but has no primary price
    assert (juice.needed_cases, juice.suggested_cases, juice.orderable, juice.case_price) == (14, 0, False, None)
    assert juice.reason == JUICE_REASON
    # water: held, never sold, no norm -> the defaults, nothing to order
    assert (water.has_norm, water.cover_days, water.available_units, water.suggested_cases) == (False, 14, 60, 0)
    assert water.reason == WATER_REASON


def test_a_shorter_window_on_an_earlier_day_counts_only_its_own_days(cast_a, dist_a1, cat, scenario):
    # when: the 7 days before D-7 (D-14 .. D-8) hold only the 30 cases 6 units of cola booked on D-8
    lines = {x.sku_code: x for x in suggest(cast_a, dist_a1, on_date=scenario - timedelta(days=7), window_days=7)}
    # then: 366 x 14 / 7 + 60 = 792 units wanted, 300 covered -> 492 / 12 = 41 cases
    assert (lines["COLA"].sold_units, lines["COLA"].suggested_cases) == (366, 41)
    assert lines["CHIPS"].sold_units == 0


def test_a_suggestion_takes_the_same_few_queries_for_many_skus(cast_a, dist_a1, cat, outlet, tid,
                                                               django_assert_max_num_queries):
    # given: 25 SKUs sold, held and normed
    skus = [make_sku(tid, brand=cat.cola.brand, code=f"BULK{i:02d}") for i in range(25)]
    sell(outlet, [(sku, 3, 0) for sku in skus], local(today() - timedelta(days=2)))
    warehouse = make_warehouse(dist_a1)
    for sku in skus:
        receive(warehouse, sku, 5)
        make_stock_norm(dist_a1, sku, target_cover_days=10)
    # when
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope, django_assert_max_num_queries(9):
        lines = primary_order_suggest(scope=scope, distributor_id=dist_a1.pk)
    # then: 3 cases x 10 / 28 = 12.86 units less 5 held -> 1 case each, none priced
    assert len(lines) == 25 and {(x.needed_cases, x.suggested_cases) for x in lines} == {(1, 0)}


def test_another_tenants_distributor_is_not_found(cast_a, cast_b, scenario):
    with pytest.raises(NotFound):
        suggest(cast_b, cast_a.distributors[0])


# --- the draft -----------------------------------------------------------------------------------------------

def test_a_draft_is_made_from_the_suggestion_and_keeps_its_reasons(cast_a, dist_a1, cat, scenario):
    # given: staff raise chips to 25 cases
    scope = scope_for_user(cast_a.users[Role.DISTRIBUTOR_STAFF])
    assert scope is not None
    # when
    with tenant_scope(scope):
        draft = primary_order_create_suggested(scope=scope, distributor_id=None, cases={cat.chips.pk: 25},
                                               note="from the suggestion")
    # then: the draft holds the suggestion's orderable lines, chips as changed, in SKU code order
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        order = PrimaryOrder.objects.get(pk=draft.order.pk)
        lines = list(PrimaryOrderLine.objects.filter(order=order).order_by("line_no")
                     .values_list("sku__code", "ordered_cases", "ordered_value"))
        event = PrimaryOrderEvent.objects.get(order=order, action="suggested")
    assert (order.status, order.distributor_id, order.note, order.total_ordered) == (
        "draft", dist_a1.pk, "from the suggestion", D("32987.65"))
    assert lines == [("CHIPS", 25, D("12000.00")), ("COLA", 17, D("20987.65"))]
    kept = {line["sku_code"]: line for line in event.detail["lines"]}
    assert (kept["COLA"]["reason"], kept["COLA"]["suggested_cases"], kept["COLA"]["ordered_cases"]) == (
        COLA_REASON, 17, 17)
    assert (kept["CHIPS"]["suggested_cases"], kept["CHIPS"]["ordered_cases"]) == (20, 25)
    assert (kept["JUICE"]["ordered_cases"], kept["JUICE"]["reason"]) == (0, JUICE_REASON)
    assert event.actor_kind == "user" and event.actor_id == cast_a.users[Role.DISTRIBUTOR_STAFF].pk
    # and a draft is not on order: asking again suggests the same cola
    assert {x.sku_code: x.suggested_cases for x in suggest(cast_a, dist_a1)}["COLA"] == 17


def test_nothing_to_order_is_refused_on_lines_and_writes_nothing(cast_a, dist_a1, cat):
    # given: only water held, never sold
    receive(make_warehouse(dist_a1), cat.water, 60)
    # when
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        with pytest.raises(DomainError) as refused:
            primary_order_create_suggested(scope=scope, distributor_id=dist_a1.pk)
        # then
        assert list(refused.value.fields) == ["lines"]
        assert PrimaryOrder.objects.count() == 0


# --- the API --------------------------------------------------------------------------------------------------

def test_staff_read_their_suggestion_with_reasons_and_money_as_strings(api_as, cast_a, scenario):
    # when
    response = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF]).get(f"{API}/")
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    cola = next(x for x in body["lines"] if x["sku_code"] == "COLA")
    assert (cola["suggested_cases"], cola["reason"], cola["suggested_value"], cola["avg_daily_units"]) == (
        17, COLA_REASON, "20987.65", "31.071")
    assert (body["distributor_id"], body["window_days"], body["total_cases"], body["total_value"]) == (
        cast_a.distributors[0].pk, 28, 37, "30587.65")


def test_every_query_of_the_suggestion_names_its_tenant(api_as, cast_a, scenario):
    assert untenanted_queries(api_as(cast_a.users[Role.DISTRIBUTOR_STAFF]), f"{API}/") == []


def test_manufacturer_users_name_the_distributor_and_api_keys_and_bookers_are_refused(api_as, cast_a, scenario):
    a1 = cast_a.distributors[0].pk
    admin = api_as(cast_a.users[Role.MANUFACTURER_ADMIN])
    missing = admin.get(f"{API}/")
    assert missing.status_code == 400 and list(missing.json()["error"]["fields"]) == ["distributor_id"]
    assert admin.get(f"{API}/", {"distributor_id": a1}).json()["total_cases"] == 37
    assert api_as(cast_a.users[Role.MANUFACTURER_ANALYST]).get(f"{API}/", {"distributor_id": a1}).status_code == 200
    assert api_as(cast_a.api_key_raw, kind="api_key").get(f"{API}/", {"distributor_id": a1}).status_code == 403
    assert api_as(cast_a.users[Role.ORDER_BOOKER]).get(f"{API}/").status_code == 403
    bad = admin.get(f"{API}/", {"distributor_id": a1, "window_days": 0})
    assert bad.status_code == 400 and list(bad.json()["error"]["fields"]) == ["window_days"]


def test_a_sibling_distributor_or_another_tenant_gets_404(api_as, cast_a, cast_b, scenario):
    a1 = cast_a.distributors[0].pk
    sibling = api_as(cast_a.users[f"{Role.DISTRIBUTOR_STAFF}@A2"])
    stranger = api_as(cast_b.users[Role.MANUFACTURER_ADMIN])
    assert sibling.get(f"{API}/", {"distributor_id": a1}).status_code == 404
    assert stranger.get(f"{API}/", {"distributor_id": a1}).status_code == 404
    assert sibling.post(f"{API}/draft/", {"distributor_id": a1}, format="json").status_code == 404
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        assert PrimaryOrder.objects.filter(status="draft").count() == 1  # the scenario's own draft only


def test_staff_post_a_draft_and_get_201_with_the_order_and_its_suggestion(api_as, cast_a, cat, scenario):
    # when: cola lowered to 15, chips left out
    response = api_as(cast_a.users[Role.DISTRIBUTOR_ADMIN]).post(
        f"{API}/draft/", {"lines": [{"sku_id": cat.cola.pk, "cases": 15}, {"sku_id": cat.chips.pk, "cases": 0}],
                          "note": "weekly"}, format="json")
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["note"], body["number"]) == ("draft", "weekly", "PO-000007")
    assert [(x["sku_code"], x["ordered_cases"]) for x in body["lines"]] == [("COLA", 15)]
    assert [(x["sku_code"], x["suggested_cases"]) for x in body["suggestion"]] == [
        ("CHIPS", 20), ("COLA", 17), ("JUICE", 0), ("WATER", 0)]
    assert [e["action"] for e in body["events"]] == ["created", "suggested"]


def test_manufacturer_users_may_not_post_a_draft(api_as, cast_a, scenario):
    response = api_as(cast_a.users[Role.MANUFACTURER_ADMIN]).post(
        f"{API}/draft/", {"distributor_id": cast_a.distributors[0].pk}, format="json")
    assert response.status_code == 403
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        assert PrimaryOrder.objects.filter(status="draft").count() == 1
