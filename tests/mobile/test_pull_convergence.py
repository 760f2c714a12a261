"""The pull under concurrent writers, against PostgreSQL with real commits (each thread its own connection):
a slow writer that commits late is never skipped, and a device pulling while random writers run ends with a copy
equal to a fresh full pull and to what the server computes as visible."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import DatabaseError, connection

from catalog.models import Outlet, PriceList, PriceListItem, Sku
from dms.core.errors import DomainError
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from orders.enums import OrderStatus
from orders.models import SecondaryOrder
from pjp.models import Route
from pjp.services import route_set_stops
from pjp.services.journeys import journey_build
from tests.factories.catalog import make_outlet
from tests.mobile.pull_helpers import Replica, World, build_world, changes_of, device_client, fresh_copy, make_order
from tests.mobile.pull_helpers import server_view as server_copy

pytestmark = pytest.mark.django_db(transaction=True)

SEED = 20261122
WRITERS = 3
WRITE_SECONDS = 4.0
PAGE = 7  # small pages, so a sync spans many pages while the writers run


def _in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(fn())
        except BaseException as exc:  # noqa: BLE001 - reported by the test, not lost in the thread
            out.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_a_writer_that_commits_late_is_not_skipped(cast_a):
    # given: a device in sync
    world = build_world(cast_a)
    replica = Replica(device_client(world.me.token))
    replica.sync()
    slow_shop, other_shop = world.day.outlets[0], world.day.outlets[1]
    sku = world.day.skus[0]
    took_seq, release = threading.Event(), threading.Event()

    def slow_writer() -> None:  # takes the distributor clock's next seq, then holds its transaction open
        with tenant_scope(Scope.system(world.tenant_id)):
            Outlet.objects.filter(pk=slow_shop.pk).update(name="slow writer")
            took_seq.set()
            assert release.wait(30)

    def later_writer(change: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            with tenant_scope(Scope.system(world.tenant_id)):
                change()
        return run

    slow, slow_out = _in_thread(slow_writer)
    assert took_seq.wait(30)
    # when: a later transaction of another clock commits, a later one of the same clock queues, and a pull runs
    tenant_writer, tenant_out = _in_thread(later_writer(lambda: Sku.objects.filter(pk=sku.pk).update(name="later")))
    tenant_writer.join(30)
    queued, queued_out = _in_thread(later_writer(
        lambda: Outlet.objects.filter(pk=other_shop.pk).update(name="queued writer")))
    queued.join(0.5)
    still_queued = queued.is_alive()
    during = replica.sync()
    release.set()
    slow.join(30)
    queued.join(30)
    after = replica.sync()
    # then
    assert tenant_out == slow_out == queued_out == [None], (tenant_out, slow_out, queued_out)
    assert still_queued, "a second writer of the same clock must wait for the first to commit"
    assert sku.pk in changes_of(during, "sku")[0] and not changes_of(during, "outlet")[0]
    assert {slow_shop.pk, other_shop.pk} <= changes_of(after, "outlet")[0]
    assert replica.data["outlet"][slow_shop.pk]["name"] == "slow writer"
    assert replica.data == server_copy(world.me.device)


class RandomWriter:
    """One staff member or import changing master data at random, each change its own transaction, some of them
    slow (held open after the write)."""

    def __init__(self, world: World, index: int, stop: threading.Event) -> None:
        self.world, self.rng, self.stop = world, random.Random(SEED + index), stop
        self.index = index
        self.codes = itertools.count(1)
        self.done: dict[str, int] = {}
        self.refused = 0

    def run(self) -> dict[str, int]:
        ops = [self.outlet_create, self.outlet_update, self.outlet_toggle, self.price_change, self.price_list_move,
               self.journeys_rebuild, self.route_shuffle, self.order_status]
        while not self.stop.is_set():
            op = self.rng.choice(ops)
            try:
                with tenant_scope(Scope.system(self.world.tenant_id)) as scope:
                    op(scope)
                    if self.rng.random() < 0.3:
                        time.sleep(self.rng.uniform(0.005, 0.05))  # a slow writer holding its seq
                self.done[op.__name__] = self.done.get(op.__name__, 0) + 1
            except (DomainError, DatabaseError):  # a business refusal, or a deadlock between two writers
                self.refused += 1
        return self.done

    def _distributor(self) -> Any:
        return self.rng.choice(self.world.cast.distributors)

    def _outlet(self, scope: Scope) -> Outlet | None:
        ids = list(Outlet.objects.order_by("pk").values_list("pk", flat=True))
        return Outlet.objects.filter(pk=self.rng.choice(ids)).first() if ids else None

    def outlet_create(self, scope: Scope) -> None:
        make_outlet(self._distributor(), code=f"W{self.index}-{next(self.codes)}",
                    credit_limit=Decimal(self.rng.randrange(0, 90_000)))

    def outlet_update(self, scope: Scope) -> None:
        outlet = self._outlet(scope)
        if outlet is not None:
            outlet.name = f"Shop {self.rng.randrange(10_000)}"
            outlet.credit_limit = Decimal(self.rng.randrange(0, 90_000))
            outlet.save()

    def outlet_toggle(self, scope: Scope) -> None:
        outlet = self._outlet(scope)
        if outlet is not None:
            Outlet.objects.filter(pk=outlet.pk).update(active=not outlet.active)

    def price_change(self, scope: Scope) -> None:
        ids = list(PriceListItem.objects.values_list("pk", flat=True))
        PriceListItem.objects.filter(pk=self.rng.choice(ids)).update(
            case_price=Decimal(self.rng.randrange(100, 200_000)) / 100)

    def price_list_move(self, scope: Scope) -> None:
        lists = list(PriceList.objects.order_by("pk").values_list("pk", flat=True))
        target = self.rng.choice([None, *(d.pk for d in self.world.cast.distributors)])
        PriceList.objects.filter(pk=self.rng.choice(lists)).update(distributor_id=target)

    def journeys_rebuild(self, scope: Scope) -> None:
        a1 = self.world.cast.distributors[0]
        journey_build(scope=scope, distributor_id=a1.pk, day=self.world.day.today)

    def route_shuffle(self, scope: Scope) -> None:
        a1 = self.world.cast.distributors[0]
        route = Route.objects.filter(distributor_id=a1.pk).order_by("pk").first()
        assert route is not None
        stops = list(route.stops.filter(outlet__active=True).values_list("outlet_id", flat=True))
        self.rng.shuffle(stops)
        route_set_stops(scope=scope, route_id=route.pk, outlet_ids=stops)

    def order_status(self, scope: Scope) -> None:
        ids = list(SecondaryOrder.objects.order_by("pk").values_list("pk", flat=True))
        SecondaryOrder.objects.filter(pk=self.rng.choice(ids)).update(
            status=self.rng.choice([OrderStatus.CONFIRMED, OrderStatus.ALLOCATED, OrderStatus.CANCELLED]),
            total=Decimal(self.rng.randrange(0, 100_000)) / 100)


def test_pull_converges_while_random_writers_run(cast_a):
    # given: two devices (A1's booker, A2's booker) with a copy each, and some orders to be worked on
    world = build_world(cast_a)
    for i in range(3):
        make_order(world.cast.distributors[0], world.me.user, world.day.outlets[i])
    devices = [(world.me, Replica(device_client(world.me.token))),
               (world.sibling, Replica(device_client(world.sibling.token)))]
    for _booker, replica in devices:
        replica.sync(limit=PAGE)
    stop = threading.Event()
    writers = [RandomWriter(world, i, stop) for i in range(WRITERS)]
    threads = [_in_thread(w.run) for w in writers]
    # when: the devices pull again and again while the writers run, then once more after they stop
    rng, deadline, rounds = random.Random(SEED), time.monotonic() + WRITE_SECONDS, 0
    while time.monotonic() < deadline:
        for _booker, replica in devices:
            replica.sync(limit=PAGE)
        rounds += 1
        time.sleep(rng.uniform(0, 0.2))  # sometimes offline a while: the next sync spans several pages
    stop.set()
    for thread, _out in threads:
        thread.join(60)
    for _booker, replica in devices:
        replica.sync(limit=PAGE)
    # then
    results = [out[0] for _t, out in threads]
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert rounds >= 2 and sum(sum(r.values()) for r in results) >= 20, (rounds, results)
    assert {name for r in results for name in r} >= {"outlet_create", "outlet_toggle", "price_list_move",
                                                      "journeys_rebuild"}, results
    for booker, replica in devices:
        full = fresh_copy(device_client(booker.token), limit=PAGE)
        assert replica.data == full
        assert replica.data == server_copy(booker.device)
