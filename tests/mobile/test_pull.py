"""The order-booker app's pull (mobile.pull): full pull, deltas of each entity, deletions and lost access, the
day changing under the copy, expired and foreign cursors, intruders, and a pinned query count per page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from catalog.enums import SchemeKind
from catalog.models import Brand, Outlet, PriceList, PriceListItem, Scheme, SchemeSlab, Sku, TaxRate
from dms.tenancy.checks import tenancy_violations
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from mobile.changes import sync_changes_prune
from mobile.models import SyncChange, SyncClock, SyncHealth
from mobile.pull import CURSOR_SALT, SCHEMA_VERSION
from mobile.tasks import prune_sync_changes
from orders.models import SecondaryOrder
from orders.services.staff import order_confirm
from pjp.enums import UnproductiveReason, VisitStatus
from pjp.models import DailyJourney, JourneyNotification, Visit
from tests.factories.catalog import make_brand, make_outlet, make_price_list, make_scheme, make_sku, make_tax_rate
from tests.mobile.pull_helpers import (
    Replica,
    World,
    build_world,
    changes_of,
    device_client,
    forget_writer_seqs,
    pull,
    server_view,
)

pytestmark = pytest.mark.django_db


def _synced(world: World) -> Replica:
    replica = Replica(device_client(world.me.token))
    replica.sync()
    return replica


def _write(world: World, change: Callable[[], Any]) -> Any:
    with tenant_scope(Scope.system(world.tenant_id)):
        return change()


def _delta(world: World, replica: Replica, change: Callable[[], Any]) -> tuple[list[dict[str, Any]], Any]:
    """Apply `change` as a writer, then pull until done: the delta's pages and what `change` returned."""
    result = _write(world, change)
    return replica.sync(), result


def _clock(world: World, key: int) -> int:
    with tenant_scope(Scope.system(world.tenant_id)):
        return SyncClock.objects.filter(distributor_key=key).values_list("last_seq", flat=True).first() or 0


def test_a_full_pull_pages_through_everything_then_the_delta_is_empty(cast_a):
    # given
    world = build_world(cast_a)
    replica = Replica(device_client(world.me.token))
    # when
    pages = replica.sync(limit=3)
    delta = replica.page()
    # then
    assert len(pages) > 3 and all(p["full"] for p in pages) and not pages[-1]["has_more"]
    assert replica.data == server_view(world.me.device)
    assert not delta["full"] and not delta["has_more"]
    assert all(not c["upserted"] and not c["deleted"] for c in delta["changes"].values())


def test_the_full_pull_carries_the_bookers_offline_world(cast_a):
    # given
    world = build_world(cast_a)
    with tenant_scope(Scope.system(world.tenant_id)):
        a1_outlets = set(Outlet.objects.filter(distributor=world.cast.distributors[0]).values_list("pk", flat=True))
    # when
    data = _synced(world).data
    # then
    assert set(data["outlet"]) == a1_outlets and {o.pk for o in world.day.outlets} <= a1_outlets
    assert world.a2_outlet.pk not in data["outlet"]
    assert {s.pk for s in world.day.skus} <= set(data["sku"])
    assert [r["id"] for r in data["reason"].values()] == list(UnproductiveReason.values)
    (journey,) = data["journey"].values()
    assert journey["id"] == world.day.journey.pk and journey["date"] == world.day.today.isoformat()
    assert [(v["id"], v["sequence"], v["status"]) for v in journey["visits"]] == [
        (v.pk, v.sequence, VisitStatus.PLANNED) for v in world.day.visits]
    assert set(data["order"]) == {world.my_order.pk}
    order = data["order"][world.my_order.pk]
    assert order == {"id": world.my_order.pk, "uuid": str(world.my_order.uuid), "outlet_id": world.day.outlets[0].pk,
                     "booked_at": order["booked_at"], "status": "booked", "total": "1170.00", "hold": "",
                     "price_flag": False}
    prices = {(p["price_list_id"], p["sku_id"]): p["case_price"] for p in data["price"].values()}
    assert prices[(world.a1_list.pk, world.day.skus[0].pk)] == "1150.0000"
    assert world.a2_list.pk not in {p["price_list_id"] for p in data["price"].values()}
    scheme = data["scheme"][world.scheme.pk]
    assert [(s["threshold"], s["benefit"]) for s in scheme["slabs"]] == [("10.000", "2.5000"), ("50.000", "5.0000")]
    assert scheme["sku_ids"] == [world.day.skus[0].pk]
    assert len(data["notification"]) == 1


