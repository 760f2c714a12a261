"""What the pjp admin pages share: helpers, list filters, the role-aware inline."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest

from dms.core.errors import DomainError
from dms.tenancy.admin_base import (
    DISTRIBUTOR_EDITORS,
    request_role,
)
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope

from ..admin_views import (
    booker_memberships,
)

READ_ONLY: frozenset[Role] = frozenset()
REFUSED = "_pjp_refused"  # request attribute: a service's refusal, shown on the re-rendered change form
STOP_FIELD = re.compile(r"^(outlet_ids)\[(\d+)\]$|^(service_minutes|weeks)\[(\d+)\]$")
UNSEQUENCED = 10**9  # a new stop row left without a position goes last


def _scope(request: HttpRequest) -> Scope:
    return request.scope  # type: ignore[attr-defined,no-any-return]


def _tz(obj: Any) -> ZoneInfo:
    """The tenant's zone, annotated on the row by the admin's queryset (tenant_time_zone)."""
    return ZoneInfo(getattr(obj, "tenant_time_zone", None) or "UTC")


def _with_tz(qs: QuerySet[Any]) -> QuerySet[Any]:
    return qs.annotate(tenant_time_zone=F("tenant__time_zone"))


def _may_edit(request: HttpRequest) -> bool:
    return request_role(request) in DISTRIBUTOR_EDITORS


def _domain_to_http(exc: DomainError) -> None:
    """A missing (or other tenant's) object is a 404 and a refused role a 403, as everywhere else."""
    if exc.status_code == 404:
        raise Http404(exc.message) from exc
    if exc.status_code == 403:
        raise PermissionDenied(exc.message) from exc


# --- list filters (bookers are users, a global table: listed through the scope's memberships) -----------

class BookerFilter(admin.SimpleListFilter):
    title = "order-booker"
    parameter_name = "booker"
    field = "booker_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[Any, str]]:
        return [(m.user_id, f"{m.user.get_username()} ({m.distributor.code})")  # type: ignore[union-attr]
                for m in booker_memberships(scope=_scope(request))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(**{self.field: value}) if value and value.isdigit() else queryset


class JourneyBookerFilter(BookerFilter):
    field = "journey__booker_id"


class PlanStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("current", "Current"), ("future", "Future"), ("past", "Past")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(plan_status=value) if value in {"current", "future", "past"} else queryset


# --- inlines ------------------------------------------------------------------------------------------

