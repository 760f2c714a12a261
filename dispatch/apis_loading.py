"""The vehicle and load-form APIs (/api/v1/dispatch/vehicles/, /api/v1/dispatch/load-forms/).

Distributor admins and staff (and the manufacturer's admin, for any distributor) keep vehicles, make, plan, load,
send out and settle load forms; manufacturer analysts read. A delivery man reads his own load forms and records
their deliveries and collections; any other load form is "not found" to him. Another tenant's or distributor's
vehicle or load form is a 404; views that take one look it up before they read the body, so a stranger learns
nothing from a validation error either. Money, weights and volumes are strings, never floats. The PDF is drawn
after the request's transaction has ended (DRF renders the response after the view returns).
"""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from dms.core.api import PAGE_PARAMETERS, choice_field
from dms.tenancy.api import PdfApi, TenantApi
from dms.tenancy.enums import Role

from . import pdf
from . import selectors_loading as sel
from .enums import CollectionMethod, DeliveryOutcome, LoadFormStatus, Restock
from .serializers_loading import (
    CollectionOutput,
    LoadFormDetailOutput,
    LoadFormOutput,
    LoadFormStopOutput,
    PickListOutput,
    VehicleOutput,
)
from .services import (
    cash_record,
    delivery_record,
    load_form_assign,
    load_form_cancel,
    load_form_create,
    load_form_depart,
    load_form_mark_loaded,
    load_form_settle,
    load_forms_plan_start,
    vehicle_create,
    vehicle_update,
)

WRITERS = frozenset({Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF, Role.MANUFACTURER_ADMIN})
VEHICLE_READERS = WRITERS | {Role.MANUFACTURER_ANALYST}
READERS = VEHICLE_READERS | {Role.DELIVERY_MAN}
RECORDERS = WRITERS | {Role.DELIVERY_MAN}


def _detail(api: TenantApi, load_form_id: int, code: int = status.HTTP_200_OK) -> Response:
    return Response(LoadFormDetailOutput(sel.load_form_get(scope=api.scope, pk=load_form_id)).data, status=code)


# --- vehicles ---------------------------------------------------------------------------------------------------

class VehicleFilter(serializers.Serializer):
    distributor = serializers.IntegerField(required=False, source="distributor_id")
    active = serializers.BooleanField(required=False, allow_null=True, default=None)


class VehicleInput(serializers.Serializer):
    distributor_id = serializers.IntegerField(required=False, allow_null=True, default=None,
                                              help_text="needed only by a user of several distributors")
    code = serializers.CharField(max_length=30)
    registration = serializers.CharField(max_length=30)
    capacity_weight_kg = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=0)
    capacity_volume_l = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=0)
    capacity_cases = serializers.IntegerField(min_value=1)
    shift_start = serializers.TimeField(required=False, help_text="when it may leave (08:00 when omitted)")
    shift_end = serializers.TimeField(required=False, help_text="when it must be back (20:00 when omitted)")
    active = serializers.BooleanField(required=False, default=True)


class VehicleUpdateInput(serializers.Serializer):
    code = serializers.CharField(max_length=30, required=False)
    registration = serializers.CharField(max_length=30, required=False)
    capacity_weight_kg = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=0, required=False)
    capacity_volume_l = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=0, required=False)
    capacity_cases = serializers.IntegerField(min_value=1, required=False)
    shift_start = serializers.TimeField(required=False)
    shift_end = serializers.TimeField(required=False)
    active = serializers.BooleanField(required=False)


class VehicleListApi(TenantApi):
    """GET: the caller's vehicles, by code. POST: a new vehicle with its capacity in kg, litres and cases."""

    required_roles = VEHICLE_READERS

    @extend_schema(parameters=[OpenApiParameter("distributor", OpenApiTypes.INT),
                               OpenApiParameter("active", OpenApiTypes.BOOL), *PAGE_PARAMETERS],
                   responses=VehicleOutput(many=True))
    def get(self, request: Request) -> Response:
        data = self.validated(VehicleFilter, request.query_params)
        return self.paginate(sel.vehicle_list(scope=self.scope, **data), VehicleOutput)

    @extend_schema(request=VehicleInput, responses={201: VehicleOutput})
    def post(self, request: Request) -> Response:
        self.require_role(WRITERS, "keep vehicles")
        data = self.validated(VehicleInput, request.data)
        vehicle = vehicle_create(scope=self.scope, **data)
        return Response(VehicleOutput(sel.vehicle_get(scope=self.scope, pk=vehicle.pk)).data,
                        status=status.HTTP_201_CREATED)


