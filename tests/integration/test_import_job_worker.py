"""An import uploaded over the API runs on a real Celery worker (Redis broker) in the uploader's scope."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import Outlet
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from tests.conftest import build_tenant
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

GOOD = b"code,name,channel,lat,lng,credit_limit\nW-1,Worker Mart,general_trade,31.5,74.3,1000.00\n" \
       b"W-2,Queue Stores,wholesale,31.6,74.4,2500.50\n"
BAD = b"code,name,channel,lat,lng,credit_limit\nW-3,Fine Shop,general_trade,31.5,74.3,10\n" \
      b"W-4,Broken Shop,general_trade,95.0,74.3,10\n"


def _job(client, job_id):  # type: ignore[no-untyped-def]
    body = client.get(f"/api/v1/jobs/{job_id}/").json()
    return body if body["status"] in ("succeeded", "failed") else None


def _outlets(tenant_id: int) -> dict[str, int]:
    with tenant_scope(Scope.system(tenant_id)):
        return dict(Outlet.objects.values_list("code", "distributor_id"))


def test_worker_imports_in_the_uploaders_scope_and_a_bad_file_imports_nothing(celery_worker_process, api_as):
    # given
    cast_a, cast_b = build_tenant("wa"), build_tenant("wb")
    staff = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])
    # when: a good file, then a file with one bad row
    good = staff.post("/api/v1/catalog/imports/", {"kind": "outlets",
                                                   "file": SimpleUploadedFile("outlets.csv", GOOD)})
    bad = staff.post("/api/v1/catalog/imports/", {"kind": "outlets",
                                                  "file": SimpleUploadedFile("more.csv", BAD)})
    # then
    assert good.status_code == 202 and bad.status_code == 202, (good.content, bad.content)
    done = wait_for(lambda: _job(staff, good.json()["id"]))
    assert done["status"] == "succeeded", done
    assert done["result"]["created"] == 2 and done["percent"] == 100
    failed = wait_for(lambda: _job(staff, bad.json()["id"]))
    assert failed["status"] == "failed"
    assert [(e["row"], e["field"]) for e in failed["result"]["errors"]] == [(3, "lat")]
    a1 = cast_a.distributors[0].pk
    assert _outlets(cast_a.tenant.pk) == {"W-1": a1, "W-2": a1}
    assert _outlets(cast_b.tenant.pk) == {}
    # the other tenant cannot even see the job
    assert api_as(cast_b.users[Role.MANUFACTURER_ADMIN]).get(f"/api/v1/jobs/{good.json()['id']}/").status_code == 404


def test_a_redelivered_finished_job_does_nothing(celery_worker_process, api_as):
    from catalog.tasks import masters_import_task

    cast = build_tenant("wr")
    staff = api_as(cast.users[Role.DISTRIBUTOR_STAFF])
    job_id = staff.post("/api/v1/catalog/imports/", {"kind": "outlets",
                                                     "file": SimpleUploadedFile("o.csv", GOOD)}).json()["id"]
    wait_for(lambda: _job(staff, job_id))
    # when the same message arrives again (a redelivery after a lost ack)
    again = masters_import_task.apply_async(kwargs={"tenant_id": cast.tenant.pk, "job_id": job_id})
    # then the worker answers with the finished status and imports nothing twice
    assert again.get(timeout=30) == "succeeded"
    assert len(_outlets(cast.tenant.pk)) == 2
