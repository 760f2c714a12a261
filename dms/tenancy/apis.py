from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from .api import TenantApi, get_or_404
from .enums import Role
from .selectors import api_key_list, distributor_list
from .serializers import ApiKeyOutput, DistributorOutput
from .services import api_key_create, api_key_revoke

MANUFACTURER_ADMINS = frozenset({Role.MANUFACTURER_ADMIN})


class MeApi(TenantApi):
    """Who the caller is acting as: tenant, distributors, role."""

    @extend_schema(responses=inline_serializer("Me", {
        "tenant": serializers.DictField(), "distributor_ids": serializers.ListField(allow_null=True),
        "actor": serializers.DictField()}))
    def get(self, request: Request) -> Response:
        from .models import Tenant

        tenant = Tenant.objects.get(pk=self.scope.tenant_id)
        return Response({
            "tenant": {"id": tenant.pk, "slug": tenant.slug, "name": tenant.name, "currency": tenant.currency,
                       "time_zone": tenant.time_zone},
            "distributor_ids": None if self.scope.distributor_ids is None else sorted(self.scope.distributor_ids),
            "actor": {"kind": self.scope.actor.kind, "role": self.scope.role, "label": self.scope.actor.label},
        })


class DistributorListApi(TenantApi):
    @extend_schema(responses=DistributorOutput(many=True))
    def get(self, request: Request) -> Response:
        return self.paginate(distributor_list(scope=self.scope), DistributorOutput)


class DistributorDetailApi(TenantApi):
    @extend_schema(responses=DistributorOutput)
    def get(self, request: Request, distributor_id: int) -> Response:
        return Response(DistributorOutput(get_or_404(distributor_list(scope=self.scope), pk=distributor_id)).data)


class ApiKeyInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class ApiKeyListApi(TenantApi):
    required_roles = MANUFACTURER_ADMINS
    InputSerializer = ApiKeyInput

    @extend_schema(responses=ApiKeyOutput(many=True))
    def get(self, request: Request) -> Response:
        return self.paginate(api_key_list(scope=self.scope), ApiKeyOutput)

    @extend_schema(request=InputSerializer, responses=inline_serializer("IssuedApiKey", {
        "key": serializers.CharField(), "api_key": ApiKeyOutput()}))
    def post(self, request: Request) -> Response:
        data = self.validated(self.InputSerializer, request.data)
        issued = api_key_create(scope=self.scope, created_by=request.user, **data)
        # The raw key is shown once, here, and never again.
        return Response({"key": issued.raw, "api_key": ApiKeyOutput(issued.key).data}, status=201)


class ApiKeyRevokeApi(TenantApi):
    required_roles = MANUFACTURER_ADMINS

    @extend_schema(request=None, responses=ApiKeyOutput)
    def post(self, request: Request, key_id: int) -> Response:
        return Response(ApiKeyOutput(api_key_revoke(scope=self.scope, key_id=key_id)).data)


class JobOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    percent = serializers.IntegerField()
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    message = serializers.CharField(allow_blank=True)
    result = serializers.JSONField()
    error = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class JobListApi(TenantApi):
    """Background jobs the caller may see, newest first."""

    @extend_schema(responses=JobOutput(many=True))
    def get(self, request: Request) -> Response:
        from dms.core.api import PageNumberPagination

        from .jobs import job_progress
        from .selectors import job_list

        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(job_list(scope=self.scope), request, view=self) or []
        return paginator.get_paginated_response([JobOutput(job_progress(j)).data for j in page])


class JobDetailApi(TenantApi):
    """A job's status and live progress (poll until status is succeeded or failed)."""

    @extend_schema(responses=JobOutput)
    def get(self, request: Request, job_id: int) -> Response:
        from .jobs import job_progress
        from .selectors import job_list

        return Response(JobOutput(job_progress(get_or_404(job_list(scope=self.scope), pk=job_id))).data)
