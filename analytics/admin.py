"""The analytics dashboards in the admin: /admin/analytics/dashboard/ (KPIs), /admin/analytics/journeys/ (plan
against actual per booker day, common paths of a route), /admin/analytics/journeys/<id>/ (one journey's map and
its skipped, added and swapped visits) and /admin/analytics/funnel/ (where outlets' journeys stop).

They are pages of the admin site, not of a ModelAdmin (there is nothing to change): DmsAdminSite adds `admin_urls`
to its URLs and `app_entry` to its app list. Every page is read-only and open to the four admin roles (the analyst
included); a distributor user's scope fixes the distributor. A GET form filters each page, and every table has a
"CSV" link: the same URL with ?export=<table>.

A foreign id (another tenant's, or a sibling distributor's for a distributor user) in the URL or in the filters is a
404, never a 403; a malformed filter is a form error on the page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_safe

from dms.core.errors import NotFound
from dms.tenancy.admin_base import ALL_ADMIN_VIEWERS, request_role
from dms.tenancy.scope import Scope
from dms.tenancy.selectors import distributor_list, tenant_get, tenant_zone
from pjp.selectors import route_list

from .dashboards import journeys as jp
from .dashboards.kpis import NO_FACTS, KpiDashboard
from .dashboards.tables import Table, csv_response
from .forms import KPI_FILTERS, DashboardFilterForm
from .journeys import common_paths, journey_compare, journey_list, outlet_funnel

VIEWERS = ALL_ADMIN_VIEWERS
TEMPLATES = "admin/analytics"
JOURNEY_LIMIT = 200
PATHS_LIMIT = 5
PAGES = (("dashboard", "KPI dashboard"), ("journeys", "Journeys: plan against actual"),
         ("funnel", "Outlet funnel"))


def _scope(request: HttpRequest) -> Scope:
    if request_role(request) not in VIEWERS:
        raise PermissionDenied
    return request.scope  # type: ignore[attr-defined,no-any-return]


def _form(request: HttpRequest, scope: Scope, fields: tuple[str, ...]) -> DashboardFilterForm:
    """The page's filters, validated: a foreign id raises NotFound (a 404), a malformed value is a form error."""
    form = DashboardFilterForm(request.GET, scope=scope, fields_shown=fields)
    form.is_valid()
    return form


def _export(request: HttpRequest, tables: dict[str, Callable[[], Table | None]], stem: str,
            form: DashboardFilterForm) -> HttpResponse | None:
    """?export=<table>: that table as CSV, named after the page, the table and the dates; None without ?export."""
    name = request.GET.get("export")
    if name is None:
        return None
    build = tables.get(name)
    table = build() if build is not None and form.is_bound and not form.errors else None
    if table is None:
        raise Http404("No such table.")
    f = form.cleaned_data
    dates = f"{f['date_from'].isoformat()}_{f['date_to'].isoformat()}"
    return csv_response(table, f"{stem}-{name.replace('_', '-')}_{dates}.csv")


def _page(site: AdminSite, request: HttpRequest, template: str, title: str, form: DashboardFilterForm | None,
          tables: list[Table], **context: Any) -> TemplateResponse:
    query = form.query() if form is not None and not form.errors else ""
    for table in tables:
        table.csv_url = f"?{query}&export={table.name}" if query else f"?export={table.name}"
    return TemplateResponse(request, f"{TEMPLATES}/{template}", {
        **site.each_context(request), "title": title, "form": form, "tables": tables, "query": query,
        "analytics_pages": [(reverse(f"admin:analytics_{name}"), label) for name, label in PAGES],
        "no_facts": NO_FACTS, **context})


# --- the pages ------------------------------------------------------------------------------------------------------

def dashboard_view(site: AdminSite, request: HttpRequest) -> HttpResponse:
    """The KPIs: a card per KPI with its definition, line charts per day, sell-in against sell-through, ageing,
    and the tables (the period, per day, per distributor, route, booker and brand)."""
    scope = _scope(request)
    form = _form(request, scope, KPI_FILTERS)
    if form.errors:
        return _page(site, request, "dashboard.html", "KPI dashboard", form, [])
    dashboard = KpiDashboard(scope=scope, filters=form.filters(), currency=tenant_get(scope=scope).currency)
    exported = _export(request, {n: partial(dashboard.table, n) for n in dashboard.table_names()},
                       "analytics-dashboard", form)
    if exported is not None:
        return exported
    return _page(site, request, "dashboard.html", "KPI dashboard", form, dashboard.tables(),
                 sections=dashboard.card_sections(), charts=[c.as_data() for c in dashboard.charts()],
                 has_facts=dashboard.has_facts)


