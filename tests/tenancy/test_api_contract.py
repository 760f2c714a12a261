"""The API's contract: one error shape, scope from the principal only, keys and device tokens."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from catalog.models import Outlet
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.models import ApiKey
from dms.tenancy.scope import Scope
from dms.tenancy.services import device_revoke
from tests.factories.catalog import make_brand

OUTLET = {"code": "NEW-1", "name": "Corner Store", "channel": "general_trade", "lat": "31.5", "lng": "74.3",
          "credit_limit": "1500.50", "opening_hours": {"mon": [["08:00", "20:00"]]}}


def _outlets(tenant_id: int) -> list[tuple[str, int]]:
    with tenant_scope(Scope.system(tenant_id)):
        return list(Outlet.objects.values_list("code", "distributor_id"))


def test_request_body_tenant_and_distributor_ids_are_ignored_for_a_distributor_user(api_as, cast_a, cast_b):
    # given: A1's staff sends tenant B's id and sibling A2's distributor id in the body
    client = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])
    body = {**OUTLET, "tenant_id": cast_b.tenant.pk, "tenant": cast_b.tenant.pk,
            "distributor_id": cast_a.distributors[1].pk}
    # when
    response = client.post("/api/v1/catalog/outlets/", body, format="json")
    # then: created in its own tenant and distributor; the stray ids changed nothing
    assert response.status_code == 201, response.content
    assert response.json()["distributor"] == cast_a.distributors[0].pk
    assert _outlets(cast_a.tenant.pk) == [("NEW-1", cast_a.distributors[0].pk)]
    assert _outlets(cast_b.tenant.pk) == []


def test_naming_a_sibling_or_foreign_distributor_is_rejected_with_the_field(api_as, cast_a, cast_b):
    staff = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])
    manufacturer = api_as(cast_a.api_key_raw, kind="api_key")
    for client, distributor in ((staff, cast_a.distributors[1]), (manufacturer, cast_b.distributors[0])):
        response = client.post("/api/v1/catalog/outlets/", {**OUTLET, "distributor": distributor.pk}, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {"distributor": ["Unknown distributor."]}
    assert _outlets(cast_a.tenant.pk) == [] and _outlets(cast_b.tenant.pk) == []


def test_bad_input_gets_one_error_shape_naming_each_field_and_writes_nothing(api_as, cast_a):
    client = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])
    bad = {**OUTLET, "lat": "123.0", "credit_limit": "-1", "opening_hours": {"mon": [["20:00", "08:00"]]}}
    del bad["name"]
    response = client.post("/api/v1/catalog/outlets/", bad, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"lat", "credit_limit", "opening_hours", "name"}
    assert error["message"]
    assert _outlets(cast_a.tenant.pk) == []


def test_duplicate_code_is_a_400_naming_code_and_the_first_row_stays(api_as, cast_a):
    client = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])
    assert client.post("/api/v1/catalog/outlets/", OUTLET, format="json").status_code == 201
    response = client.post("/api/v1/catalog/outlets/", {**OUTLET, "name": "Other"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "duplicate_code"
    assert "code" in response.json()["error"]["fields"]
    assert _outlets(cast_a.tenant.pk) == [("NEW-1", cast_a.distributors[0].pk)]


def test_not_found_and_unauthenticated_use_the_error_shape(api_as, cast_a):
    response = api_as(cast_a.users[Role.MANUFACTURER_ADMIN]).get("/api/v1/catalog/skus/999999/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    response = APIClient().get("/api/v1/catalog/skus/")
    assert response.status_code in (401, 403) and response.json()["error"]["code"] == "not_authenticated"


def test_analyst_reads_but_cannot_write(api_as, cast_a):
    client = api_as(cast_a.users[Role.MANUFACTURER_ANALYST])
    assert client.get("/api/v1/catalog/skus/").status_code == 200
    brand = make_brand(cast_a.tenant.pk)
    response = client.post("/api/v1/catalog/skus/", {"code": "X", "name": "X", "brand": brand.pk,
                                                     "units_per_case": 6, "tax_class": "STD"}, format="json")
    assert response.status_code == 403


def test_manufacturer_creates_sku_over_api_key_and_money_is_a_string(api_as, cast_a):
    brand = make_brand(cast_a.tenant.pk)
    client = api_as(cast_a.api_key_raw, kind="api_key")
    response = client.post("/api/v1/catalog/skus/", {"code": "COLA-250", "name": "Cola 250 ml", "brand": brand.pk,
                                                     "units_per_case": 24, "weight_kg_per_case": "6.250",
                                                     "tax_class": "STD"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["weight_kg_per_case"] == "6.250"
    listed = client.get("/api/v1/catalog/skus/", {"code": "cola-250"}).json()
    assert [s["code"] for s in listed["results"]] == ["COLA-250"]


# --- API keys ---------------------------------------------------------------------------------------

def test_api_key_is_stored_only_as_a_hash_and_revocation_locks_it_out(api_as, cast_a):
    raw = cast_a.api_key_raw
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        stored = ApiKey.objects.get(pk=cast_a.api_key.pk)
    secret = raw.split(".", 1)[1]
    assert secret not in stored.key_hash and raw not in stored.key_hash and len(stored.key_hash) == 128
    admin = api_as(cast_a.users[Role.MANUFACTURER_ADMIN])
    assert api_as(raw, kind="api_key").get("/api/v1/me/").status_code == 200
    assert admin.post(f"/api/v1/api-keys/{stored.pk}/revoke/").status_code == 200
    response = api_as(raw, kind="api_key").get("/api/v1/me/")
    assert response.status_code == 401 and response.json()["error"]["code"] == "authentication_failed"


def test_a_tampered_key_or_a_key_naming_another_tenant_is_refused(api_as, cast_a, cast_b):
    raw = cast_a.api_key_raw
    assert api_as(raw[:-2] + "zz", kind="api_key").get("/api/v1/me/").status_code == 401
    # the same prefix and secret claimed for tenant B: looked up under B's RLS, not found
    forged = raw.replace(f"dms_{cast_a.tenant.pk}_", f"dms_{cast_b.tenant.pk}_", 1)
    assert api_as(forged, kind="api_key").get("/api/v1/me/").status_code == 401


def test_two_active_keys_at_most_for_rotation(api_as, cast_a):
    admin = api_as(cast_a.users[Role.MANUFACTURER_ADMIN])
    second = admin.post("/api/v1/api-keys/", {"name": "rotation"}, format="json")
    assert second.status_code == 201 and second.json()["key"].startswith(f"dms_{cast_a.tenant.pk}_")
    third = admin.post("/api/v1/api-keys/", {"name": "one too many"}, format="json")
    assert third.status_code == 400 and third.json()["error"]["code"] == "too_many_keys"
    new_key = second.json()["key"]
    assert api_as(new_key, kind="api_key").get("/api/v1/me/").json()["actor"]["kind"] == "api_key"


def test_api_key_material_never_reaches_the_logs(api_as, cast_a, caplog):
    with caplog.at_level(logging.DEBUG):
        api_as(cast_a.api_key_raw, kind="api_key").get("/api/v1/me/")
        api_as(cast_a.api_key_raw + "x", kind="api_key").get("/api/v1/me/")
    secret = cast_a.api_key_raw.split(".", 1)[1]
    assert secret not in caplog.text


# --- devices ----------------------------------------------------------------------------------------

def test_device_token_works_only_on_mobile_routes_and_dies_with_the_device(api_as, cast_a):
    client = api_as(cast_a.device_token, kind="device")
    assert client.get("/api/v1/mobile/profile/").json()["device_id"] == cast_a.device.pk
    assert client.get("/api/v1/catalog/skus/").status_code in (401, 403)  # not a mobile route
    assert api_as(cast_a.api_key_raw, kind="api_key").get("/api/v1/mobile/profile/").status_code in (401, 403)
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        device_revoke(scope=scope, device_id=cast_a.device.pk)
    assert client.get("/api/v1/mobile/profile/").status_code == 401


def test_session_user_sees_its_scope(api_as, cast_a):
    me = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF]).get("/api/v1/me/").json()
    assert me["tenant"]["slug"] == "a" and me["distributor_ids"] == [cast_a.distributors[0].pk]
    me = api_as(cast_a.users[Role.MANUFACTURER_ADMIN]).get("/api/v1/me/").json()
    assert me["distributor_ids"] is None


# --- project hygiene -------------------------------------------------------------------------------

@pytest.mark.django_db
def test_migrations_are_complete():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_production_settings_pass_the_deploy_check():
    env = {"DJANGO_SETTINGS_MODULE": "dms.settings.production", "SECRET_KEY": "x" * 20 + "-prod-key-" + "y" * 30,
           "ALLOWED_HOSTS": "dms.example.com", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_openapi_schema_builds_and_docs_serve(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/catalog/outlets/" in schema.content
    assert client.get("/api/docs/").status_code == 200
