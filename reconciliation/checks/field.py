"""Field checks: the day close (visits), device sync, orders stuck in a state.

Each is one set-based SELECT (checks/base.py). They reach the day's rows through index paths and read only what can
be wrong: the tenant's journeys of the date by (tenant, date), each probed for missed visits in the partial index
visit_unvisited and for the booker's sync items by (distributor, device, work_date); each day close checked against
control totals of its device's items of the date, worked out in full only where they differ; orders by (tenant,
status, status_changed_at). No check reads a table's history, and a clean day costs a probe per journey and one
pass over each device's items of the day.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from catalog.models import Outlet
from dms.tenancy.models import Device
from mobile.dayclose import ACCEPTED, KINDS, MAX_SPAN
from mobile.models import DayClose, SyncHealth, SyncItem
from orders.enums import OrderStatus
from orders.models import SecondaryOrder
from pjp.enums import VisitStatus
from pjp.models import DailyJourney, Route, Visit
from pjp.services import visits_close_day

from ..enums import CheckScope
from .base import Check, CheckContext, table

# How many missing sequence ranges an exception lists (the total is always given).
MAX_RANGES_LISTED = 50
VISITED = (VisitStatus.CHECKED_IN, VisitStatus.PRODUCTIVE, VisitStatus.UNPRODUCTIVE)


def _tables() -> dict[str, str]:
    return {"journey": table(DailyJourney), "visit": table(Visit), "route": table(Route), "outlet": table(Outlet),
            "user": table(get_user_model()), "device": table(Device), "item": table(SyncItem),
            "health": table(SyncHealth), "dayclose": table(DayClose), "order": table(SecondaryOrder)}


# The business date's journeys: one range of the (tenant, date) index. MATERIALIZED: planned on its own, each of the
# date's few thousand journeys is then probed by the checks below (LATERAL .. LIMIT 1: a probe each, never a join the
# planner could turn into a scan of a table's history). Booker and route are joined to the rows reported only.
JOURNEYS = """
day_journeys AS MATERIALIZED (
    SELECT j.id, j.distributor_id, j.booker_id, j.route_id FROM {journey} j
    WHERE j.tenant_id = %(tenant_id)s AND j.date = %(business_date)s
)"""


# --- 1. the day close: planned visits not made become missed -------------------------------------------------------

def _close_day(ctx: CheckContext) -> dict[str, int]:
    return {"missed": visits_close_day(scope=ctx.scope, date=ctx.business_date)}


# The journeys with a missed visit come from one probe of the partial index visit_unvisited (distributor, journey,
# status) each, which holds no visited visit: on a clean day every probe is empty. Only those journeys' visits are
# then counted (by the journey index) and their missed ones' outlets read (by primary key).
VISITS_MISSED = """
WITH {journeys},
with_missed AS MATERIALIZED (
    SELECT j.* FROM day_journeys j
    CROSS JOIN LATERAL (
        SELECT 1 FROM {visit} v
        WHERE v.distributor_id = j.distributor_id AND v.journey_id = j.id AND v.status = %(missed)s AND v.planned
          AND v.tenant_id = %(tenant_id)s
        LIMIT 1
    ) hit
)
SELECT j.distributor_id,
    'journey:' || j.id AS key,
    'journey' AS subject_type,
    j.id AS subject_id,
    u.username || ' missed ' || t.missed || ' of ' || t.planned || ' planned visits on route ' || r.code
        || ' on ' || %(day)s || ' (' || t.visited || ' visited).' AS message,
    jsonb_build_array(
        jsonb_build_object('type', 'journey', 'id', j.id, 'ref', r.code || ' ' || %(day)s),
        jsonb_build_object('type', 'user', 'id', j.booker_id, 'ref', u.username)) || m.missed_visits AS records,
    jsonb_build_object('date', %(day)s, 'planned', t.planned, 'visited', t.visited, 'missed', t.missed) AS detail
