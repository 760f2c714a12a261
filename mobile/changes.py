"""The change feed of the order-booker pull: database triggers that log "object X of entity E may have changed".

Every write path (ORM, bulk_create, imports, raw SQL) is captured, because the log is written by triggers on the
captured tables, not by application code:

- PostgreSQL: statement-level AFTER INSERT / UPDATE / DELETE triggers with transition tables, each writing one
  `mobile_syncchange` row per affected object with one INSERT ... SELECT (cheap on bulk imports). The first
  syncable statement of a transaction takes `last_seq + 1` of its clock (`dms_sync_seq`) and keeps the clock row
  locked to commit, so seq order is commit order; the seq is cached for the rest of the transaction in a
  transaction-local setting (`dms_sync.seq_<tenant>_<key>`), which a rolled-back savepoint reverts along with
  the clock update. Within one statement, clocks are taken in (tenant, key) order.
- SQLite (the single-process demo): row-level triggers; SQLite serialises writers, so a seq per row is
  commit-ordered there.

Tenant master data (brands, SKUs, tax rates, prices, schemes) is logged on the tenant clock (key 0), also when a
price list or scheme is narrowed to one distributor: the pull's visibility rule sorts that out. Outlets, journeys,
notifications and orders are logged on their distributor's clock. A visit is logged as its journey, and only
for planned fields, so the booker's own pushes (visit actuals) never queue on the distributor clock; an order
only for status, hold and total (the app booked it; staff changes flow back). An update logs both the old and
the new object and key, so a row moved to another distributor reaches the devices of both.

`install_sync_triggers` is the post_migrate hook (mobile.apps): idempotent, versioned by a digest of the SQL.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection

from dms.tenancy.scope import Scope

from .models import SyncChange, SyncClock

CLOCK_TABLE = SyncClock._meta.db_table
CHANGE_TABLE = SyncChange._meta.db_table
PREFIX = "dms_sync_"
DEFAULT_RETENTION_DAYS = 7


def retention_days() -> int:
    """SYNC_CHANGE_RETENTION_DAYS: how long change rows (and so cursors) last. A device may stay offline up to
    3 days (DESIGN §9); past the retention it pulls everything again."""
    return int(getattr(settings, "SYNC_CHANGE_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))


@dataclass(frozen=True)
class Capture:
    """How writes to one table are logged.

    `object_column` names the logged object (a child row logs its parent); `distributor_column` the clock
    (None: the tenant clock). `update_columns`: None logs every update, a tuple only updates that change one of
    those columns, () none. `fanout` (child table, parent column): an update logs the ids of the updated rows'
    children instead (a price list's change re-evaluates each of its prices)."""

    table: str
    entity: str
    object_column: str = "id"
    distributor_column: str | None = None
    update_columns: tuple[str, ...] | None = None
    on_insert: bool = True
    on_delete: bool = True
    fanout: tuple[str, str] | None = None


VISIT_PLANNED_COLUMNS = ("sequence", "eta", "etd", "outlet_id", "planned", "journey_id")

CAPTURES: tuple[Capture, ...] = (
    Capture("catalog_brand", "brand"),
    Capture("catalog_sku", "sku"),
    Capture("catalog_taxrate", "tax_rate"),
    Capture("catalog_pricelistitem", "price"),
    Capture("catalog_pricelist", "price", on_insert=False, on_delete=False,
            fanout=("catalog_pricelistitem", "price_list_id")),
    Capture("catalog_scheme", "scheme"),
    Capture("catalog_schemeslab", "scheme", object_column="scheme_id"),
    Capture("catalog_schemebrand", "scheme", object_column="scheme_id"),
    Capture("catalog_schemesku", "scheme", object_column="scheme_id"),
    Capture("catalog_outlet", "outlet", distributor_column="distributor_id"),
    Capture("pjp_dailyjourney", "journey", distributor_column="distributor_id"),
    Capture("pjp_visit", "journey", object_column="journey_id", distributor_column="distributor_id",
            update_columns=VISIT_PLANNED_COLUMNS),
    Capture("pjp_journeynotification", "notification", distributor_column="distributor_id",
            update_columns=("message", "journey_id", "date", "booker_id")),
    Capture("orders_secondaryorder", "order", distributor_column="distributor_id",
            update_columns=("status", "hold", "total"), on_insert=False, on_delete=False),
)
TENANT_ENTITIES = frozenset(c.entity for c in CAPTURES if c.distributor_column is None)
DISTRIBUTOR_ENTITIES = frozenset(c.entity for c in CAPTURES if c.distributor_column is not None)


def _digest(*parts: str) -> str:
    return hashlib.sha1("\n".join(parts).encode(), usedforsecurity=False).hexdigest()[:10]


# --- PostgreSQL ------------------------------------------------------------------------------------------------

PG_SEQ_FUNCTION = f"""
CREATE OR REPLACE FUNCTION dms_sync_seq(p_tenant bigint, p_key bigint) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    guc text := 'dms_sync.seq_' || p_tenant || '_' || p_key;
    cached text := current_setting(guc, true);
    taken bigint;
BEGIN
    IF cached IS NOT NULL AND cached <> '' THEN
        RETURN cached::bigint;
    END IF;
    -- The row lock is held to commit: the next writer of this clock waits, so seq order is commit order.
    UPDATE {CLOCK_TABLE} SET last_seq = last_seq + 1, updated_at = now()
        WHERE tenant_id = p_tenant AND distributor_key = p_key RETURNING last_seq INTO taken;
    IF NOT FOUND THEN
        INSERT INTO {CLOCK_TABLE} (tenant_id, distributor_key, last_seq, pruned_below, created_at, updated_at)
            VALUES (p_tenant, p_key, 0, 0, now(), now()) ON CONFLICT (tenant_id, distributor_key) DO NOTHING;
        UPDATE {CLOCK_TABLE} SET last_seq = last_seq + 1, updated_at = now()
            WHERE tenant_id = p_tenant AND distributor_key = p_key RETURNING last_seq INTO taken;
    END IF;
    PERFORM set_config(guc, taken::text, true);
    RETURN taken;
END
$fn$;
"""


def _pg_key(c: Capture, alias: str) -> str:
    return f"{alias}.{c.distributor_column}" if c.distributor_column else "0::bigint"


def _pg_select(c: Capture, alias: str, source: str) -> str:
    return f"SELECT {alias}.tenant_id, {_pg_key(c, alias)}, {alias}.{c.object_column} FROM {source}"


def _pg_log(entity: str, rows_sql: str) -> str:
    """One INSERT ... SELECT logging `rows_sql`'s (tenant_id, key, object id) rows, a seq per distinct clock."""
    return (
        f"WITH c(tenant_id, k, oid) AS ({rows_sql}),\n"
        f"  s AS (SELECT ks.tenant_id, ks.k, dms_sync_seq(ks.tenant_id, ks.k) AS seq\n"
        f"        FROM (SELECT DISTINCT tenant_id, k FROM c ORDER BY 1, 2) ks)\n"
        f"INSERT INTO {CHANGE_TABLE} (tenant_id, distributor_key, seq, entity, object_id, created_at, updated_at)\n"
        f"SELECT d.tenant_id, d.k, s.seq, '{entity}', d.oid, now(), now()\n"
        f"FROM (SELECT DISTINCT tenant_id, k, oid FROM c) d JOIN s ON s.tenant_id = d.tenant_id AND s.k = d.k;"
    )


def _pg_update_rows(c: Capture) -> str:
    if c.fanout is not None:
        child, parent = c.fanout
        return (f"SELECT ch.tenant_id, 0::bigint, ch.id FROM {child} ch "
                f"WHERE ch.{parent} IN (SELECT id FROM new_rows)")
    if c.update_columns is None:
        return f"{_pg_select(c, 'n', 'new_rows n')} UNION {_pg_select(c, 'o', 'old_rows o')}"
    # One pass over the changed rows, logging the old and the new object (a visit moved to another journey).
    both = ", ".join(f"({a}.tenant_id, {_pg_key(c, a)}, {a}.{c.object_column})" for a in ("n", "o"))
    return (f"SELECT v.tenant_id, v.k, v.oid FROM new_rows n JOIN old_rows o ON o.id = n.id "
            f"CROSS JOIN LATERAL (VALUES {both}) v(tenant_id, k, oid) "
            f"WHERE ROW({', '.join('n.' + col for col in c.update_columns)}) IS DISTINCT FROM "
            f"ROW({', '.join('o.' + col for col in c.update_columns)})")


def _pg_ops(c: Capture) -> list[str]:
    ops = ["INSERT"] if c.on_insert else []
    if c.update_columns != ():
        ops.append("UPDATE")
    return ops + (["DELETE"] if c.on_delete else [])


def _pg_function(c: Capture) -> str:
    branches = {
        "INSERT": _pg_log(c.entity, _pg_select(c, "n", "new_rows n")),
        "UPDATE": _pg_log(c.entity, _pg_update_rows(c)),
        "DELETE": _pg_log(c.entity, _pg_select(c, "o", "old_rows o")),
    }
    body = "\n".join(f"    {'IF' if i == 0 else 'ELSIF'} TG_OP = '{op}' THEN\n{branches[op]}"
                     for i, op in enumerate(_pg_ops(c)))
    return (f"CREATE OR REPLACE FUNCTION {PREFIX}capture_{c.table}() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
            f"BEGIN\n{body}\n    END IF;\n    RETURN NULL;\nEND\n$fn$;")


def _pg_triggers(c: Capture) -> dict[str, str]:
    """Trigger name -> CREATE TRIGGER, names versioned by the digest of everything they run."""
    digest = _digest(PG_SEQ_FUNCTION, _pg_function(c))
    refs = {"INSERT": "NEW TABLE AS new_rows", "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            "DELETE": "OLD TABLE AS old_rows"}
    out = {}
    for op in _pg_ops(c):
        name = f"{PREFIX}{op.lower()}_{digest}"
        # Transition tables allow one event per trigger and no column list: UPDATE filters by comparing rows.
        out[name] = (f"CREATE TRIGGER {name} AFTER {op} ON {c.table} REFERENCING {refs[op]} "
                     f"FOR EACH STATEMENT EXECUTE FUNCTION {PREFIX}capture_{c.table}()")
    return out


def _pg_installed() -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND NOT t.tgisinternal AND t.tgname LIKE %s",
            [PREFIX + "%"],
        )
        return set(cursor.fetchall())


def _pg_pending() -> list[str]:
    installed = _pg_installed()
    wanted = {(c.table, name): sql for c in CAPTURES for name, sql in _pg_triggers(c).items()}
    missing = [key for key in wanted if key not in installed]
    stale = sorted(installed - wanted.keys())
    if not missing and not stale:
        return []
    stmts = [PG_SEQ_FUNCTION]
    for table, name in stale:
        stmts.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    for c in CAPTURES:
        if any(t == c.table for t, _n in missing):
            stmts.append(_pg_function(c))
    stmts += [wanted[key] for key in missing]
    return stmts


def _pg_is_owner() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper OR EXISTS (SELECT 1 FROM pg_tables WHERE tableowner = current_user) "
                       "FROM pg_roles WHERE rolname = current_user")
        return bool(cursor.fetchone()[0])


