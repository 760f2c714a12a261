"""Every route x every kind of principal: an intruder from another tenant, or from a sibling distributor,
gets 404 (or 401/403 where the route is not theirs), never data.

Routes are enumerated from the URL configuration; a route missing from ROUTES or PUBLIC_ROUTES fails
`test_every_route_is_in_the_matrix`, so a new endpoint cannot ship without isolation coverage.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from catalog.models import PriceList, Scheme, SchemeSlab, TaxRate
from dispatch.models import DispatchAdvice, DispatchAdviceLine, DispatchBatch, GoodsReceipt, GoodsReceiptLine
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.models import BackgroundJob, Distributor
from dms.tenancy.scope import Scope
from dms.tenancy.services import api_key_create, device_register, membership_grant, user_create
from inventory.models import Allocation, StockBalance, Warehouse
from inventory.services import stock_adjust, stock_receive
from mobile.models import SyncHealth
from orders.models import (
    OrderEvent,
    PrimaryOrder,
    PrimaryOrderEvent,
    PrimaryOrderLine,
    SecondaryOrder,
    SecondaryOrderLine,
)
from pjp.enums import ProposalKind
from pjp.models import DailyJourney, OptimisationProposal, Pjp, RouteStop, Visit
from pjp.models import Route as PjpRoute
from reconciliation.models import ExceptionEvent, ReconciliationException, ReconciliationRun
from tests.factories.catalog import make_brand, make_outlet, make_sku
from tests.factories.invoicing import mark_invoicing
from tests.factories.loading import mark_loading
from webhooks.models import OutboxEvent, WebhookDelivery, WebhookEndpoint

OTHER = "VICTIMB"  # on every object of tenant B: no principal of tenant A may ever see it
SIBLING = "VICTIMSIB"  # on objects of distributor A2: A1's users may not see it; A's manufacturer may

# Routes that hold no tenant data.
PUBLIC_ROUTES = {"api-schema", "api-docs", "healthz", "switch-tenant"}


@dataclass(frozen=True)
class Route:
    kwarg: str | None = None  # URL kwarg naming the object
    victim: str | None = None  # key in the victims dict
    methods: tuple[str, ...] = ("get",)
    device_only: bool = False
    query: tuple[tuple[str, str], ...] = ()
    victim_query: tuple[tuple[str, str], ...] = ()  # (query parameter, victim key): filled with the victim's pk


ROUTES: dict[str, Route] = {
    "me": Route(),
    "distributor-list": Route(),
    "distributor-detail": Route("distributor_id", "distributor"),
    "api-key-list": Route(methods=("get",)),
    "api-key-revoke": Route("key_id", "api_key", methods=("post",)),
    "brand-list": Route(),
    "brand-detail": Route("pk", "brand"),
    "sku-list": Route(),
    "sku-detail": Route("pk", "sku", methods=("get", "patch")),
    "outlet-list": Route(),
    "outlet-detail": Route("pk", "outlet", methods=("get", "patch")),
    "price-list-list": Route(),
    "price-list-detail": Route("pk", "price_list"),
    "tax-rate-list": Route(),
    "scheme-list": Route(),
    "scheme-detail": Route("pk", "scheme"),
    "mobile-profile": Route(device_only=True),
    "mobile-sign-in": Route(methods=("post",), device_only=True),
    "mobile-token-refresh": Route(methods=("post",), device_only=True),
    "mobile-sign-out": Route(methods=("post",), device_only=True),
    "mobile-journey": Route(device_only=True),
    "mobile-push": Route(methods=("post",), device_only=True),
    "mobile-day-close": Route(methods=("post",), device_only=True),
    "mobile-pull": Route(device_only=True),
    "job-list": Route(),
    "job-detail": Route("job_id", "job"),
    "masters-import": Route(methods=("post",)),
    "price-quote": Route(methods=("post",)),
    "masters-export": Route(query=(("kind", "outlets"), ("file_format", "csv"))),
    "route-list": Route(),
    "route-detail": Route("route_id", "route"),
    "route-stops": Route("route_id", "route", methods=("post",)),
    "route-optimise": Route("route_id", "route", methods=("post",)),
    "build-routes": Route(methods=("post",)),
    "proposal-detail": Route("proposal_id", "proposal"),
    "proposal-accept": Route("proposal_id", "proposal", methods=("post",)),
    "proposal-discard": Route("proposal_id", "proposal", methods=("post",)),
    "journey-list": Route(query=(("date", "2030-01-07"),)),
    "order-list": Route(),
    "order-detail": Route("order_id", "order", methods=("get", "patch")),
    "order-confirm": Route("order_id", "order", methods=("post",)),
    "order-cancel": Route("order_id", "order", methods=("post",)),
    "order-release-hold": Route("order_id", "order", methods=("post",)),
    "order-bulk-confirm": Route(methods=("post",)),
    "order-bulk-cancel": Route(methods=("post",)),
    "primary-order-list": Route(methods=("get", "post")),
    "primary-order-detail": Route("order_id", "primary_order", methods=("get", "patch")),
    "primary-order-submit": Route("order_id", "primary_order", methods=("post",)),
    "primary-order-cancel": Route("order_id", "primary_order", methods=("post",)),
    "manufacturer-primary-order-list": Route(),
    "manufacturer-primary-order-detail": Route("order_id", "primary_order"),
    "manufacturer-primary-order-decision": Route("order_id", "primary_order", methods=("post",)),
    "primary-order-suggestion": Route(victim_query=(("distributor_id", "distributor"),)),
    "primary-order-suggestion-draft": Route(methods=("post",), victim_query=(("distributor_id", "distributor"),)),
    "manufacturer-sell-through": Route(query=(("date_from", "2030-01-01"), ("date_to", "2030-01-31"))),
    "manufacturer-stock-list": Route(),
    "manufacturer-stock-movements": Route(),
    "stock-list": Route(),
    "dispatch-advice-list": Route(),
    "dispatch-advice-detail": Route("advice_id", "dispatch_advice"),
    "dispatch-advice-receipt": Route("advice_id", "dispatch_advice", methods=("post",)),
    "dispatch-receipt-list": Route(),
    "dispatch-receipt-detail": Route("receipt_id", "goods_receipt"),
    "dispatch-primary-order-close": Route("order_id", "primary_order", methods=("post",)),
    "manufacturer-dispatch-advice-issue": Route("order_id", "primary_order", methods=("post",)),
    "manufacturer-dispatch-advice-list": Route(),
    "manufacturer-dispatch-advice-detail": Route("advice_id", "dispatch_advice"),
    "manufacturer-goods-receipt-list": Route(),
    "manufacturer-goods-receipt-detail": Route("receipt_id", "goods_receipt"),
    "allocation-list": Route(methods=("get", "post"), victim_query=(("order", "order"),)),
    "allocation-preview": Route(methods=("post",)),
    "allocation-day": Route(methods=("post",)),
    "allocation-deallocate": Route("order_id", "order", methods=("post",)),
    "invoice-list": Route(methods=("get", "post")),
    "invoice-batch": Route(methods=("post",)),
    "invoice-detail": Route("invoice_id", "invoice"),
    "invoice-pdf": Route("invoice_id", "invoice"),
    "credit-note-list": Route(methods=("get", "post")),
    "credit-note-detail": Route("credit_note_id", "credit_note"),
    "credit-note-pdf": Route("credit_note_id", "credit_note"),
    "payment-list": Route(methods=("get", "post")),
    "payment-detail": Route("payment_id", "payment"),
    "outlet-balance": Route("outlet_id", "outlet"),
    "vehicle-list": Route(methods=("get", "post")),
    "vehicle-detail": Route("vehicle_id", "vehicle", methods=("get", "patch")),
    "load-form-list": Route(methods=("get", "post")),
    "load-form-plan": Route(methods=("post",)),
    "load-form-detail": Route("load_form_id", "load_form", methods=("get", "patch")),
    "load-form-pick-list": Route("load_form_id", "load_form"),
    "load-form-pdf": Route("load_form_id", "load_form"),
    "load-form-loaded": Route("load_form_id", "load_form", methods=("post",)),
    "load-form-depart": Route("load_form_id", "load_form", methods=("post",)),
    "load-form-cancel": Route("load_form_id", "load_form", methods=("post",)),
    "load-form-deliveries": Route("load_form_id", "load_form", methods=("post",)),
    "load-form-cash": Route("load_form_id", "load_form", methods=("post",)),
    "load-form-settle": Route("load_form_id", "load_form", methods=("post",)),
    "webhook-endpoint-list": Route(),
    "webhook-endpoint-detail": Route("endpoint_id", "webhook_endpoint", methods=("get", "patch", "delete")),
    "webhook-endpoint-rotate-secret": Route("endpoint_id", "webhook_endpoint", methods=("post",)),
    "webhook-endpoint-test": Route("endpoint_id", "webhook_endpoint", methods=("post",)),
    "webhook-delivery-list": Route(),
    "webhook-delivery-detail": Route("delivery_id", "webhook_delivery"),
    "webhook-delivery-retry": Route("delivery_id", "webhook_delivery", methods=("post",)),
    "reconciliation-run-list": Route(methods=("get", "post")),
    "reconciliation-run-detail": Route("run_id", "reconciliation_run"),
    "reconciliation-exception-list": Route(),
    "reconciliation-exception-detail": Route("exception_id", "reconciliation_exception"),
    "reconciliation-exception-assign": Route("exception_id", "reconciliation_exception", methods=("post",)),
    "reconciliation-exception-resolve": Route("exception_id", "reconciliation_exception", methods=("post",)),
    "reconciliation-exception-reopen": Route("exception_id", "reconciliation_exception", methods=("post",)),
    "analytics-kpis": Route(query=(("date_from", "2030-01-01"), ("date_to", "2030-01-31")),
                            victim_query=(("distributor", "distributor"),)),
    "analytics-kpis-series": Route(query=(("date_from", "2030-01-01"), ("date_to", "2030-01-31")),
                                   victim_query=(("distributor", "distributor"),)),
    "analytics-kpis-breakdown": Route(query=(("date_from", "2030-01-01"), ("date_to", "2030-01-31"),
                                             ("by", "distributor")),
                                      victim_query=(("distributor", "distributor"),)),
    "analytics-journeys": Route(query=(("date_from", "2030-01-01"), ("date_to", "2030-01-31")),
                                victim_query=(("distributor", "distributor"),)),
    "analytics-journey": Route("journey_id", "journey"),
    "analytics-route-paths": Route("route_id", "route", query=(("date_from", "2030-01-01"), ("date_to", "2030-01-31"))),
    "analytics-funnel": Route(query=(("date_from", "2030-01-01"), ("date_to", "2030-01-31")),
                              victim_query=(("outlet", "outlet"),)),
}

JOURNEY_DAY = date(2030, 1, 7)  # the journey-list query above


def _walk(patterns: list, prefix: str = "", ns: str = "") -> list[tuple[str, str | None]]:
    out = []
    for p in patterns:
        if isinstance(p, URLResolver):
            if p.namespace == "admin" or str(p.pattern).startswith("admin/"):
                continue  # the admin is covered by its own matrix below
            out += _walk(p.url_patterns, prefix + str(p.pattern), p.namespace or ns)
        elif isinstance(p, URLPattern):
            out.append((prefix + str(p.pattern), p.name))
    return out


def test_every_route_is_in_the_matrix():
    routes = _walk(get_resolver().url_patterns)
    unnamed = [r for r, name in routes if not name]
    uncovered = sorted({name for _r, name in routes if name and name not in ROUTES and name not in PUBLIC_ROUTES})
    assert unnamed == [] and uncovered == [], f"add these routes to the isolation matrix: {uncovered or unnamed}"
    assert not set(ROUTES) - {name for _r, name in routes}, "stale entries in ROUTES"


# Tenant master data that every user of the tenant may read: marked only in the other tenant.
TENANT_LEVEL = {"brand", "sku", "tax_rate", "api_key", "webhook_endpoint", "webhook_delivery", "reconciliation_run"}
TENANT_LEVEL_MODELS = {"brand", "sku", "taxrate", "apikey", "webhookendpoint", "webhookdelivery",
                       "reconciliationrun"}


def _mark_objects(tenant_id: int, distributor: Distributor, marker: str) -> dict[str, Any]:
    """One object of every kind, each carrying the marker in a visible field (tenant-level master data
    only for the other tenant: a sibling distributor shares its tenant's brands and SKUs)."""
    tm = marker if marker == OTHER else "SHARED"
    with tenant_scope(Scope.system(tenant_id)) as scope:
        brand = make_brand(tenant_id, code=f"{tm}-BR", name=f"{tm} brand")
        sku = make_sku(tenant_id, brand=brand, code=f"{tm}-SKU", name=f"{tm} sku")
        objs = {
            "distributor": distributor,
            "brand": brand,
            "sku": sku,
            "outlet": make_outlet(distributor, code=f"{marker}-OUT", name=f"{marker} outlet"),
            "price_list": PriceList.objects.create(code=f"{marker}-PL", name=f"{marker} list",
                                                   distributor=distributor, valid_from=date(2020, 1, 1)),
            "tax_rate": TaxRate.objects.create(tax_class=f"{tm}-TX", name=f"{tm} tax",
                                               rate=Decimal("0.1"), valid_from=date(2020, 1, 1)),
            "api_key": api_key_create(scope=scope, name=f"{tm} key").key if marker == OTHER else None,
        }
        scheme = Scheme.objects.create(code=f"{marker}-SCH", name=f"{marker} scheme", kind="percent_off",
                                       distributor=distributor, valid_from=date(2020, 1, 1))
        SchemeSlab.objects.create(scheme=scheme, threshold=Decimal("1"), benefit=Decimal("5"))
        objs["scheme"] = scheme
        booker = user_create(username=f"{marker.lower()}-booker-{distributor.pk}", password="x")
        membership_grant(scope=scope, user=booker, role=Role.ORDER_BOOKER, distributor=distributor)
        objs["device"] = device_register(scope=scope, user=booker, distributor_id=distributor.pk,
                                         identifier=f"{marker}-phone", name=f"{marker} phone")
        objs["sync_health"] = SyncHealth.objects.create(distributor=distributor, device=objs["device"],
                                                        last_failure=f"{marker} failure")
        objs["job"] = BackgroundJob.objects.create(kind="masters_import", error=f"{marker} job",
                                                   scope_distributor=distributor)
        objs.update(_mark_pjp(distributor, marker, objs["outlet"], booker))
        objs.update(_mark_orders(distributor, marker, objs["outlet"], sku, booker))
        objs.update(_mark_stock(scope, distributor, marker, sku))
        objs.update(_mark_dispatch(distributor, marker, sku, objs["warehouse"]))
        objs.update(mark_invoicing(distributor, marker, objs["order"], sku))
        objs.update(mark_loading(distributor, marker))
        objs["allocation"] = _mark_allocation(distributor, marker, objs["order"], objs["warehouse"])
        objs.update(_mark_webhooks(tm))
        objs.update(_mark_reconciliation(distributor, marker, tm, objs["order"]))
    return objs


def _mark_reconciliation(distributor: Distributor, marker: str, tm: str, order: SecondaryOrder) -> dict[str, Any]:
    """The tenant's run of JOURNEY_DAY (tenant-level: marked in its error with the tenant marker) and an exception of
    the distributor about the marked order (marked in its message, records and figures), with an event (marked in
    its reason). Called inside the owner's tenant scope."""
    run = ReconciliationRun.objects.create(business_date=JOURNEY_DAY, status="failed", error=f"{tm} run",
                                           counts={"orders_stuck": {"found": 1, "new": 1, "open": 1}})
    exception = ReconciliationException.objects.create(
        distributor=distributor, check_code="orders_stuck", key=f"order:{order.pk}:booked",
        business_date=JOURNEY_DAY, first_run=run, last_run=run, first_seen_on=JOURNEY_DAY, last_seen_on=JOURNEY_DAY,
        last_pass=uuid.uuid4(), subject_type="order", subject_id=order.pk, message=f"{marker} order stuck in booked",
        records=[{"type": "order", "id": order.pk, "ref": f"{marker}-ORD"}], detail={"outlet": f"{marker} outlet"},
        status="assigned")
    ExceptionEvent.objects.create(exception=exception, distributor=distributor, from_status="open",
                                  to_status="assigned", action="assign", actor_kind="system", actor_label="system",
                                  reason=f"{marker} assigned")
    return {"reconciliation_run": run, "reconciliation_exception": exception}


def _mark_dispatch(distributor: Distributor, marker: str, sku: Any, warehouse: Warehouse) -> dict[str, Any]:
    """A received primary order with its Dispatch Advice (marked in its reference and note), a line and a batch
    (marked in its code), and the goods receipt (marked in its note) into the marked warehouse."""
    ten = Decimal("10.00")
    order = PrimaryOrder.objects.create(
        distributor=distributor, number=f"PO-{marker}-R", status="received", note=f"{marker} received order",
        currency="PKR", total_ordered=ten, total_approved=ten)
    line = PrimaryOrderLine.objects.create(distributor=distributor, order=order, line_no=1, sku=sku, ordered_cases=1,
                                           approved_cases=1, case_price=Decimal("10.0000"), ordered_value=ten,
                                           approved_value=ten)
    advice = DispatchAdvice.objects.create(
        distributor=distributor, order=order, number=f"DA-{marker}", reference=f"{marker}-ERP-1", status="received",
        dispatched_on=JOURNEY_DAY, note=f"{marker} advice", currency="PKR", total_ordered_cases=1,
        total_approved_cases=1, total_dispatched_cases=1, dispatched_value=ten, actor_kind="system")
    advice_line = DispatchAdviceLine.objects.create(
        distributor=distributor, advice=advice, order_line=line, line_no=1, sku=sku, ordered_cases=1,
        approved_cases=1, dispatched_cases=1, case_price=Decimal("10.0000"), dispatched_value=ten)
    batch = DispatchBatch.objects.create(distributor=distributor, line=advice_line, batch=f"{marker}-B1", cases=1)
    receipt = GoodsReceipt.objects.create(
        distributor=distributor, advice=advice, number=f"GRN-{marker}", warehouse=warehouse, received_on=JOURNEY_DAY,
        note=f"{marker} receipt", total_dispatched_cases=1, total_received_cases=1, received_value=ten,
        actor_kind="system")
    GoodsReceiptLine.objects.create(distributor=distributor, receipt=receipt, advice_line=advice_line,
                                    dispatch_batch=batch, sku=sku, batch=batch.batch, dispatched_cases=1,
                                    received_cases=1, received_units=12)
    return {"dispatch_advice": advice, "goods_receipt": receipt}


def _mark_allocation(distributor: Distributor, marker: str, order: SecondaryOrder, warehouse: Warehouse) -> Any:
    """Stock allocated to the marked order's line (marked in its explanation)."""
    line = SecondaryOrderLine.objects.get(order=order, line_no=1)
    return Allocation.objects.create(distributor=distributor, order=order, order_line=line, warehouse=warehouse,
                                     sku_id=line.sku_id, requested_units=12, allocated_units=12, policy="fifo",
                                     explanation=f"{marker} allocated")


def _mark_webhooks(tm: str) -> dict[str, Any]:
    """A tenant's webhook endpoint (marked in its description and URL) and a failed delivery to it (marked in
    its error and its event's data)."""
    endpoint = WebhookEndpoint.objects.create(url=f"https://hooks.example.com/{tm}", description=f"{tm} hook",
                                              secret="whsec_" + "A" * 43)
    event = OutboxEvent.objects.create(msg_id=f"msg_{tm}_{uuid.uuid4().hex[:8]}", event_type="primary_order.submitted",
                                       payload={"type": "primary_order.submitted", "data": {"note": tm}})
    delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint, status="failed", attempts=8,
                                              next_attempt_at=datetime(2030, 1, 7, tzinfo=UTC),
                                              last_error=f"{tm} refused")
    return {"webhook_endpoint": endpoint, "webhook_delivery": delivery}


