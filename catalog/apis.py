"""Master-data endpoints: parse, call one selector or service, serialize."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from dms.tenancy.api import TenantApi, get_or_404
from dms.tenancy.enums import Role
from dms.tenancy.models import Distributor

from . import selectors, services
from .enums import Channel
from .filters import OutletFilter, PriceListFilter, SchemeFilter, SkuFilter
from .serializers import (
    BrandOutput,
    OutletOutput,
    PriceListOutput,
    SchemeOutput,
    SkuOutput,
    TaxRateOutput,
)

MANUFACTURER_WRITERS = frozenset({Role.MANUFACTURER_ADMIN, Role.MANUFACTURER_SYSTEM})
OUTLET_WRITERS = frozenset({Role.MANUFACTURER_ADMIN, Role.MANUFACTURER_SYSTEM, Role.DISTRIBUTOR_ADMIN,
                            Role.DISTRIBUTOR_STAFF})


def _filtered(filterset_class: Any, request: Request, qs: Any) -> Any:
    fs = filterset_class(request.query_params, queryset=qs)
    if not fs.is_valid():
        raise serializers.ValidationError(fs.errors)
    return fs.qs


class _ListApi(TenantApi):
    output: type[serializers.Serializer]
    filterset: Any = None

    def rows(self) -> Any:
        raise NotImplementedError

    def get(self, request: Request) -> Response:
        qs = self.rows()
        if self.filterset is not None:
            qs = _filtered(self.filterset, request, qs)
        return self.paginate(qs, self.output)


class _DetailApi(TenantApi):
    output: type[serializers.Serializer]

    def rows(self) -> Any:
        raise NotImplementedError

    def get(self, request: Request, pk: int) -> Response:
        return Response(self.output(get_or_404(self.rows(), pk=pk)).data)


class BrandInput(serializers.Serializer):
    code = serializers.CharField(max_length=30)
    name = serializers.CharField(max_length=120)
    active = serializers.BooleanField(default=True)


class BrandListApi(_ListApi):
    output = BrandOutput
    InputSerializer = BrandInput

    def rows(self) -> Any:
        return selectors.brand_list(scope=self.scope)

    @extend_schema(responses=BrandOutput(many=True))
    def get(self, request: Request) -> Response:
        return super().get(request)

    @extend_schema(request=InputSerializer, responses=BrandOutput)
    def post(self, request: Request) -> Response:
        if self.scope.role not in MANUFACTURER_WRITERS:
            return Response(_forbidden(), status=403)
        brand = services.brand_create(scope=self.scope, **self.validated(self.InputSerializer, request.data))
        return Response(BrandOutput(brand).data, status=201)


class BrandDetailApi(_DetailApi):
    output = BrandOutput

    def rows(self) -> Any:
        return selectors.brand_list(scope=self.scope)

    @extend_schema(responses=BrandOutput)
    def get(self, request: Request, pk: int) -> Response:
        return super().get(request, pk)


def _forbidden() -> dict:
    from dms.core.api import error_body

    return error_body("permission_denied", "Your role may not change this.")


class SkuInput(serializers.Serializer):
    code = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=200)
    brand = serializers.IntegerField()
    pack_size = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    units_per_case = serializers.IntegerField(min_value=1)
    weight_kg_per_case = serializers.DecimalField(max_digits=10, decimal_places=3, min_value=0, default=Decimal("0"))
    volume_l_per_case = serializers.DecimalField(max_digits=10, decimal_places=3, min_value=0, default=Decimal("0"))
    tax_class = serializers.CharField(max_length=30)
    active = serializers.BooleanField(default=True)

    def validate_brand(self, value: int) -> Any:
        brand = selectors.brand_list(scope=self.context["scope"]).filter(pk=value).first()
        if brand is None:
            raise serializers.ValidationError("Unknown brand.")
        return brand


class SkuListApi(_ListApi):
    output = SkuOutput
    filterset = SkuFilter

    def rows(self) -> Any:
        return selectors.sku_list(scope=self.scope)

    @extend_schema(responses=SkuOutput(many=True), parameters=[OpenApiParameter("code", str)])
    def get(self, request: Request) -> Response:
        return super().get(request)

    @extend_schema(request=SkuInput, responses=SkuOutput)
    def post(self, request: Request) -> Response:
        if self.scope.role not in MANUFACTURER_WRITERS:
            return Response(_forbidden(), status=403)
        data = self.validated(SkuInput, request.data, context={"scope": self.scope})
        return Response(SkuOutput(services.sku_create(scope=self.scope, **data)).data, status=201)


class SkuDetailApi(_DetailApi):
    output = SkuOutput

    def rows(self) -> Any:
        return selectors.sku_list(scope=self.scope)

    @extend_schema(responses=SkuOutput)
    def get(self, request: Request, pk: int) -> Response:
        return super().get(request, pk)

    @extend_schema(request=SkuInput(partial=True), responses=SkuOutput)
    def patch(self, request: Request, pk: int) -> Response:
        if self.scope.role not in MANUFACTURER_WRITERS:
            return Response(_forbidden(), status=403)
        get_or_404(self.rows(), pk=pk)
        data = self.validated(SkuInput, request.data, partial=True, context={"scope": self.scope})
        return Response(SkuOutput(services.sku_update(scope=self.scope, sku_id=pk, **data)).data)


class OutletInput(serializers.Serializer):
    distributor = serializers.IntegerField(required=False, help_text="required for manufacturer principals")
    code = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=200)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.GENERAL_TRADE)
    address = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    lat = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False,
                                   allow_null=True)
    lng = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False,
                                   allow_null=True)
    opening_hours = serializers.JSONField(required=False, default=dict)
    credit_limit = serializers.DecimalField(max_digits=18, decimal_places=2, min_value=0, default=Decimal("0"))
    tax_id = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    active = serializers.BooleanField(default=True)

    def validate_distributor(self, value: int) -> Distributor:
        scope = self.context["scope"]
        distributor = Distributor.objects.filter(pk=value).first()
        if distributor is None or not scope.can_access_distributor(distributor.pk):
            raise serializers.ValidationError("Unknown distributor.")
        return distributor

    def validate_opening_hours(self, value: Any) -> Any:
        from .validation import validate_opening_hours

        try:
            return validate_opening_hours(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class OutletListApi(_ListApi):
    output = OutletOutput
    filterset = OutletFilter
    required_roles = OUTLET_WRITERS | {Role.MANUFACTURER_ANALYST}

    def rows(self) -> Any:
        return selectors.outlet_list(scope=self.scope)

    @extend_schema(responses=OutletOutput(many=True))
    def get(self, request: Request) -> Response:
        return super().get(request)

    @extend_schema(request=OutletInput, responses=OutletOutput)
    def post(self, request: Request) -> Response:
        if self.scope.role not in OUTLET_WRITERS:
            return Response(_forbidden(), status=403)
        data = self.validated(OutletInput, request.data, context={"scope": self.scope})
        return Response(OutletOutput(services.outlet_create(scope=self.scope, **data)).data, status=201)


class OutletDetailApi(_DetailApi):
    output = OutletOutput

    def rows(self) -> Any:
        return selectors.outlet_list(scope=self.scope)

    @extend_schema(responses=OutletOutput)
    def get(self, request: Request, pk: int) -> Response:
        return super().get(request, pk)

    @extend_schema(request=OutletInput(partial=True), responses=OutletOutput)
    def patch(self, request: Request, pk: int) -> Response:
        if self.scope.role not in OUTLET_WRITERS:
            return Response(_forbidden(), status=403)
        get_or_404(self.rows(), pk=pk)
        data = self.validated(OutletInput, request.data, partial=True, context={"scope": self.scope})
        data.pop("distributor", None)  # an outlet does not move between distributors
        return Response(OutletOutput(services.outlet_update(scope=self.scope, outlet_id=pk, **data)).data)


class PriceListListApi(_ListApi):
    output = PriceListOutput
    filterset = PriceListFilter

    def rows(self) -> Any:
        return selectors.price_list_list(scope=self.scope)

    @extend_schema(responses=PriceListOutput(many=True))
    def get(self, request: Request) -> Response:
        return super().get(request)


class PriceListDetailApi(_DetailApi):
    output = PriceListOutput

    def rows(self) -> Any:
        return selectors.price_list_list(scope=self.scope)

    @extend_schema(responses=PriceListOutput)
    def get(self, request: Request, pk: int) -> Response:
        return super().get(request, pk)


class TaxRateListApi(_ListApi):
    output = TaxRateOutput

    def rows(self) -> Any:
        return selectors.tax_rate_list(scope=self.scope)

    @extend_schema(responses=TaxRateOutput(many=True))
    def get(self, request: Request) -> Response:
        return super().get(request)


class SchemeListApi(_ListApi):
    output = SchemeOutput
    filterset = SchemeFilter

    def rows(self) -> Any:
        return selectors.scheme_list(scope=self.scope)

    @extend_schema(responses=SchemeOutput(many=True))
    def get(self, request: Request) -> Response:
        return super().get(request)


class SchemeDetailApi(_DetailApi):
    output = SchemeOutput

    def rows(self) -> Any:
        return selectors.scheme_list(scope=self.scope)

    @extend_schema(responses=SchemeOutput)
    def get(self, request: Request, pk: int) -> Response:
        return super().get(request, pk)


class MastersImportInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["skus", "outlets", "price_lists"])
    file = serializers.FileField(help_text=".csv or .xlsx; header row first")


class MastersImportApi(TenantApi):
    """Upload a CSV/XLSX of SKUs, outlets or price-list rows. Answers 202 with a job to poll at
    /api/v1/jobs/<id>/; any bad row fails the whole job, and its result names each row and field."""

    from rest_framework.parsers import FormParser, MultiPartParser

    parser_classes = [MultiPartParser, FormParser]
    required_roles = OUTLET_WRITERS

    @extend_schema(request={"multipart/form-data": MastersImportInput}, responses={202: dict})
    def post(self, request: Request) -> Response:
        from dms.tenancy.apis import JobOutput
        from dms.tenancy.jobs import job_progress

        from .import_jobs import masters_import_start

        data = self.validated(MastersImportInput, request.data)
        upload = data["file"]
        job = masters_import_start(scope=self.scope, kind=data["kind"], file_name=upload.name, data=upload.read())
        return Response(JobOutput(job_progress(job)).data, status=202)


class MastersExportApi(TenantApi):
    """Download every row of a kind the caller can see, in the import's columns."""

    required_roles = OUTLET_WRITERS | {Role.MANUFACTURER_ANALYST}

    @extend_schema(parameters=[OpenApiParameter("kind", str, enum=["skus", "outlets", "price_lists"]),
                               OpenApiParameter("file_format", str, enum=["csv", "xlsx"])],
                   responses={(200, "text/csv"): bytes})
    def get(self, request: Request) -> Any:
        from django.http import HttpResponse

        from .imports import FORMATS, KINDS, masters_export

        kind, fmt = request.query_params.get("kind", ""), request.query_params.get("file_format", "csv")
        if kind not in KINDS:
            raise serializers.ValidationError({"kind": [f"One of {', '.join(KINDS)}."]})
        if fmt not in FORMATS:
            raise serializers.ValidationError({"file_format": ["csv or xlsx."]})
        body = masters_export(scope=self.scope, kind=kind, file_format=fmt)
        ctype = "text/csv" if fmt == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        response = HttpResponse(body, content_type=ctype)
        response["Content-Disposition"] = f'attachment; filename="{kind}.{fmt}"'
        return response