FROM with_missed j
JOIN {user} u ON u.id = j.booker_id
JOIN {route} r ON r.distributor_id = j.distributor_id AND r.id = j.route_id
CROSS JOIN LATERAL (
    SELECT count(*) AS planned,
        count(*) FILTER (WHERE v.status = ANY(%(visited)s)) AS visited,
        count(*) FILTER (WHERE v.status = %(missed)s) AS missed
    FROM {visit} v
    WHERE v.distributor_id = j.distributor_id AND v.journey_id = j.id AND v.planned
) t
CROSS JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_object('type', 'visit', 'id', v.id, 'ref', o.code, 'outlet_id', v.outlet_id,
                                        'sequence', v.sequence) ORDER BY v.sequence) AS missed_visits
    FROM {visit} v
    LEFT JOIN {outlet} o ON o.distributor_id = v.distributor_id AND o.id = v.outlet_id
    WHERE v.distributor_id = j.distributor_id AND v.journey_id = j.id AND v.status = %(missed)s AND v.planned
) m
"""


def _visits_missed(ctx: CheckContext) -> tuple[str, dict[str, Any]]:
    tables = _tables()
    sql = VISITS_MISSED.format(journeys=JOURNEYS.format(**tables), **tables)
    return sql, ctx.params(day=ctx.business_date.isoformat(), missed=VisitStatus.MISSED.value,
                           visited=[s.value for s in VISITED])


# --- 2. devices that did not sync ----------------------------------------------------------------------------------

# A booker's day counts as synced when any of the booker's devices of that distributor (active or since revoked)
# sent an item for the date: a booker who moved to a new phone mid-day did sync. Each active device of a booker
# with planned visits and no such item is reported (a device registered after the date is not). Whether a device
# sent anything for the date is one entry of (distributor, device, work_date) (LIMIT 1), asked of the tenant's
# devices or of the bookers' (the planner's choice: both are bounded by the devices, not the items); on a clean day
# every journey's booker has one, and planned visits are counted for the other journeys only.
DEVICE_NOT_SYNCED = """
WITH {journeys},
unsynced AS MATERIALIZED (
    SELECT j.* FROM day_journeys j
    WHERE NOT EXISTS (
        SELECT 1 FROM {device} mine
        CROSS JOIN LATERAL (
            SELECT 1 FROM {item} si
            WHERE si.distributor_id = mine.distributor_id AND si.device_id = mine.id
              AND si.work_date = %(business_date)s
            LIMIT 1
        ) sent
        WHERE mine.distributor_id = j.distributor_id AND mine.user_id = j.booker_id AND mine.tenant_id = %(tenant_id)s)
),
planned AS (
    SELECT j.*, (SELECT count(*) FROM {visit} v
                 WHERE v.distributor_id = j.distributor_id AND v.journey_id = j.id AND v.planned) AS planned
    FROM unsynced j
)
SELECT dev.distributor_id,
    'device:' || dev.id || ':' || %(day)s AS key,
    'device' AS subject_type,
    dev.id AS subject_id,
    'No sync for ' || %(day)s || ' from ' || coalesce(nullif(dev.name, ''), dev.identifier) || ' ('
        || u.username || ', ' || p.planned || ' planned visits on route ' || r.code || ').' AS message,
    jsonb_build_array(
        jsonb_build_object('type', 'device', 'id', dev.id, 'ref', coalesce(nullif(dev.name, ''), dev.identifier)),
        jsonb_build_object('type', 'user', 'id', p.booker_id, 'ref', u.username),
        jsonb_build_object('type', 'journey', 'id', p.id, 'ref', r.code || ' ' || %(day)s)) AS records,
    jsonb_build_object('date', %(day)s, 'planned', p.planned, 'last_seen_at', dev.last_seen_at,
                       'last_push_at', h.last_push_at, 'last_pull_at', h.last_pull_at) AS detail
FROM planned p
JOIN {user} u ON u.id = p.booker_id
JOIN {route} r ON r.distributor_id = p.distributor_id AND r.id = p.route_id
JOIN {device} dev ON dev.distributor_id = p.distributor_id AND dev.user_id = p.booker_id AND dev.active
    AND dev.tenant_id = %(tenant_id)s AND dev.created_at < %(day_end)s
