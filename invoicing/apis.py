"""The invoicing API (/api/v1/invoicing/): invoices, credit notes, payments and outlet balances.

Distributor admins and staff issue invoices, credit notes and payments; manufacturer admins and analysts and the
manufacturer's API keys read. Another tenant's or distributor's document is a 404, and a document named in a body
(an order, an invoice, an outlet) too. Money is a string, never a float. A PDF is drawn after the request's
transaction has ended (DRF renders the response after the view returns).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from dms.core.api import PAGE_PARAMETERS
from dms.tenancy.api import PdfApi, TenantApi
from dms.tenancy.enums import Role
from dms.tenancy.models import Tenant

from . import pdf, selectors
from .enums import CreditReason, InvoiceStatus, PaymentMethod, PaymentStatus
from .serializers import (
    CreditNoteDetailOutput,
    CreditNoteOutput,
    InvoiceDetailOutput,
    InvoiceOutput,
    IssueOutput,
    OutletBalanceOutput,
    PaymentDetailOutput,
    PaymentOutput,
)
from .services import (
    MAX_ORDERS,
    credit_note_issue,
    invoice_batch_start,
    invoice_issue_many,
    payment_record,
)

WRITERS = frozenset({Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF})
READERS = WRITERS | {Role.MANUFACTURER_ADMIN, Role.MANUFACTURER_ANALYST, Role.MANUFACTURER_SYSTEM}

DATES = [OpenApiParameter("date_from", OpenApiTypes.DATE, description="on or after"),
         OpenApiParameter("date_to", OpenApiTypes.DATE, description="on or before")]


def _today(api: TenantApi) -> Any:
    return timezone.now().astimezone(Tenant.objects.get(pk=api.scope.tenant_id).tz).date()


# --- invoices --------------------------------------------------------------------------------------------------

class InvoiceFilter(serializers.Serializer):
    distributor = serializers.IntegerField(required=False, source="distributor_id")
    outlet = serializers.IntegerField(required=False, source="outlet_id")
    order = serializers.IntegerField(required=False, source="order_id")
    status = serializers.ChoiceField(choices=InvoiceStatus.choices, required=False)
    payment_status = serializers.ChoiceField(choices=PaymentStatus.choices, required=False)
    date = serializers.DateField(required=False, help_text="the invoice date")
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)


class IssueInput(serializers.Serializer):
    order_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False,
                                      max_length=MAX_ORDERS)


class InvoiceListApi(TenantApi):
    """GET: invoices the caller may see, newest first. POST: invoice allocated orders, a result per order (already
    invoiced orders answer their invoice; one refused order never blocks the others)."""

    required_roles = READERS

    @extend_schema(parameters=[
        OpenApiParameter("distributor", OpenApiTypes.INT), OpenApiParameter("outlet", OpenApiTypes.INT),
        OpenApiParameter("order", OpenApiTypes.INT),
        OpenApiParameter("status", OpenApiTypes.STR, enum=InvoiceStatus.values),
        OpenApiParameter("payment_status", OpenApiTypes.STR, enum=PaymentStatus.values),
        OpenApiParameter("date", OpenApiTypes.DATE, description="the invoice date"), *DATES, *PAGE_PARAMETERS,
    ], responses=InvoiceOutput(many=True))
    def get(self, request: Request) -> Response:
        data = self.validated(InvoiceFilter, request.query_params)
        day = data.pop("date", None)
        if day is not None:
            data["date_from"] = data["date_to"] = day
        return self.paginate(selectors.invoice_list(scope=self.scope, **data), InvoiceOutput)

    @extend_schema(request=IssueInput, responses=IssueOutput)
    def post(self, request: Request) -> Response:
        self.require_role(WRITERS, "issue invoices")
        data = self.validated(IssueInput, request.data)
        results = invoice_issue_many(scope=self.scope, order_ids=data["order_ids"])
        return Response(IssueOutput({
            "invoiced": sum(1 for r in results if r.ok and r.created),
            "already_invoiced": sum(1 for r in results if r.ok and not r.created),
            "refused": sum(1 for r in results if not r.ok), "results": results}).data)


class InvoiceDetailApi(TenantApi):
    """An invoice with its lines, the credit notes against it and the payments allocated to it."""

    required_roles = READERS

    @extend_schema(responses=InvoiceDetailOutput)
    def get(self, request: Request, invoice_id: int) -> Response:
        return Response(InvoiceDetailOutput(selectors.invoice_get(scope=self.scope, pk=invoice_id)).data)


class InvoicePdfApi(PdfApi):
    """The printable invoice."""

    required_roles = READERS

    @extend_schema(responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request: Request, invoice_id: int) -> Response:
        document = selectors.invoice_document(scope=self.scope, pk=invoice_id)
        return self.pdf_response(request, partial(pdf.render, document), filename=document.filename)


class BatchInput(serializers.Serializer):
    distributor_id = serializers.IntegerField(required=False, help_text="needed only by a user of several")
    date = serializers.DateField(required=False, allow_null=True,
                                 help_text="invoice the orders booked on this day; none: every allocated order")


class InvoiceBatchApi(TenantApi):
    """Invoice a day's allocated orders in the background: 202 with the job to poll at /api/v1/jobs/<id>/."""

    required_roles = WRITERS

    @extend_schema(request=BatchInput, responses={202: OpenApiResponse(description="the job (see job-detail)")})
    def post(self, request: Request) -> Response:
        from dms.tenancy.apis import JobOutput
        from dms.tenancy.jobs import job_progress

        data = self.validated(BatchInput, request.data)
        distributor_id = data.get("distributor_id") or self.scope.single_distributor_id
        if distributor_id is None:
            raise serializers.ValidationError({"distributor_id": ["Name the distributor."]})
        job = invoice_batch_start(scope=self.scope, distributor_id=distributor_id, date=data.get("date"))
        return Response(JobOutput(job_progress(job)).data, status=status.HTTP_202_ACCEPTED)


