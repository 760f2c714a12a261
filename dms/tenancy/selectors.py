from __future__ import annotations

from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from dms.core.memo import memoized

from .models import ApiKey, BackgroundJob, Device, Distributor, Membership, Tenant
from .scope import Scope


def tenant_get(*, scope: Scope) -> Tenant:
    """The scope's tenant (its time zone, currency, fiscal year), read once per memo scope (a batch)."""
    return memoized(("tenant", scope.tenant_id), lambda: Tenant.objects.get(pk=scope.tenant_id))


def tenant_zone(*, scope: Scope) -> ZoneInfo:
    """The tenant's time zone: business dates are tenant-local."""
    return tenant_get(scope=scope).tz


def distributor_list(*, scope: Scope) -> QuerySet[Distributor]:
    qs = Distributor.objects.filter(tenant_id=scope.tenant_id)
    return qs if scope.distributor_ids is None else qs.filter(pk__in=scope.distributor_ids)


def membership_list(*, scope: Scope) -> QuerySet[Membership]:
    qs = Membership.objects.filter(tenant_id=scope.tenant_id).select_related("user", "distributor")
    return qs if scope.distributor_ids is None else qs.filter(distributor_id__in=scope.distributor_ids)


def api_key_list(*, scope: Scope) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(tenant_id=scope.tenant_id)


def device_list(*, scope: Scope) -> QuerySet[Device]:
    return scope.filter(Device.objects.select_related("user"))


def job_list(*, scope: Scope) -> QuerySet[BackgroundJob]:
    qs = BackgroundJob.objects.filter(tenant_id=scope.tenant_id).defer("payload")
    return qs if scope.distributor_ids is None else qs.filter(scope_distributor_id__in=scope.distributor_ids)