def _mark_stock(scope: Scope, distributor: Distributor, marker: str, sku: Any) -> dict[str, Any]:
    """A warehouse marked in its name, with a balance (shown with the warehouse's name) and movements marked in
    their reason, written through the stock services. Called inside the owner's tenant scope."""
    warehouse = Warehouse.objects.create(distributor=distributor, code=f"{marker}-WH", name=f"{marker} warehouse")
    stock_receive(scope=scope, warehouse_id=warehouse.pk, lines=[(sku.pk, 10)], reason=f"{marker} receipt")
    movement = stock_adjust(scope=scope, warehouse_id=warehouse.pk, sku_id=sku.pk, qty_units=-1,
                            reason=f"{marker} count")
    balance = StockBalance.objects.get(warehouse=warehouse, sku=sku)
    return {"warehouse": warehouse, "stock_balance": balance, "stock_movement": movement}


def _mark_pjp(distributor: Distributor, marker: str, outlet: Any, booker: Any) -> dict[str, Any]:
    """A route (marked in its code and name), a proposal (marked in its diff) and a journey on the marked
    route, on JOURNEY_DAY. Called inside the owner's tenant scope."""
    route = PjpRoute.objects.create(distributor=distributor, code=f"{marker}-RT", name=f"{marker} route")
    RouteStop.objects.create(distributor=distributor, route=route, outlet=outlet, sequence=1)
    proposal = OptimisationProposal.objects.create(
        distributor=distributor, kind=ProposalKind.SEQUENCE, route_versions={str(route.pk): route.version},
        diff=[{"kind": "reordered", "route": route.code, "outlet_id": outlet.pk, "outlet": outlet.code, "from": 2,
               "to": 1, "text": f"{marker} outlet moves from stop 2 to stop 1 on {route.code}"}],
        plan={"routes": {str(route.pk): [outlet.pk]}})
    pjp = Pjp.objects.create(distributor=distributor, booker=booker, cycle_anchor=JOURNEY_DAY,
                             effective_from=JOURNEY_DAY)
    start = datetime(2030, 1, 7, 4, 0, tzinfo=UTC)
    journey = DailyJourney.objects.create(distributor=distributor, booker=booker, date=JOURNEY_DAY, pjp=pjp,
                                          route=route, route_version=route.version, planned_start=start,
                                          planned_end=start)
    Visit.objects.create(distributor=distributor, journey=journey, outlet=outlet, sequence=1, eta=start, etd=start)
    return {"route": route, "proposal": proposal, "journey": journey}


