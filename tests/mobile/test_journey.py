"""The booker's day in the app: journey content, last orders, notification delivery, off days, bad dates, a fixed
query budget, and intruders who must only ever see their own booker's journey."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from dms.tenancy.context import tenant_scope
from dms.tenancy.ddl import tenant_tables
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from dms.tenancy.services import device_access_token
from orders.enums import OrderStatus
from pjp.models import JourneyNotification, Visit
from tests.factories.catalog import make_outlet, make_sku
from tests.factories.mobile import make_booker, make_device, make_order, order_history, plan_journeys, tenant_today

pytestmark = pytest.mark.django_db

URL = "/api/v1/mobile/journey/"
ALL_WEEK = {day: [["08:00", "20:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.fixture
def today(cast_a: Any) -> date:
    return tenant_today(cast_a.tenant.pk)


@pytest.fixture
def sku(cast_a: Any) -> Any:
    return make_sku(cast_a.tenant.pk)


@pytest.fixture
def day_of_three(dist_a1: Any, booker: Any, today: date) -> Any:
    """Today's journey of A1's booker: three outlets, marked MINE so intruders' answers can be searched."""
    outlets = [make_outlet(dist_a1, code=f"MINE-{i}", name=f"MINE shop {i}", address=f"{i} Mall Road",
                           tax_id=f"NTN-{i}", opening_hours=ALL_WEEK) for i in (1, 2, 3)]
    return plan_journeys(dist_a1, booker, {today: outlets}, today=today)[today]


def get(client: Any, day: date | None = None) -> Any:
    return client.get(URL, {"date": day.isoformat()} if day else {})


def visits_of(journey: Any) -> list[Visit]:
    with tenant_scope(Scope.system(journey.tenant_id)):
        return list(Visit.objects.filter(journey=journey).select_related("outlet").order_by("sequence"))


def notification_of(journey: Any) -> JourneyNotification:
    with tenant_scope(Scope.system(journey.tenant_id)):
        return JourneyNotification.objects.get(journey=journey)


def dt(value: str) -> Any:
    return parse_datetime(value)


# --- content ----------------------------------------------------------------------------------------------

def test_the_booker_gets_todays_journey_in_sequence_with_arrival_times_and_outlets(api_as, cast_a, day_of_three,
                                                                                   today):
    # when: no date given
    response = get(api_as(cast_a.device_token, kind="device"))
    # then: today's (tenant-local) journey
    assert response.status_code == 200, response.content
    body = response.json()
    journey = day_of_three
    assert body["date"] == today.isoformat() and body["journey_id"] == journey.pk
    assert body["time_zone"] == "Asia/Karachi"
    assert body["route"] == {"id": journey.route.pk, "code": journey.route.code, "name": journey.route.name}
    assert dt(body["planned_start"]) == journey.planned_start and dt(body["planned_end"]) == journey.planned_end
    assert body["planned_distance_m"] == journey.planned_distance_m
    visits = visits_of(journey)
    assert [v["visit_id"] for v in body["visits"]] == [v.pk for v in visits]
    assert [v["sequence"] for v in body["visits"]] == [1, 2, 3]
    assert [(dt(v["eta"]), dt(v["etd"])) for v in body["visits"]] == [(v.eta, v.etd) for v in visits]
    etas = [dt(v["eta"]) for v in body["visits"]]
    assert etas == sorted(etas)
    first = body["visits"][0]
    outlet = visits[0].outlet
    assert first["status"] == "planned" and first["planned"] is True and first["window_missed"] is False
    assert first["outlet"] == {
        "id": outlet.pk, "code": "MINE-1", "name": "MINE shop 1", "channel": "general_trade",
        "address": "1 Mall Road", "lat": "31.520400", "lng": "74.358700",
        "opening_hours": ALL_WEEK, "credit_limit": "50000.00", "tax_id": "NTN-1"}
    assert first["last_orders"] == [] and first["open_invoices"] == []


def test_the_days_notification_is_served_and_marked_delivered_once(api_as, cast_a, day_of_three, today):
    client = api_as(cast_a.device_token, kind="device")
    assert notification_of(day_of_three).delivered_at is None
    # when
    before = timezone.now()
    served = get(client, today).json()["notification"]
    # then
    stored = notification_of(day_of_three)
    assert served["message"] == stored.message and "route" in served["message"]
    assert served["date"] == today.isoformat()
    assert stored.delivered_at is not None and stored.delivered_at >= before
    assert dt(served["delivered_at"]) == stored.delivered_at
    # a second fetch keeps the first delivery time
    assert dt(get(client, today).json()["notification"]["delivered_at"]) == stored.delivered_at
    assert notification_of(day_of_three).delivered_at == stored.delivered_at