# --- credit notes ----------------------------------------------------------------------------------------------

class CreditLineInput(serializers.Serializer):
    invoice_line_id = serializers.IntegerField(min_value=1)
    qty_units = serializers.IntegerField(min_value=1)


class CreditNoteInput(serializers.Serializer):
    invoice_id = serializers.IntegerField(min_value=1)
    reason = serializers.ChoiceField(choices=CreditReason.choices)
    reason_text = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
    restock = serializers.ChoiceField(choices=[("saleable", "saleable"), ("damaged", "damaged"), ("", "none")],
                                      required=False, allow_blank=True, default="",
                                      help_text='goods back: "saleable" into stock, "damaged" in and written off')
    lines = CreditLineInput(many=True, allow_empty=False)


class CreditNoteFilter(serializers.Serializer):
    distributor = serializers.IntegerField(required=False, source="distributor_id")
    outlet = serializers.IntegerField(required=False, source="outlet_id")
    invoice = serializers.IntegerField(required=False, source="invoice_id")
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)


class CreditNoteListApi(TenantApi):
    """GET: credit notes, newest first. POST: credit units of an invoice's lines (never more than is left of a line
    or of the invoice); 201 with the note."""

    required_roles = READERS

    @extend_schema(parameters=[OpenApiParameter("distributor", OpenApiTypes.INT),
                               OpenApiParameter("outlet", OpenApiTypes.INT),
                               OpenApiParameter("invoice", OpenApiTypes.INT), *DATES, *PAGE_PARAMETERS],
                   responses=CreditNoteOutput(many=True))
    def get(self, request: Request) -> Response:
        data = self.validated(CreditNoteFilter, request.query_params)
        return self.paginate(selectors.credit_note_list(scope=self.scope, **data), CreditNoteOutput)

    @extend_schema(request=CreditNoteInput, responses={201: CreditNoteDetailOutput})
    def post(self, request: Request) -> Response:
        self.require_role(WRITERS, "issue credit notes")
        data = self.validated(CreditNoteInput, request.data)
        note = credit_note_issue(scope=self.scope, invoice_id=data["invoice_id"], reason=data["reason"],
                                 reason_text=data["reason_text"], restock=data["restock"],
                                 lines=[(line["invoice_line_id"], line["qty_units"]) for line in data["lines"]])
        return Response(CreditNoteDetailOutput(selectors.credit_note_get(scope=self.scope, pk=note.pk)).data,
                        status=status.HTTP_201_CREATED)