class VehicleDetailApi(TenantApi):
    """GET: a vehicle. PATCH: change its code, registration, capacity, shift or active flag."""

    required_roles = VEHICLE_READERS

    @extend_schema(responses=VehicleOutput)
    def get(self, request: Request, vehicle_id: int) -> Response:
        return Response(VehicleOutput(sel.vehicle_get(scope=self.scope, pk=vehicle_id)).data)

    @extend_schema(request=VehicleUpdateInput, responses=VehicleOutput)
    def patch(self, request: Request, vehicle_id: int) -> Response:
        sel.vehicle_get(scope=self.scope, pk=vehicle_id)
        self.require_role(WRITERS, "keep vehicles")
        data = self.validated(VehicleUpdateInput, request.data)
        vehicle_update(scope=self.scope, vehicle_id=vehicle_id, **data)
        return Response(VehicleOutput(sel.vehicle_get(scope=self.scope, pk=vehicle_id)).data)


# --- load forms -------------------------------------------------------------------------------------------------

class LoadFormFilter(serializers.Serializer):
    distributor = serializers.IntegerField(required=False, source="distributor_id")
    vehicle = serializers.IntegerField(required=False, source="vehicle_id")
    date = serializers.DateField(required=False)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    status = serializers.MultipleChoiceField(choices=LoadFormStatus.choices, required=False)


class LoadFormCreateInput(serializers.Serializer):
    date = serializers.DateField(help_text="the delivery day")
    vehicle_id = serializers.IntegerField(min_value=1)
    invoice_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False,
                                        help_text="issued invoices; the planner orders them")
    delivery_man_id = serializers.IntegerField(required=False, allow_null=True, default=None)
    note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class LoadFormListApi(TenantApi):
    """GET: load forms the caller may see, newest day first (a delivery man's own). POST: a planned load form of
    issued invoices on one vehicle for a day, in the delivery-trip planner's sequence; refused over capacity with
    the figures ("2,140.5 kg > 2,000 kg capacity"), 409 for an invoice that cannot be loaded or a vehicle booked."""

    required_roles = READERS

    @extend_schema(parameters=[
        OpenApiParameter("distributor", OpenApiTypes.INT), OpenApiParameter("vehicle", OpenApiTypes.INT),
        OpenApiParameter("date", OpenApiTypes.DATE, description="the delivery day"),
        OpenApiParameter("date_from", OpenApiTypes.DATE), OpenApiParameter("date_to", OpenApiTypes.DATE),
        OpenApiParameter("status", OpenApiTypes.STR, many=True, enum=LoadFormStatus.values,
                         description="one or more statuses (repeat the parameter)"), *PAGE_PARAMETERS,
    ], responses=LoadFormOutput(many=True))
    def get(self, request: Request) -> Response:
        params: dict[str, Any] = {k: v for k, v in request.query_params.items() if k != "status"}
        if request.query_params.getlist("status"):
            params["status"] = request.query_params.getlist("status")
        data = self.validated(LoadFormFilter, params)
        day = data.pop("date", None)
        if day is not None:
            data["date_from"] = data["date_to"] = day
        statuses = sorted(data.pop("status", None) or [])
        return self.paginate(sel.load_form_list(scope=self.scope, statuses=statuses, **data), LoadFormOutput)

    @extend_schema(request=LoadFormCreateInput, responses={201: LoadFormDetailOutput})
    def post(self, request: Request) -> Response:
        self.require_role(WRITERS, "make load forms")
        data = self.validated(LoadFormCreateInput, request.data)
        load_form = load_form_create(scope=self.scope, **data)
        return _detail(self, load_form.pk, status.HTTP_201_CREATED)


class LoadFormPlanInput(serializers.Serializer):
    date = serializers.DateField(help_text="the delivery day")
    vehicle_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False)
    invoice_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, allow_null=True,
                                        default=None, help_text="none: every invoice waiting for the day")
    time_limit = serializers.FloatField(required=False, default=5.0, help_text="seconds the planner may search")
    seed = serializers.IntegerField(required=False, default=0)


class LoadFormPlanApi(TenantApi):
    """Split a day's invoices across vehicles in the background: 202 with a job to poll at /api/v1/jobs/<id>/; its
    result lists the planned load forms written and the invoices dropped with the planner's reason."""

    required_roles = WRITERS

    @extend_schema(request=LoadFormPlanInput, responses={202: OpenApiResponse(description="the job (see job-detail)")})
    def post(self, request: Request) -> Response:
        from dms.tenancy.apis import JobOutput
        from dms.tenancy.jobs import job_progress

        data = self.validated(LoadFormPlanInput, request.data)
        job = load_forms_plan_start(scope=self.scope, **data)
        return Response(JobOutput(job_progress(job)).data, status=status.HTTP_202_ACCEPTED)


