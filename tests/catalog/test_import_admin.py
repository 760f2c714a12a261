"""The admin import/export pages: same service, same scope (request.scope), edit roles only."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from catalog.models import Outlet, Sku
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from tests.factories.catalog import make_brand, make_outlet

pytestmark = pytest.mark.django_db

OUTLETS = "/admin/catalog/outlet/"
SKUS = "/admin/catalog/sku/"


def client_for(cast: Any, role: str) -> Client:
    client = Client()
    client.force_login(cast.users[role])
    return client


def upload(name: str, content: str | bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content.encode() if isinstance(content, str) else content)


def outlets_by_distributor(cast: Any) -> dict[str, str]:
    with tenant_scope(Scope.system(cast.tenant.pk)):
        return dict(Outlet.objects.values_list("code", "distributor__code"))


@pytest.fixture
def submit(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Post an upload and follow it to its end. The import is a background job queued on commit; here the
    commit callbacks run (eager Celery), as they would after a real request's transaction."""

    def post(client: Client, url: str, file: SimpleUploadedFile) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, {"file": file})
        assert response.status_code in (200, 302)
        return client.get(response["Location"], follow=True) if response.status_code == 302 else response

    return post


def test_distributor_staff_imports_outlets_for_its_own_distributor(cast_a, submit):
    # given
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    changelist = client.get(OUTLETS)
    assert f'href="{OUTLETS}import/"' in changelist.content.decode()
    # when
    response = submit(client, f"{OUTLETS}import/", upload("o.csv", "code,name\nW-1,Web one\nW-2,Web two\n"))
    # then: the job ran and the browser ends on the changelist with the summary
    assert response.redirect_chain[-1][0] == OUTLETS
    assert outlets_by_distributor(cast_a) == {"W-1": "A1", "W-2": "A1"}
    assert "utlets: 2 created, 0 updated." in response.content.decode()  # the admin capitalises it


def test_a_bad_row_shows_row_numbers_and_imports_nothing(cast_a, submit):
    # given
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    data = "code,name,credit_limit\nW-1,Fine,10\nW-2,Negative,-5\n"
    # when
    response = submit(client, f"{OUTLETS}import/", upload("o.csv", data))
    # then
    page = response.content.decode()
    assert response.status_code == 200
    assert "row 3: credit_limit: Ensure this value is greater than or equal to 0." in page
    assert "the header is row 1" in page
    assert outlets_by_distributor(cast_a) == {}


def test_a_distributor_column_in_the_upload_is_refused(cast_a, submit):
    client = client_for(cast_a, Role.DISTRIBUTOR_ADMIN)
    response = submit(client, f"{OUTLETS}import/", upload("o.csv", "distributor,code,name\nA2,W-1,X\n"))
    assert response.status_code == 200 and "row 1: distributor: Not accepted" in response.content.decode()
    assert outlets_by_distributor(cast_a) == {}


def test_manufacturer_admin_imports_skus_from_xlsx(cast_a, submit):
    # given
    make_brand(cast_a.tenant.pk, code="FIZ")
    book = openpyxl.Workbook()
    book.active.append(["code", "name", "brand", "units_per_case", "tax_class", "weight_kg_per_case"])
    book.active.append(["X-1", "From Excel", "FIZ", 24, "STD", 6.125])
    data = io.BytesIO()
    book.save(data)
    client = client_for(cast_a, Role.MANUFACTURER_ADMIN)
    # when
    response = submit(client, f"{SKUS}import/", upload("skus.xlsx", data.getvalue()))
    # then
    assert response.redirect_chain[-1][0] == SKUS
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        assert str(Sku.objects.get(code="X-1").weight_kg_per_case) == "6.125"


def test_export_downloads_the_scopes_rows(cast_a):
    # given
    a1, a2 = cast_a.distributors
    make_outlet(a1, code="MINE")
    make_outlet(a2, code="SIBLING")
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    # when
    response = client.get(f"{OUTLETS}export/", {"format": "csv"})
    # then
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    body = response.content.decode()
    assert "MINE" in body and "SIBLING" not in body


@pytest.mark.parametrize(("role", "changelist"), [(Role.MANUFACTURER_ANALYST, OUTLETS),
                                                  (Role.DISTRIBUTOR_STAFF, SKUS),
                                                  (Role.DISTRIBUTOR_ADMIN, "/admin/catalog/pricelist/")])
def test_roles_that_cannot_edit_get_no_buttons_and_403(cast_a, role, changelist):
    client = client_for(cast_a, role)
    page = client.get(changelist)
    assert page.status_code == 200 and f"{changelist}import/" not in page.content.decode()
    assert client.get(f"{changelist}import/").status_code == 403
    assert client.post(f"{changelist}import/", {"file": upload("x.csv", "code\n")}).status_code == 403
    assert client.get(f"{changelist}export/").status_code == 403


def test_the_upload_must_be_csv_or_xlsx(cast_a):
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    response = client.post(f"{OUTLETS}import/", {"file": upload("o.txt", "code,name\nW-1,X\n")})
    assert response.status_code == 200 and "Upload a .csv or .xlsx file." in response.content.decode()


def test_a_queued_import_shows_its_progress_page_until_the_worker_runs_it(cast_a):
    # given: the commit callbacks do not run here, so the job stays queued like one waiting for a worker
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    response = client.post(f"{OUTLETS}import/", {"file": upload("o.csv", "code,name\nW-1,Web one\n")})
    # when
    page = client.get(response["Location"])
    # then
    body = page.content.decode()
    assert page.status_code == 200 and 'id="import-progress"' in body and "Queued" in body
    assert '<meta http-equiv="refresh" content="2">' in body
    assert outlets_by_distributor(cast_a) == {}
    # and another tenant's user cannot open the job page
    assert client_for_other_tenant_job(response["Location"]) == 404


def client_for_other_tenant_job(url: str) -> int:
    from tests.conftest import build_tenant

    other = build_tenant("zz")
    return client_for(other, Role.DISTRIBUTOR_STAFF).get(url).status_code
