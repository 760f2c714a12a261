"""The pull tests' world and the app's side of the protocol: a replica that applies pages, as the app does."""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.enums import SchemeKind
from catalog.models import Outlet, PriceList, Scheme
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.models import Device, Tenant
from dms.tenancy.scope import Scope
from dms.tenancy.services import device_access_token, device_register, membership_grant, user_create
from mobile.pull import viewer_for
from mobile.pull_entities import ENTITY_NAMES, snapshot
from orders.models import SecondaryOrder
from pjp.services.common import tenant_policy
from pjp.services.journeys import journey_build
from tests.factories.catalog import make_outlet, make_price_list, make_scheme
from tests.factories.pjp import make_plan, make_route, monday_of
from tests.mobile.sync_setup import Day, working_day

_seq = itertools.count(1)
Copy = dict[str, dict[Any, dict[str, Any]]]


def forget_writer_seqs() -> None:
    """End the writers' "transaction" inside a test's never-committed outer transaction.

    A writer caches its seq for the rest of its transaction (mobile.changes); in a test every write shares the
    outer transaction, so without this a write made after a pull would reuse a seq the pull already passed."""
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        return
    for tenant_id in Tenant.objects.values_list("pk", flat=True):
        with tenant_scope(Scope.system(tenant_id)), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('dms_sync.seq_' || tenant_id || '_' || distributor_key, '', true) "
                           "FROM mobile_syncclock")


def device_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def pull(client: APIClient, cursor: str | None = None, limit: int | None = None) -> Any:
    params: dict[str, Any] = {}
    if cursor is not None:
        params["cursor"] = cursor
    if limit is not None:
        params["limit"] = limit
    response = client.get(reverse("mobile-pull"), params)
    forget_writer_seqs()
    return response


@dataclass
class Replica:
    """The app's offline copy, built only from pull pages: entity -> id -> row."""

    client: APIClient
    cursor: str | None = None
    data: Copy = field(default_factory=lambda: {name: {} for name in ENTITY_NAMES})
    pages: int = 0

    def apply(self, body: dict[str, Any]) -> None:
        for name, changes in body["changes"].items():
            rows = self.data.setdefault(name, {})
            for row in changes["upserted"]:
                rows[row["id"]] = row
            for object_id in changes["deleted"]:
                rows.pop(object_id, None)
        self.cursor = body["next_cursor"]
        self.pages += 1

    def page(self, limit: int | None = None) -> dict[str, Any]:
        """One pull; a full pull (no cursor) starts from an empty copy, as the app does."""
        if self.cursor is None:
            self.data = {name: {} for name in ENTITY_NAMES}
        response = pull(self.client, self.cursor, limit)
        assert response.status_code == 200, response.content[:500]
        body = response.json()
        self.apply(body)
        return body

    def sync(self, limit: int | None = None, max_pages: int = 1000) -> list[dict[str, Any]]:
        """Pull until has_more is false; the pages."""
        bodies = [self.page(limit)]
        while bodies[-1]["has_more"]:
            assert len(bodies) < max_pages, "the pull does not end"
            bodies.append(self.page(limit))
        return bodies


def fresh_copy(client: APIClient, limit: int | None = None) -> Copy:
    replica = Replica(client)
    replica.sync(limit)
    return replica.data


def server_view(device: Device) -> Copy:
    """What the server computes the device may see, in the form the API sends it."""
    with tenant_scope(Scope.for_device(device)) as scope:
        view = snapshot(viewer_for(scope=scope, device=device))
    return {name: {row_id: json.loads(json.dumps(row, cls=DjangoJSONEncoder)) for row_id, row in rows.items()}
            for name, rows in view.items()}


def changes_of(bodies: list[dict[str, Any]], entity: str) -> tuple[set[Any], set[Any]]:
    """The ids upserted and deleted for `entity` over some pages."""
    up = {r["id"] for b in bodies for r in b["changes"][entity]["upserted"]}
    down = {i for b in bodies for i in b["changes"][entity]["deleted"]}
    return up, down


# --- the world ---------------------------------------------------------------------------------------------------

@dataclass
class Booker:
    user: Any
    device: Device
    token: str


