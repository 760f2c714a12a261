"""The stock and money checks (reconciliation.checks.money), each against a clean day built through the real
services and then with one kind of mismatch seeded: every mismatch is found exactly once, by its own check only, with
its figures; a clean day gives no exception at all; running twice adds nothing; a mismatch corrected is cleared."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import psycopg2.errors
import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.test import override_settings
from django.utils import timezone

from dispatch.models import DeliveryLine, DispatchAdviceLine, GoodsReceipt, GoodsReceiptLine, LoadForm
from dispatch.services import AdviceLineInput, load_form_create, load_form_depart, load_form_mark_loaded
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from inventory.models import Allocation, AllocationStatus, StockBalance, StockMovement
from inventory.services import stock_adjust
from invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine
from orders.models import PrimaryOrder, PrimaryOrderEvent, PrimaryOrderLine
from reconciliation.checks import check_of
from reconciliation.checks.money import MONEY_CHECKS
from reconciliation.models import LedgerCheckpoint, ReconciliationRun
from reconciliation.services.run import check_context, run_check
from tests.factories.dispatch import batch, in_full, issue, make_approved_order, receive
from tests.factories.inventory import make_warehouse
from tests.factories.loading import make_vehicle
from tests.reconciliation.money_fixtures import MoneyDay, clean_day, found, keys, reconcile, tamper

pytestmark = pytest.mark.django_db
D = Decimal
CODES = [c.code for c in MONEY_CHECKS]


@pytest.fixture
def day(cast_a: Any) -> MoneyDay:
    return clean_day(cast_a)


def amount(value: Decimal) -> str:
    return f"{value:,.2f}"


def only(day: MoneyDay) -> Any:
    """The one open exception of the tenant (failing if there are more or none)."""
    exceptions = found(day.tenant_id)
    assert len(exceptions) == 1, keys(exceptions)
    return exceptions[0]


def scoped(day: MoneyDay) -> Any:
    return tenant_scope(Scope.system(day.tenant_id))


# --- a clean day ---------------------------------------------------------------------------------------------------

def test_the_checks_run_in_the_documented_order() -> None:
    assert CODES == ["stock_ledger", "stock_reserved", "invoice_totals", "credit_notes", "load_forms",
                     "primary_da_grn", "primary_approvals"]


def test_a_clean_day_gives_no_exception_from_any_money_check(day):
    # given: the day really has what the checks look at
    with scoped(day):
        holding = set(Allocation.objects.values_list("status", flat=True))
        assert {AllocationStatus.ACTIVE, AllocationStatus.INVOICED, AllocationStatus.DISPATCHED} <= holding
        assert CreditNote.objects.filter(invoice__invoice_date=day.today).count() == 2
        assert PrimaryOrder.objects.get(pk=day.primary.pk).status == "received"
        assert LoadForm.objects.get(pk=day.load_form.pk).status == "settled"
    # when
    counts = reconcile(day.tenant_id, day.today)
    # then
    assert {code: c["found"] for code, c in counts.items()} == dict.fromkeys(CODES, 0)
    assert found(day.tenant_id, open_only=False) == []
    # and the gated checks' control totals agreed: their detailed pass did not run
    assert {code: c["suspects"] for code, c in counts.items() if "suspects" in c} == {
        "stock_ledger": 0, "stock_reserved": 0, "invoice_totals": 0}


def test_a_gate_sends_only_the_distributor_whose_control_totals_disagree_to_the_detailed_pass(day, cast_a):
    # given: A1's clean day, and a balance of A2 off its ledger by one unit (differences that cancel elsewhere in
    # A2 would need equal weight ratios under both weightings)
    sibling = cast_a.distributors[1]
    warehouse = make_warehouse(sibling, code="WH-A2")
    with scoped(day):
        StockBalance.objects.create(distributor=sibling, warehouse=warehouse, sku=day.goods.cola, on_hand=1)
    # when
    with tenant_scope(Scope.system(day.tenant_id, "reconciliation")) as scope:
        run, _ = ReconciliationRun.objects.get_or_create(business_date=day.today)
        ctx = check_context(scope=scope, run=run)
        sql, params = check_of("stock_ledger").gate(ctx)  # type: ignore[misc]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            suspects = [row[0] for row in cursor.fetchall()]
        counts = run_check(check_of("stock_ledger"), ctx)
    # then: only A2 is a suspect, and the detailed pass names its balance
    assert suspects == [sibling.pk]
    assert (counts["suspects"], counts["found"]) == (1, 1)
    assert [e.distributor_id for e in found(day.tenant_id)] == [sibling.pk]


# --- 1. stock against the ledger -----------------------------------------------------------------------------------

def test_stock_ledger_finds_a_balance_off_its_movements_and_movements_with_no_balance(day):
    # given: cola's on hand raised by 4 units with no movement; 5 units of water moved into a second warehouse that
    # has no balance row for it
    other = make_warehouse(day.distributor, code="WH-2")
    with scoped(day):
        balance = StockBalance.objects.get(warehouse_id=day.warehouse.pk, sku_id=day.goods.cola.pk)
        StockBalance.objects.filter(pk=balance.pk).update(on_hand=F("on_hand") + 4)
        StockMovement.objects.create(distributor=day.distributor, warehouse=other, sku=day.goods.water,
                                     kind="receipt", qty_units=5, on_hand_delta=5, reserved_delta=0,
                                     actor_kind="system")
    # when
    counts = reconcile(day.tenant_id, day.today)
    # then
    assert counts["stock_ledger"]["found"] == 2
    exceptions = found(day.tenant_id)
    assert keys(exceptions) == [("stock_ledger", f"balance:{balance.pk}"),
                                ("stock_ledger", f"ledger:{other.pk}:{day.goods.water.pk}")]
    off, orphan = exceptions
    assert off.message == (f"SKU COLA in warehouse {day.warehouse.code}: on hand {balance.on_hand + 4} units, "
                           f"the ledger says {balance.on_hand}.")
    assert (off.subject_type, off.subject_id) == ("balance", balance.pk)
    assert off.detail == {"warehouse_id": day.warehouse.pk, "sku_id": day.goods.cola.pk,
                          "on_hand": balance.on_hand + 4, "ledger_on_hand": balance.on_hand,
                          "reserved": balance.reserved, "ledger_reserved": balance.reserved,
                          "movements": off.detail["movements"]}
    assert [r["type"] for r in off.records] == ["balance", "warehouse", "sku"]
    assert orphan.message == ("SKU WATER in warehouse WH-2 has 1 movement but no balance row: on hand 0 units, "
                              "the ledger says 5.")
    assert orphan.subject_id is None


def _weight(warehouse_id: int, sku_id: int, salt: int) -> int:
    """checks.base.fingerprint of (warehouse, SKU), worked out in Python."""
    mixed = warehouse_id * (2654435761 + salt) + sku_id * (40503 + 7 * salt)
    return mixed % 1048573 + 1


def _ledger_sums(day: MoneyDay) -> dict[str, Any]:
    """The distributor's movements as the checkpoint should sum them, from the ORM."""
    with scoped(day):
        moves = list(StockMovement.objects.filter(distributor_id=day.distributor.pk))
    def weighted(delta: str, salt: int) -> Decimal:
        return Decimal(sum(getattr(m, delta) * _weight(m.warehouse_id, m.sku_id, salt) for m in moves))
    return {"upto_movement_id": max(m.pk for m in moves), "movements": len(moves),
            "on_hand_1": weighted("on_hand_delta", 1), "on_hand_2": weighted("on_hand_delta", 2),
            "reserved_1": weighted("reserved_delta", 1), "reserved_2": weighted("reserved_delta", 2)}


