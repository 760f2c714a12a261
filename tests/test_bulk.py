"""dms.core.bulk: the plain INSERT and the insert-or-nothing used on the push's hot path."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from dms.core.bulk import insert_new, insert_rows
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from orders.models import SecondaryOrder, SecondaryOrderLine
from tests.factories.catalog import make_outlet, make_sku


def _order(outlet, key):  # type: ignore[no-untyped-def]
    return SecondaryOrder(tenant_id=outlet.tenant_id, distributor_id=outlet.distributor_id, uuid=key, outlet=outlet,
                          booked_at=datetime(2026, 1, 5, 9, tzinfo=UTC), currency="PKR", gross=Decimal("10.00"),
                          discount=Decimal("0"), tax=Decimal("1.70"), total=Decimal("11.70"), fingerprint="f")


def test_insert_new_stores_once_and_says_when_the_key_is_taken(cast_a):
    outlet = make_outlet(cast_a.distributors[0])
    sku = make_sku(cast_a.tenant.pk)
    key = uuid.uuid4()
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        first, second = _order(outlet, key), _order(outlet, key)
        # when
        stored = insert_new(first, unique=("distributor", "uuid"))
        again = insert_new(second, unique=("distributor", "uuid"))
        insert_rows(SecondaryOrderLine, [
            {"tenant_id": outlet.tenant_id, "distributor_id": outlet.distributor_id, "order_id": first.pk,
             "line_no": n, "sku_id": sku.pk, "cases": n, "qty_units": 12 * n, "case_price": Decimal("5.0000"),
             "gross": Decimal("5.00") * n, "discount": Decimal("0"), "tax_rate": Decimal("0.17"),
             "tax": Decimal("0.85") * n, "total": Decimal("5.85") * n, "scheme_ids": [7]} for n in (1, 2)])
        # then
        assert (stored, again) == (True, False) and second.pk is None
        order = SecondaryOrder.objects.get(uuid=key)
        assert order.pk == first.pk and order.created_at is not None and order.status == "booked"
        lines = list(order.lines.order_by("line_no"))
        assert [(line.cases, line.units, line.total, line.scheme_ids, line.is_free) for line in lines] == [
            (1, 0, Decimal("5.85"), [7], False), (2, 0, Decimal("11.70"), [7], False)]
        assert all(line.created_at is not None for line in lines)
