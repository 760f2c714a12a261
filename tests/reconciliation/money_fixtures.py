"""Builders for the money checks' tests: a clean, realistic day of distributor A1 taken through the real services,
the reconciliation of a date through run_check, and tampering with rows as the database superuser (past the
immutability triggers) for the mismatches no service would write."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg2
from django.db import connection

from dispatch.models import DispatchAdvice, GoodsReceipt, LoadForm, Vehicle
from dispatch.services import (
    AdviceLineInput,
    ReceiptLineInput,
    cash_record,
    delivery_record,
    load_form_create,
    load_form_depart,
    load_form_mark_loaded,
    load_form_settle,
)
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope
from inventory.allocation import orders_allocate
from inventory.models import Warehouse
from inventory.services import default_warehouse
from invoicing.models import Invoice, InvoiceLine
from invoicing.services import invoice_issue
from orders.models import PrimaryOrder, SecondaryOrder
from orders.services import order_confirm
from reconciliation.checks.base import Check
from reconciliation.checks.money import MONEY_CHECKS
from reconciliation.models import ReconciliationException, ReconciliationRun
from reconciliation.services.run import check_context, run_check
from tests.factories.dispatch import batch, batches_of, issue, make_approved_order, receive
from tests.factories.loading import LoadingCatalogue, loading_catalogue, make_shop, make_vehicle, tenant_today
from tests.factories.orders import LineSpec, make_order

D = Decimal


@dataclass
class MoneyDay:
    """Distributor A1's day, every figure reconciling: a primary order partly approved, dispatched and received
    with one damaged case (so it stays received); five shops' orders booked, confirmed and allocated; three of them
    invoiced, loaded and delivered (X in full, Y in part with damaged goods back, Z returned), paid and settled;
    V invoiced and waiting for a van, W allocated and waiting for its invoice."""

    tenant_id: int
    distributor: Distributor
    today: date
    goods: LoadingCatalogue
    warehouse: Warehouse
    primary: PrimaryOrder
    advice: DispatchAdvice
    receipt: GoodsReceipt
    shops: dict[str, Any]
    orders: dict[str, SecondaryOrder]
    invoices: dict[str, Invoice]
    vehicle: Vehicle
    load_form: LoadForm


def system(tenant_id: int) -> Scope:
    return Scope.system(tenant_id)


def clean_day(cast: Any) -> MoneyDay:
    tid = int(cast.tenant.pk)
    d1 = cast.distributors[0]
    goods = loading_catalogue(tid)
    today = tenant_today(tid)
    scope = system(tid)
    with tenant_scope(scope):
        warehouse = default_warehouse(scope=scope, distributor_id=d1.pk)

    # the morning's stock: cola 10/10 cases, chips 5/5, water 4 ordered / 2 approved; chips arrive one case damaged
    primary = make_approved_order(d1, [(goods.cola, 10, 10), (goods.chips, 5, 5), (goods.water, 4, 2)])
    advice = issue(primary, [AdviceLineInput(line_no=1, batches=[batch("C1", 6), batch("C2", 4)]),
                             AdviceLineInput(line_no=2, dispatched_cases=5),
                             AdviceLineInput(line_no=3, dispatched_cases=2)],
                   reference="ERP-DN-CLEAN", dispatched_on=today).advice
    receipt_lines = [ReceiptLineInput(batch_id=b.pk, received_cases=b.cases - (1 if b.line.line_no == 2 else 0),
                                      damaged_cases=1 if b.line.line_no == 2 else 0)
                     for b in batches_of(advice)]
    receipt = receive(advice, receipt_lines, warehouse_id=warehouse.pk)

    # the day's orders: cola 120 units, chips 96, water 12 on hand
    shops = {code: make_shop(d1, code=code, name=f"Shop {code}") for code in "XYZVW"}
    wanted: dict[str, list[LineSpec]] = {
        "X": [(goods.cola, 2), (goods.chips, 1)], "Y": [(goods.cola, 3), (goods.water, 1)], "Z": [(goods.chips, 2)],
        "V": [(goods.chips, 0, 12)], "W": [(goods.cola, 1)]}
    orders = {code: make_order(shops[code], lines) for code, lines in wanted.items()}
    with tenant_scope(scope):
        for order in orders.values():
            order_confirm(scope=scope, order_id=order.pk)
        results = orders_allocate(scope=scope, order_ids=[o.pk for o in orders.values()], warehouse_id=warehouse.pk)
        assert all(r.outcome == "allocated" for r in results), results
        invoices = {code: invoice_issue(scope=scope, order_id=orders[code].pk) for code in "XYZV"}

    # the round: X takes everything, Y refuses 6 damaged cola, Z is closed; X pays cash, Y by cheque
    vehicle = make_vehicle(d1)
    driver = cast.users[Role.DELIVERY_MAN]
    with tenant_scope(scope):
        load_form = load_form_create(scope=scope, date=today, vehicle_id=vehicle.pk, delivery_man_id=driver.pk,
                                     invoice_ids=[invoices[c].pk for c in "XYZ"])
        load_form_mark_loaded(scope=scope, load_form_id=load_form.pk)
        load_form_depart(scope=scope, load_form_id=load_form.pk)
        cola_y = InvoiceLine.objects.get(invoice_id=invoices["Y"].pk, sku_id=goods.cola.pk)
        delivery_record(scope=scope, load_form_id=load_form.pk, invoice_id=invoices["X"].pk, outcome="delivered")
        delivery_record(scope=scope, load_form_id=load_form.pk, invoice_id=invoices["Y"].pk,
                        outcome="partially_delivered", lines=[(cola_y.pk, 30)], restock="damaged",
                        return_reason="6 bottles broken")
        delivery_record(scope=scope, load_form_id=load_form.pk, invoice_id=invoices["Z"].pk, outcome="returned",
                        restock="saleable", return_reason="shop closed")
        due = {code: _due(invoices[code].pk) for code in "XYZ"}
        cash_record(scope=scope, load_form_id=load_form.pk, outlet_id=shops["X"].pk, amount=due["X"],
                    method="cash", idempotency_key="clean-x")
        cash_record(scope=scope, load_form_id=load_form.pk, outlet_id=shops["Y"].pk, amount=due["Y"],
                    method="cheque", reference="CHQ-1", idempotency_key="clean-y")
        assert due["Z"] == 0
        load_form = load_form_settle(scope=scope, load_form_id=load_form.pk, counted_cash=due["X"],
                                     counted_cheques=due["Y"])
        assert load_form.status == "settled"
    return MoneyDay(tid, d1, today, goods, warehouse, primary, advice, receipt, shops, orders, invoices, vehicle,
                    load_form)


def _due(invoice_id: int) -> Decimal:
    invoice = Invoice.objects.get(pk=invoice_id)
    return invoice.total - invoice.credited_amount - invoice.paid_amount


# --- running the checks ----------------------------------------------------------------------------------------------

def reconcile(tenant_id: int, day: date, checks: Iterable[Check] = MONEY_CHECKS) -> dict[str, dict[str, int]]:
    """Run `checks` for the tenant's business date `day` as the nightly run does (its context, one transaction);
    their counts by code."""
    with tenant_scope(Scope.system(tenant_id, "reconciliation")) as scope:
        run, _ = ReconciliationRun.objects.get_or_create(business_date=day)
        ctx = check_context(scope=scope, run=run)
        return {check.code: run_check(check, ctx) for check in checks}


def found(tenant_id: int, *, open_only: bool = True) -> list[ReconciliationException]:
    """The tenant's exceptions (open and assigned ones unless `open_only` is false), by check and key."""
    with tenant_scope(Scope.system(tenant_id)):
        qs = ReconciliationException.objects.all()
        if open_only:
            qs = qs.filter(status__in=("open", "assigned"))
        return list(qs.order_by("check_code", "key"))


def keys(exceptions: Sequence[ReconciliationException]) -> list[tuple[str, str]]:
    return [(e.check_code, e.key) for e in exceptions]


# --- tampering ----------------------------------------------------------------------------------------------------

def tamper(sql: str, params: Sequence[Any] | None = None) -> int:
    """Run `sql` as the database superuser with triggers off (session_replication_role = replica): the way to
    corrupt what the application never lets change (issued invoices and credit notes). Its own connection, so only
    committed rows are visible: use it from `django_db(transaction=True)` tests. Returns the rows changed."""
    settings = connection.settings_dict
    conn = psycopg2.connect(host=settings.get("HOST") or "127.0.0.1", port=settings.get("PORT") or 5432,
                            user="postgres", dbname=settings["NAME"])
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
            cursor.execute(sql, params)
            return int(cursor.rowcount)
    finally:
        conn.close()