# --- SQLite (demo) ---------------------------------------------------------------------------------------------

SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"


def _sqlite_key(c: Capture, alias: str) -> str:
    return f"{alias}.{c.distributor_column}" if c.distributor_column else "0"


def _sqlite_take(tenant: str, key: str, where: str = "") -> list[str]:
    # NOT EXISTS rather than INSERT OR IGNORE: an outer statement's conflict clause (an upsert) overrides a
    # trigger's own.
    cond = f" AND {where}" if where else ""
    return [
        f"INSERT INTO {CLOCK_TABLE} (tenant_id, distributor_key, last_seq, pruned_below, created_at, updated_at) "
        f"SELECT {tenant}, {key}, 0, 0, {SQLITE_NOW}, {SQLITE_NOW} WHERE NOT EXISTS (SELECT 1 FROM {CLOCK_TABLE} "
        f"WHERE tenant_id = {tenant} AND distributor_key = {key}){cond};",
        f"UPDATE {CLOCK_TABLE} SET last_seq = last_seq + 1 WHERE tenant_id = {tenant} AND distributor_key = {key}"
        f"{cond};",
    ]


def _sqlite_log(c: Capture, alias: str, where: str = "") -> list[str]:
    key = _sqlite_key(c, alias)
    return _sqlite_take(f"{alias}.tenant_id", key, where) + [
        f"INSERT INTO {CHANGE_TABLE} (tenant_id, distributor_key, seq, entity, object_id, created_at, updated_at) "
        f"SELECT {alias}.tenant_id, {key}, last_seq, '{c.entity}', {alias}.{c.object_column}, {SQLITE_NOW}, "
        f"{SQLITE_NOW} FROM {CLOCK_TABLE} WHERE tenant_id = {alias}.tenant_id AND distributor_key = {key}"
        f"{' AND ' + where if where else ''};"
    ]


