"""check_tenancy is not a rubber stamp: break a rule as the owner and it names the table and exits non-zero."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import pytest
from django.core.management import CommandError, call_command
from django.db import connection


@contextmanager
def as_owner() -> Iterator[psycopg2.extensions.cursor]:
    s = connection.settings_dict
    user, password = s["_OWNER"]
    conn = psycopg2.connect(dbname=s["NAME"], user=user, password=password, host=s["HOST"], port=s["PORT"])
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            yield cursor
    finally:
        conn.close()


BREAKAGES = [
    ("ALTER TABLE catalog_brand NO FORCE ROW LEVEL SECURITY", "ALTER TABLE catalog_brand FORCE ROW LEVEL SECURITY",
     "catalog_brand: row-level security is not forced"),
    ("ALTER TABLE catalog_sku DISABLE ROW LEVEL SECURITY", "ALTER TABLE catalog_sku ENABLE ROW LEVEL SECURITY",
     "catalog_sku: row-level security is not enabled"),
    ("CREATE UNIQUE INDEX leaky_brand_name ON catalog_brand (name)", "DROP INDEX leaky_brand_name",
     "catalog_brand: unique constraint leaky_brand_name (name) lacks tenant_id"),
    ("CREATE UNIQUE INDEX leaky_outlet_code ON catalog_outlet (tenant_id, code)", "DROP INDEX leaky_outlet_code",
     "catalog_outlet: unique constraint leaky_outlet_code (code, tenant_id) lacks distributor_id"),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("breaking", "mending", "expected"), BREAKAGES)
def test_check_tenancy_reports_a_broken_rule(breaking, mending, expected, capsys):
    with as_owner() as owner:
        owner.execute(breaking)
        try:
            with pytest.raises(CommandError):
                call_command("check_tenancy")
            assert expected in capsys.readouterr().out
        finally:
            owner.execute(mending)
    call_command("check_tenancy")


@pytest.mark.django_db(transaction=True)
def test_check_tenancy_reports_a_missing_composite_foreign_key(capsys):
    with as_owner() as owner:
        owner.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
                      "'tenancy_device'::regclass AND contype = 'f' AND array_length(conkey, 1) = 2")
        name, definition = owner.fetchone()
        owner.execute(f"ALTER TABLE tenancy_device DROP CONSTRAINT {name}")
        try:
            with pytest.raises(CommandError):
                call_command("check_tenancy")
            assert "tenancy_device: foreign key distributor_id -> tenancy_distributor is not backed" in (
                capsys.readouterr().out)
        finally:
            owner.execute(f"ALTER TABLE tenancy_device ADD CONSTRAINT {name} {definition}")


@pytest.mark.django_db(transaction=True)
def test_check_tenancy_reports_a_single_column_key_between_distributor_tables(capsys):
    with as_owner() as owner:
        owner.execute("ALTER TABLE tenancy_device ADD COLUMN stray_outlet_id bigint "
                      "CONSTRAINT stray_outlet_fk REFERENCES catalog_outlet (id)")
        try:
            with pytest.raises(CommandError):
                call_command("check_tenancy")
            assert ("tenancy_device: single-column foreign key stray_outlet_fk (stray_outlet_id) to "
                    "distributor-owned catalog_outlet") in capsys.readouterr().out
        finally:
            owner.execute("ALTER TABLE tenancy_device DROP COLUMN stray_outlet_id")
    call_command("check_tenancy")


def test_distributor_foreign_key_leaves_the_constraint_to_the_composite_key():
    from django.db import models

    from dms.tenancy.fields import DistributorForeignKey

    field = DistributorForeignKey("catalog.Outlet", on_delete=models.PROTECT)
    assert field.db_constraint is False
    assert "db_constraint" not in field.deconstruct()[3]
