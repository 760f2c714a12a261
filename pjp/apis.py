"""The pjp API: routes and their stop order, optimisation jobs and their proposals, a day's journeys.

Distributor admins and staff and manufacturer admins read and write; manufacturer analysts read. Another
tenant's or distributor's object is a 404; views that take an object look it up before they read the body,
so a stranger learns nothing from a validation error either.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from dms.core.errors import DomainError, NotFound
from dms.tenancy.api import TenantApi
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.jobs import job_progress
from dms.tenancy.models import BackgroundJob

from . import selectors
from .errors import PjpError
from .models import CYCLE_CHOICES
from .serializers import JourneyOutput, ProposalOutput, RouteDetailOutput, RouteOutput

WRITERS = frozenset({Role.MANUFACTURER_ADMIN, Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF})
READERS = WRITERS | {Role.MANUFACTURER_ANALYST}


def _job(job: BackgroundJob) -> Response:
    from dms.tenancy.apis import JobOutput

    return Response(JobOutput(job_progress(job)).data, status=202)


class RouteFilter(serializers.Serializer):
    distributor = serializers.IntegerField(required=False)
    active = serializers.BooleanField(required=False, allow_null=True, default=None)


class RouteListApi(TenantApi):
    """Routes the caller may see, by code, with their number of stops."""

    required_roles = READERS

    FilterSerializer = RouteFilter

    @extend_schema(parameters=[FilterSerializer], responses=RouteOutput(many=True))
    def get(self, request: Request) -> Response:
        filters = self.validated(self.FilterSerializer, request.query_params)
        routes = selectors.route_summary_list(scope=self.scope, distributor_id=filters.get("distributor"),
                                              active=filters.get("active"))
        return self.paginate(routes, RouteOutput)


class RouteDetailApi(TenantApi):
    """A route with its stops in visiting order."""

    required_roles = READERS

    @extend_schema(responses=RouteDetailOutput)
    def get(self, request: Request, route_id: int) -> Response:
        return Response(RouteDetailOutput(selectors.route_get(scope=self.scope, pk=route_id)).data)


def _visible_route(api: TenantApi, route_id: int) -> None:
    if not selectors.route_list(scope=api.scope).filter(pk=route_id).exists():
        raise NotFound("Route not found.")


class RouteStopsInput(serializers.Serializer):
    outlet_ids = serializers.ListField(child=serializers.IntegerField(), allow_empty=True, max_length=1000)
    expected_version = serializers.IntegerField(min_value=1)


class RouteStopsApi(TenantApi):
    """Set the route's stop order. `expected_version` is the version the caller edited: a route changed
    since is a 409, so two people editing one route never overwrite each other unknowingly."""

    required_roles = WRITERS

    InputSerializer = RouteStopsInput

    @extend_schema(request=InputSerializer, responses=RouteDetailOutput)
    def post(self, request: Request, route_id: int) -> Response:
        from .services import route_set_stops

        _visible_route(self, route_id)
        data = self.validated(self.InputSerializer, request.data)
        route_set_stops(scope=self.scope, route_id=route_id, outlet_ids=data["outlet_ids"],
                        expected_version=data["expected_version"])
        return Response(RouteDetailOutput(selectors.route_get(scope=self.scope, pk=route_id)).data)


class RouteOptimiseInput(serializers.Serializer):
    time_limit = serializers.FloatField(default=5.0, min_value=0.5, max_value=120.0)
    seed = serializers.IntegerField(default=0, min_value=0, max_value=2**31 - 1)


class RouteOptimiseApi(TenantApi):
    """Sequence the route in the background. Answers 202 with a job to poll at /api/v1/jobs/<id>/; its
    result names the proposal (GET /api/v1/pjp/proposals/<id>/), which changes nothing until accepted."""

    required_roles = WRITERS

    InputSerializer = RouteOptimiseInput

    @extend_schema(request=InputSerializer, responses={202: dict})
    def post(self, request: Request, route_id: int) -> Response:
        from .optimisation import route_optimise_start  # loads the solvers: only when used

        _visible_route(self, route_id)
        data = self.validated(self.InputSerializer, request.data)
        return _job(route_optimise_start(scope=self.scope, route_id=route_id, **data))


class BuildRoutesInput(serializers.Serializer):
    distributor_id = serializers.IntegerField(required=False)
    booker_ids = serializers.ListField(child=serializers.IntegerField(), allow_empty=False, max_length=100)
    cycle_weeks = serializers.ChoiceField(choices=[weeks for weeks, _label in CYCLE_CHOICES])
    max_visits_per_day = serializers.IntegerField(min_value=1, max_value=200)
    time_limit = serializers.FloatField(default=60.0, min_value=2.0, max_value=600.0)
    seed = serializers.IntegerField(default=0, min_value=0, max_value=2**31 - 1)


class BuildRoutesApi(TenantApi):
    """Build day routes and plans for order-bookers of a distributor in the background (202, a job; its
    result names the proposal). `distributor_id` may be left out by a distributor's own users."""

    required_roles = WRITERS

    InputSerializer = BuildRoutesInput

    @extend_schema(request=InputSerializer, responses={202: dict})
    def post(self, request: Request) -> Response:
        from .optimisation import routes_build_start

        data = self.validated(self.InputSerializer, request.data)
        distributor_id = data.pop("distributor_id", None) or self.scope.single_distributor_id
        if distributor_id is None:
            raise DomainError(PjpError.INVALID, "distributor_id is required.",
                              fields={"distributor_id": ["This field is required."]})
        return _job(routes_build_start(scope=self.scope, distributor_id=distributor_id, **data))


