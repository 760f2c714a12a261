"""The reconciliation admin: the runs (counts per check, "Run again", "Reconcile a date…" for manufacturer admins)
and the exception queue (opens on what is still to do; filters; an exception's page with its records linked, its
figures and its history; assign, resolve with a note, re-open as bulk actions and as the page's buttons). A
distributor user sees its own distributor's exceptions only; another tenant's run or exception is a 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from reconciliation.enums import ExceptionStatus, RunStatus, RunTrigger
from reconciliation.models import ExceptionEvent, ReconciliationRun

from .admin_fixtures import DAY, STUCK, TOTALS, build_queue, exception_of, make_exception, make_run, run_of

pytestmark = pytest.mark.django_db

QUEUE = "/admin/reconciliation/reconciliationexception/"
RUNS = "/admin/reconciliation/reconciliationrun/"


@pytest.fixture
def queue(cast_a, cast_b):
    return build_queue(cast_a, cast_b)


def client_for(cast: Any, role: str) -> Client:
    client = Client()
    client.force_login(cast.users[role])
    return client


def _events(cast: Any, exception_id: int) -> list[tuple[str, str, str]]:
    with tenant_scope(Scope.system(cast.tenant.pk)):
        return list(ExceptionEvent.objects.filter(exception_id=exception_id).order_by("id")
                    .values_list("action", "from_status", "to_status"))


# --- the queue: list -------------------------------------------------------------------------------------------------

def test_the_queue_opens_on_open_and_assigned_exceptions(cast_a, queue):
    # given: one of A1's exceptions is resolved
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    client.post(QUEUE, {"action": "resolve", "_selected_action": [queue.totals.pk], "apply": "yes",
                        "note": "credit note issued"})
    # when
    listed = client.get(QUEUE).content.decode()
    everything = client.get(QUEUE, {"status": "all"}).content.decode()
    resolved = client.get(QUEUE, {"status": "resolved"}).content.decode()
    # then
    assert "ORD-42 booked 30 hours ago" in listed and "INV-9 total" not in listed
    assert "ORD-42 booked 30 hours ago" in everything and "INV-9 total" in everything
    assert "INV-9 total" in resolved and "ORD-42" not in resolved
    assert "Open or assigned" in listed


def test_a_distributor_user_sees_only_its_distributors_exceptions(cast_a, queue):
    # when
    staff = client_for(cast_a, Role.DISTRIBUTOR_STAFF).get(QUEUE, {"status": "all"}).content.decode()
    manufacturer = client_for(cast_a, Role.MANUFACTURER_ANALYST).get(QUEUE, {"status": "all"}).content.decode()
    # then
    assert "ORD-42" in staff and "SIBLING" not in staff and "THEIRS" not in staff
    assert "ORD-42" in manufacturer and "SIBLING" in manufacturer and "THEIRS" not in manufacturer
    # the manufacturer has a distributor filter and column; the distributor user needs none
    assert "?distributor=" in manufacturer and "?distributor=" not in staff


def test_the_queue_filters_by_check_distributor_assignee_and_search(cast_a, queue):
    client = client_for(cast_a, Role.MANUFACTURER_ADMIN)
    client.post(f"{QUEUE}{queue.totals.pk}/assign-to-me/")
    by_check = client.get(QUEUE, {"check": TOTALS}).content.decode()
    assert "INV-9" in by_check and "ORD-42" not in by_check and "SIBLING" not in by_check
    by_distributor = client.get(QUEUE, {"distributor": cast_a.distributors[1].pk}).content.decode()
    assert "SIBLING" in by_distributor and "ORD-42" not in by_distributor
    mine = client.get(QUEUE, {"assigned": "me"}).content.decode()
    assert "INV-9" in mine and "ORD-42" not in mine
    nobody = client.get(QUEUE, {"assigned": "nobody"}).content.decode()
    assert "INV-9" not in nobody and "ORD-42" in nobody
    searched = client.get(QUEUE, {"q": "lines sum"}).content.decode()
    assert "INV-9" in searched and "ORD-42" not in searched
    by_run = client.get(QUEUE, {"run": queue.run.pk, "status": "all"}).content.decode()
    assert "INV-9" in by_run and "SIBLING" in by_run


# --- the queue: an exception's page -----------------------------------------------------------------------------------

def test_an_exceptions_page_links_its_records_and_shows_its_figures_and_history(cast_a, queue):
    # given
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    client.post(f"{QUEUE}{queue.stuck.pk}/assign-to-me/")
    # when
    response = client.get(f"{QUEUE}{queue.stuck.pk}/change/")
    page = response.content.decode()
    # then: the order links to its admin page; a type without one is text
    assert response.status_code == 200
    assert 'href="/admin/orders/secondaryorder/42/change/"' in page and "order ORD-42" in page
    assert "mystery M-7" in page and "/mystery/" not in page
    assert "<th>booked hours</th><td>30</td>" in page and "<th>limit hours</th><td>24</td>" in page
    assert "assigned to " + cast_a.users[Role.DISTRIBUTOR_STAFF].username in page  # the history inline
    assert 'id="resolve"' in page and 'id="assign-to-me"' not in page  # assigned to this user already


def test_another_tenants_or_a_siblings_exception_and_another_tenants_run_are_not_found(cast_a, queue):
    staff = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    manufacturer = client_for(cast_a, Role.MANUFACTURER_ADMIN)
    for client, exc in ((staff, queue.sibling), (staff, queue.theirs), (manufacturer, queue.theirs)):
        assert client.get(f"{QUEUE}{exc.pk}/change/").status_code == 404
        for view in ("assign-to-me", "assign", "resolve", "reopen"):
            assert client.post(f"{QUEUE}{exc.pk}/{view}/", {"note": "x"}).status_code == 404, view
    assert manufacturer.get(f"{QUEUE}{queue.sibling.pk}/change/").status_code == 200
    assert manufacturer.get(f"{RUNS}{queue.run_b.pk}/change/").status_code == 404
    assert staff.get(f"{RUNS}{queue.run.pk}/change/").status_code == 200
    assert exception_of(cast_a.tenant.pk, queue.sibling.pk).status == ExceptionStatus.OPEN
    # and a bulk action naming them changes nothing
    staff.post(QUEUE, {"action": "assign_to_me", "_selected_action": [queue.sibling.pk, queue.theirs.pk]})
    assert exception_of(cast_a.tenant.pk, queue.sibling.pk).assigned_to_id is None


def test_resolving_from_the_page_asks_for_a_note(cast_a, queue):
    client = client_for(cast_a, Role.DISTRIBUTOR_ADMIN)
    url = f"{QUEUE}{queue.stuck.pk}/resolve/"
    # when: no note
    refused = client.post(url, {"note": ""})
    # then: the form again, with the error, nothing changed
    assert refused.status_code == 200 and "This field is required." in refused.content.decode()
    assert exception_of(cast_a.tenant.pk, queue.stuck.pk).status == ExceptionStatus.OPEN
    # when: a note
    done = client.post(url, {"note": "Outlet confirmed the order late."})
    # then: back on the exception's page, resolved with the note and an event
    assert done.status_code == 302 and done["Location"] == f"{QUEUE}{queue.stuck.pk}/change/"
    resolved = exception_of(cast_a.tenant.pk, queue.stuck.pk)
    assert resolved.status == ExceptionStatus.RESOLVED
    assert resolved.resolution_note == "Outlet confirmed the order late."
    assert resolved.resolved_by_id == cast_a.users[Role.DISTRIBUTOR_ADMIN].pk
    page = client.get(f"{QUEUE}{queue.stuck.pk}/change/").content.decode()
    assert 'id="reopen"' in page and 'id="resolve"' not in page


def test_reopening_from_the_page(cast_a, queue):
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    client.post(f"{QUEUE}{queue.stuck.pk}/resolve/", {"note": "fixed"})
    response = client.post(f"{QUEUE}{queue.stuck.pk}/reopen/", {"reason": "it came back"})
    assert response.status_code == 302
    assert exception_of(cast_a.tenant.pk, queue.stuck.pk).status == ExceptionStatus.OPEN
    assert _events(cast_a, queue.stuck.pk)[-1] == ("reopen", "resolved", "open")


def test_assigning_from_the_page_offers_only_users_who_can_see_the_distributor(cast_a, queue):
    # given
    client = client_for(cast_a, Role.MANUFACTURER_ADMIN)
    url = f"{QUEUE}{queue.stuck.pk}/assign/"
    # when
    form = client.get(url).content.decode()
    # then: A1's admin and staff and the manufacturer's users; not A2's staff, not order-bookers
    users = cast_a.users
    for role in (Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF, Role.MANUFACTURER_ANALYST):
        assert f">{users[role].username}<" in form, role
    assert users[f"{Role.DISTRIBUTOR_STAFF}@A2"].username not in form
    assert users[Role.ORDER_BOOKER].username not in form
    # when: one is chosen
    response = client.post(url, {"assigned_to": users[Role.DISTRIBUTOR_STAFF].pk})
    # then
    assert response.status_code == 302
    assigned = exception_of(cast_a.tenant.pk, queue.stuck.pk)
    assert assigned.status == ExceptionStatus.ASSIGNED and assigned.assigned_to_id == users[Role.DISTRIBUTOR_STAFF].pk
    # when: someone not offered is posted anyway
    refused = client.post(url, {"assigned_to": users[f"{Role.DISTRIBUTOR_STAFF}@A2"].pk})
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()


# --- the queue: bulk actions ------------------------------------------------------------------------------------------

def test_assign_to_me_and_reopen_as_bulk_actions(cast_a, queue):
    # given
    staff = cast_a.users[Role.DISTRIBUTOR_STAFF]
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    # when
    response = client.post(QUEUE, {"action": "assign_to_me", "_selected_action": [queue.stuck.pk, queue.totals.pk]},
                           follow=True)
    # then
    assert "2 exceptions assigned to you." in response.content.decode()
    for pk in (queue.stuck.pk, queue.totals.pk):
        exc = exception_of(cast_a.tenant.pk, pk)
        assert exc.status == ExceptionStatus.ASSIGNED and exc.assigned_to_id == staff.pk
    # given: both resolved
    client.post(QUEUE, {"action": "resolve", "_selected_action": [queue.stuck.pk, queue.totals.pk], "apply": "yes",
                        "note": "checked"})
    # when: one is re-opened from the list of resolved ones (an open one selected too: nothing to do for it)
    client.post(f"{QUEUE}?status=all", {"action": "reopen", "_selected_action": [queue.stuck.pk]})
    # then
    assert exception_of(cast_a.tenant.pk, queue.stuck.pk).status == ExceptionStatus.OPEN
    assert exception_of(cast_a.tenant.pk, queue.totals.pk).status == ExceptionStatus.RESOLVED


def test_resolve_action_asks_for_a_note_on_an_intermediate_page(cast_a, queue):
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    selected = {"action": "resolve", "_selected_action": [queue.stuck.pk, queue.totals.pk]}
    # when: the action is chosen
    page = client.post(QUEUE, selected)
    # then: the intermediate page lists them with the form
    body = page.content.decode()
    assert page.status_code == 200 and 'id="queue-form"' in body and "ORD-42" in body and "INV-9" in body
    # when: submitted without a note
    refused = client.post(QUEUE, {**selected, "apply": "yes", "note": ""})
    assert refused.status_code == 200 and "This field is required." in refused.content.decode()
    assert exception_of(cast_a.tenant.pk, queue.stuck.pk).status == ExceptionStatus.OPEN
    # when: with a note
    done = client.post(QUEUE, {**selected, "apply": "yes", "note": "Both checked with the outlet."}, follow=True)
    # then
    assert "2 exceptions resolved." in done.content.decode()
    for pk in (queue.stuck.pk, queue.totals.pk):
        exc = exception_of(cast_a.tenant.pk, pk)
        assert exc.status == ExceptionStatus.RESOLVED and exc.resolution_note == "Both checked with the outlet."


def test_assign_to_action_reports_each_refusal(cast_a, queue):
    # given: one of the two is cleared (the run no longer finds it), so it cannot be assigned
    cleared = make_exception(queue.run, cast_a.distributors[0], status=ExceptionStatus.CLEARED)
    client = client_for(cast_a, Role.DISTRIBUTOR_ADMIN)
    target = cast_a.users[Role.DISTRIBUTOR_STAFF]
    # when
    done = client.post(f"{QUEUE}?status=all", {"action": "assign_to", "_selected_action": [queue.stuck.pk, cleared.pk],
                                               "apply": "yes", "assigned_to": target.pk}, follow=True)
    # then
    body = done.content.decode()
    assert f"1 exception assigned to {target.username}." in body
    assert f"Exception {cleared.pk}: not assigned to {target.username}." in body
    assert exception_of(cast_a.tenant.pk, queue.stuck.pk).assigned_to_id == target.pk
    assert exception_of(cast_a.tenant.pk, cleared.pk).status == ExceptionStatus.CLEARED


def test_an_analyst_works_the_queue_though_read_only_elsewhere(cast_a, queue):
    client = client_for(cast_a, Role.MANUFACTURER_ANALYST)
    listed = client.get(QUEUE).content.decode()
    assert 'value="resolve"' in listed and 'value="assign_to_me"' in listed
    client.post(QUEUE, {"action": "resolve", "_selected_action": [queue.sibling.pk], "apply": "yes",
                        "note": "A2 re-keyed it"})
    assert exception_of(cast_a.tenant.pk, queue.sibling.pk).status == ExceptionStatus.RESOLVED
    assert _events(cast_a, queue.sibling.pk) == [("resolve", "open", "resolved")]


# --- runs ------------------------------------------------------------------------------------------------------------

def test_runs_list_their_progress_and_counts(cast_a, queue):
    # when
    listed = client_for(cast_a, Role.DISTRIBUTOR_STAFF).get(RUNS).content.decode()
    # then: a distributor user sees the tenant's runs (counts are tenant-wide figures), not tenant B's
    assert "1.2 s" in listed and "2/" in listed and "Succeeded" in listed
    assert 'class="field-found">3<' in listed and 'class="field-new">2<' in listed
    assert f"/{queue.run_b.pk}/change/" not in listed
    assert "Reconcile a date" not in listed  # tenant-level admins only


def test_a_runs_page_shows_its_counts_per_check(cast_a, queue):
    page = client_for(cast_a, Role.MANUFACTURER_ANALYST).get(f"{RUNS}{queue.run.pk}/change/").content.decode()
    assert 'id="run-checks"' in page and f">{TOTALS}</td>" in page and "missed 4" in page
    assert f"?run={queue.run.pk}&amp;status=all" in page
    assert 'id="run-again"' not in page  # analysts do not start runs


def test_run_again_is_for_manufacturer_admins(cast_a, queue):
    # given
    analyst = client_for(cast_a, Role.MANUFACTURER_ANALYST)
    admin = client_for(cast_a, Role.MANUFACTURER_ADMIN)
    assert 'value="run_again"' not in analyst.get(RUNS).content.decode()
    analyst.post(RUNS, {"action": "run_again", "_selected_action": [queue.run.pk]})
    assert run_of(cast_a.tenant.pk, queue.run.pk).status == RunStatus.SUCCEEDED
    # when
    response = admin.post(RUNS, {"action": "run_again", "_selected_action": [queue.run.pk]}, follow=True)
    # then
    assert "is queued" in response.content.decode()
    again = run_of(cast_a.tenant.pk, queue.run.pk)
    assert again.status == RunStatus.QUEUED and again.checks_done == [] and again.trigger == RunTrigger.MANUAL


def test_reconcile_a_date_from_the_admin(cast_a, queue):
    client = client_for(cast_a, Role.MANUFACTURER_ADMIN)
    url = f"{RUNS}reconcile/"
    assert 'id="reconcile-date"' in client.get(RUNS).content.decode()
    # when: a future date
    refused = client.post(url, {"business_date": "2999-01-01"})
    # then: the form names it
    assert refused.status_code == 200 and "Is in the future." in refused.content.decode()
    # when: a past date with no run
    day = DAY - timedelta(days=10)
    done = client.post(url, {"business_date": day.isoformat()})
    # then: its run is created, queued, and opened
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        run = ReconciliationRun.objects.get(business_date=day)
    assert done.status_code == 302 and done["Location"] == f"{RUNS}{run.pk}/change/"
    assert run.status == RunStatus.QUEUED and run.requested_by_id == cast_a.users[Role.MANUFACTURER_ADMIN].pk
    page = client.get(done["Location"]).content.decode()
    assert 'http-equiv="refresh"' in page and "is queued" in page
    # and other roles may not
    assert client_for(cast_a, Role.MANUFACTURER_ANALYST).get(url).status_code == 403
    assert client_for(cast_a, Role.DISTRIBUTOR_ADMIN).post(url, {"business_date": day.isoformat()}).status_code == 403


def test_a_finished_run_is_not_restarted_without_run_again(cast_a, queue):
    client = client_for(cast_a, Role.MANUFACTURER_ADMIN)
    response = client.post(f"{RUNS}reconcile/", {"business_date": DAY.isoformat()}, follow=True)
    assert "was reconciled already" in response.content.decode()
    assert run_of(cast_a.tenant.pk, queue.run.pk).status == RunStatus.SUCCEEDED
    make_run(cast_a.tenant.pk, DAY - timedelta(days=1), status=RunStatus.FAILED, error="boom")
    assert STUCK in client.get(f"{RUNS}{queue.run.pk}/change/").content.decode()