def _mark_orders(distributor: Distributor, marker: str, outlet: Any, sku: Any, booker: Any) -> dict[str, Any]:
    """A held secondary order on the marked outlet, marked in its note and hold reason, with a line and an event
    (marked in its reason). Called inside the owner's tenant scope."""
    ten = Decimal("10.00")
    order = SecondaryOrder.objects.create(
        distributor=distributor, uuid=uuid.uuid4(), outlet=outlet, booker=booker, note=f"{marker} order",
        booked_at=datetime(2030, 1, 7, 5, 0, tzinfo=UTC), currency="PKR", gross=ten, discount=Decimal("0.00"),
        tax=Decimal("0.00"), total=ten, hold="credit", hold_reason=f"{marker} over the limit", fingerprint="0" * 64)
    SecondaryOrderLine.objects.create(distributor=distributor, order=order, line_no=1, sku=sku, cases=1, qty_units=12,
                                      case_price=Decimal("10.0000"), gross=ten, discount=Decimal("0.00"),
                                      tax_rate=Decimal("0.0000"), tax=Decimal("0.00"), total=ten)
    OrderEvent.objects.create(distributor=distributor, order=order, action="booked", to_status="booked",
                              actor_kind="system", actor_label="system", reason=f"{marker} booked")
    return {"order": order, "primary_order": _mark_primary_order(distributor, marker, sku)}


