"""Database-level tenancy, applied after every migrate (idempotent) and verified by check_tenancy.

For every tenant-owned table:
- row-level security ENABLEd and FORCEd, with a `tenant_isolation` policy on `app.tenant_id` and, for
  distributor-owned tables, a RESTRICTIVE `distributor_scope` policy on `app.distributor_ids`;
- `UNIQUE (tenant_id, id)` and, when distributor-owned, `UNIQUE (distributor_id, id)`, the targets of
- composite foreign keys: a child points at its parent through `(distributor_id, parent_id)` when both
  are distributor-owned, else `(tenant_id, parent_id)`. A row can never reference another tenant's or
  another distributor's row, whatever SQL writes it. Django cannot declare composite foreign keys,
  so they live here rather than in migrations.
- DML grants to the application role (DMS_APP_DB_ROLE), which owns nothing and cannot bypass RLS.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.db import connection, models

from .models import Distributor, DistributorModel, TenantModel

# The settings are read and cast inside scalar sub-selects, so PostgreSQL evaluates them once per statement
# (an InitPlan), not once per row. Policy names carry a version: changing a definition means a new name,
# and apply_tenancy_ddl drops the old ones.
TENANT_POLICY = "tenant_isolation_v2"
DISTRIBUTOR_POLICY = "distributor_scope_v2"
TENANT_GUC = "(SELECT nullif(current_setting('app.tenant_id', true), '')::bigint)"
DIST_ALL = "(SELECT current_setting('app.distributor_ids', true) = '*')"
# `ANY ((SELECT ...)::bigint[])`: the outer cast makes the sub-select a scalar array, not a set of rows.
DIST_IN = ("{col} = ANY ((SELECT nullif(nullif(current_setting('app.distributor_ids', true), '*'), '')"
           "::bigint[])::bigint[])")


def tenant_models() -> list[type[models.Model]]:
    return [
        m for m in apps.get_models()
        if issubclass(m, TenantModel) and m._meta.managed and not m._meta.proxy
    ]


def tenant_tables() -> list[str]:
    return sorted(m._meta.db_table for m in tenant_models())


def _name(table: str, suffix: str) -> str:
    digest = hashlib.sha1(f"{table}:{suffix}".encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{table[:40]}_{suffix[:10]}_{digest}"


def _distributor_column(model: type[models.Model]) -> str | None:
    if issubclass(model, DistributorModel):
        return "distributor_id"
    if model is Distributor:
        return "id"
    return None


@dataclass(frozen=True)
class CompositeFk:
    table: str
    columns: tuple[str, str]
    ref_table: str
    ref_columns: tuple[str, str]

    @property
    def name(self) -> str:
        return _name(self.table, "cfk_" + self.columns[1])


def composite_fks() -> list[CompositeFk]:
    """Every foreign key from a table with tenant_id to a tenant-owned table, made composite."""
    out: list[CompositeFk] = []
    for model in apps.get_models():
        if not model._meta.managed or model._meta.proxy:
            continue
        field_names = {f.name for f in model._meta.concrete_fields}
        if "tenant" not in field_names:
            continue
        for field in model._meta.concrete_fields:
            if not isinstance(field, models.ForeignKey) or field.name == "tenant":
                continue
            parent = field.related_model
            if not (isinstance(parent, type) and issubclass(parent, TenantModel)):
                continue
            if issubclass(parent, DistributorModel):
                # Only a distributor-owned row may point at one, within the same distributor. (A tenant-level
                # row pointing at distributor data cannot be colocated; check_tenancy reports it.)
                if not issubclass(model, DistributorModel):
                    continue
                cols, ref = ("distributor_id", field.column), ("distributor_id", "id")
            else:
                cols, ref = ("tenant_id", field.column), ("tenant_id", "id")
            out.append(CompositeFk(model._meta.db_table, cols, parent._meta.db_table, ref))
    return out


def _existing_constraints(cursor) -> set[tuple[str, str]]:
    cursor.execute(
        "SELECT c.relname, con.conname FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
    )
    return set(cursor.fetchall())


def _policies(cursor) -> set[tuple[str, str]]:
    cursor.execute("SELECT tablename, policyname FROM pg_policies WHERE schemaname = current_schema()")
    return set(cursor.fetchall())


def _rls_flags(cursor) -> dict[str, tuple[bool, bool]]:
    cursor.execute(
        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'"
    )
    return {r[0]: (r[1], r[2]) for r in cursor.fetchall()}


def pending_statements() -> list[str]:
    """The DDL still needed to bring the database in line. Empty when everything is in place."""
    stmts: list[str] = []
    with connection.cursor() as cursor:
        constraints = _existing_constraints(cursor)
        policies = _policies(cursor)
        flags = _rls_flags(cursor)
    for model in tenant_models():
        t = model._meta.db_table
        q = connection.ops.quote_name(t)
        enabled, forced = flags.get(t, (False, False))
        if not enabled:
            stmts.append(f"ALTER TABLE {q} ENABLE ROW LEVEL SECURITY")
        if not forced:
            stmts.append(f"ALTER TABLE {q} FORCE ROW LEVEL SECURITY")
        dcol = _distributor_column(model)
        wanted = {TENANT_POLICY} | ({DISTRIBUTOR_POLICY} if dcol else set())
        for table, name in sorted(policies):
            if table == t and name not in wanted:
                stmts.append(f"DROP POLICY {connection.ops.quote_name(name)} ON {q}")
        if (t, TENANT_POLICY) not in policies:
            stmts.append(
                f"CREATE POLICY {TENANT_POLICY} ON {q} USING (tenant_id = {TENANT_GUC}) "
                f"WITH CHECK (tenant_id = {TENANT_GUC})"
            )
        if dcol and (t, DISTRIBUTOR_POLICY) not in policies:
            cond = f"({DIST_ALL} OR {DIST_IN.format(col=dcol)})"
            stmts.append(f"CREATE POLICY {DISTRIBUTOR_POLICY} ON {q} AS RESTRICTIVE USING {cond} WITH CHECK {cond}")
        if not issubclass(model, DistributorModel) and (t, _name(t, "tid_id")) not in constraints:
            stmts.append(f"ALTER TABLE {q} ADD CONSTRAINT {_name(t, 'tid_id')} UNIQUE (tenant_id, id)")
        if issubclass(model, DistributorModel) and (t, _name(t, "did_id")) not in constraints:
            stmts.append(f"ALTER TABLE {q} ADD CONSTRAINT {_name(t, 'did_id')} UNIQUE (distributor_id, id)")
    for fk in composite_fks():
        if (fk.table, fk.name) not in constraints:
            stmts.append(
                f"ALTER TABLE {connection.ops.quote_name(fk.table)} ADD CONSTRAINT {fk.name} "
                f"FOREIGN KEY ({', '.join(fk.columns)}) REFERENCES {connection.ops.quote_name(fk.ref_table)} "
                f"({', '.join(fk.ref_columns)}) DEFERRABLE INITIALLY DEFERRED"
            )
    return stmts


def grant_statements() -> list[str]:
    role = settings.DMS_APP_DB_ROLE
    if not role:
        return []
    r = connection.ops.quote_name(role)
    return [
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}",
    ]


def apply_tenancy_ddl(**_: object) -> None:
    """post_migrate hook. Runs the pending DDL; needs the owner role when anything is pending."""
    if connection.vendor != "postgresql":
        return
    stmts = pending_statements()
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper OR EXISTS (SELECT 1 FROM pg_tables WHERE tableowner = current_user) "
                       "FROM pg_roles WHERE rolname = current_user")
        is_owner = bool(cursor.fetchone()[0])
        if not is_owner:
            if stmts:
                raise RuntimeError("Tenancy DDL is pending but the connection is not the schema owner; "
                                   "run migrate as the owner role (DATABASE_OWNER_URL).")
            return
        for stmt in stmts + grant_statements():
            cursor.execute(stmt)
