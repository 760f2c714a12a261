"""Primary orders through their services: drafting, editing, submitting, cancelling and the manufacturer's
decision; wrong states, bad decisions and intruders change nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from dms.core.errors import DomainError
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from orders.enums import PrimaryOrderStatus as Status
from orders.models import PrimaryOrder, PrimaryOrderEvent, PrimaryOrderLine
from orders.services import (
    LineDecision,
    PrimaryLine,
    primary_order_cancel,
    primary_order_create,
    primary_order_decide,
    primary_order_submit,
    primary_order_update_lines,
)
from tests.factories.catalog import make_price_list
from tests.factories.orders import make_primary_order

pytestmark = pytest.mark.django_db
D = Decimal


def key_scope(cast: Any) -> Scope:
    """The manufacturer's ERP: the cast's API key (role manufacturer_system)."""
    return Scope.for_api_key(cast.api_key)


def snapshot(order: PrimaryOrder) -> tuple[Any, ...]:
    with tenant_scope(Scope.system(order.tenant_id)):
        o = PrimaryOrder.objects.get(pk=order.pk)
        lines = list(PrimaryOrderLine.objects.filter(order_id=order.pk).order_by("line_no").values_list(
            "sku_id", "ordered_cases", "approved_cases", "approved_value", "decision_note"))
        return (o.status, o.version, o.total_ordered, o.total_approved, o.decided_at, lines,
                PrimaryOrderEvent.objects.filter(order_id=order.pk).count())


def test_a_draft_is_numbered_per_distributor_and_valued_at_the_price_list(cat, dist_a1, dist_a2):
    # when
    first = make_primary_order(dist_a1, [(cat.cola, 3), (cat.water, 2)])
    second = make_primary_order(dist_a1, [(cat.chips, 1)])
    other = make_primary_order(dist_a2, [(cat.chips, 1)])
    # then
    assert (first.number, second.number, other.number) == ("PO-000001", "PO-000002", "PO-000001")
    assert first.status == Status.DRAFT and first.currency == "PKR"
    assert first.total_ordered == D("3703.70") + D("199.98")


def test_a_distributor_price_list_wins_over_the_tenant_wide_one(cat, tid, dist_a1):
    # given
    make_price_list(tid, {cat.cola: D("1000.0000")}, distributor=dist_a1)
    # when
    order = make_primary_order(dist_a1, [(cat.cola, 2)])
    # then
    assert order.total_ordered == D("2000.00")


def test_unknown_or_duplicate_skus_are_field_errors(cat, cast_a, dist_a1):
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        with pytest.raises(DomainError) as caught:
            primary_order_create(scope=scope, distributor_id=dist_a1.pk,
                                 lines=[PrimaryLine(cat.cola.pk, 1), PrimaryLine(999999, 1),
                                        PrimaryLine(cat.cola.pk, 2)])
        assert caught.value.status_code == 400
        assert set(caught.value.fields) == {"lines[1].sku_id", "lines[2].sku_id"}
        assert PrimaryOrder.objects.count() == 0


def test_a_draft_edit_replaces_lines_and_bumps_the_version_and_a_stale_one_is_refused(cat, cast_a, dist_a1):
    # given
    order = make_primary_order(dist_a1, [(cat.cola, 3)])
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        # when
        edited = primary_order_update_lines(scope=scope, order_id=order.pk, version=1,
                                            lines=[PrimaryLine(cat.chips.pk, 2)], note="rush")
        # then
        assert (edited.version, edited.total_ordered, edited.note) == (2, D("960.00"), "rush")
        with pytest.raises(DomainError) as caught:
            primary_order_update_lines(scope=scope, order_id=order.pk, version=1, lines=[PrimaryLine(cat.cola.pk, 1)])
        assert caught.value.status_code == 409 and caught.value.code == "stale_version"


def test_submit_then_a_partial_decision_sets_the_totals_and_writes_events(cat, cast_a, dist_a1):
    # given
    order = make_primary_order(dist_a1, [(cat.cola, 3), (cat.water, 2)], submit=True)
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        scope = key_scope(cast_a)
        # when
        decided = primary_order_decide(scope=scope, order_id=order.pk, decisions=[
            LineDecision(sku_id=cat.cola.pk, approved_cases=1, note="short"),
            LineDecision(line_no=2, approved_cases=2)])
        # then
        assert decided.status == Status.PARTIALLY_APPROVED
        assert decided.total_approved == D("1234.57") + D("199.98")
        events = list(PrimaryOrderEvent.objects.filter(order_id=order.pk).order_by("id"))
        assert [(e.from_status, e.to_status) for e in events] == [
            ("", ""), (Status.DRAFT, Status.SUBMITTED), (Status.SUBMITTED, Status.PARTIALLY_APPROVED)]
        assert events[-1].actor_kind == "api_key"


@pytest.mark.parametrize(("approved", "status"), [((3, 2), Status.APPROVED), ((0, 0), Status.REJECTED)])
def test_all_in_full_approves_and_all_zero_rejects(cat, cast_a, dist_a1, approved, status):
    order = make_primary_order(dist_a1, [(cat.cola, 3), (cat.water, 2)], submit=True)
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        decided = primary_order_decide(scope=key_scope(cast_a), order_id=order.pk, decisions=[
            LineDecision(line_no=1, approved_cases=approved[0]), LineDecision(line_no=2, approved_cases=approved[1])])
    assert decided.status == status


def test_approving_above_the_ordered_cases_or_leaving_a_line_undecided_changes_nothing(cat, cast_a, dist_a1):
    # given
    order = make_primary_order(dist_a1, [(cat.cola, 3), (cat.water, 2)], submit=True)
    before = snapshot(order)
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        # when
        with pytest.raises(DomainError) as too_many:
            primary_order_decide(scope=key_scope(cast_a), order_id=order.pk, decisions=[
                LineDecision(line_no=1, approved_cases=2), LineDecision(line_no=2, approved_cases=5)])
        with pytest.raises(DomainError) as undecided:
            primary_order_decide(scope=key_scope(cast_a), order_id=order.pk,
                                 decisions=[LineDecision(line_no=1, approved_cases=2)])
    # then
    assert list(too_many.value.fields) == ["decisions[1].approved_cases"]
    assert list(undecided.value.fields) == ["decisions"]
    assert snapshot(order) == before


def test_wrong_states_are_409_and_change_nothing(cat, cast_a, dist_a1):
    # given
    draft = make_primary_order(dist_a1, [(cat.cola, 3)])
    submitted = make_primary_order(dist_a1, [(cat.cola, 3)], submit=True)
    before = snapshot(draft), snapshot(submitted)
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        # when / then
        with pytest.raises(DomainError) as not_submitted:
            primary_order_decide(scope=key_scope(cast_a), order_id=draft.pk,
                                 decisions=[LineDecision(line_no=1, approved_cases=1)])
        with pytest.raises(DomainError) as not_draft:
            primary_order_update_lines(scope=scope, order_id=submitted.pk, version=1,
                                       lines=[PrimaryLine(cat.cola.pk, 1)])
    assert not_submitted.value.status_code == 409 and not_submitted.value.code == "invalid_transition"
    assert not_draft.value.status_code == 409
    assert (snapshot(draft), snapshot(submitted)) == before


def test_cancel_needs_a_reason_is_idempotent_and_a_decided_order_cannot_be_cancelled(cat, cast_a, dist_a1):
    order = make_primary_order(dist_a1, [(cat.cola, 3)], submit=True)
    decided = make_primary_order(dist_a1, [(cat.cola, 3)], submit=True)
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        with pytest.raises(DomainError) as no_reason:
            primary_order_cancel(scope=scope, order_id=order.pk, reason=" ")
        assert list(no_reason.value.fields) == ["reason"]
        assert primary_order_cancel(scope=scope, order_id=order.pk, reason="duplicate").status == Status.CANCELLED
        assert primary_order_cancel(scope=scope, order_id=order.pk, reason="again").status == Status.CANCELLED
        assert primary_order_submit(scope=scope, order_id=decided.pk).status == Status.SUBMITTED  # idempotent
        primary_order_decide(scope=key_scope(cast_a), order_id=decided.pk,
                             decisions=[LineDecision(line_no=1, approved_cases=3)])
        with pytest.raises(DomainError) as late:
            primary_order_cancel(scope=scope, order_id=decided.pk, reason="too late")
        assert late.value.status_code == 409


def test_another_tenants_order_is_not_found(cat, cast_a, cast_b, dist_a1):
    order = make_primary_order(dist_a1, [(cat.cola, 3)], submit=True)
    before = snapshot(order)
    with tenant_scope(Scope.system(cast_b.tenant.pk)):
        with pytest.raises(DomainError) as caught:
            primary_order_decide(scope=key_scope(cast_b), order_id=order.pk,
                                 decisions=[LineDecision(line_no=1, approved_cases=3)])
    assert caught.value.status_code == 404
    assert snapshot(order) == before


def test_a_distributor_user_cannot_decide(cat, cast_a, dist_a1):
    from dms.tenancy.models import Membership

    order = make_primary_order(dist_a1, [(cat.cola, 3)], submit=True)
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        membership = Membership.objects.get(user=cast_a.users[Role.DISTRIBUTOR_ADMIN])
        with pytest.raises(DomainError) as caught:
            primary_order_decide(scope=Scope.for_membership(membership), order_id=order.pk,
                                 decisions=[LineDecision(line_no=1, approved_cases=3)])
    assert caught.value.status_code == 403
