"""The pjp admin: routes with their stop order and map, optimisation proposals, plans and their calendar,
and read-only journeys, visits and notifications.

Every write goes through a service under request.scope (route_create/route_update/route_set_stops,
pjp_publish, the optimisation jobs); querysets come from the scoped managers, so another tenant's or
distributor's object is a 404. Roles follow dms.tenancy.admin_base: analysts read, distributor editors
edit, nobody deletes plans or journeys.

The admin is a package: common.py (helpers, filters, inlines), routes.py, plans.py, journeys.py; importing
it registers every ModelAdmin.
"""

from . import journeys, plans, routes

__all__ = ["journeys", "plans", "routes"]