def _sqlite_triggers(c: Capture) -> dict[str, str]:
    bodies: dict[str, tuple[str, list[str]]] = {}
    if c.on_insert:
        bodies["insert"] = (f"AFTER INSERT ON {c.table}", _sqlite_log(c, "NEW"))
    if c.on_delete:
        bodies["delete"] = (f"AFTER DELETE ON {c.table}", _sqlite_log(c, "OLD"))
    if c.fanout is not None:
        child, parent = c.fanout
        bodies["update"] = (f"AFTER UPDATE ON {c.table}", _sqlite_take("NEW.tenant_id", "0") + [
            f"INSERT INTO {CHANGE_TABLE} (tenant_id, distributor_key, seq, entity, object_id, created_at, updated_at) "
            f"SELECT ch.tenant_id, 0, k.last_seq, '{c.entity}', ch.id, {SQLITE_NOW}, {SQLITE_NOW} FROM {child} ch "
            f"JOIN {CLOCK_TABLE} k ON k.tenant_id = NEW.tenant_id AND k.distributor_key = 0 "
            f"WHERE ch.{parent} = NEW.id;"])
    elif c.update_columns != ():
        moved = f"({_sqlite_key(c, 'OLD')} IS NOT {_sqlite_key(c, 'NEW')} OR OLD.{c.object_column} IS NOT " \
                f"NEW.{c.object_column})"
        event = f"AFTER UPDATE ON {c.table}"
        if c.update_columns:
            cols = c.update_columns
            event = (f"AFTER UPDATE OF {', '.join(cols)} ON {c.table} FOR EACH ROW WHEN "
                     f"({' OR '.join(f'OLD.{col} IS NOT NEW.{col}' for col in cols)})")
        bodies["update"] = (event, _sqlite_log(c, "NEW") + _sqlite_log(c, "OLD", where=moved))
    out = {}
    for op, (event, stmts) in bodies.items():
        name = f"{PREFIX}{c.table}_{op}_{_digest(event, *stmts)}"
        if "FOR EACH ROW" not in event:
            event += " FOR EACH ROW"
        out[name] = f"CREATE TRIGGER {name} {event} BEGIN\n" + "\n".join(stmts) + "\nEND"
    return out