def _outlet_renamed(w: World) -> int:
    Outlet.objects.filter(pk=w.day.outlets[1].pk).update(name="Renamed shop")
    return w.day.outlets[1].pk


def _sku_updated(w: World) -> int:
    sku = Sku.objects.get(pk=w.day.skus[1].pk)
    sku.pack_size = "1 l x 6"
    sku.save()
    return sku.pk


def _brand_updated(w: World) -> int:
    Brand.objects.filter(pk=w.day.skus[0].brand_id).update(name="Rebranded")
    return w.day.skus[0].brand_id


def _tax_updated(w: World) -> int:
    rate = TaxRate.objects.get()
    rate.rate = Decimal("0.1800")
    rate.save()
    return rate.pk


def _price_updated(w: World) -> int:
    item = PriceListItem.objects.get(price_list=w.a1_list)
    item.case_price = Decimal("1100.00")
    item.save()
    return item.pk


def _scheme_slab_added(w: World) -> int:
    SchemeSlab.objects.create(scheme=w.scheme, threshold=Decimal("100"), benefit=Decimal("7.5"))
    return w.scheme.pk


def _journey_resequenced(w: World) -> int:
    first, second = w.day.visits[0], w.day.visits[1]
    Visit.objects.filter(pk=first.pk).update(sequence=99)
    Visit.objects.filter(pk=second.pk).update(sequence=first.sequence)
    return w.day.journey.pk


def _notification_changed(w: World) -> int:
    note = JourneyNotification.objects.get(booker=w.me.user)
    note.message = "Your journey changed."
    note.save()
    return note.pk


def _order_confirmed(w: World) -> int:
    order_confirm(scope=Scope.system(w.tenant_id), order_id=w.my_order.pk)
    return w.my_order.pk


@pytest.mark.parametrize(("entity", "change"), [
    ("outlet", _outlet_renamed), ("sku", _sku_updated), ("brand", _brand_updated), ("tax_rate", _tax_updated),
    ("price", _price_updated), ("scheme", _scheme_slab_added), ("journey", _journey_resequenced),
    ("notification", _notification_changed), ("order", _order_confirmed),
])
def test_a_change_of_each_entity_arrives_in_the_next_delta_as_its_current_state(cast_a, entity, change):
    # given
    world = build_world(cast_a)
    replica = _synced(world)
    # when
    pages, object_id = _delta(world, replica, lambda: change(world))
    # then
    upserted, deleted = changes_of(pages, entity)
    assert object_id in upserted and not deleted
    assert replica.data == server_view(world.me.device)


def _outlet_added(w: World) -> int:
    return make_outlet(w.day.journey.distributor, code="NEWSHOP").pk


def _sku_added(w: World) -> int:
    return make_sku(w.tenant_id).pk


def _brand_added(w: World) -> int:
    return make_brand(w.tenant_id).pk


def _tax_added(w: World) -> int:
    return make_tax_rate(w.tenant_id, tax_class="LUX", rate=Decimal("0.2500")).pk


def _price_added(w: World) -> int:
    return PriceListItem.objects.create(price_list=w.a1_list, sku=w.day.skus[1], case_price=Decimal("9.99")).pk


def _scheme_added(w: World) -> int:
    return make_scheme(w.tenant_id, kind=SchemeKind.AMOUNT_OFF, slabs=[("5", "10")]).pk


@pytest.mark.parametrize(("entity", "change"), [
    ("outlet", _outlet_added), ("sku", _sku_added), ("brand", _brand_added), ("tax_rate", _tax_added),
    ("price", _price_added), ("scheme", _scheme_added),
])
def test_an_insert_of_each_entity_arrives_in_the_next_delta(cast_a, entity, change):
    # given
    world = build_world(cast_a)
    replica = _synced(world)
    # when
    pages, object_id = _delta(world, replica, lambda: change(world))
    # then
    assert object_id in changes_of(pages, entity)[0]
    assert replica.data == server_view(world.me.device)