def _checkpoint(day: MoneyDay) -> dict[str, Any]:
    with scoped(day):
        cp = LedgerCheckpoint.objects.get(distributor_id=day.distributor.pk)
    return {k: getattr(cp, k) for k in ("upto_movement_id", "movements", "on_hand_1", "on_hand_2", "reserved_1",
                                        "reserved_2")}


@override_settings(RECONCILIATION_LEDGER_SETTLED_MINUTES=0)
def test_the_stock_ledger_checkpoint_sums_the_settled_movements_once_and_the_gate_adds_the_newer_ones(day):
    # when: the first night folds every settled movement into the distributor's checkpoint
    first = reconcile(day.tenant_id, day.today)["stock_ledger"]
    # then: it holds exactly the ledger's weighted sums, and the balances agree with it
    expected = _ledger_sums(day)
    assert _checkpoint(day) == expected
    assert (first["folded"], first["suspects"], first["found"]) == (expected["movements"], 0, 0)
    # when: run again, nothing new is folded; then a movement arrives through the service, and a balance is raised
    # behind the ledger's back
    assert reconcile(day.tenant_id, day.today)["stock_ledger"]["folded"] == 0
    with scoped(day) as scope:
        stock_adjust(scope=scope, warehouse_id=day.warehouse.pk, sku_id=day.goods.cola.pk, qty_units=3,
                     reason="count")
        StockBalance.objects.filter(warehouse_id=day.warehouse.pk, sku_id=day.goods.water.pk).update(
            on_hand=F("on_hand") + 2)
    counts = reconcile(day.tenant_id, day.today)["stock_ledger"]
    # then: the new movement is folded and agrees with its balance; the raised balance is found against the ledger
    assert (counts["folded"], counts["suspects"], counts["found"]) == (1, 1, 1)
    assert _checkpoint(day) == _ledger_sums(day)
    assert keys(found(day.tenant_id))[0][0] == "stock_ledger"


