"""Collections: money received from an outlet, allocated to its open invoices oldest first."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from dms.core.bulk import insert_new
from dms.core.errors import DomainError, NotFound
from dms.core.money import ZERO, money
from dms.tenancy.models import Tenant
from dms.tenancy.scope import Scope
from orders.locks import lock_outlet_credit

from ..enums import PaymentMethod, PaymentStatus
from ..errors import InvoicingError
from ..locks import lock_invoices
from ..models import Invoice, Payment, PaymentAllocation

MAX_AMOUNT = Decimal(10) ** 14
KEY_MAX = Payment._meta.get_field("idempotency_key").max_length or 64
REFERENCE_MAX = Payment._meta.get_field("reference").max_length or 60


def settle_status(*, total: Decimal, credited: Decimal, paid: Decimal) -> str:
    """An invoice's payment status: paid once nothing is left to collect (payments and credit notes together cover
    it), partially paid once something was paid, else unpaid."""
    if paid + credited >= total:
        return PaymentStatus.PAID
    return PaymentStatus.PARTIALLY_PAID if paid > 0 else PaymentStatus.UNPAID


def _amount(value: Any) -> Decimal:
    if isinstance(value, float | bool):
        raise DomainError(InvoicingError.INVALID, "An amount is a decimal string, never a float.",
                          fields={"amount": ["A decimal string, e.g. \"1250.00\"."]})
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        amount = Decimal("NaN")
    if not amount.is_finite() or amount <= 0 or amount >= MAX_AMOUNT or money(amount) != amount:
        raise DomainError(InvoicingError.INVALID, "An amount is more than 0, in cents at most.",
                          fields={"amount": ["More than 0, at most two decimals."]})
    return money(amount)


def _check(method: str, received_on: Any, reference: str, idempotency_key: str) -> None:
    errors: dict[str, list[str]] = {}
    if method not in PaymentMethod.values:
        errors["method"] = [f"One of {', '.join(PaymentMethod.values)}."]
    if not isinstance(received_on, date):
        errors["received_on"] = ["A date."]
    if len(reference) > REFERENCE_MAX:
        errors["reference"] = [f"At most {REFERENCE_MAX} characters."]
    if not idempotency_key or len(idempotency_key) > KEY_MAX:
        errors["idempotency_key"] = [f"1 to {KEY_MAX} characters."]
    if errors:
        first = next(iter(errors.values()))[0]
        raise DomainError(InvoicingError.INVALID, first if len(errors) == 1 else "The payment has problems.",
                          fields=errors)


def _same(payment: Payment, *, outlet_id: int, amount: Decimal, method: str, received_on: date, reference: str,
          load_form_id: int | None) -> bool:
    return (payment.outlet_id, payment.amount, payment.method, payment.received_on, payment.reference,
            payment.load_form_id) == (outlet_id, amount, method, received_on, reference, load_form_id)


def _replay(payment: Payment, **content: Any) -> Payment:
    if not _same(payment, **content):
        raise DomainError(InvoicingError.IDEMPOTENCY_CONFLICT, "This idempotency key was used for another payment; "
                          "use a new key for a new payment.", fields={"idempotency_key": ["Used for another payment."]},
                          status_code=409)
    return payment


@transaction.atomic
def payment_record(*, scope: Scope, outlet_id: int, amount: Decimal | str, method: str, received_on: date,
                   idempotency_key: str, reference: str = "", load_form_id: int | None = None) -> Payment:
    """Record money received from an outlet and allocate it to the outlet's open invoices, oldest invoice date
    first (then lowest number): a PaymentAllocation per invoice paid, the invoice's paid amount and payment status
    moved. What no open invoice takes is kept on the payment as `unallocated` (money on account).

    Idempotent by `idempotency_key` (per distributor): the same key with the same content returns the first payment
    and writes nothing; with other content it is a 409. Takes the outlet's credit lock (so payments of one outlet,
    and a booking's credit check, take turns), then its open invoices in pk order.
    """
    reference = (reference or "").strip()
    _check(method, received_on, reference, idempotency_key)
    value = _amount(amount)
    outlet = lock_outlet_credit(scope, outlet_id) if isinstance(outlet_id, int) else None
    if outlet is None:
        raise NotFound("Outlet not found.")
    content: dict[str, Any] = {"outlet_id": outlet.pk, "amount": value, "method": method, "received_on": received_on,
                               "reference": reference, "load_form_id": load_form_id}
    existing = scope.filter(Payment.objects.filter(distributor_id=outlet.distributor_id,
                                                   idempotency_key=idempotency_key)).first()
    if existing is not None:
        return _replay(existing, **content)

    actor = scope.actor
    payment = Payment(tenant_id=scope.tenant_id, distributor_id=outlet.distributor_id, currency=Tenant.objects.get(
        pk=scope.tenant_id).currency, idempotency_key=idempotency_key, unallocated=value, actor_kind=actor.kind,
        actor_id=actor.id, actor_label=actor.label[:150], **content)
    if not insert_new(payment, unique=("distributor", "idempotency_key")):
        # the key was taken meanwhile by a payment of another outlet of the distributor (the same outlet's would
        # have waited on the credit lock)
        return _replay(scope.filter(Payment.objects.filter(distributor_id=outlet.distributor_id,
                                                           idempotency_key=idempotency_key)).get(), **content)

    left = _allocate(scope, payment, value, _open_invoices(scope, outlet.pk))
    if left != value:
        Payment.objects.filter(pk=payment.pk).update(unallocated=left, updated_at=timezone.now())
        payment.unallocated = left
    return payment


def _open_invoices(scope: Scope, outlet_id: int) -> list[Invoice]:
    """The outlet's invoices not fully paid, locked (pk order), oldest invoice date first, then lowest number."""
    invoices = list(lock_invoices(scope).filter(outlet_id=outlet_id).exclude(payment_status=PaymentStatus.PAID))
    invoices.sort(key=lambda inv: (inv.invoice_date, inv.fiscal_year, inv.number, inv.pk))
    return invoices


