"""Load forms under concurrency: two load forms made at once with the same invoice put it on one of them (the
distributor's lock, then the checks again); two records of one invoice's delivery at once write one outcome and one
credit note (the load form's lock)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from dispatch.models import LoadForm, LoadFormInvoice
from dispatch.services import delivery_record, load_form_create, loading
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from invoicing.models import CreditNote
from tests.factories.loading import (
    create,
    invoiced,
    make_shop,
    make_vehicle,
    on_the_road,
)

from .conftest import race

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_invoice_put_on_two_vehicles_at_once_lands_on_one_load_form(cast_a, dist_a1, goods, wh, today, staff,
                                                                        monkeypatch):
    # given
    invoice = invoiced(make_shop(dist_a1), [(goods.cola, 1)], wh)
    vans = [make_vehicle(dist_a1, code="VAN-A"), make_vehicle(dist_a1, code="VAN-B")]
    # both callers pass their unlocked checks and solve before either takes the distributor's lock
    barrier = threading.Barrier(2)
    original = loading.solve_trips

    def solve_then_wait(*args: Any, **kwargs: Any) -> Any:
        solution = original(*args, **kwargs)
        barrier.wait(timeout=20)
        return solution

    monkeypatch.setattr(loading, "solve_trips", solve_then_wait)

    def make(vehicle: Any) -> Callable[[Scope], Any]:
        return lambda scope: load_form_create(scope=scope, date=today, vehicle_id=vehicle.pk,
                                              invoice_ids=[invoice.pk]).number

    # when
    outcomes = race(staff, [make(vans[0]), make(vans[1])])
    # then
    assert sorted(outcomes) == ["LF-000001", "not_loadable"]
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        assert LoadForm.objects.count() == 1
        assert LoadFormInvoice.objects.filter(invoice_id=invoice.pk, live=True).count() == 1


def test_one_delivery_recorded_twice_at_once_writes_one_outcome_and_one_credit_note(cast_a, dist_a1, goods, wh,
                                                                                    today, staff):
    # given
    invoice = invoiced(make_shop(dist_a1), [(goods.cola, 2)], wh)
    load_form = create(staff, make_vehicle(dist_a1), [invoice], today)
    on_the_road(staff, load_form)

    def returned(scope: Scope) -> str:
        return delivery_record(scope=scope, load_form_id=load_form.pk, invoice_id=invoice.pk, outcome="returned",
                               return_reason="closed").outcome

    def delivered(scope: Scope) -> str:
        return delivery_record(scope=scope, load_form_id=load_form.pk, invoice_id=invoice.pk,
                               outcome="delivered").outcome

    # when
    outcomes = race(staff, [returned, delivered])
    # then: whichever came first is the record; the other is refused
    assert sorted(outcomes) in (["already_recorded", "returned"], ["already_recorded", "delivered"])
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        stop = LoadFormInvoice.objects.get(load_form=load_form)
        assert stop.outcome in outcomes
        assert CreditNote.objects.count() == (1 if stop.outcome == "returned" else 0)