def _mark_primary_order(distributor: Distributor, marker: str, sku: Any) -> PrimaryOrder:
    """A submitted primary order (so the manufacturer's queue shows it to its owner), marked in its note, with a
    line (marked in its decision note) and an event (marked in its reason). Called inside the owner's scope."""
    ten = Decimal("10.00")
    order = PrimaryOrder.objects.create(
        distributor=distributor, number=f"PO-{marker}", status="submitted", note=f"{marker} primary order",
        submitted_at=datetime(2030, 1, 7, 5, 0, tzinfo=UTC), currency="PKR", total_ordered=ten)
    PrimaryOrderLine.objects.create(distributor=distributor, order=order, line_no=1, sku=sku, ordered_cases=1,
                                    case_price=Decimal("10.0000"), ordered_value=ten,
                                    decision_note=f"{marker} line")
    PrimaryOrderEvent.objects.create(distributor=distributor, order=order, action="transition", from_status="draft",
                                     to_status="submitted", actor_kind="system", actor_label="system",
                                     reason=f"{marker} submitted")
    return order


@pytest.fixture
def victims(cast_a, cast_b) -> dict[str, dict[str, Any]]:
    # tenant B's distributor gets the marker too, so any listing of it is caught
    with tenant_scope(Scope.system(cast_b.tenant.pk)):
        Distributor.objects.filter(pk=cast_b.distributors[0].pk).update(name=f"{OTHER} distributor")
        cast_b.distributors[0].refresh_from_db()
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        Distributor.objects.filter(pk=cast_a.distributors[1].pk).update(name=f"{SIBLING} distributor")
    return {
        OTHER: _mark_objects(cast_b.tenant.pk, cast_b.distributors[0], OTHER),
        SIBLING: _mark_objects(cast_a.tenant.pk, cast_a.distributors[1], SIBLING),
    }