class CreditNoteDetailApi(TenantApi):
    required_roles = READERS

    @extend_schema(responses=CreditNoteDetailOutput)
    def get(self, request: Request, credit_note_id: int) -> Response:
        return Response(CreditNoteDetailOutput(selectors.credit_note_get(scope=self.scope, pk=credit_note_id)).data)


class CreditNotePdfApi(PdfApi):
    """The printable credit note."""

    required_roles = READERS

    @extend_schema(responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request: Request, credit_note_id: int) -> Response:
        document = selectors.credit_note_document(scope=self.scope, pk=credit_note_id)
        return self.pdf_response(request, partial(pdf.render, document), filename=document.filename)


# --- payments --------------------------------------------------------------------------------------------------

class PaymentInput(serializers.Serializer):
    outlet_id = serializers.IntegerField(min_value=1)
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, min_value=0, help_text="a decimal string")
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    received_on = serializers.DateField()
    reference = serializers.CharField(required=False, allow_blank=True, max_length=60, default="")
    idempotency_key = serializers.CharField(max_length=64, help_text="the client's key: the same key and content "
                                                                     "again returns the first payment")
    load_form_id = serializers.IntegerField(required=False, allow_null=True, default=None)


class PaymentFilter(serializers.Serializer):
    distributor = serializers.IntegerField(required=False, source="distributor_id")
    outlet = serializers.IntegerField(required=False, source="outlet_id")
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)


class PaymentListApi(TenantApi):
    """GET: payments, newest first. POST: record a payment, allocated to the outlet's open invoices oldest first;
    201, or 200 with `Idempotent-Replayed: true` for a retry of the same key and content (other content: 409)."""

    required_roles = READERS

    @extend_schema(parameters=[OpenApiParameter("distributor", OpenApiTypes.INT),
                               OpenApiParameter("outlet", OpenApiTypes.INT), *DATES, *PAGE_PARAMETERS],
                   responses=PaymentOutput(many=True))
    def get(self, request: Request) -> Response:
        data = self.validated(PaymentFilter, request.query_params)
        return self.paginate(selectors.payment_list(scope=self.scope, **data), PaymentOutput)

    @extend_schema(request=PaymentInput, responses={201: PaymentDetailOutput, 200: PaymentDetailOutput})
    def post(self, request: Request) -> Response:
        self.require_role(WRITERS, "record payments")
        started = timezone.now()
        data = self.validated(PaymentInput, request.data)
        payment = payment_record(scope=self.scope, **data)
        body = PaymentDetailOutput(selectors.payment_get(scope=self.scope, pk=payment.pk)).data
        if payment.created_at < started:  # recorded by an earlier request: this one is a retry
            return Response(body, headers={"Idempotent-Replayed": "true"})
        return Response(body, status=status.HTTP_201_CREATED)


class PaymentDetailApi(TenantApi):
    required_roles = READERS

    @extend_schema(responses=PaymentDetailOutput)
    def get(self, request: Request, payment_id: int) -> Response:
        return Response(PaymentDetailOutput(selectors.payment_get(scope=self.scope, pk=payment_id)).data)


# --- outlet balance --------------------------------------------------------------------------------------------

class BalanceFilter(serializers.Serializer):
    on_date = serializers.DateField(required=False, help_text="age invoices to this day (default: today)")


class OutletBalanceApi(TenantApi):
    """An outlet's open invoices, credit notes, payments, money on account and ageing (0-30, 31-60, 61-90, 90+
    days since the invoice date)."""

    required_roles = READERS

    @extend_schema(parameters=[OpenApiParameter("on_date", OpenApiTypes.DATE)], responses=OutletBalanceOutput)
    def get(self, request: Request, outlet_id: int) -> Response:
        data = self.validated(BalanceFilter, request.query_params)
        balance = selectors.outlet_balance(scope=self.scope, outlet_id=outlet_id,
                                           on_date=data.get("on_date") or _today(self))
        return Response(OutletBalanceOutput(balance).data)