LEFT JOIN {health} h ON h.distributor_id = dev.distributor_id AND h.device_id = dev.id
WHERE p.planned > 0
"""


def _device_not_synced(ctx: CheckContext) -> tuple[str, dict[str, Any]]:
    tables = _tables()
    sql = DEVICE_NOT_SYNCED.format(journeys=JOURNEYS.format(**tables), **tables)
    return sql, ctx.params(day=ctx.business_date.isoformat())


# --- 3. day closes with gaps or count mismatches, and devices that never closed the day ---------------------------

# Recomputed at night against what arrived since: the sequence numbers in the device's [first, last] that never
# arrived (gaps between the consecutive ones present, with the range's ends as sentinels; the span capped like the
# day close service caps it), and per kind the device's count against the distinct accepted items the server holds
# for the date, as mobile.dayclose.day_close compares them.
#
# First control totals, from one pass over each close's items of the date (its device's (distributor, device,
# work_date) range): a close is clean when its date's items alone fill [first, last] (sequence numbers are unique per
# device, so the range has no gap), no two of them carry the same object (so each kind's distinct count of accepted
# items is its plain count) and each kind's count is the device's. Only the other closes (a gap, a mismatch, or an
# object sent twice) are worked out in full, in LATERAL subqueries over their own device's items (index ranges), so
# the cost stays linear in the day's closes whatever the planner estimates; the figures reported are those of the
# full computation.
DEVICE_DAY_CLOSE = """
WITH closes AS MATERIALIZED (
    SELECT c.distributor_id, c.device_id, c.first_device_seq AS first_seq,
        least(c.last_device_seq, c.first_device_seq + %(max_span)s) AS last_seq, c.device_counts, c.reported_at
    FROM {dayclose} c
    WHERE c.tenant_id = %(tenant_id)s AND c.date = %(business_date)s
),
suspect AS MATERIALIZED (
    SELECT c.* FROM closes c
    CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE si.device_seq BETWEEN c.first_seq AND c.last_seq) AS in_range,
            count(*) AS items, count(DISTINCT si.object_uuid) AS objects,
            {kind_totals}
        FROM {item} si
        WHERE si.distributor_id = c.distributor_id AND si.device_id = c.device_id
          AND si.work_date = %(business_date)s
    ) t
    WHERE t.in_range < c.last_seq - c.first_seq + 1 OR t.objects < t.items
       OR {kind_differs}
),
checked AS (
    SELECT c.*, g.missing, g.ranges, g.missing_seqs, k.per_kind, k.mismatched, k.mismatch_text, k.mismatches
    FROM suspect c
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(h.last_missing - h.first_missing + 1), 0) AS missing, count(*) AS ranges,
            coalesce(jsonb_agg(jsonb_build_array(h.first_missing, h.last_missing) ORDER BY h.n)
                     FILTER (WHERE h.n <= %(max_ranges)s), '[]'::jsonb) AS missing_seqs
        FROM (
            SELECT steps.prev + 1 AS first_missing, steps.seq - 1 AS last_missing,
                row_number() OVER (ORDER BY steps.seq) AS n
            FROM (
                SELECT present.seq, lag(present.seq) OVER (ORDER BY present.seq) AS prev
                FROM (
                    SELECT si.device_seq AS seq FROM {item} si
                    WHERE si.distributor_id = c.distributor_id AND si.device_id = c.device_id
                      AND si.device_seq BETWEEN c.first_seq AND c.last_seq
                    UNION ALL SELECT c.first_seq - 1
                    UNION ALL SELECT c.last_seq + 1
                ) present
            ) steps
            WHERE steps.seq - steps.prev > 1
        ) h
    ) g
    CROSS JOIN LATERAL (
        SELECT jsonb_object_agg(pk.kind, jsonb_build_object('device', pk.on_device, 'server', pk.on_server))
                AS per_kind,
            count(*) FILTER (WHERE pk.on_device <> pk.on_server) AS mismatched,
            string_agg(pk.kind || ' ' || pk.on_device || ' on the device, ' || pk.on_server || ' on the server',
                       '; ' ORDER BY pk.ord) FILTER (WHERE pk.on_device <> pk.on_server) AS mismatch_text,
            coalesce(jsonb_agg(jsonb_build_object('kind', pk.kind, 'device', pk.on_device, 'server', pk.on_server)
                               ORDER BY pk.ord) FILTER (WHERE pk.on_device <> pk.on_server), '[]'::jsonb)
                AS mismatches
        FROM (
            SELECT kinds.kind, kinds.ord, coalesce((c.device_counts ->> kinds.kind)::bigint, 0) AS on_device,
                coalesce(held.n, 0) AS on_server
            FROM unnest(%(kinds)s::text[]) WITH ORDINALITY AS kinds(kind, ord)
            LEFT JOIN (
                SELECT si.kind, count(DISTINCT si.object_uuid) AS n FROM {item} si
                WHERE si.distributor_id = c.distributor_id AND si.device_id = c.device_id
                  AND si.work_date = %(business_date)s AND si.result = ANY(%(accepted)s)
                GROUP BY si.kind
            ) held ON held.kind = kinds.kind
        ) pk
    ) k
)
SELECT c.distributor_id,
    'device:' || c.device_id || ':' || %(day)s AS key,
    'device' AS subject_type,
    c.device_id AS subject_id,
    'Day close of ' || %(day)s || ' from ' || coalesce(nullif(dev.name, ''), dev.identifier) || ' ('
        || u.username || '): ' || concat_ws('; ',
            CASE WHEN c.missing > 0 THEN c.missing || ' item(s) never arrived (sequence numbers '
                || (c.missing_seqs -> 0 ->> 0) || '-' || (c.missing_seqs -> 0 ->> 1)
                || CASE WHEN c.ranges > 1 THEN ' and ' || (c.ranges - 1) || ' more range(s)' ELSE '' END || ')' END,
            CASE WHEN c.mismatched > 0 THEN 'counts differ: ' || c.mismatch_text END) || '.' AS message,
    jsonb_build_array(
        jsonb_build_object('type', 'device', 'id', dev.id, 'ref', coalesce(nullif(dev.name, ''), dev.identifier)),
        jsonb_build_object('type', 'user', 'id', u.id, 'ref', u.username)) AS records,
    jsonb_build_object('date', %(day)s, 'first_device_seq', c.first_seq, 'last_device_seq', c.last_seq,
        'missing', c.missing, 'missing_ranges', c.ranges, 'missing_seqs', c.missing_seqs, 'counts', c.per_kind,
        'mismatches', c.mismatches, 'reported_at', c.reported_at) AS detail
