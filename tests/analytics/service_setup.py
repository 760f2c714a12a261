"""A distributor's service days for the fill, OTIF, sell-in, stock and receivables facts and KPIs, taken through the
real services in tenant A's distributor A1 (T = the tenant's today, every order a counter order, without booker):

- the manufacturer's goods received on T: cola 10 cases (120 units at 1,200.00 a case), juice 4 cases dispatched,
  3 good and 1 damaged (18 units at 600.00);
- A: cola 2 cases, booked T-2 with delivery date T, invoiced T, delivered T in full: on time, in full;
- B: cola 1 case + juice 4 cases, booked T-1 (due T), allocated short (juice 18 of 24 units: all there is),
  invoiced T, delivered T (all that was invoiced): a short invoice, on time, not in full;
- C: cola 1 case, booked T-2 (due T-1), invoiced T-1, delivered T: late, in full;
- D: cola 2 cases, booked T-1 (due T), invoiced T, delivered T but 6 bottles back (credited 702.00): on time, not
  in full;
- E and F: cola 1 case each, booked T-46 and T-101, invoiced T-45 and T-100, never loaded: aged receivables;
- G: cola 1 case booked T-1, cancelled: never due.
Cola (brand "Fizz") and juice (brand "Grove") are 117.00 a unit tax included (17 %): 1 case of cola is 1,404.00,
of juice 702.00. Nothing is paid; one van carries A, B, C and D on T.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from catalog.models import Brand, Sku, TaxRate
from dispatch.services import (
    AdviceLineInput,
    ReceiptLineInput,
    delivery_record,
    load_form_create,
    load_form_depart,
    load_form_mark_loaded,
)
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.models import Tenant
from dms.tenancy.scope import Scope
from inventory.allocation import orders_allocate
from inventory.services import default_warehouse
from invoicing.models import Invoice, InvoiceLine
from orders.models import SecondaryOrder
from orders.services import order_cancel, order_confirm
from tests.factories.catalog import make_brand, make_price_list, make_sku, make_tax_rate
from tests.factories.dispatch import batches_of, issue, make_approved_order, receive
from tests.factories.invoicing import issue as issue_invoice
from tests.factories.loading import make_shop, make_vehicle, tenant_today
from tests.factories.orders import make_order

D = Decimal


@dataclass
class ServiceDay:
    today: date
    tz: Any
    cola: Sku
    juice: Sku
    brands: dict[str, Brand]
    shops: dict[str, Any]
    orders: dict[str, SecondaryOrder]
    invoices: dict[str, Invoice]

    def day(self, back: int) -> date:
        return self.today - timedelta(days=back)


def at(day: date, tz: Any, hour: int = 10) -> datetime:
    """`hour` o'clock local on `day`."""
    return datetime.combine(day, time(hour, 0), tzinfo=tz)


def service_day(cast: Any) -> ServiceDay:
    tid, d1 = int(cast.tenant.pk), cast.distributors[0]
    scope = Scope.system(tid)
    with tenant_scope(scope):
        tz = Tenant.objects.get(pk=tid).tz
        if not TaxRate.objects.filter(tax_class="STD").exists():
            make_tax_rate(tid)
        brands = {"Fizz": make_brand(tid, name="Fizz"), "Grove": make_brand(tid, name="Grove")}
        cola = make_sku(tid, brand=brands["Fizz"], code="S-COLA", name="Cola", units_per_case=12)
        juice = make_sku(tid, brand=brands["Grove"], code="S-JUICE", name="Juice", units_per_case=6)
        make_price_list(tid, {cola: D("1200.0000"), juice: D("600.0000")})
        warehouse = default_warehouse(scope=scope, distributor_id=d1.pk)
    today = tenant_today(tid)

    # the manufacturer's goods, received today: one juice case damaged
    primary = make_approved_order(d1, [(cola, 10, 10), (juice, 4, 4)])
    advice = issue(primary, [AdviceLineInput(line_no=1, dispatched_cases=10),
                             AdviceLineInput(line_no=2, dispatched_cases=4)],
                   reference="ERP-DN-SERVICE", dispatched_on=today).advice
    receive(advice, [ReceiptLineInput(batch_id=b.pk, received_cases=b.cases - (1 if b.line.line_no == 2 else 0),
                                      damaged_cases=1 if b.line.line_no == 2 else 0) for b in batches_of(advice)],
            warehouse_id=warehouse.pk)

    def back(n: int) -> date:
        return today - timedelta(days=n)

    shops = {code: make_shop(d1, code=f"S{code}", name=f"Shop {code}") for code in "ABCDEFG"}
    wanted: dict[str, tuple[list[Any], dict[str, Any]]] = {
        "A": ([(cola, 2)], {"booked_at": at(back(2), tz), "delivery_date": today}),
        "B": ([(cola, 1), (juice, 4)], {"booked_at": at(back(1), tz)}),
        "C": ([(cola, 1)], {"booked_at": at(back(2), tz)}),
        "D": ([(cola, 2)], {"booked_at": at(back(1), tz)}),
        "E": ([(cola, 1)], {"booked_at": at(back(46), tz)}),
        "F": ([(cola, 1)], {"booked_at": at(back(101), tz)}),
        "G": ([(cola, 1)], {"booked_at": at(back(1), tz)}),
    }
    orders = {code: make_order(shops[code], lines, **kw) for code, (lines, kw) in wanted.items()}
    with tenant_scope(scope):
        order_cancel(scope=scope, order_id=orders["G"].pk, reason="outlet changed its mind")
        for code in "ABCDEF":
            order_confirm(scope=scope, order_id=orders[code].pk)
        results = orders_allocate(scope=scope, order_ids=[orders[c].pk for c in "ABCDEF"], warehouse_id=warehouse.pk)
        assert {r.order_id: r.outcome for r in results}[orders["B"].pk] == "partially_allocated", results
    invoices = {code: issue_invoice(orders[code], at=at(day, tz, 12))
                for code, day in (("C", back(1)), ("E", back(45)), ("F", back(100)))}
    invoices.update({code: issue_invoice(orders[code]) for code in "ABD"})

    # one van on T: A, B and C delivered in full, D with 6 bottles back (saleable)
    with tenant_scope(scope):
        load_form = load_form_create(scope=scope, date=today, vehicle_id=make_vehicle(d1).pk,
                                     delivery_man_id=cast.users[Role.DELIVERY_MAN].pk,
                                     invoice_ids=[invoices[c].pk for c in "ABCD"])
        load_form_mark_loaded(scope=scope, load_form_id=load_form.pk)
        load_form_depart(scope=scope, load_form_id=load_form.pk)
        for code in "ABC":
            delivery_record(scope=scope, load_form_id=load_form.pk, invoice_id=invoices[code].pk, outcome="delivered")
        cola_d = InvoiceLine.objects.get(invoice_id=invoices["D"].pk)
        delivery_record(scope=scope, load_form_id=load_form.pk, invoice_id=invoices["D"].pk,
                        outcome="partially_delivered", lines=[(cola_d.pk, 18)], restock="saleable",
                        return_reason="6 bottles past their date")
        invoices = {code: Invoice.objects.get(pk=inv.pk) for code, inv in invoices.items()}
    return ServiceDay(today, tz, cola, juice, brands, shops, orders, invoices)
