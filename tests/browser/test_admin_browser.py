"""The admin in a real browser: a distributor user's outlets, the import page, and who may log in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from catalog.models import Outlet
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD
from tests.factories.catalog import make_outlet

pytestmark = pytest.mark.browser

SCREENSHOT = screenshot("admin-outlets.png")


def log_in(page: Any, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form input[type=submit]")
    page.wait_for_load_state()


def test_distributor_staff_sees_only_its_outlets_and_imports_new_ones(live_server, cast_a, page, tmp_path: Path):
    # given: two outlets of A1 and one of its sibling A2
    a1, a2 = cast_a.distributors
    make_outlet(a1, code="A1-OWN-1", name="Own Store One")
    make_outlet(a1, code="A1-OWN-2", name="Own Store Two")
    make_outlet(a2, code="A2-SIB-1", name="Sibling Store")
    upload = tmp_path / "new-outlets.csv"
    upload.write_text("code,name,channel,credit_limit\nWEB-1,Browser Store One,general_trade,1000\n"
                      "WEB-2,Browser Store Two,wholesale,2500.50\n")

    # when: staff of A1 logs in and opens the outlets changelist
    log_in(page, live_server.url, cast_a.users[Role.DISTRIBUTOR_STAFF].username)
    assert page.url == f"{live_server.url}/admin/"
    page.get_by_role("link", name="Outlets", exact=True).first.click()
    page.wait_for_url(f"{live_server.url}/admin/catalog/outlet/")

    # then: its own outlets, none of the sibling's
    listed = page.inner_text("#result_list")
    assert "A1-OWN-1" in listed and "Own Store Two" in listed
    assert "A2-SIB-1" not in page.content() and "Sibling Store" not in page.content()

    # when: it imports two outlets through the import page
    page.get_by_role("link", name="Import CSV/XLSX").click()
    page.wait_for_url(f"{live_server.url}/admin/catalog/outlet/import/")
    page.set_input_files("input[type=file]", str(upload))
    page.click("#masters-import-form input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/catalog/outlet/")

    # then: they are listed, with the report, and belong to A1
    listed = page.inner_text("#result_list")
    assert "WEB-1" in listed and "Browser Store Two" in listed and "A1-OWN-1" in listed
    assert "2 created, 0 updated" in page.inner_text("ul.messagelist")
    page.screenshot(path=SCREENSHOT, full_page=True)
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        created = dict(Outlet.objects.filter(code__startswith="WEB-").values_list("code", "distributor_id"))
    assert created == {"WEB-1": a1.pk, "WEB-2": a1.pk}


def test_an_order_booker_cannot_log_into_the_admin(live_server, cast_a, page):
    # when
    log_in(page, live_server.url, cast_a.users[Role.ORDER_BOOKER].username)
    # then
    assert page.url.startswith(f"{live_server.url}/admin/login/")
    assert "This account cannot use the admin" in page.inner_text(".errornote")
    assert page.locator("#login-form").is_visible()