def _principals(cast_a) -> dict[str, tuple[APIClient, str]]:
    """name -> (client, kind). Kinds: manufacturer (sees all A), distributor (sees only A1), device (A1)."""
    out: dict[str, tuple[APIClient, str]] = {}
    for role in (Role.MANUFACTURER_ADMIN, Role.MANUFACTURER_ANALYST):
        c = APIClient()
        c.force_login(cast_a.users[role])
        out[f"session:{role}"] = (c, "manufacturer")
    for role in (Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF, Role.ORDER_BOOKER, Role.DELIVERY_MAN):
        c = APIClient()
        c.force_login(cast_a.users[role])
        out[f"session:{role}"] = (c, "distributor")
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Api-Key {cast_a.api_key_raw}")
    out["api_key"] = (c, "manufacturer")
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {cast_a.device_token}")
    out["device"] = (c, "distributor")
    return out


def _call(client: APIClient, method: str, url: str, query: dict | None = None) -> Any:
    if method == "get":
        return client.get(url, query or {})
    return getattr(client, method)(url, data={"name": "hijacked"}, format="json")


def test_api_matrix_never_leaks_another_tenant_or_sibling_distributor(cast_a, cast_b, victims):
    leaks: list[str] = []
    for principal, (client, kind) in _principals(cast_a).items():
        # markers this principal must never see
        forbidden = [OTHER] + ([SIBLING] if kind == "distributor" else [])
        for name, route in ROUTES.items():
            for method in route.methods:
                for marker in forbidden:
                    if marker == SIBLING and route.victim in TENANT_LEVEL:
                        continue
                    if route.kwarg:
                        obj = victims[marker][route.victim]
                        url = reverse(name, kwargs={route.kwarg: obj.pk})
                    else:
                        url = reverse(name)
                    query = {**dict(route.query), **{k: victims[marker][v].pk for k, v in route.victim_query}}
                    if route.victim_query and method != "get":
                        url = f"{url}?{urlencode(query)}"
                    response = _call(client, method, url, query)
                    body = response.content.decode()
                    if marker in body:
                        leaks.append(f"{principal} {method.upper()} {url}: body shows {marker}")
                    if route.kwarg and response.status_code not in (401, 403, 404):
                        leaks.append(f"{principal} {method.upper()} {url}: {response.status_code}, want 404")
                    if response.status_code >= 400 and "error" not in response.json():
                        leaks.append(f"{principal} {method.upper()} {url}: error body not in the error shape")
    assert leaks == [], "\n".join(leaks)