def _outlet_deleted(w: World) -> int:
    outlet = make_outlet(w.day.journey.distributor, code="GONE")
    return outlet.pk


def _delete_later(model: Any) -> Callable[[int], None]:
    return lambda pk: model.objects.filter(pk=pk).delete()


@pytest.mark.parametrize(("entity", "create", "delete"), [
    ("outlet", _outlet_deleted, _delete_later(Outlet)),
    ("brand", _brand_added, _delete_later(Brand)),
    ("sku", _sku_added, _delete_later(Sku)),
    ("tax_rate", _tax_added, _delete_later(TaxRate)),
    ("price", _price_added, _delete_later(PriceListItem)),
    ("scheme", _scheme_added, _delete_later(Scheme)),
])
def test_a_hard_delete_of_each_entity_arrives_as_a_deletion(cast_a, entity, create, delete):
    # given: an object the device holds
    world = build_world(cast_a)
    object_id = _write(world, lambda: create(world))
    replica = _synced(world)
    assert object_id in replica.data[entity]
    # when
    pages, _ = _delta(world, replica, lambda: delete(object_id))
    # then
    assert object_id in changes_of(pages, entity)[1]
    assert object_id not in replica.data[entity]
    assert replica.data == server_view(world.me.device)


def test_a_deleted_journey_and_an_order_leaving_the_booker_arrive_as_deletions(cast_a):
    # given
    world = build_world(cast_a)
    replica = _synced(world)

    def change() -> None:
        DailyJourney.objects.filter(pk=world.day.journey.pk).delete()
        SecondaryOrder.objects.filter(pk=world.my_order.pk).update(status="confirmed", booker=world.colleague.user)

    # when
    pages, _ = _delta(world, replica, change)
    # then
    assert world.day.journey.pk in changes_of(pages, "journey")[1]
    assert world.my_order.pk in changes_of(pages, "order")[1]
    assert not replica.data["journey"] and not replica.data["order"] and not replica.data["notification"]


def test_an_outlet_deactivated_and_a_price_list_moved_to_the_sibling_arrive_as_deletions(cast_a):
    # given
    world = build_world(cast_a)
    replica = _synced(world)
    shop = world.day.outlets[2]
    with tenant_scope(Scope.system(world.tenant_id)):
        a1_prices = set(PriceListItem.objects.filter(price_list=world.a1_list).values_list("pk", flat=True))
        a2_prices = set(PriceListItem.objects.filter(price_list=world.a2_list).values_list("pk", flat=True))
    assert a1_prices <= set(replica.data["price"]) and not a2_prices & set(replica.data["price"])

    def change() -> None:
        Outlet.objects.filter(pk=shop.pk).update(active=False)
        PriceList.objects.filter(pk=world.a1_list.pk).update(distributor=world.cast.distributors[1])
        PriceList.objects.filter(pk=world.a2_list.pk).update(distributor=world.cast.distributors[0])

    # when
    pages, _ = _delta(world, replica, change)
    # then: lost access is a deletion; the list moved in arrives whole
    assert shop.pk in changes_of(pages, "outlet")[1]
    assert a1_prices <= changes_of(pages, "price")[1]
    assert a2_prices <= changes_of(pages, "price")[0]
    assert shop.pk not in replica.data["outlet"] and not a1_prices & set(replica.data["price"])
    assert replica.data == server_view(world.me.device)


def test_raw_sql_and_bulk_writes_are_captured_too(cast_a):
    # given
    world = build_world(cast_a)
    replica = _synced(world)
    distributor = world.cast.distributors[0]

    def change() -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE catalog_outlet SET name = name || ' (raw)' WHERE distributor_id = %s",
                           [distributor.pk])
        made = Outlet.objects.bulk_create([
            Outlet(tenant_id=world.tenant_id, distributor=distributor, code=f"BULK{i}", name=f"Bulk {i}")
            for i in range(5)])
        return [o.pk for o in made]

    # when
    pages, bulk_ids = _delta(world, replica, change)
    # then
    upserted = changes_of(pages, "outlet")[0]
    assert set(bulk_ids) <= upserted and world.day.outlets[0].pk in upserted
    assert all(r["name"].endswith("(raw)") for r in replica.data["outlet"].values() if r["id"] not in bulk_ids)