FROM checked c
JOIN {device} dev ON dev.distributor_id = c.distributor_id AND dev.id = c.device_id
JOIN {user} u ON u.id = dev.user_id
WHERE c.ranges > 0 OR c.mismatched > 0

UNION ALL

SELECT dev.distributor_id,
    'device:' || dev.id || ':' || %(day)s || ':no-close' AS key,
    'device' AS subject_type,
    dev.id AS subject_id,
    coalesce(nullif(dev.name, ''), dev.identifier) || ' (' || u.username || ') sent ' || s.items
        || ' item(s) for ' || %(day)s || ' but never closed the day.' AS message,
    jsonb_build_array(
        jsonb_build_object('type', 'device', 'id', dev.id, 'ref', coalesce(nullif(dev.name, ''), dev.identifier)),
        jsonb_build_object('type', 'user', 'id', u.id, 'ref', u.username)) AS records,
    jsonb_build_object('date', %(day)s, 'items', s.items, 'visits', s.visits, 'orders', s.orders,
                       'first_device_seq', s.first_seq, 'last_device_seq', s.last_seq) AS detail
FROM (
    -- the devices with no day close of the date (against the closes read above); OFFSET 0 keeps the item counts
    -- below for these devices only
    SELECT dev.* FROM {device} dev
    WHERE dev.tenant_id = %(tenant_id)s
      AND NOT EXISTS (SELECT 1 FROM closes c WHERE c.distributor_id = dev.distributor_id AND c.device_id = dev.id)
    OFFSET 0
) dev
JOIN {user} u ON u.id = dev.user_id
CROSS JOIN LATERAL (
    SELECT count(*) AS items, count(*) FILTER (WHERE si.kind = 'visit') AS visits,
        count(*) FILTER (WHERE si.kind = 'order') AS orders, min(si.device_seq) AS first_seq,
        max(si.device_seq) AS last_seq
    FROM {item} si
    WHERE si.distributor_id = dev.distributor_id AND si.device_id = dev.id AND si.work_date = %(business_date)s
) s
WHERE s.items > 0
"""


# Per kind of KINDS (kind_0, kind_1, ..): the accepted items of the kind held, and whether the device says otherwise.
KIND_TOTAL = "count(*) FILTER (WHERE si.kind = %(kind_{i})s AND si.result = ANY(%(accepted)s)) AS held_{i}"
KIND_DIFFERS = "t.held_{i} <> coalesce((c.device_counts ->> %(kind_{i})s)::bigint, 0)"


def _device_day_close(ctx: CheckContext) -> tuple[str, dict[str, Any]]:
    sql = DEVICE_DAY_CLOSE.format(
        kind_totals=",\n            ".join(KIND_TOTAL.format(i=i) for i in range(len(KINDS))),
        kind_differs="\n       OR ".join(KIND_DIFFERS.format(i=i) for i in range(len(KINDS))), **_tables())
    return sql, ctx.params(day=ctx.business_date.isoformat(), max_span=MAX_SPAN, max_ranges=MAX_RANGES_LISTED,
                           accepted=list(ACCEPTED), kinds=list(KINDS),
                           **{f"kind_{i}": kind for i, kind in enumerate(KINDS)})


# --- 4. orders stuck in a state ------------------------------------------------------------------------------------

# Confirmed orders wait for allocation, the order desk's step like confirming: they share the booked limit. An order
# on credit hold is waiting for a person to release the hold; it is reported all the same, and the message says so.
# One branch per limit, its cutoff a constant, so each reads the (tenant, status, status_changed_at) index for its
# statuses and only the rows past the cutoff; an order from before the column existed and not backfilled (NULL) is
# measured from its last change.
STUCK_BRANCH = """
    SELECT o.id, o.distributor_id, o.outlet_id, o.uuid, o.status, o.hold, o.hold_reason,
        %({name}_limit)s::interval AS lim, coalesce(o.status_changed_at, o.updated_at) AS since
    FROM {order} o
    WHERE o.tenant_id = %(tenant_id)s AND o.status = ANY(%({name}_statuses)s)
      AND (o.status_changed_at < %({name}_cutoff)s
           OR (o.status_changed_at IS NULL AND o.updated_at < %({name}_cutoff)s))"""

ORDERS_STUCK = """
WITH stuck AS ({branches}
)
SELECT s.distributor_id,
    'order:' || s.id || ':' || s.status AS key,
    'order' AS subject_type,
    s.id AS subject_id,
    'Order ' || left(s.uuid::text, 8) || ' of ' || ol.code || ' ' || ol.name || ' has been '
        || replace(s.status, '_', ' ') || ' for ' || round(extract(epoch FROM %(as_of)s - s.since) / 3600, 1)
        || ' hours (limit ' || trim_scale(round(extract(epoch FROM s.lim) / 3600, 1)) || ').'
        || CASE WHEN s.hold <> '' THEN ' It is on ' || s.hold || ' hold, waiting for someone to release it'
                || CASE WHEN s.hold_reason <> '' THEN ': ' || s.hold_reason ELSE '' END || '.' ELSE '' END
        AS message,
    jsonb_build_array(
        jsonb_build_object('type', 'order', 'id', s.id, 'ref', s.uuid::text),
        jsonb_build_object('type', 'outlet', 'id', ol.id, 'ref', ol.code || ' ' || ol.name)) AS records,
    jsonb_build_object('status', s.status, 'since', s.since,
                       'hours', round(extract(epoch FROM %(as_of)s - s.since) / 3600, 1),
                       'limit_hours', trim_scale(round(extract(epoch FROM s.lim) / 3600, 1)), 'as_of', %(as_of)s,
                       'hold', s.hold, 'hold_reason', s.hold_reason) AS detail
