"""The platform operator's commands: a tenant with its first admin, a distributor, an API key."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Distributor, Tenant, TenantSettings
from dms.tenancy.scope import Scope


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_operator_creates_a_tenant_a_distributor_and_a_key_that_all_work():
    # when
    out = _run("create_tenant", "--name", "Delta Dairies", "--slug", "delta", "--currency", "EGP",
               "--time-zone", "Africa/Cairo", "--fiscal-year-start-month", "7", "--admin-username", "delta.admin")
    password = out.split("password: ")[1].split()[0]
    out = _run("create_distributor", "--tenant", "delta", "--code", "CAI-1", "--name", "Cairo One",
               "--admin-username", "cai.admin")
    dist_password = out.split("password: ")[1].split()[0]
    raw_key = _run("api_key_create", "--tenant", "delta", "--name", "SAP").strip().splitlines()[-1]
    # then
    tenant = Tenant.objects.get(slug="delta")
    assert (tenant.currency, tenant.time_zone, tenant.fiscal_year_start_month) == ("EGP", "Africa/Cairo", 7)
    with tenant_scope(Scope.system(tenant.pk)):
        assert TenantSettings.objects.count() == 1
        assert list(Distributor.objects.values_list("code", flat=True)) == ["CAI-1"]
    browser = Client()
    assert browser.login(username="delta.admin", password=password)
    assert browser.get("/admin/").status_code == 200
    assert Client().login(username="cai.admin", password=dist_password)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    assert api.get("/api/v1/me/").json()["tenant"]["slug"] == "delta"


@pytest.mark.django_db
def test_commands_refuse_bad_input_clearly():
    with pytest.raises(CommandError, match="Unknown time zone"):
        _run("create_tenant", "--name", "X", "--slug", "x", "--time-zone", "Mars/Olympus", "--admin-username", "x1")
    assert not Tenant.objects.filter(slug="x").exists()
    with pytest.raises(CommandError, match="no tenant with slug 'nope'"):
        _run("create_distributor", "--tenant", "nope", "--code", "A", "--name", "A")
    _run("create_tenant", "--name", "Y", "--slug", "y", "--admin-username", "y1")
    _run("create_distributor", "--tenant", "y", "--code", "A", "--name", "A")
    with pytest.raises(CommandError, match="Distributor code 'A' exists"):
        _run("create_distributor", "--tenant", "y", "--code", "A", "--name", "A again")