def test_visit_actuals_do_not_take_the_distributor_clock_but_planned_fields_do(cast_a):
    # given
    world = build_world(cast_a)
    key = world.cast.distributors[0].pk
    before = _clock(world, key)
    visit = world.day.visits[0]
    # when: what a booker's push writes
    forget_writer_seqs()
    _write(world, lambda: Visit.objects.filter(pk=visit.pk).update(
        status=VisitStatus.CHECKED_IN, checked_in_at=timezone.now(), note="met the owner"))
    after_actuals = _clock(world, key)
    forget_writer_seqs()
    _write(world, lambda: Visit.objects.filter(pk=visit.pk).update(eta=visit.eta + timedelta(minutes=5)))
    # then
    assert after_actuals == before
    assert _clock(world, key) == before + 1


def test_a_writer_takes_one_seq_per_transaction_and_clock(cast_a):
    # given
    world = build_world(cast_a)
    before = _clock(world, 0)

    # when: one transaction writing many tenant-level rows of several tables
    def change() -> None:
        for _ in range(3):
            make_sku(world.tenant_id)
        PriceList.objects.filter(pk=world.a1_list.pk).update(name="renamed")

    forget_writer_seqs()
    _write(world, change)
    # then
    with tenant_scope(Scope.system(world.tenant_id)):
        seqs = set(SyncChange.objects.filter(distributor_key=0, seq__gt=before).values_list("seq", flat=True))
    assert seqs == {before + 1}


def test_a_page_never_splits_a_transaction_unless_it_alone_fills_the_page(cast_a):
    # given: three writers of 2, 3 and 7 outlets after the copy was made
    world = build_world(cast_a)
    replica = _synced(world)
    distributor = world.cast.distributors[0]
    batches = []
    for size in (2, 3, 7):
        batches.append(set(_write(world, lambda size=size: [o.pk for o in Outlet.objects.bulk_create([
            Outlet(tenant_id=world.tenant_id, distributor=distributor, code=f"T{size}-{i}", name="x")
            for i in range(size)])])))
        forget_writer_seqs()
    # when
    pages = replica.sync(limit=4)
    # then: 2 (3 would split the second writer), 3, then the 7 in pages of 4 and 3
    got = [{r["id"] for r in p["changes"]["outlet"]["upserted"]} for p in pages]
    assert got[:2] == batches[:2] and [len(g) for g in got[2:]] == [4, 3] and got[2] | got[3] == batches[2]
    assert replica.data == server_view(world.me.device)


def test_a_new_day_brings_what_entered_and_removes_what_left_the_horizon_without_any_write(cast_a):
    # given: a price list starting in 8 days (not yet sent) and one ending today (sent)
    world = build_world(cast_a)
    today = world.day.today
    starting = make_price_list(world.tenant_id, {world.day.skus[0]: Decimal("1.00")}, valid_from=today + timedelta(8))
    ending = make_price_list(world.tenant_id, {world.day.skus[1]: Decimal("2.00")}, valid_to=today)
    with tenant_scope(Scope.system(world.tenant_id)):
        starting_item = PriceListItem.objects.get(price_list=starting).pk
        ending_item = PriceListItem.objects.get(price_list=ending).pk
    replica = _synced(world)
    assert ending_item in replica.data["price"] and starting_item not in replica.data["price"]
    # when: the next day's pull
    tomorrow = timezone.now() + timedelta(days=1)
    with mock.patch("mobile.pull.timezone.now", return_value=tomorrow):
        pages = replica.sync()
        expected = server_view(world.me.device)
    # then
    assert starting_item in changes_of(pages, "price")[0]
    assert ending_item in changes_of(pages, "price")[1]
    assert world.day.journey.pk in changes_of(pages, "journey")[1]  # today's journey is yesterday's now
    assert replica.data == expected


def test_an_expired_cursor_answers_410_and_a_full_pull_recovers(cast_a):
    # given: a copy, then changes that the retention removed
    world = build_world(cast_a)
    replica = _synced(world)
    _write(world, lambda: Outlet.objects.filter(pk=world.day.outlets[0].pk).update(name="changed"))
    with tenant_scope(Scope.system(world.tenant_id)) as scope:
        result = sync_changes_prune(scope=scope, before=timezone.now() + timedelta(seconds=5), limit=10_000)
    assert result.deleted > 0 and not result.more
    # when
    response = pull(replica.client, replica.cursor)
    # then
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "cursor_expired"
    replica.cursor = None
    replica.sync()
    assert replica.data["outlet"][world.day.outlets[0].pk]["name"] == "changed"


