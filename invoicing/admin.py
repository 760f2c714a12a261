"""The invoicing admin: invoices and credit notes as read-only documents (lines, credit notes, payments; "Print PDF"),
payments, number series; and the pages that act, each one service call under request.scope:

- "Invoice a day's allocated orders" (invoice_batch_start), then the job's page, which refreshes itself while the
  job runs and lists what it invoiced and refused;
- "Credit note" on an invoice: units per line (at most what is left), reason, stock back (credit_note_issue);
- "Record a payment" (payment_record; the form carries its idempotency key, so a second click records nothing);
- "Outlet balance": open invoices by age, credit notes, payments, money on account (outlet_balance).

Distributor admins and staff act; manufacturer admins and analysts read. Querysets come from the scoped managers,
so another tenant's or distributor's document is a 404. A PDF is drawn while the response is sent, after the
request's tenant transaction has ended.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from dms.core.errors import DomainError
from dms.core.pdf import streamed_response
from dms.tenancy.admin_base import DistributorOwnedAdmin, RoleInline, request_role
from dms.tenancy.enums import Role
from dms.tenancy.jobs import job_progress
from dms.tenancy.scope import Scope
from dms.tenancy.selectors import job_list, tenant_get

from . import pdf, selectors
from .admin_forms import BalanceForm, BatchForm, CreditNoteForm, PaymentForm, place_errors
from .models import CreditNote, CreditNoteLine, Invoice, InvoiceLine, NumberSeries, Payment, PaymentAllocation
from .services import BATCH_KIND, credit_note_issue, invoice_batch_start, payment_record

WRITERS = frozenset({Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF})
READ_ONLY: frozenset[Role] = frozenset()


def _scope(request: HttpRequest) -> Scope:
    return request.scope  # type: ignore[attr-defined,no-any-return]


def _may_write(request: HttpRequest) -> bool:
    return request_role(request) in WRITERS


def _writer(request: HttpRequest) -> Scope:
    if not _may_write(request):
        raise PermissionDenied
    return _scope(request)


def _today(scope: Scope) -> date:
    return timezone.now().astimezone(tenant_get(scope=scope).tz).date()


def _not_found(exc: DomainError) -> None:
    if exc.status_code == 404:
        raise Http404(exc.message) from exc
    if exc.status_code == 403:
        raise PermissionDenied(exc.message) from exc


def pdf_response(document: pdf.Document) -> StreamingHttpResponse:
    """The document's PDF, drawn when the server sends the body: after the tenant middleware's transaction."""
    return streamed_response(partial(pdf.render, document), filename=document.filename)


def _page(admin_obj: admin.ModelAdmin, request: HttpRequest, template: str, title: str,
          **context: Any) -> TemplateResponse:
    return TemplateResponse(request, f"admin/invoicing/{template}", {
        **admin_obj.admin_site.each_context(request), "opts": admin_obj.opts, "title": title, **context})


# --- inlines (read-only: documents never change) -----------------------------------------------------------------

class InvoiceLineInline(RoleInline):
    model = InvoiceLine
    ordering = ["line_no"]
    fields = readonly_fields = ("line_no", "sku", "cases", "units", "qty_units", "case_price", "gross", "discount",
                                "tax_rate", "tax", "total", "is_free", "booked_case_price", "booked_qty_units")
    verbose_name_plural = "lines (free goods marked; booked price and quantity kept beside the invoiced ones)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("sku")


class CreditNoteInline(RoleInline):
    model = CreditNote
    ordering = ["issued_at", "id"]
    fields = readonly_fields = ("note", "note_date", "reason", "reason_text", "restock", "total")
    verbose_name_plural = "credit notes"

    @admin.display(description="credit note")
    def note(self, obj: CreditNote) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:invoicing_creditnote_change", args=[obj.pk]),
                           obj.number_text)


class InvoicePaymentInline(RoleInline):
    model = PaymentAllocation
    fk_name = "invoice"
    ordering = ["payment__received_on", "id"]
    fields = readonly_fields = ("payment_link", "received_on", "amount")
    verbose_name_plural = "payments allocated"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("payment")

    @admin.display(description="payment")
    def payment_link(self, obj: PaymentAllocation) -> str:
        return format_html('<a href="{}">{} {}</a>', reverse("admin:invoicing_payment_change", args=[obj.payment_id]),
                           obj.payment.get_method_display(), obj.payment.reference or f"#{obj.payment_id}")

    @admin.display(description="received on")
    def received_on(self, obj: PaymentAllocation) -> date:
        return obj.payment.received_on


class CreditNoteLineInline(RoleInline):
    model = CreditNoteLine
    ordering = ["line_no"]
    fields = readonly_fields = ("line_no", "invoice_line", "sku", "qty_units", "gross", "discount", "tax", "total")
    verbose_name_plural = "lines"


class PaymentAllocationInline(RoleInline):
    model = PaymentAllocation
    fk_name = "payment"
    fields = readonly_fields = ("invoice", "amount")
    verbose_name_plural = "allocated to invoices (oldest first)"


# --- invoices ----------------------------------------------------------------------------------------------------

INVOICE_FIELDS = ("number_text", "order", "outlet", "invoice_date", "issued_at", "priced_on", "currency", "gross",
                  "discount", "tax", "total", "booked_total", "credited_amount", "paid_amount", "balance", "status",
                  "payment_status", "issued_by")


@admin.register(Invoice)
class InvoiceAdmin(DistributorOwnedAdmin):
    edit_roles = READ_ONLY
    list_display = ["number_text", "invoice_date", "outlet", "total", "credited_amount", "paid_amount", "balance",
                    "status", "payment_status", "pdf_link"]
    list_filter = ["status", "payment_status", ("invoice_date", admin.DateFieldListFilter)]
    search_fields = ["number_text", "outlet__code", "outlet__name"]
    list_select_related = ["outlet"]
    date_hierarchy = "invoice_date"
    fields = INVOICE_FIELDS
    readonly_fields = INVOICE_FIELDS
    inlines = [InvoiceLineInline, CreditNoteInline, InvoicePaymentInline]
    change_list_template = "admin/invoicing/invoice/change_list.html"
    change_form_template = "admin/invoicing/invoice/change_form.html"

    @admin.display(description="balance")
    def balance(self, obj: Invoice) -> Any:
        return obj.balance

    @admin.display(description="PDF")
    def pdf_link(self, obj: Invoice) -> str:
        return format_html('<a href="{}">Print PDF</a>', reverse("admin:invoicing_invoice_pdf", args=[obj.pk]))

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        return super().changelist_view(request, {**(extra_context or {}), "may_write": _may_write(request)})

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], add: bool = False,
                           change: bool = False, form_url: str = "", obj: Any = None) -> Any:
        context["may_write"] = _may_write(request)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("batch/", wrap(self.batch_view), name="invoicing_invoice_batch"),
            path("batch/<int:job_id>/", wrap(self.batch_job_view), name="invoicing_invoice_batch_job"),
            path("balance/", wrap(self.balance_view), name="invoicing_invoice_balance"),
            path("<int:invoice_id>/pdf/", wrap(self.pdf_view), name="invoicing_invoice_pdf"),
            path("<int:invoice_id>/credit-note/", wrap(self.credit_note_view), name="invoicing_invoice_credit_note"),
            *super().get_urls(),
        ]

    def pdf_view(self, request: HttpRequest, invoice_id: int) -> HttpResponseBase:
        try:
            return pdf_response(selectors.invoice_document(scope=_scope(request), pk=invoice_id))
        except DomainError as exc:
            _not_found(exc)
            raise

    def credit_note_view(self, request: HttpRequest, invoice_id: int) -> HttpResponse:
        """Units to credit per line, the reason and the stock; POST issues the note and opens it."""
        scope = _writer(request)
        try:
            invoice = selectors.invoice_get(scope=scope, pk=invoice_id)
        except DomainError as exc:
            _not_found(exc)
            raise
        lines = list(invoice.lines.all())
        form = CreditNoteForm(request.POST if request.method == "POST" else None, lines=lines,
                              credited=selectors.invoice_line_credited(scope=scope, invoice_id=invoice.pk))
        if form.is_bound and form.is_valid():
            try:
                note = credit_note_issue(scope=scope, invoice_id=invoice.pk, reason=form.cleaned_data["reason"],
                                         lines=form.credit_lines(), restock=form.cleaned_data.get("restock") or "",
                                         reason_text=form.cleaned_data.get("reason_text") or "")
            except DomainError as exc:
                _not_found(exc)
                place_errors(form, exc, form.error_aliases())
            else:
                self.message_user(request, f"Credit note {note.number_text} issued: {note.total} {note.currency}.",
                                  messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:invoicing_creditnote_change", args=[note.pk]))
        return _page(self, request, "credit_note_form.html", f"Credit note on {invoice.number_text}",
                     invoice=invoice, form=form,
                     back=reverse("admin:invoicing_invoice_change", args=[invoice.pk]))

    def batch_view(self, request: HttpRequest) -> HttpResponse:
        """A day to invoice; POST starts the batch job and opens its page."""
        scope = _writer(request)
        form = BatchForm(request.POST if request.method == "POST" else None, scope=scope,
                         initial={"date": _today(scope)})
        if form.is_bound and form.is_valid():
            distributor_id = int(form.cleaned_data.get("distributor") or scope.single_distributor_id or 0)
            try:
                job = invoice_batch_start(scope=scope, distributor_id=distributor_id, date=form.cleaned_data["date"])
            except DomainError as exc:
                _not_found(exc)
                place_errors(form, exc, {"distributor_id": "distributor"})
            else:
                return HttpResponseRedirect(reverse("admin:invoicing_invoice_batch_job", args=[job.pk]))
        recent = job_list(scope=scope).filter(kind=BATCH_KIND).order_by("-created_at")[:10]
        return _page(self, request, "batch.html", "Invoice a day's allocated orders", form=form, recent=recent)

    def batch_job_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        """The batch job: progress while it runs (the page refreshes itself), then what it invoiced and refused."""
        job = job_list(scope=_scope(request)).filter(pk=job_id, kind=BATCH_KIND).first()
        if job is None:
            raise Http404
        return _page(self, request, "batch.html", "Invoice a day's allocated orders", job=job,
                     progress=job_progress(job), result=job.result or {})

    def balance_view(self, request: HttpRequest) -> HttpResponse:
        """An outlet's balance and ageing, by outlet code."""
        scope = _scope(request)
        form = BalanceForm(request.GET if "outlet_code" in request.GET else None)
        balance = None
        if form.is_bound and form.is_valid():
            outlet = selectors.outlet_by_code(scope=scope, code=form.cleaned_data["outlet_code"])
            if outlet is None:
                form.add_error("outlet_code", "No outlet of yours has this code.")
            else:
                balance = selectors.outlet_balance(scope=scope, outlet_id=outlet.pk,
                                                   on_date=form.cleaned_data.get("on_date") or _today(scope))
        return _page(self, request, "outlet_balance.html", "Outlet balance", form=form, balance=balance)