def _sqlite_pending() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s", [PREFIX + "%"])
        installed = {r[0] for r in cursor.fetchall()}
    wanted = {name: sql for c in CAPTURES for name, sql in _sqlite_triggers(c).items()}
    return ([f"DROP TRIGGER IF EXISTS {name}" for name in sorted(installed - wanted.keys())]
            + [sql for name, sql in wanted.items() if name not in installed])


# --- installation -----------------------------------------------------------------------------------------------

def pending_trigger_statements() -> list[str]:
    """The DDL still needed to bring the capture triggers up to date. Empty when they are."""
    if connection.vendor == "postgresql":
        return _pg_pending()
    if connection.vendor == "sqlite":
        return _sqlite_pending()
    return []


def install_sync_triggers(**_: object) -> None:
    """post_migrate hook: create or refresh the capture triggers. Idempotent; a no-op when nothing is pending
    (a test flush as the application role) or when the change-feed tables do not exist (migrated back). Needs the
    table owner when something is pending."""
    if not {CLOCK_TABLE, CHANGE_TABLE} <= set(connection.introspection.table_names()):
        return
    stmts = pending_trigger_statements()
    if not stmts:
        return
    if connection.vendor == "postgresql" and not _pg_is_owner():
        raise RuntimeError("The sync triggers are out of date but the connection does not own the tables; "
                           "run migrate as the owner role (DATABASE_OWNER_URL).")
    with connection.cursor() as cursor:
        for stmt in stmts:
            cursor.execute(stmt)


# --- retention --------------------------------------------------------------------------------------------------

@dataclass
class PruneResult:
    deleted: int = 0
    clocks: int = 0
    more: bool = False


def sync_changes_prune(*, scope: Scope, before: datetime, limit: int) -> PruneResult:
    """Delete the scope tenant's change rows written before `before`, at most `limit` rows in this call.

    Per clock, `pruned_below` is raised to the highest seq written before `before` first (so a cursor at or
    behind it answers 410 from then on), then rows up to it are deleted. Idempotent; `more` says rows remain
    (call again, in a new transaction). The clock update briefly queues that clock's writers."""
    from django.db.models import F, Max
    from django.db.models.functions import Greatest

    result = PruneResult()
    budget = limit
    for clock in SyncClock.objects.filter(tenant_id=scope.tenant_id).order_by("distributor_key"):
        result.clocks += 1
        feed = SyncChange.objects.filter(tenant_id=scope.tenant_id, distributor_key=clock.distributor_key)
        mark = feed.filter(seq__gt=clock.pruned_below, created_at__lt=before).aggregate(m=Max("seq"))["m"]
        pruned_below = clock.pruned_below
        if mark is not None and mark > pruned_below:
            SyncClock.objects.filter(pk=clock.pk).update(pruned_below=Greatest(F("pruned_below"), mark))
            pruned_below = mark
        if budget <= 0:
            result.more = result.more or feed.filter(seq__lte=pruned_below).exists()
            continue
        ids = list(feed.filter(seq__lte=pruned_below).order_by("seq", "id").values_list("id", flat=True)[:budget + 1])
        if len(ids) > budget:
            ids, result.more = ids[:budget], True
        if ids:
            result.deleted += SyncChange.objects.filter(pk__in=ids).delete()[0]
            budget -= len(ids)
    return result