def test_the_prune_task_keeps_recent_changes_and_fans_out_per_tenant(cast_a, cast_b):
    # given
    world = build_world(cast_a)
    with tenant_scope(Scope.system(world.tenant_id)):
        kept = SyncChange.objects.count()
    # when
    prune_sync_changes.delay()
    # then
    with tenant_scope(Scope.system(world.tenant_id)):
        assert SyncChange.objects.count() == kept > 0
        assert not SyncClock.objects.filter(pruned_below__gt=0).exists()
    with override_settings(SYNC_CHANGE_RETENTION_DAYS=-1):
        prune_sync_changes.delay(tenant_id=world.tenant_id)
    with tenant_scope(Scope.system(world.tenant_id)):
        assert SyncChange.objects.count() == 0
        assert set(SyncClock.objects.values_list("pruned_below", flat=True)) == set(
            SyncClock.objects.values_list("last_seq", flat=True))


def test_a_cursor_of_an_old_schema_or_older_than_the_retention_answers_410(cast_a):
    # given
    world = build_world(cast_a)
    replica = _synced(world)
    payload = signing.loads(replica.cursor, salt=CURSOR_SALT)
    old_schema = signing.dumps({**payload, "v": SCHEMA_VERSION - 1}, salt=CURSOR_SALT, compress=True)
    too_old = signing.dumps({**payload, "at": payload["at"] - 8 * 86400}, salt=CURSOR_SALT, compress=True)
    # when / then
    for cursor in (old_schema, too_old):
        response = pull(replica.client, cursor)
        assert response.status_code == 410 and response.json()["error"]["code"] == "cursor_expired"


def test_a_tampered_cursor_or_another_devices_cursor_is_refused(cast_a, cast_b):
    # given
    world = build_world(cast_a)
    replica = _synced(world)
    colleague = Replica(device_client(world.colleague.token))
    colleague.sync()
    b_replica = Replica(device_client(cast_b.device_token))
    b_replica.sync()
    payload = signing.loads(replica.cursor, salt=CURSOR_SALT)
    unsigned = signing.dumps({**payload, "tp": [0, 0]}, salt="another salt", compress=True)
    tampered = replica.cursor[:-3] + ("AAA" if not replica.cursor.endswith("AAA") else "BBB")
    # when / then
    for cursor in (tampered, unsigned, "garbage", colleague.cursor, b_replica.cursor):
        response = pull(replica.client, cursor)
        assert response.status_code == 400, response.content
        assert "cursor" in response.json()["error"]["fields"]


def test_tenant_b_never_sees_tenant_a(cast_a, cast_b):
    # given
    world = build_world(cast_a)
    b = Replica(device_client(cast_b.device_token))
    b.sync()
    # when: tenant A changes everything it has
    def change() -> None:
        Outlet.objects.update(name="A changed")
        Sku.objects.update(name="A changed")
        PriceListItem.objects.update(case_price=Decimal("1.00"))
        Scheme.objects.update(name="A changed")
        Visit.objects.update(sequence=timezone.now().second + 100)

    _write(world, change)
    pages = b.sync()
    # then
    assert all(not c["upserted"] and not c["deleted"] for p in pages for c in p["changes"].values())
    assert all(not rows for name, rows in b.data.items() if name != "reason")


def test_the_sibling_distributors_device_never_sees_a1s_outlets_or_journeys(cast_a):
    # given
    world = build_world(cast_a)
    sibling = Replica(device_client(world.sibling.token))
    sibling.sync()
    # when
    _write(world, lambda: Outlet.objects.filter(distributor=world.cast.distributors[0]).update(name="A1 changed"))
    pages = sibling.sync()
    # then
    assert set(sibling.data["outlet"]) == {world.a2_outlet.pk}
    assert set(sibling.data["journey"]) == {world.sibling_journey_id}
    assert not any(p["changes"]["outlet"]["upserted"] or p["changes"]["outlet"]["deleted"] for p in pages)
    assert world.a2_list.pk in {p["price_list_id"] for p in sibling.data["price"].values()}
    assert world.a1_list.pk not in {p["price_list_id"] for p in sibling.data["price"].values()}