class ProposalDetailApi(TenantApi):
    """An optimisation proposal: metrics before and after, the readable diff and the plan."""

    required_roles = READERS

    @extend_schema(responses=ProposalOutput)
    def get(self, request: Request, proposal_id: int) -> Response:
        return Response(ProposalOutput(selectors.proposal_get(scope=self.scope, proposal_id=proposal_id)).data)


class ProposalAcceptApi(TenantApi):
    """Apply the proposal. A route changed since the proposal was made: 409, and the proposal is stale."""

    required_roles = WRITERS
    _stale: int | None = None

    @extend_schema(request=None, responses=ProposalOutput)
    def post(self, request: Request, proposal_id: int) -> Response:
        from .optimisation import proposal_accept

        try:
            proposal = proposal_accept(scope=self.scope, proposal_id=proposal_id)
        except DomainError as exc:
            if exc.code == PjpError.STALE_VERSION and exc.status_code == 409:
                self._stale = proposal_id
            raise
        return Response(ProposalOutput(proposal).data)

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if self._stale is not None:
            # The 409 rolled the request's transaction back, the stale mark with it: record it on its own.
            from .optimisation import proposal_mark_stale

            with tenant_scope(self.scope):
                proposal_mark_stale(scope=self.scope, proposal_id=self._stale)
        return response


class ProposalDiscardApi(TenantApi):
    """Discard the proposal; nothing is applied."""

    required_roles = WRITERS

    @extend_schema(request=None, responses=ProposalOutput)
    def post(self, request: Request, proposal_id: int) -> Response:
        from .optimisation import proposal_discard

        return Response(ProposalOutput(proposal_discard(scope=self.scope, proposal_id=proposal_id)).data)


class JourneyFilter(serializers.Serializer):
    date = serializers.DateField(required=False)
    booker = serializers.IntegerField(required=False)
    distributor = serializers.IntegerField(required=False)


class JourneyListApi(TenantApi):
    """A day's journeys (today, tenant-local, by default) with their visits in order and arrival times."""

    required_roles = READERS

    FilterSerializer = JourneyFilter

    @extend_schema(parameters=[FilterSerializer], responses=JourneyOutput(many=True))
    def get(self, request: Request) -> Response:
        from .services.common import tenant_policy

        filters = self.validated(self.FilterSerializer, request.query_params)
        day = filters.get("date") or tenant_policy(self.scope).today()
        journeys = selectors.journey_day_list(scope=self.scope, day=day, booker_id=filters.get("booker"),
                                              distributor_id=filters.get("distributor"))
        return self.paginate(journeys, JourneyOutput)