def test_stock_ledger_movements_newer_than_the_settling_time_are_summed_every_night_not_folded(day):
    # given: the default settling time (an hour), and a balance off its movements
    with scoped(day):
        StockBalance.objects.filter(warehouse_id=day.warehouse.pk, sku_id=day.goods.cola.pk).update(
            on_hand=F("on_hand") - 1)
    # when
    counts = reconcile(day.tenant_id, day.today)["stock_ledger"]
    # then: today's movements are too recent to fold; the gate reads them all and finds the balance
    assert (counts["folded"], counts["suspects"], counts["found"]) == (0, 1, 1)
    with scoped(day):
        assert not LedgerCheckpoint.objects.exists()


@override_settings(RECONCILIATION_LEDGER_SETTLED_MINUTES=0)
def test_a_checkpoint_of_another_weighting_is_summed_again_from_the_first_movement(day):
    # given: a checkpoint left by another weighting (the fingerprint changed), holding nonsense
    reconcile(day.tenant_id, day.today)
    with scoped(day):
        LedgerCheckpoint.objects.update(weights="old", on_hand_1=7, movements=1)
    # when
    counts = reconcile(day.tenant_id, day.today)["stock_ledger"]
    # then: rebuilt from scratch, and no false mismatch on the way
    assert (counts["folded"], counts["found"]) == (_ledger_sums(day)["movements"], 0)
    assert _checkpoint(day) == _ledger_sums(day)


def test_stock_movements_are_append_only(day):
    # given: a movement of the day
    with scoped(day):
        movement = StockMovement.objects.filter(distributor_id=day.distributor.pk).first()
        assert movement is not None
        # when/then: no path changes or deletes it
        for action in (lambda: StockMovement.objects.filter(pk=movement.pk).update(on_hand_delta=99),
                       lambda: StockMovement.objects.filter(pk=movement.pk).delete()):
            with pytest.raises(IntegrityError, match="is a ledger entry and cannot be"), transaction.atomic():
                action()
        # and a teardown that names another tenant does not let this one's ledger go
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('dms.purge_tenant', %s, true)", [str(day.tenant_id + 1)])
        with pytest.raises(IntegrityError, match="is a ledger entry"), transaction.atomic():
            StockMovement.objects.filter(pk=movement.pk).delete()
        assert StockMovement.objects.get(pk=movement.pk).on_hand_delta == movement.on_hand_delta


# --- 2. reserved stock against the allocations ---------------------------------------------------------------------

def test_stock_reserved_finds_a_reservation_the_allocations_do_not_hold(day):
    # given: W's active allocation of 12 cola units says 10
    with scoped(day):
        allocation = Allocation.objects.get(order_id=day.orders["W"].pk)
        assert (allocation.status, allocation.allocated_units) == ("active", 12)
        Allocation.objects.filter(pk=allocation.pk).update(allocated_units=10)
        balance = StockBalance.objects.get(warehouse_id=day.warehouse.pk, sku_id=day.goods.cola.pk)
    # when
    reconcile(day.tenant_id, day.today)
    # then
    exception = only(day)
    assert (exception.check_code, exception.key) == ("stock_reserved", f"reserved:{balance.pk}")
    assert balance.reserved == 12
    assert exception.message == (f"SKU COLA in warehouse {day.warehouse.code}: 12 units reserved, its one open "
                                 "allocation holds 10.")
    assert (exception.detail["reserved"], exception.detail["allocated"]) == (12, 10)