def test_another_bookers_journeys_and_orders_never_appear(cast_a):
    # given
    world = build_world(cast_a)
    replica = _synced(world)
    assert world.colleague_journey_id not in replica.data["journey"]
    assert world.colleague_order.pk not in replica.data["order"]
    # when: the colleague's journey and order change
    def change() -> None:
        Visit.objects.filter(journey_id=world.colleague_journey_id).update(sequence=50)
        order_confirm(scope=Scope.system(world.tenant_id), order_id=world.colleague_order.pk)

    pages, _ = _delta(world, replica, change)
    # then: at most "not yours" deletions, never their content
    assert world.colleague_journey_id not in changes_of(pages, "journey")[0]
    assert world.colleague_order.pk not in changes_of(pages, "order")[0]
    assert world.colleague_journey_id not in replica.data["journey"]
    assert world.colleague_order.pk not in replica.data["order"]


def test_a_pull_stamps_the_devices_sync_health(cast_a):
    # given
    world = build_world(cast_a)
    # when
    _synced(world)
    # then
    with tenant_scope(Scope.system(world.tenant_id)):
        health = SyncHealth.objects.get(device=world.me.device)
    assert health.last_pull_at is not None and health.status == SyncHealth.Status.OK


def _change_everything(world: World, n: int) -> None:
    a1 = world.cast.distributors[0]
    for i in range(n):
        make_outlet(a1, code=f"Q{n}-{i}")
        make_sku(world.tenant_id)
        make_tax_rate(world.tenant_id, tax_class=f"Q{n}-{i}")
        PriceListItem.objects.create(price_list=world.a1_list, sku=make_sku(world.tenant_id), case_price=Decimal(i))
        make_scheme(world.tenant_id, kind=SchemeKind.PERCENT_OFF, slabs=[("1", "1"), ("2", "2")],
                    skus=[world.day.skus[0]], brands=[Brand.objects.first()])
    Visit.objects.filter(journey=world.day.journey).update(sequence=timezone.now().microsecond % 1000 + 100)
    JourneyNotification.objects.filter(booker=world.me.user).update(message=f"changed {n}")
    order_confirm(scope=Scope.system(world.tenant_id), order_id=world.my_order.pk)


@pytest.mark.parametrize("n", [2, 20])
def test_a_delta_page_takes_the_same_queries_whatever_its_size(cast_a, n):
    # given: a copy, then n changes of every entity
    world = build_world(cast_a)
    replica = _synced(world)
    _write(world, lambda: _change_everything(world, n))
    # when
    with CaptureQueriesContext(connection) as queries:
        response = replica.client.get(reverse("mobile-pull"), {"cursor": replica.cursor})
    body = response.json()
    # then: authentication 5 and the request's scope 2 (savepoints and RLS settings in a test), tenant and
    # clocks 2, feeds 2, one per entity (9) + scheme children 3 + visits 1, sync health 1, scope exit 2
    assert not body["has_more"]
    assert sum(len(c["upserted"]) for c in body["changes"].values()) >= 5 * n
    assert len(queries) == 27, "\n".join(q["sql"][:120] for q in queries.captured_queries)


def test_the_change_feed_tables_meet_the_tenancy_rules():
    problems = [p for p in tenancy_violations() if "mobile_sync" in p]
    assert problems == []


def test_order_changes_other_than_status_hold_and_total_do_not_take_the_clock(cast_a):
    # given
    world = build_world(cast_a)
    key = world.cast.distributors[0].pk
    before = _clock(world, key)
    forget_writer_seqs()
    # when
    _write(world, lambda: SecondaryOrder.objects.filter(pk=world.my_order.pk).update(note="deliver before noon"))
    # then
    assert _clock(world, key) == before


def test_only_device_tokens_may_pull_and_the_limit_is_bounded(cast_a, api_as):
    # given
    staff = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])
    device = device_client(cast_a.device_token)
    # when
    as_staff = staff.get(reverse("mobile-pull"))
    too_big = device.get(reverse("mobile-pull"), {"limit": 5000})
    # then
    assert as_staff.status_code in (401, 403)
    assert too_big.status_code == 400 and "limit" in too_big.json()["error"]["fields"]
