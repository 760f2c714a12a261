"""The reconciliation API: runs (list, detail, request a date) and the exception queue (list with filters, detail
with history, assign, resolve, re-open). Roles, validation errors naming the field, pagination, intruders."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dms.tenancy.ddl import tenant_tables
from dms.tenancy.enums import Role
from reconciliation.enums import ExceptionStatus, RunStatus, RunTrigger

from .admin_fixtures import DAY, STUCK, TOTALS, build_queue, exception_of, make_exception, make_run, run_of

pytestmark = pytest.mark.django_db

RUNS = "/api/v1/reconciliation/runs/"
EXCEPTIONS = "/api/v1/reconciliation/exceptions/"


@pytest.fixture
def queue(cast_a, cast_b):
    return build_queue(cast_a, cast_b)


def _ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


# --- runs ----------------------------------------------------------------------------------------------------------

def test_runs_are_listed_latest_first_with_their_totals_and_paginated(api_as, cast_a, queue):
    # given: two more runs of tenant A
    older = make_run(cast_a.tenant.pk, DAY - timedelta(days=1), status=RunStatus.FAILED, error="boom", counts={})
    make_run(cast_a.tenant.pk, DAY - timedelta(days=2))
    client = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])
    # when
    first = client.get(RUNS, {"page_size": 2})
    # then: runs are the tenant's, visible to a distributor user too; tenant B's is not there
    body = first.json()
    assert first.status_code == 200 and body["count"] == 3 and body["next"]
    top = body["results"][0]
    assert top["id"] == queue.run.pk and top["business_date"] == DAY.isoformat()
    assert top["status"] == RunStatus.SUCCEEDED and top["checks_done"] == [STUCK, TOTALS]
    assert top["exceptions"] == {"found": 3, "new": 2, "open": 3, "cleared": 3}
    assert queue.run_b.pk not in {r["id"] for r in body["results"]}
    # and filtering by the business date
    one = client.get(RUNS, {"business_date": older.business_date.isoformat()}).json()
    assert [r["id"] for r in one["results"]] == [older.pk] and one["results"][0]["error"] == "boom"


def test_a_run_shows_its_counts_per_check(api_as, cast_a, queue):
    # when
    response = api_as(cast_a.users[Role.MANUFACTURER_ANALYST]).get(f"{RUNS}{queue.run.pk}/")
    # then
    assert response.status_code == 200
    checks = {c["code"]: c for c in response.json()["checks"]}
    assert checks[TOTALS]["done"] and checks[TOTALS]["found"] == 1 and checks[TOTALS]["cleared"] == 3
    assert checks[TOTALS]["changed"] == {"missed": 4} and checks[STUCK]["ms"] == 800


def test_another_tenants_run_is_not_found(api_as, cast_a, queue):
    response = api_as(cast_a.users[Role.MANUFACTURER_ADMIN]).get(f"{RUNS}{queue.run_b.pk}/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_a_manufacturer_admin_requests_a_date_and_gets_the_queued_run(api_as, cast_a):
    # given
    user = cast_a.users[Role.MANUFACTURER_ADMIN]
    # when
    response = api_as(user).post(RUNS, {"business_date": DAY.isoformat()}, format="json")
    # then
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == RunStatus.QUEUED and body["trigger"] == RunTrigger.MANUAL
    assert body["requested_by"] == user.pk and body["business_date"] == DAY.isoformat()


def test_a_reconciled_date_runs_again_only_when_asked(api_as, cast_a, queue):
    client = api_as(cast_a.users[Role.MANUFACTURER_ADMIN])
    # when: asked without rerun
    kept = client.post(RUNS, {"business_date": DAY.isoformat()}, format="json")
    # then: the finished run, untouched
    assert kept.status_code == 202 and kept.json()["id"] == queue.run.pk
    assert kept.json()["status"] == RunStatus.SUCCEEDED
    # when: asked to run again
    again = client.post(RUNS, {"business_date": DAY.isoformat(), "rerun": True}, format="json")
    # then: the same run, queued from its first check
    assert again.json()["id"] == queue.run.pk and again.json()["status"] == RunStatus.QUEUED
    assert run_of(cast_a.tenant.pk, queue.run.pk).checks_done == []


@pytest.mark.parametrize("body, field", [({}, "business_date"), ({"business_date": "yesterday"}, "business_date"),
                                         ({"business_date": "2999-01-01"}, "business_date"),
                                         ({"business_date": "2025-01-06", "rerun": "perhaps"}, "rerun")])
def test_a_bad_run_request_names_the_field(api_as, cast_a, body, field):
    response = api_as(cast_a.users[Role.MANUFACTURER_ADMIN]).post(RUNS, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize("role", [Role.MANUFACTURER_ANALYST, Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF])
def test_only_the_tenant_level_may_request_a_run(api_as, cast_a, role):
    response = api_as(cast_a.users[role]).post(RUNS, {"business_date": DAY.isoformat()}, format="json")
    assert response.status_code == 403 and "error" in response.json()


def test_an_api_key_may_request_a_run(api_as, cast_a):
    response = api_as(cast_a.api_key_raw, kind="api_key").post(RUNS, {"business_date": DAY.isoformat()},
                                                               format="json")
    assert response.status_code == 202 and response.json()["requested_by"] is None


def test_order_bookers_have_no_reconciliation_api(api_as, cast_a, queue):
    assert api_as(cast_a.device_token, kind="device").get(RUNS).status_code in (401, 403)
    assert api_as(cast_a.users[Role.ORDER_BOOKER]).get(EXCEPTIONS).status_code == 403


# --- the queue: reads ------------------------------------------------------------------------------------------------

def test_a_distributor_user_lists_only_its_distributors_exceptions(api_as, cast_a, queue):
    # when
    mine = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF]).get(EXCEPTIONS)
    everyone = api_as(cast_a.users[Role.MANUFACTURER_ANALYST]).get(EXCEPTIONS)
    # then
    assert _ids(mine) == {queue.stuck.pk, queue.totals.pk}
    assert _ids(everyone) == {queue.stuck.pk, queue.totals.pk, queue.sibling.pk}
    row = next(r for r in mine.json()["results"] if r["id"] == queue.totals.pk)
    assert row["check_code"] == TOTALS and row["check_title"] == TOTALS and row["status"] == ExceptionStatus.OPEN
    assert row["records"] == [{"type": "invoice", "id": 9, "ref": "INV-9"}]
    assert row["detail"] == {"total": "100.00", "lines": "90.00"} and row["distributor_code"] == "A1"


def test_the_queue_filters_narrow(api_as, cast_a, queue):
    # given: one of A1's exceptions assigned to the staff user, one resolved on a later date
    staff = cast_a.users[Role.DISTRIBUTOR_STAFF]
    client = api_as(staff)
    client.post(f"{EXCEPTIONS}{queue.totals.pk}/assign/", {"assigned_to": staff.pk}, format="json")
    later = make_run(cast_a.tenant.pk, DAY + timedelta(days=3))
    resolved = make_exception(later, cast_a.distributors[0], status=ExceptionStatus.RESOLVED,
                              resolution_note="fixed")
    manufacturer = api_as(cast_a.users[Role.MANUFACTURER_ADMIN])
    # then
    assert _ids(client.get(EXCEPTIONS, {"check": TOTALS})) == {queue.totals.pk}
    assert _ids(client.get(EXCEPTIONS, {"assigned_to": "me"})) == {queue.totals.pk}
    assert _ids(client.get(EXCEPTIONS, {"assigned_to": "none"})) == {queue.stuck.pk, resolved.pk}
    assert _ids(client.get(EXCEPTIONS, {"assigned_to": str(staff.pk)})) == {queue.totals.pk}
    assert _ids(client.get(EXCEPTIONS, {"status": "resolved"})) == {resolved.pk}
    assert _ids(client.get(EXCEPTIONS, {"status": "unresolved"})) == {queue.stuck.pk, queue.totals.pk}
    assert _ids(client.get(EXCEPTIONS, {"date_from": (DAY + timedelta(days=1)).isoformat()})) == {resolved.pk}
    assert _ids(client.get(EXCEPTIONS, {"date_to": DAY.isoformat()})) == {queue.stuck.pk, queue.totals.pk}
    assert _ids(client.get(EXCEPTIONS, {"business_date": DAY.isoformat(), "check": STUCK})) == {queue.stuck.pk}
    assert _ids(client.get(EXCEPTIONS, {"run": later.pk})) == {resolved.pk}
    assert _ids(manufacturer.get(EXCEPTIONS, {"distributor": cast_a.distributors[1].pk})) == {queue.sibling.pk}
    # a distributor user naming its sibling gets nothing, not the sibling's
    assert _ids(client.get(EXCEPTIONS, {"distributor": cast_a.distributors[1].pk})) == set()


@pytest.mark.parametrize("query, field", [({"status": "lost"}, "status"), ({"assigned_to": "someone"}, "assigned_to"),
                                          ({"date_from": "soon"}, "date_from"), ({"distributor": "x"}, "distributor")])
def test_a_bad_filter_names_the_field(api_as, cast_a, queue, query, field):
    response = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF]).get(EXCEPTIONS, query)
    assert response.status_code == 400 and field in response.json()["error"]["fields"]


def test_the_queue_is_paginated(api_as, cast_a, queue):
    client = api_as(cast_a.users[Role.MANUFACTURER_ADMIN])
    first = client.get(EXCEPTIONS, {"page_size": 2}).json()
    second = client.get(EXCEPTIONS, {"page_size": 2, "page": 2}).json()
    assert first["count"] == 3 and len(first["results"]) == 2 and first["next"] and second["next"] is None
    assert {r["id"] for r in first["results"] + second["results"]} == {queue.stuck.pk, queue.totals.pk,
                                                                          queue.sibling.pk}


def test_listing_the_queue_costs_the_same_queries_for_more_rows(api_as, cast_a, queue):
    client = api_as(cast_a.users[Role.MANUFACTURER_ADMIN])
    staff = cast_a.users[Role.DISTRIBUTOR_STAFF]
    client.post(f"{EXCEPTIONS}{queue.stuck.pk}/assign/", {"assigned_to": staff.pk}, format="json")
    with CaptureQueriesContext(connection) as few:
        assert client.get(EXCEPTIONS).status_code == 200
    for i in range(8):
        make_exception(queue.run, cast_a.distributors[i % 2], assigned_to=staff if i % 2 == 0 else None)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(EXCEPTIONS).json()["results"]) == 11
    assert len(many.captured_queries) == len(few.captured_queries)


def test_an_exception_shows_its_history(api_as, cast_a, queue):
    # given
    staff = cast_a.users[Role.DISTRIBUTOR_STAFF]
    client = api_as(staff)
    client.post(f"{EXCEPTIONS}{queue.stuck.pk}/assign/", {"assigned_to": staff.pk}, format="json")
    client.post(f"{EXCEPTIONS}{queue.stuck.pk}/resolve/", {"note": "confirmed by phone"}, format="json")
    # when
    body = client.get(f"{EXCEPTIONS}{queue.stuck.pk}/").json()
    # then
    assert body["status"] == ExceptionStatus.RESOLVED and body["resolution_note"] == "confirmed by phone"
    assert body["resolved_by"] == staff.pk
    assert [(e["action"], e["from_status"], e["to_status"]) for e in body["events"]] == [
        ("assign", "open", "assigned"), ("resolve", "assigned", "resolved")]
    assert body["events"][1]["reason"] == "confirmed by phone" and body["events"][0]["actor_label"] == staff.username


@pytest.mark.parametrize("role", [Role.DISTRIBUTOR_STAFF, Role.DISTRIBUTOR_ADMIN])
def test_a_sibling_distributors_or_another_tenants_exception_is_not_found(api_as, cast_a, queue, role):
    client = api_as(cast_a.users[role])
    for exc in (queue.sibling, queue.theirs):
        assert client.get(f"{EXCEPTIONS}{exc.pk}/").status_code == 404
        # 404 before the body is read: an empty body is not a 400 here
        for action in ("assign", "resolve", "reopen"):
            response = client.post(f"{EXCEPTIONS}{exc.pk}/{action}/", {}, format="json")
            assert response.status_code == 404, (action, response.content)
    manufacturer = api_as(cast_a.users[Role.MANUFACTURER_ADMIN])
    assert manufacturer.get(f"{EXCEPTIONS}{queue.sibling.pk}/").status_code == 200
    assert manufacturer.get(f"{EXCEPTIONS}{queue.theirs.pk}/").status_code == 404
    assert exception_of(cast_a.tenant.pk, queue.sibling.pk).status == ExceptionStatus.OPEN


# --- the queue: changes --------------------------------------------------------------------------------------------

def test_assigning_and_unassigning(api_as, cast_a, queue):
    # given
    staff, admin = cast_a.users[Role.DISTRIBUTOR_STAFF], cast_a.users[Role.DISTRIBUTOR_ADMIN]
    client = api_as(staff)
    # when
    assigned = client.post(f"{EXCEPTIONS}{queue.stuck.pk}/assign/", {"assigned_to": admin.pk}, format="json")
    # then
    assert assigned.status_code == 200, assigned.content
    assert assigned.json()["status"] == ExceptionStatus.ASSIGNED
    assert assigned.json()["assigned_to_username"] == admin.username
    # when: back to the queue
    back = client.post(f"{EXCEPTIONS}{queue.stuck.pk}/assign/", {"assigned_to": None}, format="json")
    # then
    assert back.json()["status"] == ExceptionStatus.OPEN and back.json()["assigned_to"] is None
    assert len(back.json()["events"]) == 2


@pytest.mark.parametrize("who", ["sibling_staff", "other_tenant", "nobody", "booker_elsewhere"])
def test_assigning_to_a_user_who_cannot_see_the_distributor_names_the_field(api_as, cast_a, cast_b, queue, who):
    target = {"sibling_staff": cast_a.users[f"{Role.DISTRIBUTOR_STAFF}@A2"].pk,
              "other_tenant": cast_b.users[Role.MANUFACTURER_ADMIN].pk, "nobody": 999_999,
              "booker_elsewhere": cast_a.users[f"{Role.ORDER_BOOKER}@A2"].pk}[who]
    response = api_as(cast_a.users[Role.MANUFACTURER_ADMIN]).post(
        f"{EXCEPTIONS}{queue.stuck.pk}/assign/", {"assigned_to": target}, format="json")
    assert response.status_code == 400 and "assigned_to" in response.json()["error"]["fields"]
    assert exception_of(cast_a.tenant.pk, queue.stuck.pk).assigned_to_id is None


@pytest.mark.parametrize("body", [{}, {"assigned_to": "me"}, {"assigned_to": 0}])
def test_a_bad_assignment_body_names_the_field(api_as, cast_a, queue, body):
    response = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF]).post(f"{EXCEPTIONS}{queue.stuck.pk}/assign/", body,
                                                                 format="json")
    assert response.status_code == 400 and "assigned_to" in response.json()["error"]["fields"]


def test_an_analyst_works_the_queue(api_as, cast_a, queue):
    # given: analysts are read-only elsewhere; the queue is theirs too
    analyst = cast_a.users[Role.MANUFACTURER_ANALYST]
    client = api_as(analyst)
    # when
    assigned = client.post(f"{EXCEPTIONS}{queue.sibling.pk}/assign/", {"assigned_to": analyst.pk}, format="json")
    resolved = client.post(f"{EXCEPTIONS}{queue.sibling.pk}/resolve/", {"note": "A2 re-keyed the order"},
                           format="json")
    # then
    assert assigned.status_code == 200 and resolved.status_code == 200
    assert exception_of(cast_a.tenant.pk, queue.sibling.pk).status == ExceptionStatus.RESOLVED


def test_an_api_key_reads_the_queue_but_does_not_work_it(api_as, cast_a, queue):
    client = api_as(cast_a.api_key_raw, kind="api_key")
    assert client.get(f"{EXCEPTIONS}{queue.sibling.pk}/").status_code == 200
    mine = client.get(EXCEPTIONS, {"assigned_to": "me"})
    assert mine.status_code == 400 and "assigned_to" in mine.json()["error"]["fields"]
    response = client.post(f"{EXCEPTIONS}{queue.sibling.pk}/resolve/", {"note": "done"}, format="json")
    assert response.status_code == 403 and "error" in response.json()


@pytest.mark.parametrize("body", [{}, {"note": ""}, {"note": "   "}, {"note": "x" * 1001}])
def test_resolving_without_a_note_names_the_note(api_as, cast_a, queue, body):
    response = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF]).post(f"{EXCEPTIONS}{queue.stuck.pk}/resolve/", body,
                                                                 format="json")
    assert response.status_code == 400 and "note" in response.json()["error"]["fields"]
    assert exception_of(cast_a.tenant.pk, queue.stuck.pk).status == ExceptionStatus.OPEN


def test_resolving_twice_changes_nothing_and_a_cleared_one_cannot_be_resolved(api_as, cast_a, queue):
    client = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])
    first = client.post(f"{EXCEPTIONS}{queue.stuck.pk}/resolve/", {"note": "fixed"}, format="json")
    second = client.post(f"{EXCEPTIONS}{queue.stuck.pk}/resolve/", {"note": "fixed again"}, format="json")
    assert first.status_code == second.status_code == 200
    assert second.json()["resolution_note"] == "fixed" and len(second.json()["events"]) == 1
    # given: an exception the run no longer finds
    cleared = make_exception(queue.run, cast_a.distributors[0], status=ExceptionStatus.CLEARED,
                             resolved_at=timezone.now())
    # when
    refused = client.post(f"{EXCEPTIONS}{cleared.pk}/resolve/", {"note": "fixed"}, format="json")
    # then
    assert refused.status_code == 409 and "status" in refused.json()["error"]["fields"]


def test_reopening_a_resolved_exception(api_as, cast_a, queue):
    # given
    client = api_as(cast_a.users[Role.DISTRIBUTOR_ADMIN])
    client.post(f"{EXCEPTIONS}{queue.stuck.pk}/resolve/", {"note": "fixed"}, format="json")
    # when
    response = client.post(f"{EXCEPTIONS}{queue.stuck.pk}/reopen/", {"reason": "came back"}, format="json")
    # then
    body = response.json()
    assert response.status_code == 200 and body["status"] == ExceptionStatus.OPEN
    assert body["events"][-1]["action"] == "reopen" and body["events"][-1]["reason"] == "came back"
    # and a resolved exception cannot be assigned until re-opened
    client.post(f"{EXCEPTIONS}{queue.stuck.pk}/resolve/", {"note": "fixed"}, format="json")
    refused = client.post(f"{EXCEPTIONS}{queue.stuck.pk}/assign/",
                          {"assigned_to": cast_a.users[Role.DISTRIBUTOR_ADMIN].pk}, format="json")
    assert refused.status_code == 409


def test_the_run_request_refuses_a_date_after_the_tenants_today(api_as, cast_a):
    tomorrow = date.today() + timedelta(days=2)
    response = api_as(cast_a.users[Role.MANUFACTURER_ADMIN]).post(RUNS, {"business_date": tomorrow.isoformat()},
                                                                  format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["business_date"] == ["Is in the future."]


def test_every_query_on_a_tenant_table_names_its_tenant(api_as, cast_a, queue):
    """The Citus routing contract (tests/tenancy/test_query_contract.py) for these endpoints."""
    staff = cast_a.users[Role.DISTRIBUTOR_STAFF]
    api_as(staff).post(f"{EXCEPTIONS}{queue.stuck.pk}/assign/", {"assigned_to": staff.pk}, format="json")
    tables, offenders, checked = set(tenant_tables()), [], 0
    urls = [RUNS, f"{RUNS}{queue.run.pk}/", EXCEPTIONS, f"{EXCEPTIONS}{queue.stuck.pk}/",
            f"{EXCEPTIONS}?assigned_to=me&status=unresolved"]
    for principal in (staff, cast_a.users[Role.MANUFACTURER_ADMIN]):
        client = api_as(principal)
        for url in urls:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            for sql in (q["sql"] for q in ctx.captured_queries):
                touched = {t for t in re.findall(r'(?:FROM|JOIN|UPDATE|INTO)\s+"(\w+)"', sql) if t in tables}
                checked += bool(touched)
                if touched and '"tenant_id" = ' not in sql and '"tenant_id" IN' not in sql:
                    offenders.append(f"{url}: {sql[:200]}")
    assert offenders == [], "\n".join(offenders)
    assert checked >= 10