def test_stock_reserved_counts_invoiced_allocations_as_holding_stock_until_loaded(day):
    # given: V's allocation is invoiced, its chips not on a van yet: still reserved, and that is no mismatch
    with scoped(day):
        allocation = Allocation.objects.get(order_id=day.orders["V"].pk)
        balance = StockBalance.objects.get(warehouse_id=day.warehouse.pk, sku_id=day.goods.chips.pk)
    assert (allocation.status, allocation.allocated_units, balance.reserved) == ("invoiced", 12, 12)
    assert reconcile(day.tenant_id, day.today)["stock_reserved"]["found"] == 0
    # when: the allocation is released behind the balance's back
    with scoped(day):
        Allocation.objects.filter(pk=allocation.pk).update(status=AllocationStatus.RELEASED)
    reconcile(day.tenant_id, day.today)
    # then
    exception = only(day)
    assert (exception.check_code, exception.key) == ("stock_reserved", f"reserved:{balance.pk}")
    assert exception.message == (f"SKU CHIPS in warehouse {day.warehouse.code}: 12 units reserved, no open "
                                 "allocation holds any.")


# --- 3. invoice totals ---------------------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_invoice_totals_finds_issued_invoices_tampered_past_the_immutability_trigger(cast_a):
    # given: X's header gross and total raised by 9.00, and V's line tax and total by 1.00, as the database superuser
    day = clean_day(cast_a)
    x, v = day.invoices["X"], day.invoices["V"]
    assert tamper("UPDATE invoicing_invoice SET gross = gross + 9, total = total + 9 WHERE id = %s", [x.pk]) == 1
    assert tamper("UPDATE invoicing_invoiceline SET tax = tax + 1, total = total + 1 WHERE invoice_id = %s",
                  [v.pk]) == 1
    # when
    counts = reconcile(day.tenant_id, day.today)
    # then: the control totals of the one distributor disagree, and its detailed pass finds both
    assert (counts["invoice_totals"]["suspects"], counts["invoice_totals"]["found"]) == (1, 2)
    exceptions = found(day.tenant_id)
    assert keys(exceptions) == [("invoice_totals", f"invoice:{x.pk}"), ("invoice_totals", f"invoice:{v.pk}")]
    x_found, v_found = exceptions
    assert x_found.message == (
        f"Invoice {x.number_text}: lines add to {amount(x.total)}, header says {amount(x.total + 9)}; gross: lines "
        f"add to {amount(x.gross)}, header says {amount(x.gross + 9)}.")
    assert x_found.detail["header"]["total"] == str(x.total + 9)
    assert x_found.detail["lines"]["total"] == str(x.total)
    assert x_found.records[0] == {"type": "invoice", "id": x.pk, "ref": x.number_text}
    assert x_found.records[1] == {"type": "order", "id": day.orders["X"].pk}
    assert v_found.message == (f"Invoice {v.number_text}: lines add to {amount(v.total + 1)}, header says "
                               f"{amount(v.total)}; tax: lines add to {amount(v.tax + 1)}, header says "
                               f"{amount(v.tax)}.")
    # and the day before has no invoice of its own: a day check looks at its date only
    assert reconcile(day.tenant_id, day.today - timedelta(days=1))["invoice_totals"]["found"] == 0


@pytest.mark.django_db(transaction=True)
def test_invoice_totals_finds_invoices_whose_lines_are_gone_even_with_a_zero_total(cast_a):
    # given: X's lines deleted; V's lines deleted and its figures zeroed (no sum can differ: only the gate's count of
    # zero totals makes its distributor a suspect)
    day = clean_day(cast_a)
    x, v = day.invoices["X"], day.invoices["V"]
    assert tamper("DELETE FROM invoicing_invoiceline WHERE invoice_id = %s", [x.pk]) >= 1
    assert tamper("DELETE FROM invoicing_invoiceline WHERE invoice_id = %s", [v.pk]) >= 1
    assert tamper("UPDATE invoicing_invoice SET gross = 0, discount = 0, tax = 0, total = 0 WHERE id = %s",
                  [v.pk]) == 1
    # when
    counts = reconcile(day.tenant_id, day.today)
    # then
    assert (counts["invoice_totals"]["suspects"], counts["invoice_totals"]["found"]) == (1, 2)
    x_found, v_found = [e for e in found(day.tenant_id) if e.check_code == "invoice_totals"]
    assert x_found.message == (f"Invoice {x.number_text}: it has no lines; lines add to 0.00, header says "
                               f"{amount(x.total)}; gross: lines add to 0.00, header says {amount(x.gross)}"
                               + (f"; tax: lines add to 0.00, header says {amount(x.tax)}" if x.tax else "") + ".")
    assert v_found.message == f"Invoice {v.number_text}: it has no lines."
    assert v_found.detail["line_count"] == 0


