"""Load-form builders: a catalogue with weights and volumes, vehicles, invoiced orders (booked, allocated with real
stock reserved, and invoiced through invoicing.services), load forms taken through the dispatch services, and
marked rows for the isolation matrix. Everything runs in the owning tenant's scope, as production does."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from typing import Any

from catalog.models import Outlet, Sku
from dispatch.models import LoadForm, LoadFormInvoice, Vehicle
from dispatch.services import (
    delivery_record,
    load_form_create,
    load_form_depart,
    load_form_mark_loaded,
)
from dms.tenancy.models import Distributor, Tenant
from dms.tenancy.scope import Scope
from inventory.models import Warehouse
from invoicing.models import Invoice, InvoiceLine
from tests.factories.catalog import _in_tenant, make_brand, make_outlet, make_price_list, make_sku, make_tax_rate
from tests.factories.invoicing import allocate_order, issue
from tests.factories.orders import make_order

D = Decimal
_seq = itertools.count(1)
EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass
class LoadingCatalogue:
    cola: Sku  # 12 a case, 6 kg and 8 l a case, 1200.00 a case
    chips: Sku  # 24 a case, 2.5 kg and 20 l a case, 480.00 a case
    water: Sku  # 6 a case, 9 kg and 9 l a case, 99.99 a case


def loading_catalogue(tenant_id: int) -> LoadingCatalogue:
    """Three SKUs with weights and volumes on one price list, taxed at 17 %."""
    make_tax_rate(tenant_id, tax_class="STD", rate=D("0.1700"))
    brand = make_brand(tenant_id)
    cola = make_sku(tenant_id, brand=brand, code="COLA", name="Cola 250ml", units_per_case=12,
                    weight_kg_per_case=D("6.000"), volume_l_per_case=D("8.000"))
    chips = make_sku(tenant_id, brand=brand, code="CHIPS", name="Chips", units_per_case=24,
                     weight_kg_per_case=D("2.500"), volume_l_per_case=D("20.000"))
    water = make_sku(tenant_id, brand=brand, code="WATER", name="Water", units_per_case=6,
                     weight_kg_per_case=D("9.000"), volume_l_per_case=D("9.000"))
    make_price_list(tenant_id, {cola: D("1200.0000"), chips: D("480.0000"), water: D("99.9900")})
    return LoadingCatalogue(cola, chips, water)


def hours(opens: str = "08:00", closes: str = "20:00") -> dict[str, list[list[str]]]:
    """Opening hours: the same span every day of the week."""
    return {day: [[opens, closes]] for day in EVERY_DAY}


def make_shop(distributor: Distributor, *, lat: str | None = "31.520400", lng: str | None = "74.358700",
              **kw: Any) -> Outlet:
    """An outlet with no credit limit, at (lat, lng) (None: no coordinates)."""
    return make_outlet(distributor, lat=D(lat) if lat is not None else None, lng=D(lng) if lng is not None else None,
                       credit_limit=D("0"), **kw)


def set_depot(distributor: Distributor, lat: str, lng: str) -> None:
    with _in_tenant(distributor.tenant_id):
        Distributor.objects.filter(pk=distributor.pk).update(lat=D(lat), lng=D(lng))


def make_vehicle(distributor: Distributor, **kw: Any) -> Vehicle:
    n = next(_seq)
    with _in_tenant(distributor.tenant_id):
        return Vehicle.objects.create(**{
            "distributor": distributor, "code": f"VAN{n}", "registration": f"LES-{1000 + n}",
            "capacity_weight_kg": D("2000"), "capacity_volume_l": D("10000"), "capacity_cases": 1200,
            "shift_start": time(8, 0), "shift_end": time(20, 0), **kw})


def invoiced(outlet: Outlet, lines: Any, warehouse: Warehouse) -> Invoice:
    """An order of `lines` ((sku, cases[, units])) for the outlet, allocated from `warehouse` with its stock
    received and reserved, and invoiced today through invoicing.services.invoice_issue."""
    order = make_order(outlet, lines)
    allocate_order(order, warehouse, reserve=True)
    return issue(order)


def lines_of(invoice: Invoice) -> list[InvoiceLine]:
    with _in_tenant(invoice.tenant_id):
        return list(InvoiceLine.objects.filter(invoice_id=invoice.pk).order_by("line_no"))


def tenant_today(tenant_id: int) -> date:
    from django.utils import timezone

    with _in_tenant(tenant_id):
        return timezone.now().astimezone(Tenant.objects.get(pk=tenant_id).tz).date()


def staff_scope(cast: Any, distributor: Distributor | None = None) -> Scope:
    """Distributor A1's staff (or the named distributor's) as the admin or API would act."""
    from dms.tenancy.enums import ActorKind, Role
    from dms.tenancy.scope import Actor

    distributor = distributor or cast.distributors[0]
    first = distributor is cast.distributors[0]
    key = Role.DISTRIBUTOR_STAFF if first else f"{Role.DISTRIBUTOR_STAFF}@{distributor.code}"
    user = cast.users[key]
    return Scope(tenant_id=cast.tenant.pk, distributor_ids=frozenset({distributor.pk}),
                 actor=Actor(kind=ActorKind.USER, id=user.pk, role=Role.DISTRIBUTOR_STAFF, label=user.get_username()))


def create(scope: Scope, vehicle: Vehicle, invoices: list[Invoice], day: date, **kw: Any) -> LoadForm:
    from dms.tenancy.context import tenant_scope

    with tenant_scope(scope):
        return load_form_create(scope=scope, date=day, vehicle_id=vehicle.pk, invoice_ids=[i.pk for i in invoices],
                                **kw)


def on_the_road(scope: Scope, load_form: LoadForm) -> LoadForm:
    """Load the load form and send it out."""
    from dms.tenancy.context import tenant_scope

    with tenant_scope(scope):
        load_form_mark_loaded(scope=scope, load_form_id=load_form.pk)
        return load_form_depart(scope=scope, load_form_id=load_form.pk)


def deliver(scope: Scope, load_form: LoadForm, invoice: Invoice, outcome: str = "delivered", **kw: Any) -> Any:
    from dms.tenancy.context import tenant_scope

    with tenant_scope(scope):
        return delivery_record(scope=scope, load_form_id=load_form.pk, invoice_id=invoice.pk, outcome=outcome, **kw)


def reload_load_form(load_form: LoadForm) -> LoadForm:
    with _in_tenant(load_form.tenant_id):
        return LoadForm.objects.get(pk=load_form.pk)


def stops(load_form: LoadForm) -> list[LoadFormInvoice]:
    with _in_tenant(load_form.tenant_id):
        return list(LoadFormInvoice.objects.filter(load_form_id=load_form.pk).select_related("invoice")
                    .order_by("sequence"))


def mark_loading(distributor: Distributor, marker: str) -> dict[str, Any]:
    """For the isolation matrix: a vehicle (marked in its code and registration) and a planned load form on it
    (marked in its note), written straight through the ORM; called inside the owner's tenant scope."""
    n = next(_seq)
    vehicle = Vehicle.objects.create(distributor=distributor, code=f"{marker}-VAN{n}", registration=f"{marker}-{n}",
                                     capacity_weight_kg=D("1000"), capacity_volume_l=D("5000"), capacity_cases=500)
    load_form = LoadForm.objects.create(distributor=distributor, number=f"LF-9{n:05d}", date=date(2030, 1, 7),
                                        vehicle=vehicle, note=f"{marker} load form", actor_kind="system")
    return {"vehicle": vehicle, "load_form": load_form}