def test_api_matrix_lets_owners_see_their_own_objects(cast_a, victims):
    """The same matrix from the owner's side, so the 404s above are isolation, not broken routes."""
    principals = _principals(cast_a)
    client, _ = principals[f"session:{Role.MANUFACTURER_ADMIN}"]
    seen = []
    for name, route in ROUTES.items():
        if route.device_only or "get" not in route.methods:
            continue
        owner_side = victims[SIBLING] if route.victim not in TENANT_LEVEL else victims[SIBLING]
        if route.kwarg and owner_side[route.victim] is None:
            continue
        kwargs = {route.kwarg: owner_side[route.victim].pk} if route.kwarg else {}
        query = {**dict(route.query), **{k: owner_side[v].pk for k, v in route.victim_query}}
        response = client.get(reverse(name, kwargs=kwargs), query)
        assert response.status_code == 200, (name, response.status_code, response.content[:300])
        seen.append(name)
    assert len(seen) >= 12
    device_client, _ = principals["device"]
    assert device_client.get(reverse("mobile-profile")).status_code == 200


# --- the admin ---------------------------------------------------------------------------------------

def _admin_victim(model: type, victims: dict[str, Any], cast: Any) -> Any:
    key = {
        "Distributor": "distributor", "Brand": "brand", "Sku": "sku", "Outlet": "outlet",
        "PriceList": "price_list", "TaxRate": "tax_rate", "Scheme": "scheme", "ApiKey": "api_key",
        "Device": "device", "BackgroundJob": "job", "Route": "route", "OptimisationProposal": "proposal",
        "DailyJourney": "journey", "SecondaryOrder": "order", "PrimaryOrder": "primary_order",
        "SyncHealth": "sync_health",
        "Warehouse": "warehouse", "StockBalance": "stock_balance", "StockMovement": "stock_movement",
        "DispatchAdvice": "dispatch_advice", "GoodsReceipt": "goods_receipt", "Allocation": "allocation",
        "Invoice": "invoice", "CreditNote": "credit_note", "Payment": "payment", "Vehicle": "vehicle",
        "LoadForm": "load_form",
        "WebhookEndpoint": "webhook_endpoint", "WebhookDelivery": "webhook_delivery",
        "ReconciliationRun": "reconciliation_run", "ReconciliationException": "reconciliation_exception",
    }.get(model.__name__)
    return victims[key] if key else None