@pytest.mark.django_db(transaction=True)
def test_invoice_figures_that_do_not_add_up_are_refused_even_past_the_triggers(cast_a):
    # given: an issued invoice and its lines
    day = clean_day(cast_a)
    x = day.invoices["X"]
    # when/then: a header or line whose total is not gross - discount + tax cannot be written by anyone
    for sql in ("UPDATE invoicing_invoice SET total = total + 9 WHERE id = %s",
                "UPDATE invoicing_invoiceline SET tax = tax + 1 WHERE invoice_id = %s"):
        with pytest.raises(psycopg2.errors.CheckViolation, match="total_adds_up"):
            tamper(sql, [x.pk])
    # and nothing moved
    with scoped(day):
        assert Invoice.objects.get(pk=x.pk).total == x.total
        assert sum(line.total for line in InvoiceLine.objects.filter(invoice_id=x.pk)) == x.total
    assert reconcile(day.tenant_id, day.today)["invoice_totals"]["found"] == 0


# --- 4. credit notes -----------------------------------------------------------------------------------------------

def _note(day: MoneyDay, invoice: Invoice, number: int, total: Decimal, lines: list[tuple[InvoiceLine, int, Decimal]],
          ) -> CreditNote:
    """A credit note written straight into the tables (no service would write a wrong one): header worth `total`,
    lines (invoice line, units, total) as given."""
    zero = D("0.00")
    note = CreditNote.objects.create(
        distributor=day.distributor, invoice=invoice, outlet_id=invoice.outlet_id, series_code="CN",
        fiscal_year=2099, number=number, number_text=f"CN/2099/{number:06d}", note_date=day.today,
        issued_at=timezone.now(), reason="price", currency="PKR", gross=total, discount=zero, tax=zero, total=total,
        actor_kind="system")
    for i, (line, qty, value) in enumerate(lines, start=1):
        CreditNoteLine.objects.create(distributor=day.distributor, credit_note=note, invoice_line=line, line_no=i,
                                      sku_id=line.sku_id, qty_units=qty, gross=value, discount=zero, tax=zero,
                                      total=value)
    return note


def test_credit_notes_finds_a_note_whose_lines_do_not_add_up(day):
    # given: a 100.00 note on X whose one line credits 90.00 (the invoice's credited amount moved with it)
    x = day.invoices["X"]
    with scoped(day):
        line = InvoiceLine.objects.filter(invoice_id=x.pk).order_by("line_no")[0]
        note = _note(day, x, 901, D("100.00"), [(line, 1, D("90.00"))])
        Invoice.objects.filter(pk=x.pk).update(credited_amount=D("100.00"))
    # when
    reconcile(day.tenant_id, day.today)
    # then
    exception = only(day)
    assert (exception.check_code, exception.key) == ("credit_notes", f"credit_note:{note.pk}")
    assert exception.message == (f"Credit note CN/2099/000901 ({x.number_text}): lines add to 90.00, header says "
                                 "100.00; gross: lines add to 90.00, header says 100.00.")
    assert exception.records == [{"type": "credit_note", "id": note.pk, "ref": "CN/2099/000901"},
                                 {"type": "invoice", "id": x.pk, "ref": x.number_text}]


