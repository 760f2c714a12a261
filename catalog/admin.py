from __future__ import annotations

from datetime import date
from pathlib import PurePath
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from dms.core.errors import DomainError
from dms.tenancy.admin_base import DistributorOwnedAdmin, OptionalDistributorAdmin, TenantAdmin
from dms.tenancy.jobs import job_progress
from dms.tenancy.models import BackgroundJob
from dms.tenancy.selectors import job_list

from .import_jobs import IMPORT_KIND, masters_import_start
from .imports import FORMATS, ROW_CONVENTION, ImportRowError, masters_columns, masters_export
from .models import (
    Brand,
    Outlet,
    PriceList,
    PriceListItem,
    Scheme,
    SchemeBrand,
    SchemeSku,
    SchemeSlab,
    Sku,
    TaxRate,
)

MAX_IMPORT_BYTES = 10 * 1024 * 1024
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class MastersImportForm(forms.Form):
    file = forms.FileField(help_text="A .csv (UTF-8) or .xlsx file whose first row names the columns.")

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if PurePath(upload.name).suffix.lower().lstrip(".") not in FORMATS:
            raise forms.ValidationError("Upload a .csv or .xlsx file.")
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
        return upload


class MastersImportExportMixin(admin.ModelAdmin):
    """Import and export buttons on a changelist, for the roles that may edit it.

    A small view calling catalog.imports, not django-import-export's ImportExportMixin: the library's
    admin imports in two requests (preview, then confirm) with the upload parked in temp storage, and runs
    Resource.import_data itself, so the admin would not share masters_import's checks (roles, columns that
    must come from the scope, all-or-nothing, spreadsheet row numbers) with the management command. Here
    both go through the same service under the same scope: request.scope, whose tenant_scope the
    middleware has already entered for this request.
    """

    import_kind: ClassVar[str]
    change_list_template = "admin/catalog/change_list_masters.html"

    def may_import_export(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)  # type: ignore[attr-defined]

    def get_urls(self) -> list[URLPattern]:
        opts = self.opts  # type: ignore[attr-defined]
        wrap = self.admin_site.admin_view  # type: ignore[attr-defined]
        name = f"{opts.app_label}_{opts.model_name}"
        return [
            path("import/", wrap(self.masters_import_view), name=f"{name}_import"),
            path("import/<int:job_id>/", wrap(self.masters_import_job_view), name=f"{name}_import_job"),
            path("export/", wrap(self.masters_export_view), name=f"{name}_export"),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        extra_context = {**(extra_context or {}), "masters_import_export": self.may_import_export(request)}
        return super().changelist_view(request, extra_context)  # type: ignore[misc]

    def masters_import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload: the file is stored with a background job and imported by a Celery worker; the browser
        goes to the job's page, which shows progress and then the result."""
        if not self.may_import_export(request):
            raise PermissionDenied
        opts = self.opts  # type: ignore[attr-defined]
        scope = request.scope  # type: ignore[attr-defined]
        form = MastersImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = masters_import_start(scope=scope, kind=self.import_kind, file_name=upload.name,
                                           data=upload.read())
            except DomainError as exc:
                if exc.status_code == 403:
                    raise PermissionDenied(exc.message) from exc
                form.add_error("file", exc.message)
            else:
                return HttpResponseRedirect(
                    reverse(f"admin:{opts.app_label}_{opts.model_name}_import_job", args=[job.pk]))
        return self._import_page(request, form=form, job=None)

    def masters_import_job_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        """Progress while queued or running (the page refreshes itself); the changelist once it succeeded;
        every bad row when it failed."""
        opts = self.opts  # type: ignore[attr-defined]
        job = job_list(scope=request.scope).filter(  # type: ignore[attr-defined]
            pk=job_id, kind=IMPORT_KIND, params__kind=self.import_kind).first()
        if job is None:
            raise Http404
        if job.status == BackgroundJob.Status.SUCCEEDED:
            self.message_user(request, job.result.get("summary", "Imported."), messages.SUCCESS)  # type: ignore[attr-defined]
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        return self._import_page(request, form=MastersImportForm(), job=job)

    def _import_page(self, request: HttpRequest, *, form: MastersImportForm, job: BackgroundJob | None) -> Any:
        opts = self.opts  # type: ignore[attr-defined]
        required, optional = masters_columns(scope=request.scope, kind=self.import_kind)  # type: ignore[attr-defined]
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "opts": opts,
            "title": f"Import {opts.verbose_name_plural}",
            "form": form,
            "job": job,
            "progress": job_progress(job) if job else None,
            "job_errors": [ImportRowError(e["row"], e["field"], e["message"]) for e in
                           (job.result.get("errors", []) if job else [])],
            "required_columns": required,
            "optional_columns": optional,
            "row_convention": ROW_CONVENTION,
        }
        return TemplateResponse(request, "admin/catalog/masters_import.html", context)

    def masters_export_view(self, request: HttpRequest) -> HttpResponse:
        if not self.may_import_export(request):
            raise PermissionDenied
        file_format = request.GET.get("format", "csv")
        if file_format not in FORMATS:
            file_format = "csv"
        content = masters_export(scope=request.scope, kind=self.import_kind,  # type: ignore[attr-defined]
                                 file_format=file_format)
        response = HttpResponse(content, content_type=CONTENT_TYPES[file_format])
        filename = f"{self.import_kind}-{date.today().isoformat()}.{file_format}"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


@admin.register(Brand)
class BrandAdmin(TenantAdmin):
    list_display = ["code", "name", "active"]
    search_fields = ["code", "name"]


@admin.register(Sku)
class SkuAdmin(MastersImportExportMixin, TenantAdmin):
    import_kind = "skus"
    list_display = ["code", "name", "brand", "pack_size", "units_per_case", "tax_class", "active"]
    list_filter = ["active", "brand", "tax_class"]
    search_fields = ["code", "name"]
    list_select_related = ["brand"]


@admin.register(Outlet)
class OutletAdmin(MastersImportExportMixin, DistributorOwnedAdmin):
    import_kind = "outlets"
    list_display = ["code", "name", "channel", "address", "credit_limit", "active"]
    list_filter = ["channel", "active"]
    search_fields = ["code", "name", "address"]


@admin.register(TaxRate)
class TaxRateAdmin(TenantAdmin):
    list_display = ["tax_class", "name", "rate", "valid_from", "valid_to"]


class PriceListItemInline(admin.TabularInline):
    model = PriceListItem
    extra = 0
    autocomplete_fields = ["sku"]


@admin.register(PriceList)
class PriceListAdmin(MastersImportExportMixin, OptionalDistributorAdmin):
    import_kind = "price_lists"
    list_display = ["code", "name", "distributor", "channel", "valid_from", "valid_to", "active"]
    list_filter = ["active", "channel"]
    search_fields = ["code", "name"]
    inlines = [PriceListItemInline]


class SchemeSlabInline(admin.TabularInline):
    model = SchemeSlab
    extra = 0


class SchemeSkuInline(admin.TabularInline):
    model = SchemeSku
    extra = 0
    autocomplete_fields = ["sku"]


class SchemeBrandInline(admin.TabularInline):
    model = SchemeBrand
    extra = 0


@admin.register(Scheme)
class SchemeAdmin(OptionalDistributorAdmin):
    list_display = ["code", "name", "kind", "basis", "valid_from", "valid_to", "priority", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["code", "name"]
    inlines = [SchemeSlabInline, SchemeSkuInline, SchemeBrandInline]