def journeys_view(site: AdminSite, request: HttpRequest) -> HttpResponse:
    """The booker days of the filters, each against its plan; with a route picked, the route's common paths."""
    scope = _scope(request)
    form = _form(request, scope, ("distributor", "route", "booker"))
    if form.errors:
        return _page(site, request, "journeys.html", "Journeys: plan against actual", form, [])
    filters = form.filters()
    query = form.query()

    def journeys() -> Table:
        rows = journey_list(scope=scope, limit=JOURNEY_LIMIT, **filters)
        codes = (None if scope.single_distributor_id is not None
                 else dict(distributor_list(scope=scope).values_list("pk", "code")))
        return jp.journeys_table(rows, distributors=codes, url_of=lambda pk: _journey_url(pk, query))

    def paths() -> Table | None:
        route = route_list(scope=scope).filter(pk=filters["route_id"]).first() if filters["route_id"] else None
        if route is None:
            return None
        rows = common_paths(scope=scope, route_id=route.pk, date_from=filters["date_from"],
                            date_to=filters["date_to"], limit=PATHS_LIMIT)
        return jp.paths_table(rows, f"{route.code} {route.name}")

    exported = _export(request, {"journeys": journeys, "paths": paths}, "analytics-journeys", form)
    if exported is not None:
        return exported
    tables = [t for t in (journeys(), paths()) if t is not None]
    return _page(site, request, "journeys.html", "Journeys: plan against actual", form, tables,
                 journey_limit=JOURNEY_LIMIT)


def _same(table: Table) -> Table:
    return table


def _journey_url(journey_id: int, query: str) -> str:
    return f"{reverse('admin:analytics_journey', args=[journey_id])}?{query}"


def journey_view(site: AdminSite, request: HttpRequest, journey_id: int) -> HttpResponse:
    """One booker day: the planned against the actual order on a map, and what was skipped, added or swapped."""
    scope = _scope(request)
    comparison = journey_compare(scope=scope, journey_id=journey_id)  # NotFound outside the scope: a 404
    tz = tenant_zone(scope=scope)
    tables = jp.comparison_tables(comparison, tz=tz)
    name = request.GET.get("export")
    if name is not None:
        table = next((t for t in tables if t.name == name), None)
        if table is None:
            raise Http404("No such table.")
        head = comparison.header
        return csv_response(table, f"analytics-journey-{journey_id}-{name}_{head.date.isoformat()}.csv")
    head = comparison.header
    distributor = distributor_list(scope=scope).filter(pk=head.distributor_id).values_list("code", "name").first()
    kept = request.GET.copy()
    kept.pop("export", None)
    paths = kept.copy()
    paths["route"] = str(head.route_id)
    paths.pop("booker", None)
    if scope.single_distributor_id is None:
        paths["distributor"] = str(head.distributor_id)
    return _page(site, request, "journey.html", f"Journey of {head.booker_name} on {head.date.isoformat()}", None,
                 tables, facts=jp.comparison_facts(comparison, tz=tz, distributor=" ".join(distributor or ())),
                 journey_map=jp.journey_map(comparison),
                 back=f"{reverse('admin:analytics_journeys')}?{kept.urlencode()}",
                 paths_url=f"{reverse('admin:analytics_journeys')}?{paths.urlencode()}")


def funnel_view(site: AdminSite, request: HttpRequest) -> HttpResponse:
    """How far the calls got: planned, visited, ordered, invoiced, delivered, paid, and where they stopped."""
    scope = _scope(request)
    form = _form(request, scope, ("distributor", "route", "outlet"))
    if form.errors:
        return _page(site, request, "funnel.html", "Outlet funnel", form, [])
    funnel = outlet_funnel(scope=scope, **form.filters())  # one query; its tables cost nothing more
    tables = jp.funnel_tables(funnel, outlet_url=lambda pk: f"?{form.query(outlet=pk)}")
    exported = _export(request, {t.name: partial(_same, t) for t in tables}, "analytics-funnel", form)
    if exported is not None:
        return exported
    return _page(site, request, "funnel.html", "Outlet funnel", form, tables, has_calls=bool(funnel.calls),
                 charts=[jp.funnel_chart(funnel).as_data()] if funnel.calls else [],
                 outlets_listed=funnel.outlets_listed)


# --- wiring into the admin site ---------------------------------------------------------------------------------------

def admin_urls(site: AdminSite) -> list[URLPattern]:
    """The pages, behind the site's login and permission check (admin_view)."""
    def wrap(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @require_safe  # read-only pages: GET and HEAD only
        def page(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            try:
                return view(site, request, **kwargs)
            except NotFound as exc:  # a foreign id in the URL or the filters
                raise Http404(exc.message) from exc

        return site.admin_view(page)

    return [
        path("analytics/", wrap(lambda site, request: HttpResponseRedirect(reverse("admin:analytics_dashboard"))),
             name="analytics_index"),
        path("analytics/dashboard/", wrap(dashboard_view), name="analytics_dashboard"),
        path("analytics/journeys/", wrap(journeys_view), name="analytics_journeys"),
        path("analytics/journeys/<int:journey_id>/", wrap(journey_view), name="analytics_journey"),
        path("analytics/funnel/", wrap(funnel_view), name="analytics_funnel"),
    ]


def app_entry(request: HttpRequest) -> dict[str, Any] | None:
    """The "Analytics" block of the admin index and sidebar, for the roles that may open the dashboards."""
    if request_role(request) not in VIEWERS:
        return None
    return {
        "name": "Analytics", "app_label": "analytics", "app_url": reverse("admin:analytics_index"),
        "has_module_perms": True,
        "models": [{"name": label, "object_name": name.capitalize(), "perms": {"view": True},
                    "admin_url": reverse(f"admin:analytics_{name}"), "add_url": None, "view_only": True}
                   for name, label in PAGES],
    }