def test_credit_notes_finds_an_invoice_credited_beyond_itself(day):
    # given: Z, returned and credited in full on the round, credited 50.00 (one more unit) again
    z = day.invoices["Z"]
    with scoped(day):
        line = InvoiceLine.objects.get(invoice_id=z.pk)
        first = CreditNote.objects.get(invoice_id=z.pk)
        extra = _note(day, z, 902, D("50.00"), [(line, 1, D("50.00"))])
        z = Invoice.objects.get(pk=z.pk)
    assert z.credited_amount == z.total == first.total
    # when
    reconcile(day.tenant_id, day.today)
    # then
    exception = only(day)
    assert (exception.check_code, exception.key) == ("credit_notes", f"credit:{z.pk}")
    assert exception.message == (
        f"Invoice {z.number_text}: its 2 credit notes add to {amount(z.total + 50)}, more than the invoice total "
        f"{amount(z.total)}; more units credited than invoiced (line 1 credits {line.qty_units + 1} of "
        f"{line.qty_units} units); its credited amount is {amount(z.total)}, its credit notes add to "
        f"{amount(z.total + 50)}.")
    assert [r["id"] for r in exception.records] == [z.pk, first.pk, extra.pk]
    assert exception.detail["lines_over"] == [{"line_no": 1, "invoiced_units": line.qty_units,
                                               "credited_units": line.qty_units + 1}]


# --- 5. load forms -------------------------------------------------------------------------------------------------

def test_load_forms_finds_a_settled_form_with_a_cash_shortfall(day):
    # given: the settled round's recorded and counted cash both 500.00 less
    with scoped(day):
        LoadForm.objects.filter(pk=day.load_form.pk).update(collected_cash=F("collected_cash") - 500,
                                                            counted_cash=F("counted_cash") - 500)
        lf = LoadForm.objects.get(pk=day.load_form.pk)
    # when
    reconcile(day.tenant_id, day.today)
    # then
    exception = only(day)
    assert (exception.check_code, exception.key) == ("load_forms", f"load_form:{lf.pk}")
    collected = lf.collected_cash + lf.collected_cheques
    assert exception.message == (f"{lf.number} is settled but collected {amount(collected)} of "
                                 f"{amount(lf.expected_cash)} expected: 500.00 short.")
    assert exception.detail["short"] == "500.00"
    assert (exception.detail["expected"], exception.detail["on_account"]) == (str(lf.expected_cash), "0.00")


def test_load_forms_finds_an_invoice_whose_delivered_and_returned_units_miss_some(day):
    # given: X's chips delivery line says 2 units fewer delivered (and invoiced) than the invoice line
    x = day.invoices["X"]
    with scoped(day):
        chips = InvoiceLine.objects.get(invoice_id=x.pk, sku_id=day.goods.chips.pk)
        cola = InvoiceLine.objects.get(invoice_id=x.pk, sku_id=day.goods.cola.pk)
        assert DeliveryLine.objects.filter(invoice_line_id=chips.pk).update(
            delivered_units=F("delivered_units") - 2, invoiced_units=F("invoiced_units") - 2) == 1
    # when
    reconcile(day.tenant_id, day.today)
    # then
    exception = only(day)
    lf = day.load_form
    assert (exception.check_code, exception.key) == ("load_forms", f"load_form:{lf.pk}:invoice:{x.pk}")
    invoiced = chips.qty_units + cola.qty_units
    assert exception.message == (f"{lf.number}, {x.number_text} (delivered): invoiced {invoiced} units, delivered "
                                 f"{invoiced - 2} + returned 0 = {invoiced - 2}.")
    assert exception.detail["invoiced_units"] == invoiced


def test_load_forms_finds_a_form_not_settled_at_the_close_with_its_invoices_unaccounted(day):
    # given: V's invoice on a second van, out for delivery with no outcome recorded
    v = day.invoices["V"]
    with scoped(day) as scope:
        lf = load_form_create(scope=scope, date=day.today, vehicle_id=make_vehicle(day.distributor).pk,
                              invoice_ids=[v.pk])
        load_form_mark_loaded(scope=scope, load_form_id=lf.pk)
        load_form_depart(scope=scope, load_form_id=lf.pk)
    # when
    counts = reconcile(day.tenant_id, day.today)
    # then
    exception = only(day)
    assert (exception.check_code, exception.key) == ("load_forms", f"load_form:{lf.pk}")
    assert exception.message == (f"{lf.number} is still out for delivery at the close: 1 of its 1 invoices not "
                                 f"accounted for ({v.number_text}); collected 0.00 of {amount(v.total)} expected.")
    assert exception.records == [{"type": "load_form", "id": lf.pk, "ref": lf.number},
                                 {"type": "invoice", "id": v.pk, "ref": v.number_text}]
    # and V's stock left on the van: nothing reserved is left unexplained
    assert counts["stock_reserved"]["found"] == 0


