"""Every write of the pjp app. One module per area; import from here."""

from .dayclose import visits_close_day
from .journeys import BUILD_AHEAD_DAYS, BuildAheadResult, journey_build, journeys_build_ahead
from .plans import pjp_publish
from .routes import route_create, route_set_stops, route_update
from .visits import visit_mark_missed

__all__ = ["BUILD_AHEAD_DAYS", "BuildAheadResult", "journey_build", "journeys_build_ahead", "pjp_publish",
           "route_create", "route_set_stops", "route_update", "visit_mark_missed", "visits_close_day"]
