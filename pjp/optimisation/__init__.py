"""Route optimisation as background jobs that end in proposals a person accepts or discards.

    job = route_optimise_start(scope=scope, route_id=7)            # sequence one route (kind "route_sequence")
    job = routes_build_start(scope=scope, distributor_id=3, ...)   # build routes and plans (kind "routes_build")
    proposal = proposal_for_job(scope=scope, job_id=job.pk)        # once the job has succeeded
    proposal_accept(scope=scope, proposal_id=proposal.pk)          # or proposal_discard

The tasks (pjp.tasks) run on the `optimisation` queue; the job's result is {"proposal_id": ...}.

A proposal's documents, for whoever renders them:

* `before` / `after`: {"routes": {"<route id, or new-route key>": {"code", "stops", "distance_m",
  "duration_s"}}, "total": {"distance_m", "duration_s", "routes", "stops"}}. A day's duration is from
  leaving the start to arriving at the end: travel, service and (sequence proposals) waiting for opening.
* `diff`: [{"kind", "route", "outlet_id", "outlet", "from", "to", "text", ("reason")}], where kind is
  "reordered" (from/to: 1-based stop positions), "moved" (build: from = the old route's id, to = the position
  on the new route named by "route"), "added" (build: from = null), "removed" (the outlet leaves the route:
  inactive, or another booker's plan visits it) and "dropped" (the solver could not place it; "reason" says
  why; a sequence proposal keeps it at the end of the route, to = its position there). "text" is the
  sentence to show.
* `plan`: {"routes": {"<route id>": [outlet ids in order]}, "weekday"} for a sequence; {"new_routes":
  [{"key", "booker_id", "week", "weekday", "weeks", "outlet_ids", "code", "name"}], "booker_ids",
  "cycle_weeks", "starts"} for a build ("weeks": the cycle weeks the route is driven in, "week" the first).
  An accepted proposal's plan also holds "applied": the new route versions, or the routes and plans made.
"""

from ..selectors import proposal_for_job, proposal_get, proposal_list
from .build import ROUTES_BUILD_KIND, routes_build_job, routes_build_propose, routes_build_run, routes_build_start
from .proposals import STALE_MESSAGE, proposal_accept, proposal_discard, proposal_mark_stale
from .sequence import (
    ROUTE_SEQUENCE_KIND,
    route_optimise_start,
    route_sequence_job,
    route_sequence_propose,
    route_sequence_run,
)

__all__ = ["ROUTES_BUILD_KIND", "ROUTE_SEQUENCE_KIND", "STALE_MESSAGE", "proposal_accept", "proposal_discard",
           "proposal_for_job", "proposal_get", "proposal_list", "proposal_mark_stale", "route_optimise_start",
           "route_sequence_job", "route_sequence_propose", "route_sequence_run", "routes_build_job",
           "routes_build_propose", "routes_build_run", "routes_build_start"]