def test_last_orders_are_the_outlets_three_newest_newest_first(api_as, cast_a, day_of_three, sku):
    # given: the first outlet has five orders, the second one, the third none
    o1, o2, _o3 = (v.outlet for v in visits_of(day_of_three))
    now = timezone.now().replace(microsecond=0)
    history = [make_order(o1, sku, booked_at=now - timedelta(days=d), lines=d + 1, total=f"{100 + d}.50",
                          status=OrderStatus.CONFIRMED if d == 1 else OrderStatus.BOOKED) for d in (3, 0, 4, 1, 2)]
    only = make_order(o2, sku, booked_at=now - timedelta(days=10))
    make_order(o2, sku, booked_at=now - timedelta(days=400))  # older than a year: not recent
    # when
    visits = get(api_as(cast_a.device_token, kind="device")).json()["visits"]
    # then
    newest = sorted(history, key=lambda o: o.booked_at, reverse=True)[:3]
    assert [o["uuid"] for o in visits[0]["last_orders"]] == [str(o.uuid) for o in newest]
    assert visits[0]["last_orders"][1] == {"uuid": str(newest[1].uuid), "booked_at": visits[0]["last_orders"][1][
        "booked_at"], "status": "confirmed", "currency": "PKR", "total": "101.50", "line_count": 2}
    assert dt(visits[0]["last_orders"][0]["booked_at"]) == now
    assert [o["line_count"] for o in visits[0]["last_orders"]] == [1, 2, 3]
    assert [o["uuid"] for o in visits[1]["last_orders"]] == [str(only.uuid)]
    assert visits[2]["last_orders"] == []


def test_an_off_day_is_an_empty_day_not_a_404(api_as, cast_a, day_of_three, today):
    # when: the day after (no route planned)
    response = get(api_as(cast_a.device_token, kind="device"), today + timedelta(days=1))
    # then
    assert response.status_code == 200
    assert response.json() == {
        "date": (today + timedelta(days=1)).isoformat(), "time_zone": "Asia/Karachi", "journey_id": None,
        "route": None, "planned_start": None, "planned_end": None, "planned_distance_m": None, "visits": [],
        "notification": None}


@pytest.mark.parametrize("offset", [31, -31, 365])
def test_a_date_more_than_30_days_away_is_a_400_naming_the_field(api_as, cast_a, today, offset):
    response = get(api_as(cast_a.device_token, kind="device"), today + timedelta(days=offset))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and list(error["fields"]) == ["date"]
    assert "30 days" in error["fields"]["date"][0]


def test_thirty_days_away_is_still_served(api_as, cast_a, today):
    client = api_as(cast_a.device_token, kind="device")
    assert get(client, today + timedelta(days=30)).status_code == 200
    assert get(client, today - timedelta(days=30)).status_code == 200


def test_a_malformed_date_is_a_400_naming_the_field(api_as, cast_a):
    response = api_as(cast_a.device_token, kind="device").get(URL, {"date": "tomorrow"})
    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["date"]


# --- query budget -----------------------------------------------------------------------------------------

def test_the_query_count_does_not_grow_with_visits_or_orders(api_as, cast_a, dist_a1, booker, today, sku):
    # given: a 3-visit journey today and a 30-visit one tomorrow, every outlet with four orders of two lines
    small = [make_outlet(dist_a1) for _ in range(3)]
    large = [make_outlet(dist_a1) for _ in range(30)]
    tomorrow = today + timedelta(days=1)
    plan_journeys(dist_a1, booker, {today: small, tomorrow: large}, today=today)
    order_history(small + large, sku, per_outlet=4, newest=timezone.now())
    client = api_as(cast_a.device_token, kind="device")
    # when
    with CaptureQueriesContext(connection) as few:
        small_day = get(client, today)
    with CaptureQueriesContext(connection) as many:
        large_day = get(client, tomorrow)
    # then
    assert len(small_day.json()["visits"]) == 3 and len(large_day.json()["visits"]) == 30
    assert all(len(v["last_orders"]) == 3 for v in large_day.json()["visits"])
    # 9 queries: the device (authentication), the tenant and its settings (today), the journey with its route,
    # the visits with their outlets, the last orders, their line counts, the notification and its delivery;
    # and 8 statements of tenant-scope plumbing (two scopes: savepoint, SET LOCAL, reset, release)
    assert len(few) == len(many) == 17, "\n".join(q["sql"][:150] for q in many.captured_queries)