# --- credit notes, payments, number series -------------------------------------------------------------------------

@admin.register(CreditNote)
class CreditNoteAdmin(DistributorOwnedAdmin):
    edit_roles = READ_ONLY
    list_display = ["number_text", "note_date", "invoice", "outlet", "reason", "restock", "total", "pdf_link"]
    list_filter = ["reason", "restock", ("note_date", admin.DateFieldListFilter)]
    search_fields = ["number_text", "invoice__number_text", "outlet__code", "outlet__name", "reason_text"]
    list_select_related = ["invoice", "outlet"]
    fields = readonly_fields = ("number_text", "invoice", "outlet", "note_date", "issued_at", "reason", "reason_text",
                                "restock", "currency", "gross", "discount", "tax", "total", "actor_label")
    inlines = [CreditNoteLineInline]
    change_form_template = "admin/invoicing/creditnote/change_form.html"

    @admin.display(description="PDF")
    def pdf_link(self, obj: CreditNote) -> str:
        return format_html('<a href="{}">Print PDF</a>', reverse("admin:invoicing_creditnote_pdf", args=[obj.pk]))

    def get_urls(self) -> list[URLPattern]:
        return [path("<int:note_id>/pdf/", self.admin_site.admin_view(self.pdf_view), name="invoicing_creditnote_pdf"),
                *super().get_urls()]

    def pdf_view(self, request: HttpRequest, note_id: int) -> HttpResponseBase:
        try:
            return pdf_response(selectors.credit_note_document(scope=_scope(request), pk=note_id))
        except DomainError as exc:
            _not_found(exc)
            raise


