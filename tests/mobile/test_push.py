"""Push: per-item results, exactly-once under retries, idempotency-key rules, visits and day close."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from mobile.models import PushBatch, SyncHealth, SyncItem
from orders.models import SecondaryOrder, SecondaryOrderLine
from pjp.enums import VisitStatus
from pjp.models import Visit, VisitEvent
from tests.mobile.sync_setup import Day, order_item, visit_item, working_day

PUSH = "mobile-push"


@pytest.fixture
def day(cast_a: Any) -> Day:
    return working_day(cast_a)


@pytest.fixture
def app(api_as: Any, cast_a: Any) -> Any:
    return api_as(cast_a.device_token, kind="device")


def push(client: Any, items: list[dict[str, Any]], key: str | None = None) -> Any:
    headers = {} if key == "" else {"HTTP_IDEMPOTENCY_KEY": key or str(uuid.uuid4())}
    return client.post(reverse(PUSH), {"items": items}, format="json", **headers)


def in_a(cast_a: Any) -> Any:
    return tenant_scope(Scope.system(cast_a.tenant.pk))


def test_a_mixed_batch_applies_the_valid_items_and_reports_each(cast_a, day, app):
    # given: a visit, an order on it, an order with an unknown SKU, an order with a broken line
    visit = visit_item(day, 0, 1)
    good = order_item(day, 0, 2, visit_uuid=visit["uuid"])
    unknown_sku = order_item(day, 1, 3, lines=[{"sku_id": 999_999, "cases": 1}])
    no_quantity = order_item(day, 2, 4, lines=[{"sku_id": day.skus[0].pk, "cases": 0, "units": 0}])
    # when
    response = push(app, [visit, good, unknown_sku, no_quantity])
    # then
    assert response.status_code == 200, response.content
    results = {r["uuid"]: r for r in response.json()["results"]}
    assert [results[i["uuid"]]["status"] for i in (visit, good, unknown_sku, no_quantity)] == [
        "applied", "applied", "rejected", "rejected"]
    assert any(k.startswith("payload.lines[0]") for k in results[unknown_sku["uuid"]]["errors"])
    assert "payload.lines[0].cases" in results[no_quantity["uuid"]]["errors"]
    assert response.json()["counts"] == {"applied": 2, "rejected": 2}
    with in_a(cast_a):
        # the valid order is there, priced by the server: 2 x 1,200.00 + (1 case + 6 of 12 units) x 850.50
        order = SecondaryOrder.objects.get(uuid=good["uuid"])
        assert order.gross == Decimal("2400.00") + Decimal("1275.75")
        assert order.total == sum(line.total for line in order.lines.all())
        assert order.visit_id == day.visits[0].pk and order.device_id == cast_a.device.pk
        # the rejected ones left nothing behind
        assert not SecondaryOrder.objects.filter(uuid__in=[unknown_sku["uuid"], no_quantity["uuid"]]).exists()
        assert SecondaryOrderLine.objects.count() == order.lines.count() == 2
        # the visit went planned -> checked_in -> productive with an event each, GPS distance recorded
        visited = Visit.objects.get(pk=day.visits[0].pk)
        assert visited.status == VisitStatus.PRODUCTIVE and visited.distance_m == 0
        assert list(VisitEvent.objects.filter(visit=visited).values_list("to_status", flat=True)) == [
            "checked_in", "productive"]
        assert SyncItem.objects.filter(device=cast_a.device).count() == 4


def test_the_same_push_sent_ten_times_is_applied_once_and_replayed_identically(cast_a, day, app):
    # given
    items = [visit_item(day, 0, 1), order_item(day, 0, 2), order_item(day, 1, 3)]
    key = str(uuid.uuid4())
    # when
    responses = [push(app, items, key) for _ in range(10)]
    # then
    assert {r.status_code for r in responses} == {200}
    assert all(r.json() == responses[0].json() for r in responses)
    assert "Idempotent-Replayed" not in responses[0] and all(r["Idempotent-Replayed"] == "true"
                                                             for r in responses[1:])
    with in_a(cast_a):
        assert SecondaryOrder.objects.count() == 2
        assert SecondaryOrderLine.objects.count() == 4
        assert PushBatch.objects.filter(key=key).count() == 1


def test_items_sent_again_under_a_new_key_are_duplicates_not_copies(cast_a, day, app):
    # given: a push that went through, whose response the app never saw
    items = [visit_item(day, 0, 1), order_item(day, 0, 2)]
    first = push(app, items)
    # when: the app sends the same items in a new batch, with one new order
    again = push(app, [*items, order_item(day, 1, 3)])
    # then
    assert first.status_code == again.status_code == 200
    assert [r["status"] for r in again.json()["results"]] == ["duplicate", "duplicate", "applied"]
    assert again.json()["results"][1]["server"]["order_id"] == first.json()["results"][1]["server"]["order_id"]
    with in_a(cast_a):
        assert SecondaryOrder.objects.count() == 2


def test_a_key_reused_with_another_body_is_refused_and_changes_nothing(cast_a, day, app):
    # given
    key = str(uuid.uuid4())
    push(app, [order_item(day, 0, 1)], key)
    # when
    response = push(app, [order_item(day, 1, 2)], key)
    # then
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    with in_a(cast_a):
        assert SecondaryOrder.objects.count() == 1


def test_a_push_without_a_key_or_with_a_broken_envelope_is_a_400_naming_the_field(cast_a, day, app):
    # when
    no_key = push(app, [order_item(day, 0, 1)], key="")
    twice = push(app, [order_item(day, 0, 5), order_item(day, 1, 5)])
    empty = push(app, [])
    # then
    assert no_key.status_code == 400 and "Idempotency-Key" in no_key.json()["error"]["fields"]
    assert twice.status_code == 400 and "items[1].device_seq" in twice.json()["error"]["fields"]
    assert empty.status_code == 400 and "items" in empty.json()["error"]["fields"]
    with in_a(cast_a):
        assert not SecondaryOrder.objects.exists() and not PushBatch.objects.exists()
        # and the device's sync health shows the failures
        health = SyncHealth.objects.get(device=cast_a.device)
        assert health.failures == 3 and health.status == SyncHealth.Status.FAILING
        assert health.last_failure.startswith("400")


def test_a_device_price_that_differs_is_kept_and_flagged(cast_a, day, app):
    # given: the app showed an older case price
    item = order_item(day, 0, 1, lines=[{"sku_id": day.skus[0].pk, "cases": 1, "case_price": "1150.00"}],
                      total="1345.50")
    # when
    response = push(app, [item])
    # then
    result = response.json()["results"][0]
    assert result["status"] == "applied" and result["server"]["price_flag"] is True
    with in_a(cast_a):
        order = SecondaryOrder.objects.get(uuid=item["uuid"])
        assert order.device_total == Decimal("1345.50") and order.total != order.device_total
        line = order.lines.get()
        assert line.device_case_price == Decimal("1150.00") and line.case_price == Decimal("1200.00")


def test_visit_reports_are_validated_and_progress_by_uuid(cast_a, day, app):
    # given: a check-in without the outcome, then the same visit with it; an unproductive one without reason
    check_in = visit_item(day, 0, 1, outcome="")
    done = {**visit_item(day, 0, 2, outcome="unproductive", reason="shop_closed"), "uuid": check_in["uuid"]}
    no_reason = visit_item(day, 1, 3, outcome="unproductive")
    far = visit_item(day, 2, 4, lat="31.600000", lng="74.400000", outcome="")
    # when
    first = push(app, [check_in, no_reason, far])
    second = push(app, [done])
    # then
    assert [r["status"] for r in first.json()["results"]] == ["applied", "rejected", "applied"]
    assert "payload.reason" in first.json()["results"][1]["errors"]
    assert second.json()["results"][0]["status"] == "applied"
    with in_a(cast_a):
        visit = Visit.objects.get(pk=day.visits[0].pk)
        assert visit.status == VisitStatus.UNPRODUCTIVE and visit.unproductive_reason == "shop_closed"
        assert Visit.objects.get(pk=day.visits[1].pk).status == VisitStatus.PLANNED
        assert Visit.objects.get(pk=day.visits[2].pk).distance_m > 9_000  # ~10 km from the outlet


def test_an_unplanned_visit_joins_the_journey_after_the_planned_ones(cast_a, day, app, outlet_factory):
    # given: an outlet of the distributor that is not on today's route
    extra = outlet_factory(cast_a.distributors[0], code="EXTRA", name="Walk-in shop")
    item = visit_item(day, 0, 1, visit_id=None, outlet_id=extra.pk)
    # when
    response = push(app, [item])
    # then
    assert response.json()["results"][0]["status"] == "applied", response.json()
    with in_a(cast_a):
        visit = Visit.objects.get(uuid=item["uuid"])
        assert visit.planned is False and visit.journey_id == day.journey.pk
        assert visit.sequence == len(day.visits) + 1 and visit.status == VisitStatus.PRODUCTIVE


def test_an_intruding_push_is_rejected_without_touching_the_other_data(cast_a, cast_b, day, api_as):
    # given: tenant B's booker device, and A's visits and outlets
    intruder = api_as(cast_b.device_token, kind="device")
    items = [visit_item(day, 0, 1), order_item(day, 0, 2)]
    # when
    response = push(intruder, items)
    # then: B cannot see A's visit or outlet; both are rejected as unknown, and A's data is untouched
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["rejected", "rejected"]
    assert "Shop 0" not in response.content.decode()
    with in_a(cast_a):
        assert Visit.objects.get(pk=day.visits[0].pk).status == VisitStatus.PLANNED
        assert not SecondaryOrder.objects.exists()


def test_a_revoked_device_cannot_push(cast_a, day, app):
    from dms.tenancy.services import device_revoke

    with in_a(cast_a) as scope:
        device_revoke(scope=scope, device_id=cast_a.device.pk)
    response = push(app, [order_item(day, 0, 1)])
    assert response.status_code == 401


def test_day_close_reports_gaps_and_count_mismatches(cast_a, day, app):
    # given: the app used seqs 1-5 today but seq 3 never arrived; it counts 2 visits and 3 orders
    push(app, [visit_item(day, 0, 1), order_item(day, 0, 2), visit_item(day, 1, 4), order_item(day, 1, 5)])
    body = {"date": day.today.isoformat(), "first_device_seq": 1, "last_device_seq": 5,
            "counts": {"visit": 2, "order": 3}}
    # when
    response = app.post(reverse("mobile-day-close"), body, format="json")
    again = app.post(reverse("mobile-day-close"), body, format="json")
    # then
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["status"] == "gaps" and result["missing_seqs"] == [[3, 3]]
    assert result["mismatches"] == [{"kind": "order", "device": 3, "server": 2}]
    assert again.json() == result
    with in_a(cast_a):
        health = SyncHealth.objects.get(device=cast_a.device)
        assert health.status == SyncHealth.Status.GAPS and health.missing_seqs == [[3, 3]]
    # when the missing order arrives, the day closes clean
    push(app, [order_item(day, 2, 3)])
    clean = app.post(reverse("mobile-day-close"), body, format="json").json()
    assert clean["status"] == "ok" and clean["missing_seqs"] == [] and clean["mismatches"] == []


def test_queries_per_order_do_not_grow_with_lines_or_with_the_batch(cast_a, day, app):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from catalog.models import PriceListItem
    from tests.factories.catalog import make_sku

    # given: six more priced SKUs
    with in_a(cast_a):
        price_list = PriceListItem.objects.filter(sku=day.skus[0]).get().price_list
        skus = [make_sku(cast_a.tenant.pk) for _ in range(6)]
        PriceListItem.objects.bulk_create([PriceListItem(tenant_id=cast_a.tenant.pk, price_list=price_list, sku=s,
                                                         case_price=Decimal("100.00")) for s in skus])
    seq = iter(range(1, 1000))

    def queries(orders: int, lines: int) -> int:
        items = [order_item(day, n % 3, next(seq), lines=[{"sku_id": s.pk, "cases": 1} for s in skus[:lines]])
                 for n in range(orders)]
        with CaptureQueriesContext(connection) as captured:
            response = push(app, items)
        assert [r["status"] for r in response.json()["results"]] == ["applied"] * orders
        return len(captured)

    queries(1, 1)  # the device's first push also creates its sync-health row
    # when
    one_line, six_lines = queries(4, 1), queries(4, 6)
    two, four, six = queries(2, 3), queries(4, 3), queries(6, 3)
    # then: the number of lines changes nothing; each order adds the same number of queries
    assert one_line == six_lines
    assert six - four == four - two > 0


def test_another_booker_or_a_sibling_distributors_device_cannot_report_on_this_day(cast_a, day, api_as):
    from dms.tenancy.services import device_access_token
    from tests.factories.mobile import make_booker, make_device

    # given: a second booker of the same distributor, and a booker of the sibling distributor A2
    a1, a2 = cast_a.distributors
    colleague = api_as(device_access_token(device=make_device(a1, make_booker(a1, "a1-colleague"), "colleague")),
                       kind="device")
    sibling = api_as(device_access_token(device=make_device(a2, make_booker(a2, "a2-booker"), "sibling")),
                     kind="device")
    # when: each reports the first booker's visit and books on its outlet
    by_colleague = push(colleague, [visit_item(day, 0, 1), order_item(day, 0, 2)])
    by_sibling = push(sibling, [visit_item(day, 1, 1), order_item(day, 1, 2)])
    # then: the colleague may not touch another booker's visit (its order on a shared outlet of its own
    # distributor is fine); the sibling distributor's device sees neither the visit nor the outlet
    assert [r["status"] for r in by_colleague.json()["results"]] == ["rejected", "applied"]
    assert "payload.visit_id" in by_colleague.json()["results"][0]["errors"]
    assert [r["status"] for r in by_sibling.json()["results"]] == ["rejected", "rejected"]
    assert "Shop 1" not in by_sibling.content.decode()
    with in_a(cast_a):
        assert {v.status for v in Visit.objects.filter(journey=day.journey)} == {VisitStatus.PLANNED}
        assert SecondaryOrder.objects.get().distributor_id == a1.pk


def test_an_order_belongs_to_the_tenants_local_day_not_the_utc_date_it_was_sent_in():
    from datetime import date as date_
    from zoneinfo import ZoneInfo

    from mobile.push import _work_date

    karachi, today = ZoneInfo("Asia/Karachi"), date_(2026, 11, 20)
    # 19:30 UTC is 00:30 the next day in Karachi (UTC+5)
    assert _work_date({"payload": {"booked_at": "2026-11-22T19:30:00Z"}}, today, karachi) == date_(2026, 11, 23)
    assert _work_date({"payload": {"booked_at": "2026-11-22T18:59:00+00:00"}}, today, karachi) == date_(2026, 11, 22)
    # a visit carries its date; no time at all falls back to today
    assert _work_date({"payload": {"date": "2026-11-21", "booked_at": "2026-11-22T19:30:00Z"}}, today,
                      karachi) == date_(2026, 11, 21)
    assert _work_date({"payload": {}}, today, karachi) == today