def test_every_query_on_a_tenant_table_names_its_tenant(api_as, cast_a, dist_a1, booker, today, sku):
    """Citus routes a query by its tenant and distributor: none may rely on row-level security alone."""
    outlets = [make_outlet(dist_a1) for _ in range(3)]
    plan_journeys(dist_a1, booker, {today: outlets}, today=today)
    order_history(outlets, sku, per_outlet=2, newest=timezone.now())
    with CaptureQueriesContext(connection) as ctx:
        assert get(api_as(cast_a.device_token, kind="device")).status_code == 200
    tables = set(tenant_tables())
    offenders, checked = [], 0
    for sql in (q["sql"] for q in ctx.captured_queries):
        if {t for t in re.findall(r'(?:FROM|JOIN|UPDATE|INTO)\s+"(\w+)"', sql) if t in tables}:
            checked += 1
            if '"tenant_id" = ' not in sql and '"tenant_id" IN' not in sql:
                offenders.append(sql[:200])
    assert offenders == [] and checked >= 6


# --- intruders --------------------------------------------------------------------------------------------

def _sees_mine(response: Any) -> bool:
    return "MINE" in response.content.decode()


def test_another_booker_of_the_same_distributor_sees_only_their_own_journey(api_as, cast_a, dist_a1, day_of_three,
                                                                            today):
    # given: a second booker of A1 with their own journey today, on other outlets
    other = make_booker(dist_a1, "a-a1-booker-2")
    theirs = plan_journeys(dist_a1, other, {today: [make_outlet(dist_a1, code="THEIRS-1")]}, today=today)[today]
    token = device_access_token(device=make_device(dist_a1, other, "other-phone"))
    # when
    response = get(api_as(token, kind="device"), today)
    # then
    assert response.status_code == 200
    assert response.json()["journey_id"] == theirs.pk and not _sees_mine(response)
    assert [v["outlet"]["code"] for v in response.json()["visits"]] == ["THEIRS-1"]
    # and A1's booker's notification was not delivered by someone else's fetch
    assert notification_of(day_of_three).delivered_at is None


def test_a_booker_without_a_journey_sees_an_off_day_not_a_colleagues(api_as, cast_a, dist_a1, day_of_three, today):
    other = make_booker(dist_a1, "a-a1-booker-2")
    token = device_access_token(device=make_device(dist_a1, other, "other-phone"))
    response = get(api_as(token, kind="device"), today)
    assert response.status_code == 200 and response.json()["journey_id"] is None and not _sees_mine(response)


def test_devices_of_a_sibling_distributor_or_another_tenant_never_see_this_journey(api_as, cast_a, cast_b,
                                                                                   day_of_three, today):
    # given: A2's booker on their own phone; tenant B's booker on theirs
    a2 = cast_a.distributors[1]
    sibling = device_access_token(device=make_device(a2, cast_a.users[f"{Role.ORDER_BOOKER}@A2"], "a2-phone"))
    for token in (sibling, cast_b.device_token):
        for day in (today, None):
            # when
            response = get(api_as(token, kind="device"), day)
            # then
            assert response.status_code == 200
            assert response.json()["journey_id"] is None and not _sees_mine(response)


def test_api_keys_session_users_and_anonymous_callers_get_401(api_as, cast_a, day_of_three):
    for client in (api_as(cast_a.users[Role.ORDER_BOOKER]), api_as(cast_a.users[Role.DISTRIBUTOR_ADMIN]),
                   api_as(cast_a.users[Role.MANUFACTURER_ADMIN]), api_as(cast_a.api_key_raw, kind="api_key"),
                   api_as("not-a-token", kind="device")):
        response = get(client)
        assert response.status_code == 401 and "error" in response.json() and not _sees_mine(response)


def test_the_route_is_named_for_the_isolation_matrix():
    assert reverse("mobile-journey") == URL