def _allocate(scope: Scope, payment: Payment, amount: Decimal, invoices: list[Invoice]) -> Decimal:
    """Spread `amount` of `payment` over the invoices in their order: a PaymentAllocation per invoice paid, the
    invoice's paid amount and payment status moved (and the Invoice objects updated to match). Returns what is
    left."""
    left, now = amount, timezone.now()
    allocations = []
    for invoice in invoices:
        due = invoice.total - invoice.credited_amount - invoice.paid_amount
        if left <= 0:
            break
        if due <= 0:
            continue
        take = min(due, left)
        left -= take
        allocations.append(PaymentAllocation(tenant_id=scope.tenant_id, distributor_id=payment.distributor_id,
                                             payment=payment, invoice=invoice, amount=take))
        invoice.paid_amount += take
        invoice.payment_status = settle_status(total=invoice.total, credited=invoice.credited_amount,
                                               paid=invoice.paid_amount)
        Invoice.objects.filter(pk=invoice.pk).update(
            paid_amount=F("paid_amount") + take, version=F("version") + 1, updated_at=now,
            payment_status=invoice.payment_status)
    PaymentAllocation.objects.bulk_create(allocations)
    return left


@transaction.atomic
def on_account_apply(*, scope: Scope, outlet_id: int) -> Decimal:
    """Apply the outlet's money on account (payments' unallocated amounts, oldest payment first) to its open
    invoices, oldest first, as payment_record does with new money. Called after invoices are issued (an invoice
    issued to an outlet in credit is paid by what it holds). Returns the amount applied; nothing on account or
    nothing due applies nothing. Takes the outlet's credit lock, then its open invoices, like payment_record."""
    lock_outlet_credit(scope, outlet_id)
    payments = list(scope.filter(Payment.objects.filter(outlet_id=outlet_id, unallocated__gt=0))
                    .select_for_update(no_key=True, of=("self",)).order_by("received_on", "pk"))
    if not payments:
        return ZERO
    invoices = _open_invoices(scope, outlet_id)
    applied = ZERO
    for payment in payments:
        if not any(inv.total - inv.credited_amount - inv.paid_amount > 0 for inv in invoices):
            break
        left = _allocate(scope, payment, payment.unallocated, invoices)
        if left != payment.unallocated:
            applied += payment.unallocated - left
            Payment.objects.filter(pk=payment.pk).update(unallocated=left, updated_at=timezone.now())
            payment.unallocated = left
    return applied


def outlets_with_money_on_account(*, scope: Scope, outlet_ids: list[int]) -> list[int]:
    """Of the outlets, those holding money on account (one query)."""
    return sorted(set(scope.filter(Payment.objects.filter(outlet_id__in=outlet_ids, unallocated__gt=0))
                      .values_list("outlet_id", flat=True)))
