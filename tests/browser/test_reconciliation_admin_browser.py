"""The exception queue in a real browser: distributor staff filter it by check, open an exception, take it and
resolve it with a note; the page says so and nothing is logged to the console."""

from __future__ import annotations

import re

import pytest

from dms.tenancy.enums import Role
from reconciliation.enums import ExceptionStatus
from tests.browser.conftest import screenshot
from tests.browser.test_admin_browser import log_in
from tests.reconciliation.admin_fixtures import STUCK, TOTALS, exception_of, make_exception, make_run

pytestmark = pytest.mark.browser

SCREENSHOT = screenshot("admin-reconciliation.png")


def test_staff_take_and_resolve_an_exception_of_their_distributor(live_server, cast_a, page):
    # given: last night's run found two mismatches at A1 and one at its sibling A2
    a1, a2 = cast_a.distributors
    run = make_run(cast_a.tenant.pk)
    make_exception(run, a1, check_code=STUCK, message="Order ORD-42 booked 30 hours ago, not confirmed.")
    totals = make_exception(run, a1, check_code=TOTALS, subject_type="invoice", subject_id=9,
                            message="Invoice INV-9 total 100.00, its lines sum to 90.00.",
                            records=[{"type": "invoice", "id": 9, "ref": "INV-9"}],
                            detail={"total": "100.00", "lines": "90.00"})
    make_exception(run, a2, message="Sibling order ORD-77 stuck in booked.")
    staff = cast_a.users[Role.DISTRIBUTOR_STAFF]
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"{msg.text} {msg.location.get('url', '')}")
            if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    # when: staff of A1 open the queue
    log_in(page, live_server.url, staff.username)
    page.goto(f"{live_server.url}/admin/reconciliation/reconciliationexception/")
    listed = page.inner_text("#result_list")
    # then: their two exceptions, not the sibling's
    assert "ORD-42" in listed and "INV-9" in listed and "ORD-77" not in page.content()

    # when: they filter by the invoice check
    page.locator("#changelist-filter a", has_text=TOTALS).click()
    page.wait_for_url(re.compile(r".*check=test_invoice_totals.*"))
    # then: only its exception is left
    listed = page.inner_text("#result_list")
    assert "INV-9" in listed and "ORD-42" not in listed

    # when: they open it and take it
    page.get_by_role("link", name=re.compile("Invoice INV-9 total")).click()
    page.wait_for_url(re.compile(rf".*/reconciliationexception/{totals.pk}/change/.*"))  # the list's filters kept
    assert "invoice INV-9" in page.inner_text("#exception-records")
    page.click("#assign-to-me")
    page.wait_for_load_state()
    # then
    assert "Assigned to you." in page.inner_text("ul.messagelist")
    assert "Assigned" in page.inner_text(".field-status")

    # when: they resolve it with a note through the form
    page.click("#resolve")
    page.wait_for_url(f"{live_server.url}/admin/reconciliation/reconciliationexception/{totals.pk}/resolve/")
    page.fill("textarea[name=note]", "Credit note CN-3 issued for the missing line.")
    page.click("#queue-submit")
    page.wait_for_url(f"{live_server.url}/admin/reconciliation/reconciliationexception/{totals.pk}/change/")

    # then: the page shows it resolved, with the note and its history, and it is so in the database
    assert "Resolved." in page.inner_text("ul.messagelist")
    assert "Resolved" in page.inner_text(".field-status")
    assert "Credit note CN-3 issued" in page.inner_text(".field-resolution_note")
    assert page.locator("#reopen").is_visible() and page.locator("#resolve").count() == 0
    page.screenshot(path=SCREENSHOT, full_page=True)
    resolved = exception_of(cast_a.tenant.pk, totals.pk)
    assert resolved.status == ExceptionStatus.RESOLVED and resolved.resolved_by_id == staff.pk
    assert resolved.resolution_note == "Credit note CN-3 issued for the missing line."
    assert problems == [], problems

