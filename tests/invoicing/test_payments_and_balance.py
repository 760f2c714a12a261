"""Payments go to the outlet's open invoices oldest first, a retry with the same key records nothing new, and the
outlet's balance (open invoices, credit notes, payments, money on account, ageing) adds up exactly."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection

from dms.core.errors import DomainError, NotFound
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from invoicing.models import Invoice, Payment, PaymentAllocation
from invoicing.selectors import bucket_of, outlet_balance, outlet_receivable
from invoicing.services import credit_note_issue, payment_record
from tests.conftest import build_tenant
from tests.factories.catalog import make_brand, make_outlet, make_price_list, make_sku, make_tax_rate
from tests.factories.inventory import make_warehouse
from tests.factories.invoicing import allocate_order, invoice_lines, issue, reload_invoice
from tests.factories.orders import make_order

from .conftest import in_a

D = Decimal
DAY = date(2025, 12, 31)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 7, 0, tzinfo=UTC)  # noon in Karachi: the same local date


def pay(outlet, amount: str, key: str, *, scope: Scope | None = None, **kw):  # type: ignore[no-untyped-def]
    scope = scope or Scope.system(outlet.tenant_id)
    fields = {"method": "cash", "received_on": DAY, "reference": "", **kw}
    with tenant_scope(scope):
        return payment_record(scope=scope, outlet_id=outlet.pk, amount=amount, idempotency_key=key, **fields)


def invoice_on(outlet, wh, sku, cases: int, day: date) -> Invoice:  # type: ignore[no-untyped-def]
    order = make_order(outlet, [(sku, cases)])
    allocate_order(order, wh)
    return issue(order, at=at(day))


@pytest.fixture
def three(outlet, cat, wh):  # type: ignore[no-untyped-def]
    """Three invoices of the outlet, issued newest first: water 1 case (116.99), 2 cases (233.98), 3 (350.96)."""
    newest = invoice_on(outlet, wh, cat.water, 3, date(2025, 12, 20))
    middle = invoice_on(outlet, wh, cat.water, 2, date(2025, 11, 15))
    oldest = invoice_on(outlet, wh, cat.water, 1, date(2025, 10, 1))
    assert (oldest.total, middle.total, newest.total) == (D("116.99"), D("233.98"), D("350.96"))
    return oldest, middle, newest


@pytest.mark.django_db
def test_a_payment_goes_to_the_oldest_open_invoices_first(outlet, three, tid):
    oldest, middle, newest = three
    # when: 200.00 pays the oldest and part of the middle one
    payment = pay(outlet, "200.00", "k-1")
    # then
    with in_a(tid):
        allocations = list(PaymentAllocation.objects.filter(payment=payment).order_by("id")
                           .values_list("invoice_id", "amount"))
    assert allocations == [(oldest.pk, D("116.99")), (middle.pk, D("83.01"))]
    assert [(reload_invoice(i).paid_amount, reload_invoice(i).payment_status) for i in three] == [
        (D("116.99"), "paid"), (D("83.01"), "partially_paid"), (D("0.00"), "unpaid")]
    assert payment.unallocated == D("0.00")
    # when: 600.00 more settles everything and leaves the rest on account
    more = pay(outlet, "600.00", "k-2")
    # then
    assert more.unallocated == D("600.00") - D("150.97") - D("350.96")
    assert all(reload_invoice(i).payment_status == "paid" for i in three)


@pytest.mark.django_db
def test_a_retry_with_the_same_key_returns_the_first_payment_and_other_content_is_a_conflict(outlet, three, tid):
    # given
    first = pay(outlet, "50.00", "retry-key", reference="R-1")
    # when
    again = pay(outlet, "50.00", "retry-key", reference="R-1")
    with pytest.raises(DomainError) as conflict:
        pay(outlet, "60.00", "retry-key", reference="R-1")
    # then
    assert again.pk == first.pk
    assert (conflict.value.code, conflict.value.status_code) == ("idempotency_conflict", 409)
    with in_a(tid):
        assert Payment.objects.count() == 1 and PaymentAllocation.objects.count() == 1
    assert reload_invoice(three[0]).paid_amount == D("50.00")


@pytest.mark.django_db
def test_bad_amounts_and_other_distributors_outlets_are_refused(outlet, three, dist_a2, tid):
    for amount in (0.5, "0", "-1.00", "1.005", "abc"):
        with pytest.raises(DomainError) as bad:
            pay(outlet, amount, f"bad-{amount}")  # type: ignore[arg-type]
        assert list(bad.value.fields) == ["amount"], amount
    with pytest.raises(DomainError) as method:
        pay(outlet, "1.00", "bad-method", method="barter")
    assert list(method.value.fields) == ["method"]
    sibling = Scope(tenant_id=tid, distributor_ids=frozenset({dist_a2.pk}), actor=Scope.system(1).actor)
    with pytest.raises(NotFound):
        pay(outlet, "1.00", "sibling", scope=sibling)
    with in_a(tid):
        assert not Payment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_same_payment_sent_twice_at_once_is_recorded_once():
    # given
    cast = build_tenant("pay")
    tid = cast.tenant.pk
    make_tax_rate(tid, tax_class="STD", rate=D("0.1700"))
    sku = make_sku(tid, brand=make_brand(tid), units_per_case=6)
    make_price_list(tid, {sku: D("99.9900")})
    outlet = make_outlet(cast.distributors[0], credit_limit=D("0"))
    invoice_on(outlet, make_warehouse(cast.distributors[0]), sku, 2, date(2025, 11, 1))
    barrier = threading.Barrier(2)
    ids: list[int] = []

    def collector() -> None:
        try:
            barrier.wait()
            ids.append(pay(outlet, "100.00", "same-key").pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=collector) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # then
    assert len(ids) == 2 and ids[0] == ids[1]
    with in_a(tid):
        assert Payment.objects.count() == 1
        assert Invoice.objects.get().paid_amount == D("100.00")


# --- balance and ageing ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("age", "bucket"), [(-3, "0-30"), (0, "0-30"), (30, "0-30"), (31, "31-60"), (60, "31-60"),
                                             (61, "61-90"), (90, "61-90"), (91, "90+"), (400, "90+")])
def test_bucket_edges(age: int, bucket: str) -> None:
    assert bucket_of(age) == bucket


@pytest.mark.django_db
def test_the_outlet_balance_ages_open_invoices_and_adds_up(outlet, cat, wh, tid):
    # given: invoices 30, 31, 60, 61, 90 and 91 days before DAY (water, 1..6 cases)
    ages = (30, 31, 60, 61, 90, 91)
    invoices = {age: invoice_on(outlet, wh, cat.water, n, date.fromordinal(DAY.toordinal() - age))
                for n, age in enumerate(ages, start=1)}
    # a credit note on the 61-day invoice (one case back), a payment settling the 91-day one with 10.00 over
    sixty_one = invoices[61]
    with in_a(tid) as scope:
        line = invoice_lines(sixty_one)[0]
        note = credit_note_issue(scope=scope, invoice_id=sixty_one.pk, reason="return", lines=[(line.pk, 6)])
    oldest = invoices[91]
    pay(outlet, str(oldest.total), "settle-91")
    # when
    with in_a(tid) as scope:
        balance = outlet_balance(scope=scope, outlet_id=outlet.pk, on_date=DAY)
        receivable = outlet_receivable(scope=scope, outlet_id=outlet.pk)
    # then
    total = {age: inv.total for age, inv in invoices.items()}
    assert [(row.number_text, row.age_days, row.bucket) for row in balance.open_invoices] == [
        (invoices[age].number_text, age, bucket_of(age)) for age in (90, 61, 60, 31, 30)]
    assert balance.ageing == {"0-30": total[30], "31-60": total[31] + total[60],
                              "61-90": total[90] + total[61] - note.total, "90+": D("0.00")}
    assert balance.open_total == sum(balance.ageing.values()) == sum(total.values()) - note.total - oldest.total
    assert (balance.invoiced, balance.credited, balance.payments) == (sum(total.values()), note.total, oldest.total)
    assert balance.on_account == D("0.00")
    assert balance.receivable == balance.invoiced - balance.credited - balance.payments == receivable
    assert [n.pk for n in balance.credit_notes] == [note.pk]
    # money on account lowers what the outlet owes
    pay(outlet, "10000.00", "on-account")
    with in_a(tid) as scope:
        after = outlet_balance(scope=scope, outlet_id=outlet.pk, on_date=DAY)
        assert outlet_receivable(scope=scope, outlet_id=outlet.pk) == after.receivable
    assert after.open_total == D("0.00") and after.ageing == dict.fromkeys(("0-30", "31-60", "61-90", "90+"),
                                                                            D("0.00"))
    assert after.on_account == D("10000.00") - balance.open_total
    assert after.receivable == receivable - D("10000.00") < 0


@pytest.mark.django_db
def test_an_invoice_credited_after_it_was_paid_puts_the_credit_on_account(outlet, cat, wh, tid):
    # given: a paid invoice, then half of it credited
    invoice = invoice_on(outlet, wh, cat.water, 2, date(2025, 12, 1))
    pay(outlet, str(invoice.total), "full")
    with in_a(tid) as scope:
        line = invoice_lines(invoice)[0]
        note = credit_note_issue(scope=scope, invoice_id=invoice.pk, reason="return", lines=[(line.pk, 6)])
        # when
        balance = outlet_balance(scope=scope, outlet_id=outlet.pk, on_date=DAY)
        receivable = outlet_receivable(scope=scope, outlet_id=outlet.pk)
    # then
    assert balance.open_total == D("0.00") and balance.open_invoices == ()
    assert balance.on_account == note.total == -balance.receivable == -receivable


@pytest.mark.django_db
def test_another_distributors_outlet_has_no_balance_for_a_sibling(outlet, dist_a2, tid):
    sibling = Scope(tenant_id=tid, distributor_ids=frozenset({dist_a2.pk}), actor=Scope.system(1).actor)
    with tenant_scope(sibling), pytest.raises(NotFound):
        outlet_balance(scope=sibling, outlet_id=outlet.pk, on_date=DAY)
    with tenant_scope(sibling):
        assert outlet_receivable(scope=sibling, outlet_id=outlet.pk) == D("0")


@pytest.mark.django_db
def test_money_on_account_pays_the_next_invoices_of_the_outlet_oldest_payment_first(
        outlet, cat, wh, tid, django_capture_on_commit_callbacks):
    # given: two payments with nothing to pay (all on account): 100.00 then 50.00
    first = pay(outlet, "100.00", "acc-1", received_on=date(2025, 9, 1))
    second = pay(outlet, "50.00", "acc-2", received_on=date(2025, 9, 2))
    assert (first.unallocated, second.unallocated) == (D("100.00"), D("50.00"))
    # when: an invoice of 116.99 is issued to the outlet (the application runs once the invoice commits)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        invoice = invoice_on(outlet, wh, cat.water, 1, date(2025, 10, 1))
    assert len(callbacks) >= 1
    # then: the older payment is used up first, the newer one pays the rest, 33.01 stays on account
    paid = reload_invoice(invoice)
    assert (paid.paid_amount, paid.payment_status) == (D("116.99"), "paid")
    with in_a(tid):
        left = dict(Payment.objects.filter(outlet=outlet).values_list("idempotency_key", "unallocated"))
        allocations = list(PaymentAllocation.objects.filter(invoice=invoice).order_by("id")
                           .values_list("payment__idempotency_key", "amount"))
    assert left == {"acc-1": D("0.00"), "acc-2": D("33.01")}
    assert allocations == [("acc-1", D("100.00")), ("acc-2", D("16.99"))]
    # and the balance agrees: nothing open, 33.01 on account
    with in_a(tid):
        balance = outlet_balance(scope=Scope.system(tid), outlet_id=outlet.pk, on_date=DAY)
    assert balance.on_account == D("33.01")


@pytest.mark.django_db
def test_an_outlet_with_nothing_on_account_is_left_alone_and_applying_twice_changes_nothing(outlet, cat, wh, tid):
    from invoicing.services.payments import on_account_apply

    invoice = invoice_on(outlet, wh, cat.water, 1, date(2025, 10, 1))
    assert reload_invoice(invoice).payment_status == "unpaid"
    pay(outlet, "10.00", "p-1")  # pays 10.00 of it at once: nothing stays on account
    with tenant_scope(Scope.system(tid)) as scope:
        assert on_account_apply(scope=scope, outlet_id=outlet.pk) == D("0.00")
    assert reload_invoice(invoice).paid_amount == D("10.00")
