"""The order admin: the changelist's filters and search, the bulk actions (confirm; cancel and release a hold with a
reason asked on an intermediate page) with a message per order, and edits of a booked order through order_edit."""

from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from orders.enums import HoldKind, OrderStatus
from orders.models import SecondaryOrder
from tests.factories.catalog import make_outlet
from tests.factories.orders import make_order

from .conftest import events_of, lines_of, reload, set_status

pytestmark = pytest.mark.django_db

ORDERS = "/admin/orders/secondaryorder/"
D = Decimal


def client_for(cast: Any, role: str) -> Client:
    client = Client()
    client.force_login(cast.users[role])
    return client


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def hold(order: SecondaryOrder) -> None:
    with tenant_scope(Scope.system(order.tenant_id)):
        SecondaryOrder.objects.filter(pk=order.pk).update(hold=HoldKind.CREDIT, hold_reason="over the limit")


def label(order: SecondaryOrder) -> str:
    return f"Order {str(order.uuid)[:8]} ({order.outlet.code})"


class _Form(HTMLParser):
    """The fields a browser would post from one form of a page."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.data = form_id, False, {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or "__prefix__" in a.get("name", "__prefix__" if tag in ("input", "select",
                                                                                   "textarea") else ""):
            return
        if tag == "input" and a.get("type") not in ("submit", "button", "checkbox"):
            self.data[a["name"]] = a.get("value", "")
        elif tag == "input" and a.get("type") == "checkbox" and "checked" in a:
            self.data[a["name"]] = a.get("value", "on")
        elif tag == "select":
            self._select = a["name"]
            self.data.setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.data[self._textarea] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea] += data.lstrip("\n")


def form_data(response: Any, form_id: str = "secondaryorder_form") -> dict[str, Any]:
    assert response.status_code == 200, response.status_code
    parser = _Form(form_id)
    parser.feed(response.content.decode())
    return {**parser.data, "_save": "Save"}


@pytest.fixture
def staff(cast_a: Any) -> Client:
    return client_for(cast_a, Role.DISTRIBUTOR_STAFF)


@pytest.fixture
def order(cat: Any, outlet: Any) -> SecondaryOrder:
    return make_order(outlet, [(cat.cola, 2), (cat.water, 1)], note="ring the bell")


# --- changelist -------------------------------------------------------------------------------------------------------

def test_the_changelist_filters_and_searches_orders(staff, cat, outlet, dist_a1, dist_a2):
    # given
    booked = make_order(outlet, [(cat.cola, 1)])
    held = make_order(make_outlet(dist_a1, code="FAR-1", name="Far away", credit_limit=D("0")), [(cat.cola, 1)])
    hold(held)
    flagged = make_order(outlet, [(cat.cola, 1, 0, D("1"))])
    set_status(flagged, OrderStatus.CONFIRMED)
    sibling = make_order(make_outlet(dist_a2, code="SIB-1", credit_limit=D("0")), [(cat.cola, 1)])

    def shown(**query: str) -> set[int]:
        response = staff.get(ORDERS, query)
        assert response.status_code == 200
        return {o.pk for o in response.context["cl"].result_list}

    # when / then
    assert shown() == {booked.pk, held.pk, flagged.pk}
    assert shown(status__exact="confirmed") == {flagged.pk}
    assert shown(hold__exact="credit") == {held.pk}
    assert shown(price_flag__exact="1") == {flagged.pk}
    assert shown(q="far away") == {held.pk}
    assert shown(q=str(booked.uuid)[:8]) == {booked.pk}
    assert sibling.pk not in shown(q="SIB-1")


# --- bulk actions -----------------------------------------------------------------------------------------------------

def test_confirm_selected_confirms_each_order_it_can_and_says_why_not_for_the_others(staff, cat, outlet, order):
    # given
    held = make_order(outlet, [(cat.water, 1)])
    hold(held)
    # when
    response = staff.post(ORDERS, {"action": "confirm_selected", "_selected_action": [order.pk, held.pk],
                                   "index": "0"}, follow=True)
    # then
    assert response.status_code == 200
    assert messages_of(response) == [
        "1 order confirmed.",
        f"{label(held)}: not confirmed. The order is on credit hold (over the outlet's credit limit): release "
        "the hold first."]
    assert (reload(order).status, reload(held).status) == (OrderStatus.CONFIRMED, OrderStatus.BOOKED)


def test_cancel_selected_asks_for_a_reason_then_cancels(staff, cat, outlet, order):
    # given
    invoiced = make_order(outlet, [(cat.water, 1)])
    set_status(invoiced, OrderStatus.INVOICED)
    selected = {"action": "cancel_selected", "_selected_action": [order.pk, invoiced.pk]}
    # when: the action shows the reason page, which a blank reason shows again
    page = staff.post(ORDERS, {**selected, "index": "0"})
    blank = staff.post(ORDERS, {**selected, "apply_reason": "yes", "reason": ""})
    # then
    assert page.status_code == 200 and "orders-reason-form" in page.content.decode()
    assert label(order) in page.content.decode() and label(invoiced) in page.content.decode()
    assert blank.status_code == 200 and blank.context["form"].errors == {"reason": ["This field is required."]}
    assert reload(order).status == OrderStatus.BOOKED
    # when: a reason is given
    done = staff.post(ORDERS, {**selected, "apply_reason": "yes", "reason": "shop closed"}, follow=True)
    # then
    assert messages_of(done) == ["1 order cancelled.",
                                 f"{label(invoiced)}: not cancelled. SecondaryOrder cannot go from 'invoiced' to "
                                 "'cancelled'."]
    assert reload(order).status == OrderStatus.CANCELLED
    assert events_of(order)[-1].reason == "shop closed"


def test_release_hold_asks_for_a_reason_and_releases(staff, order):
    # given
    hold(order)
    # when
    done = staff.post(ORDERS, {"action": "release_hold_selected", "_selected_action": [order.pk],
                               "apply_reason": "yes", "reason": "owner paid cash"}, follow=True)
    # then
    assert messages_of(done) == ["1 order released from hold."]
    assert reload(order).hold == ""
    assert (events_of(order)[-1].action, events_of(order)[-1].reason) == ("hold_released", "owner paid cash")


def test_a_selection_over_the_bulk_limit_is_refused_with_a_message(staff, cat, outlet, order, monkeypatch):
    # given
    from orders.services import staff as staff_services

    monkeypatch.setattr(staff_services, "MAX_BULK", 1)
    other = make_order(outlet, [(cat.water, 1)])
    # when
    response = staff.post(ORDERS, {"action": "confirm_selected", "_selected_action": [order.pk, other.pk],
                                   "index": "0"}, follow=True)
    # then
    assert messages_of(response) == ["Nothing was confirmed: At most 1 orders at once."]
    assert reload(order).status == OrderStatus.BOOKED


def test_an_analyst_sees_orders_but_has_no_actions(cast_a, order):
    # given
    analyst = client_for(cast_a, Role.MANUFACTURER_ANALYST)
    # when
    listed = analyst.get(ORDERS)
    acted = analyst.post(ORDERS, {"action": "confirm_selected", "_selected_action": [order.pk], "index": "0"})
    change = analyst.get(f"{ORDERS}{order.pk}/change/")
    # then
    assert listed.status_code == 200 and listed.context["action_form"] is None
    assert acted.status_code in (200, 302) and reload(order).status == OrderStatus.BOOKED
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()


# --- the change form --------------------------------------------------------------------------------------------------

def test_editing_a_booked_order_saves_through_order_edit_and_reprices(staff, cat, order):
    # given
    data = form_data(staff.get(f"{ORDERS}{order.pk}/change/"))
    data.update({"note": "side door", "lines-0-cases": "5", "lines-2-sku": str(cat.chips.pk), "lines-2-cases": "1",
                 "lines-2-units": "0", "lines-TOTAL_FORMS": "3"})
    data["lines-1-DELETE"] = "on"
    # when
    response = staff.post(f"{ORDERS}{order.pk}/change/", data, follow=True)
    # then
    assert response.status_code == 200, response.content[:500]
    edited = reload(order)
    assert (edited.note, edited.version) == ("side door", 2)
    assert [(li.sku_id, li.cases) for li in lines_of(edited)] == [(cat.cola.pk, 5), (cat.chips.pk, 1)]
    assert edited.total == sum(li.total for li in lines_of(edited))
    assert f"{label(order)} saved and priced: total {edited.total} PKR, version 2." in messages_of(response)
    assert (events_of(edited)[-1].action, events_of(edited)[-1].reason) == ("edited", "edited in the admin")


def test_a_page_loaded_before_another_edit_saves_nothing(staff, order):
    # given
    data = form_data(staff.get(f"{ORDERS}{order.pk}/change/"))
    second = form_data(staff.get(f"{ORDERS}{order.pk}/change/"))
    staff.post(f"{ORDERS}{order.pk}/change/", {**data, "note": "first"}, follow=True)
    # when
    response = staff.post(f"{ORDERS}{order.pk}/change/", {**second, "note": "second"}, follow=True)
    # then
    assert reload(order).note == "first"
    [message] = messages_of(response)
    assert "changed since you opened it (version 1, now 2): nothing was saved" in message


def test_a_refused_edit_is_shown_on_the_form_and_nothing_is_saved(staff, cat, order):
    # given: the water line turned into a second cola line
    data = form_data(staff.get(f"{ORDERS}{order.pk}/change/"))
    data.update({"lines-1-sku": str(cat.cola.pk), "note": "will not stay"})
    # when
    response = staff.post(f"{ORDERS}{order.pk}/change/", data)
    # then
    assert response.status_code == 200
    assert "book each SKU on one line" in response.content.decode()
    assert (reload(order).note, reload(order).version) == ("ring the bell", 1)


def test_an_order_past_booked_is_read_only(staff, order):
    # given
    set_status(order, OrderStatus.CONFIRMED)
    # when
    page = staff.get(f"{ORDERS}{order.pk}/change/")
    post = staff.post(f"{ORDERS}{order.pk}/change/", {"note": "late", "_save": "Save"})
    # then
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert "Confirmed: the order can no longer be edited." in page.content.decode()
    assert post.status_code == 403 and reload(order).note == "ring the bell"


def test_another_tenants_order_is_a_404(cast_b, order):
    other = client_for(cast_b, Role.MANUFACTURER_ADMIN)
    assert other.get(f"{ORDERS}{order.pk}/change/").status_code == 404
