"""Invoicing builders: allocations written straight through the ORM (the allocation services belong to inventory),
invoices issued through invoicing.services, and marked documents for the isolation matrix."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from contextlib import nullcontext
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from unittest import mock

from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from inventory.models import Allocation, Warehouse
from inventory.services import stock_allocate, stock_receive
from invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine, Payment, PaymentAllocation
from invoicing.services import invoice_issue
from orders.enums import OrderStatus
from orders.models import SecondaryOrder, SecondaryOrderLine
from tests.factories.catalog import _in_tenant
from tests.factories.inventory import make_warehouse

_seq = itertools.count(1)


def allocate_order(order: SecondaryOrder, warehouse: Warehouse | None = None, *,
                   units: Mapping[int, int] | None = None, reserve: bool = False) -> list[Allocation]:
    """Active Allocation rows for the order's lines (`units`: line_no -> allocated units; lines not named get all
    they booked, a 0 gets an allocation of nothing), and the order moved to allocated or partially_allocated, both
    through the ORM. `reserve` also receives and reserves the stock through the stock services, so that releases and
    returns have real balances to move."""
    with _in_tenant(order.tenant_id) as scope:
        warehouse = warehouse or make_warehouse(order.distributor)
        lines = list(SecondaryOrderLine.objects.filter(order_id=order.pk).order_by("line_no"))
        wanted = {line.line_no: (units or {}).get(line.line_no, line.qty_units) for line in lines}
        if reserve:
            per_sku: dict[int, int] = {}
            for line in lines:
                per_sku[line.sku_id] = per_sku.get(line.sku_id, 0) + wanted[line.line_no]
            stock = sorted((sku, qty) for sku, qty in per_sku.items() if qty > 0)
            if stock:
                stock_receive(scope=scope, warehouse_id=warehouse.pk, lines=stock, reason="test stock")
                stock_allocate(scope=scope, warehouse_id=warehouse.pk, lines=stock, all_or_nothing=True,
                               reference=("secondary_order", order.pk))
        allocations = [Allocation.objects.create(
            distributor_id=order.distributor_id, order=order, order_line=line, warehouse=warehouse, sku_id=line.sku_id,
            requested_units=line.qty_units, allocated_units=wanted[line.line_no], policy="fifo")
            for line in lines]
        full = all(wanted[line.line_no] == line.qty_units for line in lines)
        SecondaryOrder.objects.filter(pk=order.pk).update(
            status=OrderStatus.ALLOCATED if full else OrderStatus.PARTIALLY_ALLOCATED)
        order.status = OrderStatus.ALLOCATED if full else OrderStatus.PARTIALLY_ALLOCATED
        return allocations


def allocations_of(order: SecondaryOrder) -> list[tuple[int, str, int]]:
    """(line_no, status, allocated_units) of the order's allocations."""
    with _in_tenant(order.tenant_id):
        return [(a.order_line.line_no, a.status, a.allocated_units)
                for a in Allocation.objects.filter(order_id=order.pk).select_related("order_line").order_by("pk")]


def issue(order: SecondaryOrder, scope: Scope | None = None, *, at: datetime | None = None) -> Invoice:
    """Invoice the order through invoice_issue (in `scope`, else the tenant's system scope); `at` sets the clock,
    so the invoice is dated that day."""
    clock = mock.patch("django.utils.timezone.now", return_value=at) if at is not None else nullcontext()
    with clock:
        if scope is not None:
            with tenant_scope(scope):
                return invoice_issue(scope=scope, order_id=order.pk)
        with _in_tenant(order.tenant_id) as current:
            return invoice_issue(scope=current, order_id=order.pk)


def invoice_lines(invoice: Invoice) -> list[InvoiceLine]:
    with _in_tenant(invoice.tenant_id):
        return list(InvoiceLine.objects.filter(invoice_id=invoice.pk).order_by("line_no"))


def reload_invoice(invoice: Invoice) -> Invoice:
    with _in_tenant(invoice.tenant_id):
        return Invoice.objects.get(pk=invoice.pk)


ZERO = Decimal("0.00")


def mark_invoicing(distributor: Any, marker: str, order: SecondaryOrder, sku: Any) -> dict[str, Any]:
    """For the isolation matrix: an issued invoice of `order` (marked in its number), a line, a credit note against
    it (marked in its number and reason), and a payment (marked in its reference) allocated to it. Written straight
    through the ORM; called inside the owner's tenant scope."""
    n = next(_seq)
    ten, one = Decimal("10.00"), Decimal("1.00")
    common = {"distributor": distributor, "currency": "PKR"}
    invoice = Invoice.objects.create(
        **common, order=order, outlet_id=order.outlet_id, series_code="INV", fiscal_year=2029, number=n,
        number_text=f"INV/{marker}/{n}", invoice_date=date(2030, 1, 7), issued_at=order.booked_at,
        priced_on=date(2030, 1, 7), gross=ten, discount=ZERO, tax=ZERO, total=ten, booked_total=ten)
    line = InvoiceLine.objects.create(
        distributor=distributor, invoice=invoice, line_no=1, sku=sku, cases=1, units=0, qty_units=12,
        case_price=Decimal("10.0000"), gross=ten, discount=ZERO, tax_rate=Decimal("0.0000"), tax=ZERO, total=ten)
    note = CreditNote.objects.create(
        **common, invoice=invoice, outlet_id=order.outlet_id, series_code="CN", fiscal_year=2029, number=n,
        number_text=f"CN/{marker}/{n}", note_date=date(2030, 1, 7), issued_at=order.booked_at, reason="return",
        reason_text=f"{marker} credit", gross=one, discount=ZERO, tax=ZERO, total=one, actor_kind="system")
    CreditNoteLine.objects.create(distributor=distributor, credit_note=note, invoice_line=line, line_no=1, sku=sku,
                                  qty_units=1, gross=one, discount=ZERO, tax=ZERO, total=one)
    payment = Payment.objects.create(
        **common, outlet_id=order.outlet_id, method="cash", amount=one, received_on=date(2030, 1, 7),
        reference=f"{marker}-PAY", idempotency_key=f"{marker}-{n}", actor_kind="system")
    PaymentAllocation.objects.create(distributor=distributor, payment=payment, invoice=invoice, amount=one)
    Invoice.objects.filter(pk=invoice.pk).update(credited_amount=one, paid_amount=one)
    return {"invoice": invoice, "credit_note": note, "payment": payment}