FROM stuck s
JOIN {outlet} ol ON ol.distributor_id = s.distributor_id AND ol.id = s.outlet_id
"""

# limit name (ctx.params' <name>_limit) -> the statuses it bounds
STUCK_LIMITS = {
    "booked": (OrderStatus.BOOKED, OrderStatus.CONFIRMED),
    "allocated": (OrderStatus.ALLOCATED, OrderStatus.PARTIALLY_ALLOCATED),
    "invoiced": (OrderStatus.INVOICED,),
}


def _orders_stuck(ctx: CheckContext) -> tuple[str, dict[str, Any]]:
    tables = _tables()
    params = ctx.params()
    branches = "\n    UNION ALL".join(STUCK_BRANCH.format(name=name, **tables) for name in STUCK_LIMITS)
    for name, statuses in STUCK_LIMITS.items():
        params[f"{name}_statuses"] = [s.value for s in statuses]
        params[f"{name}_cutoff"] = ctx.as_of - params[f"{name}_limit"]
    return ORDERS_STUCK.format(branches=branches, **tables), params


FIELD_CHECKS: tuple[Check, ...] = (
    Check(code="visits_missed", title="Missed visits",
          description="Closes the day: planned visits with no check-in become missed (pjp.services."
                      "visits_close_day); lists each journey of the date with missed visits.",
          scope=CheckScope.DAY, select=_visits_missed, prepare=_close_day),
    Check(code="device_not_synced", title="Devices not synced",
          description="Active devices of bookers with planned visits on the date from which (nor from any other "
                      "device of the booker) no item of the date arrived.",
          scope=CheckScope.DAY, select=_device_not_synced),
    Check(code="device_day_close", title="Day close gaps",
          description="Each device's day close of the date against what arrived: sequence numbers in its range "
                      "never received, visit and order counts against the accepted items held; and devices that "
                      "sent items for the date but never closed it.",
          scope=CheckScope.DAY, select=_device_day_close),
    Check(code="orders_stuck", title="Orders stuck",
          description="Secondary orders booked or confirmed longer than the booked limit, allocated (or partly) "
                      "longer than the allocated limit, invoiced longer than the invoiced limit (TenantSettings), "
                      "measured from when they entered the state.",
          scope=CheckScope.STATE, select=_orders_stuck),
)