@dataclass
class World:
    """Tenant A: distributor A1 with the cast's booker (its day, outlets, prices) and a second booker; A2 with its
    own booker, outlet, price list and journey; tenant-wide, A1-only and A2-only price lists and a scheme."""

    cast: Any
    day: Day
    me: Booker
    colleague: Booker
    sibling: Booker
    a1_list: PriceList
    a2_list: PriceList
    scheme: Scheme
    a2_outlet: Outlet
    my_order: SecondaryOrder
    colleague_order: SecondaryOrder
    colleague_journey_id: int
    sibling_journey_id: int

    @property
    def tenant_id(self) -> int:
        return int(self.cast.tenant.pk)


def add_booker(cast: Any, distributor: Any, username: str) -> Booker:
    from tests.conftest import PASSWORD

    user = user_create(username=username, password=PASSWORD)
    with tenant_scope(Scope.system(cast.tenant.pk)) as scope:
        membership_grant(scope=scope, user=user, role=Role.ORDER_BOOKER, distributor=distributor)
        device = device_register(scope=scope, user=user, distributor_id=distributor.pk, identifier=f"{username}-phone")
    return Booker(user, device, device_access_token(device=device))


def cast_booker(cast: Any, key: str = Role.ORDER_BOOKER) -> Booker:
    return Booker(cast.users[key], cast.device, cast.device_token)


def sibling_booker(cast: Any) -> Booker:
    d2 = cast.distributors[1]
    user = cast.users[f"{Role.ORDER_BOOKER}@{d2.code}"]
    with tenant_scope(Scope.system(cast.tenant.pk)) as scope:
        device = device_register(scope=scope, user=user, distributor_id=d2.pk, identifier=f"{d2.code}-phone")
    return Booker(user, device, device_access_token(device=device))


def make_order(distributor: Any, booker: Any, outlet: Outlet, **kw: Any) -> SecondaryOrder:
    with tenant_scope(Scope.system(distributor.tenant_id)):
        return SecondaryOrder.objects.create(**{
            "distributor_id": distributor.pk, "uuid": uuid.uuid4(), "outlet": outlet, "booker": booker,
            "booked_at": timezone.now() - timedelta(hours=1), "currency": "PKR", "gross": Decimal("1000.00"),
            "discount": Decimal("0.00"), "tax": Decimal("170.00"), "total": Decimal("1170.00"),
            "fingerprint": "0" * 64, **kw})


def plan_journey(cast: Any, distributor: Any, booker: Any, outlets: list[Outlet]) -> int:
    """A route of `outlets` planned for `booker` on today's weekday from today; today's journey built. Its id."""
    with tenant_scope(Scope.system(cast.tenant.pk)) as scope:
        route = make_route(distributor, outlets)
        today = tenant_policy(scope).today()
        make_plan(distributor, booker, [(1, today.weekday(), route)], anchor=monday_of(today), effective_from=today)
        journeys = journey_build(scope=scope, distributor_id=distributor.pk, day=today)
        return next(j.pk for j in journeys if j.booker_id == booker.pk)


def build_world(cast: Any) -> World:
    a1, a2 = cast.distributors[0], cast.distributors[1]
    day = working_day(cast)
    me = cast_booker(cast)
    colleague = add_booker(cast, a1, f"{cast.tenant.slug}-colleague")
    sibling = sibling_booker(cast)
    tid = cast.tenant.pk
    a1_list = make_price_list(tid, {day.skus[0]: Decimal("1150.00")}, distributor=a1, code=f"A1-{next(_seq)}")
    a2_list = make_price_list(tid, {day.skus[1]: Decimal("800.00")}, distributor=a2, code=f"A2-{next(_seq)}")
    scheme = make_scheme(tid, kind=SchemeKind.PERCENT_OFF, slabs=[("10", "2.5"), ("50", "5")], skus=[day.skus[0]])
    a2_outlet = make_outlet(a2, code="A2SHOP")
    colleague_outlets = [make_outlet(a1, code=f"COL{i}") for i in range(2)]
    colleague_journey_id = plan_journey(cast, a1, colleague.user, colleague_outlets)
    sibling_journey_id = plan_journey(cast, a2, sibling.user, [a2_outlet])
    my_order = make_order(a1, me.user, day.outlets[0])
    colleague_order = make_order(a1, colleague.user, colleague_outlets[0])
    return World(cast, day, me, colleague, sibling, a1_list, a2_list, scheme, a2_outlet, my_order, colleague_order,
                 colleague_journey_id, sibling_journey_id)
