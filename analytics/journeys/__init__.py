"""Journey analysis (DESIGN §3, "planned against actual journeys"): plan against actual for a booker's day
(compare.py), the picker's rows and a route's most common paths (lists.py), and the outlet funnel planned ->
visited -> ordered -> invoiced -> delivered -> paid (funnel.py). Reads only; every selector takes the scope first
and answers NotFound for a journey, route, outlet or distributor outside it."""

from .compare import (
    ActualStop,
    JourneyComparison,
    JourneyHeader,
    JourneyTotals,
    PlannedStop,
    StopRef,
    journey_compare,
    kept_in_sequence,
)
from .funnel import STAGES, Funnel, FunnelOutlet, FunnelStage, outlet_funnel
from .lists import JourneyRow, PathRow, common_paths, journey_list

__all__ = [
    "STAGES", "ActualStop", "Funnel", "FunnelOutlet", "FunnelStage", "JourneyComparison", "JourneyHeader",
    "JourneyRow", "JourneyTotals", "PathRow", "PlannedStop", "StopRef", "common_paths", "journey_compare",
    "journey_list", "kept_in_sequence", "outlet_funnel",
]
