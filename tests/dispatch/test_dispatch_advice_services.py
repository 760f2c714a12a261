"""Issuing dispatch advices through advice_issue: a partial dispatch in batches, numbering, the order's move to
dispatched; bad lines, wrong states, second advices and intruders change nothing; the reference makes a replay
safe."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from dispatch.models import DispatchAdviceLine, DispatchBatch
from dispatch.services import AdviceLineInput, BatchInput
from dms.core.errors import DomainError
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from orders.enums import PrimaryOrderStatus as Status
from tests.factories.catalog import make_sku
from tests.factories.dispatch import DISPATCHED_ON, batch, erp_scope, issue, make_approved_order, user_scope
from tests.factories.orders import make_primary_order

from .conftest import PARTIAL_LINES, counts, order_state, reload

pytestmark = pytest.mark.django_db
D = Decimal


def test_a_partial_dispatch_in_batches_writes_the_advice_and_moves_the_order_to_dispatched(tid, cat, order):
    # when
    result = issue(order, PARTIAL_LINES, reference="SAP-80001", vehicle="LES-1234", transporter="TCS",
                   expected_on=DISPATCHED_ON + timedelta(days=2))
    # then
    advice = result.advice
    assert result.created
    assert (advice.number, advice.reference, advice.status, advice.currency) == ("DA-000001", "SAP-80001", "issued",
                                                                                "PKR")
    assert (advice.total_ordered_cases, advice.total_approved_cases, advice.total_dispatched_cases) == (18, 13, 12)
    assert advice.dispatched_value == D("8641.97") + D("2400.00")  # 7 x 1234.5678 rounded, 5 x 480
    with tenant_scope(Scope.system(tid)):
        lines = list(DispatchAdviceLine.objects.filter(advice=advice).order_by("line_no").values_list(
            "line_no", "sku_id", "ordered_cases", "approved_cases", "dispatched_cases", "dispatched_value"))
        batches = list(DispatchBatch.objects.filter(line__advice=advice).order_by("line__line_no", "batch")
                       .values_list("line__line_no", "batch", "expiry", "cases"))
    assert lines == [(1, cat.cola.pk, 10, 8, 7, D("8641.97")), (2, cat.chips.pk, 5, 5, 5, D("2400.00")),
                     (3, cat.water.pk, 3, 0, 0, D("0.00"))]
    assert batches == [(1, "B1", date(2027, 1, 31), 5), (1, "B2", date(2027, 1, 31), 2), (2, "", None, 5)]
    status, events = order_state(order)
    assert status == Status.DISPATCHED
    assert events[-1][:2] == (Status.PARTIALLY_APPROVED, Status.DISPATCHED) and "DA-000001" in events[-1][2]


def test_numbers_count_per_distributor(cat, order, dist_a1, dist_a2):
    # given
    second = make_approved_order(dist_a1, [(cat.cola, 2, 2)])
    other = make_approved_order(dist_a2, [(cat.cola, 2, 2)])
    # when
    numbers = [issue(o, [AdviceLineInput(line_no=1, dispatched_cases=1)], reference=f"REF-{i}").advice.number
               for i, o in enumerate((order, second, other))]
    # then
    assert numbers == ["DA-000001", "DA-000002", "DA-000001"]


BAD_LINES: list[tuple[str, list[AdviceLineInput], set[str]]] = [
    ("above the approved cases", [AdviceLineInput(line_no=1, dispatched_cases=9)], {"lines[0].dispatched_cases"}),
    ("batches above the approved cases", [AdviceLineInput(line_no=1, batches=[batch("B1", 6), batch("B2", 3)])],
     {"lines[0].batches"}),
    ("a rejected line", [AdviceLineInput(line_no=3, dispatched_cases=1)], {"lines[0].dispatched_cases"}),
    ("an unknown SKU", [AdviceLineInput(sku_id=987654, dispatched_cases=1)], {"lines[0].sku_id"}),
    ("an unknown line", [AdviceLineInput(line_no=9, dispatched_cases=1)], {"lines[0].line_no"}),
    ("one line twice", [AdviceLineInput(line_no=2, dispatched_cases=1), AdviceLineInput(line_no=2, dispatched_cases=2)],
     {"lines[1].line_no"}),
    ("neither sku_id nor line_no", [AdviceLineInput(dispatched_cases=1)], {"lines[0]"}),
    ("no count and no batches", [AdviceLineInput(line_no=1)], {"lines[0].dispatched_cases"}),
    ("an empty batch", [AdviceLineInput(line_no=1, batches=[batch("B1", 0)])], {"lines[0].batches[0].cases"}),
    ("a batch code twice", [AdviceLineInput(line_no=1, batches=[batch("B1", 1), batch("B1", 2)])],
     {"lines[0].batches[1].batch"}),
    ("a count the batches do not add up to", [AdviceLineInput(line_no=1, dispatched_cases=4,
                                                              batches=[batch("B1", 3)])],
     {"lines[0].dispatched_cases"}),
    ("a batch expired before dispatch", [
        AdviceLineInput(line_no=1, batches=[batch("B1", 1)]), AdviceLineInput(line_no=2, dispatched_cases=1),
        AdviceLineInput(line_no=3, batches=[BatchInput("W1", DISPATCHED_ON - timedelta(days=1), None, 1)])],
     {"lines[2].batches[0].expiry"}),
    ("a batch made after dispatch", [
        AdviceLineInput(line_no=1, batches=[batch("B1", 1, made=DISPATCHED_ON + timedelta(days=1))])],
     {"lines[0].batches[0].manufactured_on"}),
    ("nothing dispatched", [AdviceLineInput(line_no=1, dispatched_cases=0)], {"lines"}),
    ("no lines", [], {"lines"}),
]


@pytest.mark.parametrize(("lines", "fields"), [(lines, fields) for _name, lines, fields in BAD_LINES],
                         ids=[name for name, _l, _f in BAD_LINES])
def test_bad_lines_are_400s_naming_the_field_and_write_nothing(tid, order, lines, fields):
    # given
    before, state = counts(tid), order_state(order)
    # when
    with pytest.raises(DomainError) as caught:
        issue(order, lines)
    # then
    assert caught.value.status_code == 400 and caught.value.code == "invalid"
    assert set(caught.value.fields) >= fields
    assert counts(tid) == before and order_state(order) == state


def test_bad_header_fields_are_named(tid, order):
    before = counts(tid)
    with pytest.raises(DomainError) as caught:
        issue(order, PARTIAL_LINES, reference="  ", expected_on=DISPATCHED_ON - timedelta(days=1), vehicle="V" * 61)
    assert set(caught.value.fields) == {"reference", "expected_on", "vehicle"}
    assert counts(tid) == before


def test_lines_of_another_sku_than_the_orders_are_refused(tid, cat, order):
    stranger = make_sku(tid, code="NOT-ORDERED")
    with pytest.raises(DomainError) as caught:
        issue(order, [AdviceLineInput(sku_id=stranger.pk, dispatched_cases=1)])
    assert list(caught.value.fields) == ["lines[0].sku_id"]


@pytest.mark.parametrize("decision", ["undecided", "rejected"])
def test_an_order_not_approved_is_a_409_and_nothing_is_written(tid, cat, dist_a1, decision):
    # given
    if decision == "undecided":
        order = make_primary_order(dist_a1, [(cat.cola, 3)], submit=True)
    else:
        order = make_approved_order(dist_a1, [(cat.cola, 3, 0)])
    before, state = counts(tid), order_state(order)
    # when
    with pytest.raises(DomainError) as caught:
        issue(order, [AdviceLineInput(line_no=1, dispatched_cases=1)])
    # then
    assert (caught.value.status_code, caught.value.code) == (409, "invalid_transition")
    assert counts(tid) == before and order_state(order) == state


def test_a_draft_is_not_found_by_the_manufacturer(tid, cat, dist_a1):
    draft = make_primary_order(dist_a1, [(cat.cola, 3)])
    with pytest.raises(DomainError) as caught:
        issue(draft, [AdviceLineInput(line_no=1, dispatched_cases=1)])
    assert caught.value.status_code == 404


def test_the_same_reference_and_content_again_returns_the_advice_and_writes_nothing(tid, cat, order):
    # given
    first = issue(order, PARTIAL_LINES, reference="SAP-1", note="first truck")
    before = counts(tid)
    # when: the ERP retries, naming the lines another way (SKUs, one unnamed batch as a plain count)
    again = issue(order, [AdviceLineInput(sku_id=cat.chips.pk, batches=[BatchInput(cases=5)]),
                          AdviceLineInput(sku_id=cat.cola.pk, batches=[batch("B2", 2), batch("B1", 5)]),
                          AdviceLineInput(sku_id=cat.water.pk, dispatched_cases=0)],
                  reference=" SAP-1 ", note="first truck")
    # then
    assert not again.created and again.advice.pk == first.advice.pk
    assert counts(tid) == before


@pytest.mark.parametrize("change", [{"lines": [AdviceLineInput(line_no=1, dispatched_cases=7)]},
                                    {"note": "another note"}, {"dispatched_on": DISPATCHED_ON + timedelta(days=1)}])
def test_the_same_reference_with_other_content_is_a_409(tid, order, change):
    # given
    issue(order, PARTIAL_LINES, reference="SAP-1")
    before, state = counts(tid), order_state(order)
    # when
    with pytest.raises(DomainError) as caught:
        issue(order, change.get("lines", PARTIAL_LINES), reference="SAP-1",
              **{k: v for k, v in change.items() if k != "lines"})
    # then
    assert (caught.value.status_code, caught.value.code) == (409, "reference_conflict")
    assert counts(tid) == before and order_state(order) == state


def test_a_second_advice_for_the_order_or_a_reference_of_another_order_is_a_409(tid, cat, order, dist_a1):
    # given
    issue(order, PARTIAL_LINES, reference="SAP-1")
    other = make_approved_order(dist_a1, [(cat.cola, 2, 2)])
    before = counts(tid)
    # when
    with pytest.raises(DomainError) as second:
        issue(order, PARTIAL_LINES, reference="SAP-2")
    with pytest.raises(DomainError) as reused:
        issue(other, [AdviceLineInput(line_no=1, dispatched_cases=2)], reference="SAP-1")
    # then
    assert (second.value.status_code, second.value.code) == (409, "already_dispatched")
    assert (reused.value.status_code, reused.value.code) == (409, "reference_conflict")
    assert counts(tid) == before and reload(other).status == Status.APPROVED


def test_only_the_manufacturer_issues_and_another_tenant_finds_nothing(tid, cast_a, cast_b, order, dist_a1):
    before = counts(tid)
    staff = user_scope(cast_a.users[Role.DISTRIBUTOR_STAFF], Role.DISTRIBUTOR_STAFF, tid, dist_a1)
    analyst = user_scope(cast_a.users[Role.MANUFACTURER_ANALYST], Role.MANUFACTURER_ANALYST, tid)
    for scope in (staff, analyst):
        with pytest.raises(DomainError) as refused:
            issue(order, PARTIAL_LINES, scope=scope)
        assert refused.value.status_code == 403
    with pytest.raises(DomainError) as stranger:
        issue(order, PARTIAL_LINES, scope=erp_scope(cast_b.tenant.pk))
    assert stranger.value.status_code == 404
    assert counts(tid) == before