def test_admin_matrix_never_leaks(cast_a, cast_b, victims):
    from django.contrib.auth import get_user_model
    from django.test import Client

    from dms.tenancy.models import Membership, Tenant, TenantSettings

    leaks: list[str] = []
    for role, kind in ((Role.MANUFACTURER_ADMIN, "manufacturer"), (Role.MANUFACTURER_ANALYST, "manufacturer"),
                       (Role.DISTRIBUTOR_ADMIN, "distributor"), (Role.DISTRIBUTOR_STAFF, "distributor")):
        client = Client()
        client.force_login(cast_a.users[role])
        forbidden = [OTHER] + ([SIBLING] if kind == "distributor" else [])
        index = client.get("/admin/")
        assert index.status_code == 200, (role, index.status_code)
        for model, model_admin in admin.site._registry.items():
            opts = model._meta
            changelist = f"/admin/{opts.app_label}/{opts.model_name}/"
            response = client.get(changelist)
            for marker in forbidden:
                if marker in response.content.decode():
                    leaks.append(f"{role} {changelist} shows {marker}")
            for marker in forbidden:
                obj = _admin_victim(model, victims[marker], cast_b)
                if marker == SIBLING and model.__name__.lower() in TENANT_LEVEL_MODELS:
                    obj = None
                if model is TenantSettings:
                    with tenant_scope(Scope.system(cast_b.tenant.pk)):
                        obj = TenantSettings.objects.get()
                elif model is Membership:
                    obj = Membership.objects.filter(tenant=cast_b.tenant).first()
                elif model is Tenant:
                    obj = cast_b.tenant
                elif model is get_user_model():
                    obj = cast_b.users[Role.MANUFACTURER_ADMIN]
                if obj is None:
                    continue
                for suffix in ("change/", "history/", "delete/"):
                    url = f"{changelist}{obj.pk}/{suffix}"
                    r = client.get(url)
                    if r.status_code not in (403, 404):
                        leaks.append(f"{role} {url}: {r.status_code}, want 404")
                    if marker in r.content.decode():
                        leaks.append(f"{role} {url} shows {marker}")
        # autocomplete (a site-level view) is scoped by the same managers
        r = client.get("/admin/autocomplete/", {"app_label": "catalog", "model_name": "pricelistitem",
                                                "field_name": "sku", "term": "VICTIM"})
        for marker in forbidden:
            if marker in r.content.decode():
                leaks.append(f"{role} autocomplete shows {marker}")
    assert leaks == [], "\n".join(leaks)


def test_order_booker_and_delivery_man_have_no_admin(cast_a):
    from django.test import Client

    for role in (Role.ORDER_BOOKER, Role.DELIVERY_MAN):
        client = Client()
        client.force_login(cast_a.users[role])
        response = client.get("/admin/catalog/outlet/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"], role