@admin.register(Payment)
class PaymentAdmin(DistributorOwnedAdmin):
    edit_roles = READ_ONLY
    list_display = ["received_on", "outlet", "method", "amount", "unallocated", "reference", "actor_label"]
    list_filter = ["method", ("received_on", admin.DateFieldListFilter)]
    search_fields = ["reference", "outlet__code", "outlet__name"]
    list_select_related = ["outlet"]
    fields = readonly_fields = ("outlet", "method", "amount", "currency", "received_on", "reference", "load_form_id",
                                "unallocated", "idempotency_key", "actor_label", "created_at")
    inlines = [PaymentAllocationInline]
    change_list_template = "admin/invoicing/payment/change_list.html"

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        return super().changelist_view(request, {**(extra_context or {}), "may_write": _may_write(request)})

    def get_urls(self) -> list[URLPattern]:
        return [path("record/", self.admin_site.admin_view(self.record_view), name="invoicing_payment_record"),
                *super().get_urls()]

    def record_view(self, request: HttpRequest) -> HttpResponse:
        """A payment by outlet code; POST records it (payment_record) and opens it."""
        scope = _writer(request)
        form = PaymentForm(request.POST if request.method == "POST" else None,
                           initial={"received_on": _today(scope), "method": "cash"})
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            outlet = selectors.outlet_by_code(scope=scope, code=data["outlet_code"])
            if outlet is None:
                form.add_error("outlet_code", "No outlet of yours has this code.")
            else:
                try:
                    payment = payment_record(scope=scope, outlet_id=outlet.pk, amount=data["amount"],
                                             method=data["method"], received_on=data["received_on"],
                                             reference=data.get("reference") or "",
                                             idempotency_key=data["idempotency_key"])
                except DomainError as exc:
                    _not_found(exc)
                    place_errors(form, exc, {"outlet_id": "outlet_code"})
                else:
                    self.message_user(request, f"Payment of {payment.amount} {payment.currency} from {outlet.code} "
                                               f"recorded; {payment.unallocated} left on account.", messages.SUCCESS)
                    return HttpResponseRedirect(reverse("admin:invoicing_payment_change", args=[payment.pk]))
        return _page(self, request, "payment_form.html", "Record a payment", form=form)


@admin.register(NumberSeries)
class NumberSeriesAdmin(DistributorOwnedAdmin):
    """Read-only: numbers are taken only by issuing documents."""

    edit_roles = READ_ONLY
    list_display = ["kind", "code", "fiscal_year", "next_number", "updated_at"]
    list_filter = ["kind", "fiscal_year"]
    fields = readonly_fields = ("kind", "code", "fiscal_year", "next_number", "updated_at")
