"""The database fails closed: no tenant set, no rows; the ORM raises; the app role cannot bypass RLS."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from catalog.models import Outlet
from dms.tenancy.context import NoTenantInContext, tenant_scope
from dms.tenancy.ddl import tenant_models, tenant_tables
from dms.tenancy.models import Distributor, DistributorModel, TenantModel
from dms.tenancy.scope import Scope


def _counts() -> dict[str, int]:
    out = {}
    with connection.cursor() as cursor:
        for table in tenant_tables():
            cursor.execute(f'SELECT count(*) FROM "{table}"')
            out[table] = cursor.fetchone()[0]
    return out


def test_raw_sql_without_tenant_sees_zero_rows_in_every_tenant_table(cast_a, cast_b, outlet_factory):
    # given: rows in both tenants, including outlets
    outlet_factory(cast_a.distributors[0])
    outlet_factory(cast_b.distributors[0])
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        assert sum(_counts().values()) > 0  # the same query sees rows with a tenant set
    # when / then
    counts = _counts()
    assert counts and set(counts.values()) == {0}, counts


def test_orm_raises_without_tenant_in_context(cast_a):
    with pytest.raises(NoTenantInContext):
        Distributor.objects.count()
    with pytest.raises(NoTenantInContext):
        list(Outlet.objects.all())
    with pytest.raises(NoTenantInContext):
        Outlet.objects.filter(code="x").update(name="y")
    with pytest.raises(NoTenantInContext):
        Outlet.objects.first()


def test_tenant_sees_only_its_rows_and_distributor_only_its_own(cast_a, cast_b, outlet_factory):
    a1, a2 = cast_a.distributors
    mine = outlet_factory(a1)
    sibling = outlet_factory(a2)
    other = outlet_factory(cast_b.distributors[0])
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        assert set(Outlet.objects.values_list("pk", flat=True)) == {mine.pk, sibling.pk}
        with connection.cursor() as cursor:  # raw SQL too: RLS, not only the manager
            cursor.execute("SELECT id FROM catalog_outlet")
            assert {r[0] for r in cursor.fetchall()} == {mine.pk, sibling.pk}
    scope_a1 = Scope(tenant_id=cast_a.tenant.pk, distributor_ids=frozenset({a1.pk}), actor=Scope.system(1).actor)
    with tenant_scope(scope_a1):
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM catalog_outlet")
            assert [r[0] for r in cursor.fetchall()] == [mine.pk]
            cursor.execute("SELECT id FROM tenancy_distributor")
            assert [r[0] for r in cursor.fetchall()] == [a1.pk]
    assert other.pk not in (mine.pk, sibling.pk)


def test_insert_for_another_tenant_is_rejected_by_the_database(cast_a, cast_b):
    from django.db import DatabaseError, transaction

    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        with pytest.raises(DatabaseError, match="row-level security"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO catalog_brand (tenant_id, code, name, active, created_at, updated_at) "
                    "VALUES (%s, 'X', 'X', true, now(), now())", [cast_b.tenant.pk])


def test_row_cannot_point_at_another_tenants_parent_even_with_raw_sql(cast_a, cast_b):
    """Composite (tenant_id, distributor_id) foreign keys: a device of A cannot name B's distributor."""
    from django.db import IntegrityError, transaction

    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        with pytest.raises(IntegrityError):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO tenancy_device (tenant_id, distributor_id, user_id, identifier, name, platform, "
                    "app_version, active, created_at, updated_at) VALUES (%s, %s, %s, 'x', '', '', '', true, "
                    "now(), now())",
                    [cast_a.tenant.pk, cast_b.distributors[0].pk, cast_a.device.user_id])
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.django_db
def test_application_role_cannot_bypass_rls():
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)
        cursor.execute("SELECT count(*) FROM pg_tables WHERE tableowner = current_user")
        assert cursor.fetchone()[0] == 0


@pytest.mark.django_db
def test_check_tenancy_passes(capsys):
    call_command("check_tenancy")
    assert "tenancy ok" in capsys.readouterr().out


def test_every_tenant_data_model_inherits_the_tenant_base():
    """Enumerated: a model with a tenant or distributor column that is not a TenantModel fails here."""
    from django.apps import apps

    identity_tables = {"tenancy.Membership"}  # read by authentication before a tenant is known
    offenders = []
    for model in apps.get_models():
        names = {f.name for f in model._meta.concrete_fields}
        label = model._meta.label
        if ({"tenant", "distributor"} & names) and not issubclass(model, TenantModel) and label not in identity_tables:
            offenders.append(label)
        if "distributor" in names and issubclass(model, TenantModel) and not issubclass(model, DistributorModel):
            if label not in {"catalog.PriceList", "catalog.Scheme"}:  # optional narrowing, not ownership
                offenders.append(label)
    assert offenders == []
    assert len(tenant_models()) >= 14
