"""The reconciliation API (/api/v1/reconciliation/): runs (list, one with its counts per check, request a date) and
the exception queue (list, one with its history, assign, resolve with a note, re-open).

Every user of the admin roles reads runs and works the queue (manufacturer analysts included: the queue is theirs
too); the manufacturer's API keys read. Requesting a run is for the tenant level: manufacturer admins and API keys.
A distributor user sees its own distributor's exceptions only; another distributor's or tenant's is a 404, checked
before the body is validated.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from dms.core.api import PAGE_PARAMETERS
from dms.tenancy.api import TenantApi
from dms.tenancy.enums import Role

from . import selectors
from .enums import OPEN_STATES, ExceptionStatus, RunStatus, RunTrigger
from .serializers import ExceptionDetailOutput, ExceptionOutput, RunDetailOutput, RunOutput
from .services import exception_assign, exception_reopen, exception_resolve, reconciliation_request
from .services.queue import NOTE_MAX

WORKERS = selectors.QUEUE_ROLES
READERS = WORKERS | {Role.MANUFACTURER_SYSTEM}
RUNNERS = frozenset({Role.MANUFACTURER_ADMIN, Role.MANUFACTURER_SYSTEM})
UNRESOLVED = "unresolved"  # the status filter's "open or assigned"
ME = "me"

DATES = [OpenApiParameter("date_from", OpenApiTypes.DATE, description="business date on or after"),
         OpenApiParameter("date_to", OpenApiTypes.DATE, description="business date on or before")]


# --- runs --------------------------------------------------------------------------------------------------------

class RunFilter(serializers.Serializer):
    business_date = serializers.DateField(required=False)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    status = serializers.ChoiceField(choices=RunStatus.choices, required=False)


class RunRequestInput(serializers.Serializer):
    business_date = serializers.DateField(help_text="the tenant-local business date to reconcile (not a future one)")
    rerun = serializers.BooleanField(default=False,
                                     help_text="run a finished date again from its first check (nothing is doubled)")


class RunListApi(TenantApi):
    """GET: the tenant's runs, latest business date first. POST: reconcile a business date in the background; 202
    with its run (a date already reconciled answers its run unless `rerun`; a run in progress is left alone)."""

    required_roles = READERS

    @extend_schema(parameters=[OpenApiParameter("business_date", OpenApiTypes.DATE), *DATES,
                               OpenApiParameter("status", OpenApiTypes.STR, enum=RunStatus.values),
                               *PAGE_PARAMETERS],
                   responses=RunOutput(many=True))
    def get(self, request: Request) -> Response:
        data = self.validated(RunFilter, request.query_params)
        return self.paginate(selectors.run_list(scope=self.scope, **data), RunOutput)

    @extend_schema(request=RunRequestInput, responses={202: RunOutput})
    def post(self, request: Request) -> Response:
        self.require_role(RUNNERS, "request a reconciliation")
        data = self.validated(RunRequestInput, request.data)
        run = reconciliation_request(scope=self.scope, business_date=data["business_date"],
                                     trigger=RunTrigger.MANUAL, rerun=data["rerun"])
        return Response(RunOutput(run).data, status=status.HTTP_202_ACCEPTED)


class RunDetailApi(TenantApi):
    """A run with its counts per check (every check listed, in the order they run)."""

    required_roles = READERS

    @extend_schema(responses=RunDetailOutput)
    def get(self, request: Request, run_id: int) -> Response:
        return Response(RunDetailOutput(selectors.run_get(scope=self.scope, pk=run_id)).data)


# --- the exception queue -----------------------------------------------------------------------------------------

class ExceptionFilter(serializers.Serializer):
    status = serializers.ChoiceField(choices=[*ExceptionStatus.choices, (UNRESOLVED, "Open or assigned")],
                                     required=False)
    check = serializers.CharField(required=False, max_length=40, source="check_code")
    distributor = serializers.IntegerField(required=False, source="distributor_id")
    business_date = serializers.DateField(required=False)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    assigned_to = serializers.CharField(required=False, help_text='"me", "none" or a user id')
    run = serializers.IntegerField(required=False, source="run_id")

    def validate_assigned_to(self, value: str) -> str | int:
        if value in (ME, selectors.UNASSIGNED):
            return value
        if value.isdigit():
            return int(value)
        raise serializers.ValidationError('Use "me", "none" or a user id.')


class ExceptionListApi(TenantApi):
    """The exception queue, latest business date first: each filter narrows."""

    required_roles = READERS

    @extend_schema(parameters=[
        OpenApiParameter("status", OpenApiTypes.STR, enum=[*ExceptionStatus.values, UNRESOLVED],
                         description=f'"{UNRESOLVED}": open or assigned'),
        OpenApiParameter("check", OpenApiTypes.STR, description="a check's code"),
        OpenApiParameter("distributor", OpenApiTypes.INT),
        OpenApiParameter("business_date", OpenApiTypes.DATE, description="first found on this business date"),
        *DATES,
        OpenApiParameter("assigned_to", OpenApiTypes.STR, description='"me", "none" or a user id'),
        OpenApiParameter("run", OpenApiTypes.INT, description="found by this run (first or last)"),
        *PAGE_PARAMETERS,
    ], responses=ExceptionOutput(many=True))
    def get(self, request: Request) -> Response:
        data: dict[str, Any] = self.validated(ExceptionFilter, request.query_params)
        day = data.pop("business_date", None)
        if day is not None:
            data["date_from"] = data["date_to"] = day
        if data.get("status") == UNRESOLVED:
            del data["status"]
            data["statuses"] = OPEN_STATES
        if data.get("assigned_to") == ME:
            if self.scope.actor.kind != "user":
                raise serializers.ValidationError({"assigned_to": ['"me" is a user; an API key is not one.']})
            data["assigned_to"] = self.scope.actor.id
        return self.paginate(selectors.exception_list(scope=self.scope, **data), ExceptionOutput)


class ExceptionDetailApi(TenantApi):
    """An exception with the records involved, the figures compared and its history."""

    required_roles = READERS

    @extend_schema(responses=ExceptionDetailOutput)
    def get(self, request: Request, exception_id: int) -> Response:
        return Response(ExceptionDetailOutput(selectors.exception_get(scope=self.scope, pk=exception_id)).data)


class _QueueApi(TenantApi):
    """A change of one exception: the caller must work the queue and see the exception (404) before its body is
    read; answers the exception as it is now."""

    required_roles = WORKERS

    def _visible(self, exception_id: int) -> None:
        selectors.exception_get(scope=self.scope, pk=exception_id)

    def _answer(self, exception_id: int) -> Response:
        return Response(ExceptionDetailOutput(selectors.exception_get(scope=self.scope, pk=exception_id)).data)


class AssignInput(serializers.Serializer):
    assigned_to = serializers.IntegerField(allow_null=True, min_value=1,
                                           help_text="a user of the tenant who can see the exception's distributor; "
                                                     "null: back to the queue")


class ExceptionAssignApi(_QueueApi):
    """Open or assigned -> assigned to the user (null: back to open). A resolved or cleared exception is a 409."""

    @extend_schema(request=AssignInput, responses=ExceptionDetailOutput)
    def post(self, request: Request, exception_id: int) -> Response:
        self._visible(exception_id)
        data = self.validated(AssignInput, request.data)
        exception_assign(scope=self.scope, exception_id=exception_id, user_id=data["assigned_to"])
        return self._answer(exception_id)


class ResolveInput(serializers.Serializer):
    note = serializers.CharField(max_length=NOTE_MAX, help_text="what was found and done")


class ExceptionResolveApi(_QueueApi):
    """Open or assigned -> resolved, with the note. Resolving it again changes nothing; a cleared one is a 409."""

    @extend_schema(request=ResolveInput, responses=ExceptionDetailOutput)
    def post(self, request: Request, exception_id: int) -> Response:
        self._visible(exception_id)
        data = self.validated(ResolveInput, request.data)
        exception_resolve(scope=self.scope, exception_id=exception_id, note=data["note"])
        return self._answer(exception_id)


class ReopenInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class ExceptionReopenApi(_QueueApi):
    """Resolved or cleared -> open (unassigned). An open exception stays as it is."""

    @extend_schema(request=ReopenInput, responses=ExceptionDetailOutput)
    def post(self, request: Request, exception_id: int) -> Response:
        self._visible(exception_id)
        data = self.validated(ReopenInput, request.data)
        exception_reopen(scope=self.scope, exception_id=exception_id, reason=data["reason"])
        return self._answer(exception_id)