# --- 6. dispatch advices against goods receipts --------------------------------------------------------------------

def test_primary_da_grn_finds_a_receipt_that_misses_dispatched_cases(day):
    # given: the GRN's batch C1 of cola says 5 cases dispatched and received, not 6
    with scoped(day):
        assert GoodsReceiptLine.objects.filter(receipt_id=day.receipt.pk, batch="C1").update(
            dispatched_cases=5, received_cases=5) == 1
    # when
    reconcile(day.tenant_id, day.today)
    # then
    exception = only(day)
    assert (exception.check_code, exception.key) == ("primary_da_grn", f"da:{day.advice.pk}")
    assert exception.message == (f"{day.advice.number} ({day.primary.number}), {day.receipt.number}: line 1 (COLA) "
                                 "dispatched 10 cases, received 9 + short 0 + damaged 0 = 9.")
    assert exception.detail["lines"] == [{"line_no": 1, "sku_id": day.goods.cola.pk, "dispatched": 10,
                                          "received": 9, "short": 0, "damaged": 0}]
    assert [r["type"] for r in exception.records] == ["dispatch_advice", "primary_order", "goods_receipt"]


def test_primary_da_grn_finds_a_dispatch_advice_overdue_for_its_receipt(day):
    # given: two more DAs in transit, dispatched 10 and 5 days ago (the tenant gives 7 days)
    late = make_approved_order(day.distributor, [(day.goods.cola, 2, 2)])
    recent = make_approved_order(day.distributor, [(day.goods.cola, 3, 3)])
    late_da = issue(late, [AdviceLineInput(line_no=1, dispatched_cases=2)], reference="ERP-LATE",
                    dispatched_on=day.today - timedelta(days=10)).advice
    issue(recent, [AdviceLineInput(line_no=1, dispatched_cases=3)], reference="ERP-RECENT",
          dispatched_on=day.today - timedelta(days=5))
    # when
    reconcile(day.tenant_id, day.today)
    # then
    exception = only(day)
    assert (exception.check_code, exception.key) == ("primary_da_grn", f"da:{late_da.pk}")
    dispatched = (day.today - timedelta(days=10)).isoformat()
    assert exception.message == (f"{late_da.number} ({late.number}), dispatched on {dispatched}, has no goods "
                                 "receipt after 10 days (due within 7).")
    assert (exception.detail["days_since_dispatch"], exception.detail["grn_due_days"]) == (10, 7)


def test_primary_da_grn_keeps_an_open_mismatch_of_an_old_closed_order_until_it_is_corrected(day):
    # given: an order received in full (closed at once) whose GRN line is then corrupted
    order = make_approved_order(day.distributor, [(day.goods.water, 4, 4)])
    advice = issue(order, [AdviceLineInput(line_no=1, batches=[batch("W1", 4)])], reference="ERP-W",
                   dispatched_on=day.today).advice
    receipt = receive(advice, in_full(advice))
    with scoped(day):
        assert PrimaryOrder.objects.get(pk=order.pk).status == "closed"
        GoodsReceiptLine.objects.filter(receipt_id=receipt.pk).update(dispatched_cases=3, received_cases=3)
    # when: found while its GRN is recent
    reconcile(day.tenant_id, day.today)
    # then
    assert keys(found(day.tenant_id)) == [("primary_da_grn", f"da:{advice.pk}")]
    # when: the GRN is a month old (out of the recent window) and the next night runs
    with scoped(day):
        GoodsReceipt.objects.filter(pk=receipt.pk).update(created_at=timezone.now() - timedelta(days=30))
    counts = reconcile(day.tenant_id, day.today)
    # then: still found, not cleared
    assert (counts["primary_da_grn"]["found"], counts["primary_da_grn"]["cleared"]) == (1, 0)
    assert keys(found(day.tenant_id)) == [("primary_da_grn", f"da:{advice.pk}")]
    # when: the receipt is corrected
    with scoped(day):
        GoodsReceiptLine.objects.filter(receipt_id=receipt.pk).update(dispatched_cases=4, received_cases=4)
    counts = reconcile(day.tenant_id, day.today)
    # then: cleared
    assert (counts["primary_da_grn"]["found"], counts["primary_da_grn"]["cleared"]) == (0, 1)
    assert found(day.tenant_id) == []


