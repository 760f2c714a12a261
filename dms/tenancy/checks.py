"""Audit of the database against the tenancy rules; used by `manage.py check_tenancy` and the tests."""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from .ddl import (
    DISTRIBUTOR_POLICY,
    TENANT_POLICY,
    _distributor_column,
    _policies,
    _rls_flags,
    composite_fks,
    tenant_models,
)
from .models import DistributorModel


def tenancy_violations() -> list[str]:
    """One line per broken rule; empty when the database is sound."""
    if connection.vendor != "postgresql":
        return ["the database is not PostgreSQL: row-level security cannot be checked"]
    problems: list[str] = []
    with connection.cursor() as cursor:
        flags = _rls_flags(cursor)
        policies = _policies(cursor)
        # Every unique constraint or unique index (primary keys excepted: see the note on ids) with its columns.
        cursor.execute(
            """
            SELECT t.relname, i.relname, ix.indisprimary,
                   array_agg(a.attname ORDER BY a.attnum)
            FROM pg_index ix
            JOIN pg_class t ON t.oid = ix.indrelid
            JOIN pg_class i ON i.oid = ix.indexrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (ix.indkey)
            WHERE n.nspname = current_schema() AND ix.indisunique
            GROUP BY t.relname, i.relname, ix.indisprimary
            """
        )
        uniques = cursor.fetchall()
        cursor.execute(
            """
            SELECT c.relname, con.conname, array_agg(a.attname ORDER BY k.ord),
                   rc.relname, array_agg(ra.attname ORDER BY k.ord)
            FROM pg_constraint con
            JOIN pg_class c ON c.oid = con.conrelid
            JOIN pg_class rc ON rc.oid = con.confrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(att, ref, ord)
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.att
            JOIN pg_attribute ra ON ra.attrelid = rc.oid AND ra.attnum = k.ref
            WHERE con.contype = 'f' AND n.nspname = current_schema()
            GROUP BY c.relname, con.conname, rc.relname
            """
        )
        fks = cursor.fetchall()
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s",
                       [settings.DMS_APP_DB_ROLE or "-"])
        app_role = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM pg_tables WHERE tableowner = %s", [settings.DMS_APP_DB_ROLE or "-"])
        owned = cursor.fetchone()[0]

    tables = {m._meta.db_table: m for m in tenant_models()}
    for table, model in sorted(tables.items()):
        enabled, forced = flags.get(table, (False, False))
        if not enabled:
            problems.append(f"{table}: row-level security is not enabled")
        if not forced:
            problems.append(f"{table}: row-level security is not forced")
        if (table, TENANT_POLICY) not in policies:
            problems.append(f"{table}: no {TENANT_POLICY} policy")
        if _distributor_column(model) and (table, DISTRIBUTOR_POLICY) not in policies:
            problems.append(f"{table}: no {DISTRIBUTOR_POLICY} policy")
        stale = sorted(name for t, name in policies if t == table and name not in {TENANT_POLICY, DISTRIBUTOR_POLICY})
        if stale:
            problems.append(f"{table}: stale policies {', '.join(stale)} (run migrate as the owner)")

    for table, index, primary, cols in uniques:
        if table not in tables or primary:
            continue
        # Distributor-owned tables will be distributed by distributor_id (DESIGN §5): their uniques need it.
        need = "distributor_id" if issubclass(tables[table], DistributorModel) else "tenant_id"
        if need not in cols:
            problems.append(f"{table}: unique constraint {index} ({', '.join(cols)}) lacks {need}")

    for model in tenant_models():
        if issubclass(model, DistributorModel):
            continue
        for f in model._meta.concrete_fields:
            if getattr(f, "related_model", None) and isinstance(f.related_model, type) and issubclass(
                    f.related_model, DistributorModel):
                problems.append(f"{model._meta.db_table}: tenant-level table references distributor-owned "
                                f"{f.related_model._meta.db_table} ({f.column}); it cannot be colocated")

    distributor_tables = {t for t, m in tables.items() if issubclass(m, DistributorModel)}
    for t, name, cols, ref, _rcols in fks:
        if len(cols) == 1 and t in distributor_tables and ref in distributor_tables:
            problems.append(f"{t}: single-column foreign key {name} ({cols[0]}) to distributor-owned {ref}; "
                            f"use DistributorForeignKey (composite key only, as Citus requires)")

    composite = {(t, tuple(c), r, tuple(rc)) for t, _n, c, r, rc in fks if len(c) == 2}
    for fk in composite_fks():
        if (fk.table, fk.columns, fk.ref_table, fk.ref_columns) not in composite:
            problems.append(
                f"{fk.table}: foreign key {fk.columns[1]} -> {fk.ref_table} is not backed by a composite "
                f"({', '.join(fk.columns)}) constraint"
            )

    if settings.DMS_APP_DB_ROLE:
        if app_role is None:
            problems.append(f"application role {settings.DMS_APP_DB_ROLE} does not exist")
        elif app_role[0] or app_role[1]:
            problems.append(f"application role {settings.DMS_APP_DB_ROLE} is superuser or has BYPASSRLS")
        if owned:
            problems.append(f"application role {settings.DMS_APP_DB_ROLE} owns {owned} table(s)")
    else:
        problems.append("DMS_APP_DB_ROLE is not set: cannot check the application role")
    return problems