class QuoteLineInput(serializers.Serializer):
    sku_id = serializers.IntegerField()
    cases = serializers.IntegerField(min_value=0, default=0)
    units = serializers.IntegerField(min_value=0, default=0)


class QuoteInput(serializers.Serializer):
    outlet = serializers.IntegerField()
    on_date = serializers.DateField(required=False, help_text="default: today in the tenant's time zone")
    lines = QuoteLineInput(many=True, allow_empty=False, max_length=500)  # type: ignore[call-arg]


class PriceQuoteApi(TenantApi):
    """Price lines for an outlet with the one pricing engine (price lists, schemes, taxes, rounding):
    what the outlet would be invoiced. Read-only; nothing is stored."""

    required_roles = OUTLET_WRITERS | {Role.MANUFACTURER_ANALYST}

    @extend_schema(request=QuoteInput, responses={200: dict})
    def post(self, request: Request) -> Response:
        from .pricing import LineInput, price_lines

        data = self.validated(QuoteInput, request.data)
        outlet = get_or_404(selectors.outlet_list(scope=self.scope), pk=data["outlet"])
        on_date = data.get("on_date") or _tenant_today(self.scope.tenant_id)
        order = price_lines(scope=self.scope, outlet=outlet, on_date=on_date,
                            lines=[LineInput(**line) for line in data["lines"]])
        return Response({"outlet": outlet.pk, "on_date": on_date, **order.to_dict()})


def _tenant_today(tenant_id: int) -> Any:
    from django.utils import timezone

    from dms.tenancy.models import Tenant

    return timezone.now().astimezone(Tenant.objects.get(pk=tenant_id).tz).date()