# --- 7. primary approvals ------------------------------------------------------------------------------------------

def test_primary_approvals_finds_a_line_approved_otherwise_than_the_manufacturer_confirmed(day):
    # given: the water line (2 of 4 confirmed) says 3 approved
    with scoped(day):
        assert PrimaryOrderLine.objects.filter(order_id=day.primary.pk, line_no=3).update(approved_cases=3) == 1
    # when
    reconcile(day.tenant_id, day.today)
    # then
    exception = only(day)
    assert (exception.check_code, exception.key) == ("primary_approvals", f"primary:{day.primary.pk}")
    assert exception.message == (f"{day.primary.number} (received): line 3 (WATER) approved 3 cases, the "
                                 "manufacturer confirmed 2.")
    assert exception.detail["lines"] == [{"line_no": 3, "sku_id": day.goods.water.pk, "ordered": 4, "approved": 3,
                                          "confirmed": 2, "da_approved": 2, "da_dispatched": 2}]


def test_primary_approvals_finds_a_dispatch_advice_beyond_the_approval(day):
    # given: an order of 6 cola with 4 approved, its DA (in transit) saying 6 approved and 5 dispatched
    order = make_approved_order(day.distributor, [(day.goods.cola, 6, 4)])
    advice = issue(order, [AdviceLineInput(line_no=1, dispatched_cases=4)], reference="ERP-OVER",
                   dispatched_on=day.today).advice
    with scoped(day):
        DispatchAdviceLine.objects.filter(advice_id=advice.pk).update(approved_cases=6, dispatched_cases=5)
    # when
    reconcile(day.tenant_id, day.today)
    # then
    exception = only(day)
    assert (exception.check_code, exception.key) == ("primary_approvals", f"primary:{order.pk}")
    assert exception.message == (f"{order.number} (dispatched): line 1 (COLA) {advice.number} shows 6 approved, the "
                                 f"approval is 4, {advice.number} dispatched 5, more than the 4 approved.")
    assert exception.records[-1] == {"type": "dispatch_advice", "id": advice.pk, "ref": advice.number}


def test_primary_approvals_finds_a_decided_order_with_no_recorded_decision(day):
    # given: the decision event of the day's primary order is gone
    with scoped(day):
        assert PrimaryOrderEvent.objects.filter(order_id=day.primary.pk, from_status="submitted").delete()[0] == 1
    # when
    reconcile(day.tenant_id, day.today)
    # then
    exception = only(day)
    assert exception.message == f"{day.primary.number} (received): no decision of the manufacturer is recorded."


# --- twice ---------------------------------------------------------------------------------------------------------

def test_running_twice_finds_the_same_mismatches_and_adds_no_exception(day):
    # given: a mismatch for five of the checks
    with scoped(day):
        StockBalance.objects.filter(warehouse_id=day.warehouse.pk, sku_id=day.goods.water.pk).update(
            on_hand=F("on_hand") + 1)
        Allocation.objects.filter(order_id=day.orders["W"].pk).update(allocated_units=11)
        LoadForm.objects.filter(pk=day.load_form.pk).update(counted_cheques=F("counted_cheques") + 1)
        GoodsReceiptLine.objects.filter(receipt_id=day.receipt.pk, batch="C2").update(dispatched_cases=3,
                                                                                      received_cases=3)
        PrimaryOrderLine.objects.filter(order_id=day.primary.pk, line_no=1).update(approved_cases=9)
    # when
    first = reconcile(day.tenant_id, day.today)
    after_first = found(day.tenant_id)
    second = reconcile(day.tenant_id, day.today)
    after_second = found(day.tenant_id, open_only=False)
    # then
    expected = {"stock_ledger": 1, "stock_reserved": 1, "invoice_totals": 0, "credit_notes": 0, "load_forms": 1,
                "primary_da_grn": 1, "primary_approvals": 1}
    assert {code: c["found"] for code, c in first.items()} == expected
    assert {code: c["new"] for code, c in first.items()} == expected
    assert {code: c["found"] for code, c in second.items()} == expected
    assert {code: (c["new"], c["cleared"]) for code, c in second.items()} == dict.fromkeys(CODES, (0, 0))
    assert keys(after_second) == keys(after_first)
    assert len(after_second) == 5
    assert [e.message for e in after_second] == [e.message for e in after_first]