class LoadFormAssignInput(serializers.Serializer):
    delivery_man_id = serializers.IntegerField(allow_null=True, help_text="null clears it")


class LoadFormDetailApi(TenantApi):
    """GET: a load form with its invoices in delivery sequence (and, once delivered, outcomes, lines, credit notes)
    and its events. PATCH: name its delivery man before it leaves."""

    required_roles = READERS

    @extend_schema(responses=LoadFormDetailOutput)
    def get(self, request: Request, load_form_id: int) -> Response:
        return _detail(self, load_form_id)

    @extend_schema(request=LoadFormAssignInput, responses=LoadFormDetailOutput)
    def patch(self, request: Request, load_form_id: int) -> Response:
        sel.load_form_visible(scope=self.scope, pk=load_form_id)
        self.require_role(WRITERS, "assign delivery men")
        data = self.validated(LoadFormAssignInput, request.data)
        load_form_assign(scope=self.scope, load_form_id=load_form_id, **data)
        return _detail(self, load_form_id)


class LoadFormPickListApi(TenantApi):
    """The SKUs to pick in cases and loose units, and the loading order (reverse delivery sequence)."""

    required_roles = READERS

    @extend_schema(responses=PickListOutput)
    def get(self, request: Request, load_form_id: int) -> Response:
        return Response(PickListOutput(sel.load_form_pick_list(scope=self.scope, load_form_id=load_form_id)).data)


class LoadFormPdfApi(PdfApi):
    """The printable load form: the delivery sequence, the pick list and the loading order. Errors keep the JSON
    error shape."""

    required_roles = READERS

    @extend_schema(responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request: Request, load_form_id: int) -> Response:
        document = sel.load_form_document(scope=self.scope, pk=load_form_id)
        return self.pdf_response(request, partial(pdf.render, document), filename=document.number)


class LoadFormReasonInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class LoadFormCancelInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class _TransitionApi(TenantApi):
    required_roles = WRITERS
    input_class: type[serializers.Serializer] = LoadFormReasonInput
    what = ""

    def act(self, load_form_id: int, reason: str) -> Any:
        raise NotImplementedError

    def post(self, request: Request, load_form_id: int) -> Response:
        sel.load_form_visible(scope=self.scope, pk=load_form_id)
        data = self.validated(self.input_class, request.data)
        self.act(load_form_id, data["reason"])
        return _detail(self, load_form_id)


class LoadFormLoadedApi(_TransitionApi):
    """Planned -> loaded: the invoiced stock leaves the warehouse and the orders become loaded. A loaded load form
    answers as it is; an invoice no longer loadable is a 409."""

    @extend_schema(request=LoadFormReasonInput, responses=LoadFormDetailOutput)
    def post(self, request: Request, load_form_id: int) -> Response:
        return super().post(request, load_form_id)

    def act(self, load_form_id: int, reason: str) -> Any:
        return load_form_mark_loaded(scope=self.scope, load_form_id=load_form_id, reason=reason)


class LoadFormDepartApi(_TransitionApi):
    """Loaded -> out_for_delivery: the vehicle has left."""

    @extend_schema(request=LoadFormReasonInput, responses=LoadFormDetailOutput)
    def post(self, request: Request, load_form_id: int) -> Response:
        return super().post(request, load_form_id)

    def act(self, load_form_id: int, reason: str) -> Any:
        return load_form_depart(scope=self.scope, load_form_id=load_form_id, reason=reason)


class LoadFormCancelApi(_TransitionApi):
    """Planned -> cancelled, with the reason: its invoices are free for another load form."""

    input_class = LoadFormCancelInput

    @extend_schema(request=LoadFormCancelInput, responses=LoadFormDetailOutput)
    def post(self, request: Request, load_form_id: int) -> Response:
        return super().post(request, load_form_id)

    def act(self, load_form_id: int, reason: str) -> Any:
        return load_form_cancel(scope=self.scope, load_form_id=load_form_id, reason=reason)


RECORDED = [c for c in DeliveryOutcome.choices if c[0] != DeliveryOutcome.PENDING]


# Named enum components (the field names "outcome", "restock" and "method" are used with other choices elsewhere).
RecordedOutcomeField = choice_field(RECORDED, "RecordedOutcomeEnum")
RestockField = choice_field(Restock.choices, "LoadFormRestockEnum")
CollectionMethodField = choice_field(CollectionMethod.choices, "CollectionMethodEnum")


class DeliveredLineInput(serializers.Serializer):
    invoice_line_id = serializers.IntegerField(min_value=1)
    delivered_units = serializers.IntegerField(min_value=0)


class DeliveryInput(serializers.Serializer):
    invoice_id = serializers.IntegerField(min_value=1)
    outcome = RecordedOutcomeField()
    lines = DeliveredLineInput(many=True, required=False, default=list,
                               help_text="partially delivered: the lines not delivered in full")
    return_reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
    restock = RestockField(required=False, default=Restock.SALEABLE,
                          help_text="what comes back: saleable (into stock), damaged (written off), none")


class LoadFormDeliveryApi(TenantApi):
    """Record one invoice's outcome: delivered, partially delivered (the units delivered of the lines short) or
    returned (with the reason). What came back is credited (a credit note) and restocked as `restock` says; the same
    record again answers as it is, another outcome is a 409."""

    required_roles = RECORDERS

    @extend_schema(request=DeliveryInput, responses=LoadFormStopOutput)
    def post(self, request: Request, load_form_id: int) -> Response:
        sel.load_form_visible(scope=self.scope, pk=load_form_id)
        data = self.validated(DeliveryInput, request.data)
        lines = [(line["invoice_line_id"], line["delivered_units"]) for line in data.pop("lines")]
        stop = delivery_record(scope=self.scope, load_form_id=load_form_id, lines=lines, **data)
        fresh = next(s for s in sel.load_form_get(scope=self.scope, pk=load_form_id).stops.all() if s.pk == stop.pk)
        return Response(LoadFormStopOutput(fresh).data)


class CashInput(serializers.Serializer):
    outlet_id = serializers.IntegerField(min_value=1)
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, min_value=0,
                                      help_text="a decimal string, e.g. \"1250.00\"")
    method = CollectionMethodField()
    reference = serializers.CharField(required=False, allow_blank=True, max_length=60, default="",
                                      help_text="the cheque's number (required for a cheque)")
    idempotency_key = serializers.CharField(required=False, max_length=64,
                                            help_text="or the Idempotency-Key header: a retry records nothing new")


class CashOutput(serializers.Serializer):
    payment = CollectionOutput()
    load_form = LoadFormOutput()


class LoadFormCashApi(TenantApi):
    """Record cash or a cheque collected from an outlet of the round; it is allocated to the outlet's open invoices,
    oldest first. 201 with the payment and the load form's figures; the same key again answers the same payment."""

    required_roles = RECORDERS

    @extend_schema(request=CashInput, responses={201: CashOutput}, parameters=[
        OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, location=OpenApiParameter.HEADER, required=False)])
    def post(self, request: Request, load_form_id: int) -> Response:
        sel.load_form_visible(scope=self.scope, pk=load_form_id)
        data = self.validated(CashInput, request.data)
        key = data.pop("idempotency_key", None) or request.headers.get("Idempotency-Key", "")
        if not key:
            raise serializers.ValidationError({"idempotency_key": ["Give an idempotency key (or the header)."]})
        payment = cash_record(scope=self.scope, load_form_id=load_form_id, idempotency_key=key, **data)
        return Response(CashOutput({"payment": payment,
                                    "load_form": sel.load_form_visible(scope=self.scope, pk=load_form_id)}).data,
                        status=status.HTTP_201_CREATED)


class SettleInput(serializers.Serializer):
    counted_cash = serializers.DecimalField(max_digits=18, decimal_places=2, min_value=0)
    counted_cheques = serializers.DecimalField(max_digits=18, decimal_places=2, min_value=0, required=False,
                                               default=Decimal("0.00"))
    on_account_invoice_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False,
                                                   default=list, help_text="invoices left on the outlet's account")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class LoadFormSettleApi(TenantApi):
    """Out_for_delivery -> settled, with the cash and cheques handed in. A 409 (not_settled) lists every difference
    in `error.differences` (invoices not accounted for, collected less than expected, counts that differ from what
    was recorded, per method) and `error.figures`; nothing is written then."""

    required_roles = WRITERS

    @extend_schema(request=SettleInput, responses=LoadFormDetailOutput)
    def post(self, request: Request, load_form_id: int) -> Response:
        sel.load_form_visible(scope=self.scope, pk=load_form_id)
        data = self.validated(SettleInput, request.data)
        load_form_settle(scope=self.scope, load_form_id=load_form_id, **data)
        return _detail(self, load_form_id)
