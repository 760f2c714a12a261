"""The reconciliation run: request, execute (resumable, race-safe), counts, clearing and re-opening, failures, the
after-run hook, the management command, and the exception queue's services.

The run's tests use checks of their own (tests/reconciliation/conftest.py: outlets whose name carries a marker),
so they hold whichever real checks exist. Executing commits each check on its own: transactional tests.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.test import override_settings
from django.utils import timezone

from catalog.models import Outlet
from dms.core.errors import DomainError, NotFound
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.models import Membership
from dms.tenancy.scope import Scope
from reconciliation.checks.base import Check, CheckContext
from reconciliation.enums import CheckScope, ExceptionStatus, RunStatus, RunTrigger
from reconciliation.models import ExceptionEvent, ReconciliationException, ReconciliationRun
from reconciliation.services import (
    exception_assign,
    exception_reopen,
    exception_resolve,
    reconciliation_execute,
    reconciliation_request,
)
from reconciliation.services.run import registered_checks
from reconciliation.tasks import reconcile_task
from tests.conftest import TenantCast
from tests.factories.catalog import make_outlet
from tests.reconciliation.conftest import executions, marked_outlets
from tests.threads import at_once

pytestmark = pytest.mark.django_db(transaction=True)

BAD = marked_outlets("t_bad", "BAD")
ODD = marked_outlets("t_odd", "ODD")
COMMAND_CHECK = marked_outlets("t_cmd", "CMD")
DAY = marked_outlets("t_day", "DAY", scope=CheckScope.DAY)
SLOW = (marked_outlets("t_slow1", "BAD", sleep=0.3), marked_outlets("t_slow2", "ODD", sleep=0.3))

AFTER_RUN: list[tuple[int, date, bool]] = []


def after_run(*, tenant_id: int, business_date: date) -> None:
    """The RECONCILIATION_AFTER_RUN hook of these tests."""
    AFTER_RUN.append((tenant_id, business_date, connection.in_atomic_block))


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing in the worker catches it, nothing after it runs."""


def failing(code: str, error: BaseException | None = None, *, sql: str = "", times: int = 1) -> Check:
    """A check whose prepare raises `error` (the first `times` executions), or whose SELECT is `sql`; otherwise
    it finds the BAD outlets like BAD."""
    left = [times]

    def prepare(ctx: CheckContext) -> dict[str, int]:
        if error is not None and left[0] > 0:
            left[0] -= 1
            raise error
        return {}

    inner = marked_outlets(code, "BAD", prepare=prepare)
    if not sql:
        return inner
    return Check(code=code, title=inner.title, description=inner.description, scope=inner.scope,
                 select=lambda ctx: (sql, ctx.params()), prepare=inner.prepare)


# --- helpers -----------------------------------------------------------------------------------------------------

def yesterday(cast: TenantCast) -> date:
    return timezone.now().astimezone(cast.tenant.tz).date() - timedelta(days=1)


def request(cast: TenantCast, day: date, **kw: Any) -> ReconciliationRun:
    with tenant_scope(Scope.system(cast.tenant.pk)) as scope:
        return reconciliation_request(scope=scope, business_date=day, **kw)


def execute(run: ReconciliationRun, *checks: Check) -> str:
    return reconciliation_execute(tenant_id=run.tenant_id, run_id=run.pk, checks=checks)


def reload(run: ReconciliationRun) -> ReconciliationRun:
    with tenant_scope(Scope.system(run.tenant_id)):
        return ReconciliationRun.objects.get(pk=run.pk)


def queue(cast: TenantCast, code: str | None = None) -> dict[str, dict[str, Any]]:
    """The tenant's exceptions (of one check) by key: id, status, assignee, note, run ids."""
    with tenant_scope(Scope.system(cast.tenant.pk)):
        qs = ReconciliationException.objects.all()
        if code:
            qs = qs.filter(check_code=code)
        rows = list(qs.values("id", "key", "check_code", "status", "assigned_to_id", "resolution_note",
                              "first_run_id", "last_run_id", "business_date", "records", "distributor_id"))
    keys = [(r["check_code"], r["key"]) for r in rows]
    assert len(keys) == len(set(keys)), "duplicate exceptions"
    return {r["key"]: dict(r) for r in rows}


def events(cast: TenantCast, exception_id: int) -> list[tuple[str, str, str]]:
    with tenant_scope(Scope.system(cast.tenant.pk)):
        return list(ExceptionEvent.objects.filter(exception_id=exception_id).order_by("id")
                    .values_list("from_status", "to_status", "action"))


def rename(outlet: Outlet, name: str) -> None:
    with tenant_scope(Scope.system(outlet.tenant_id)):
        Outlet.objects.filter(pk=outlet.pk).update(name=name)


def user_scope(cast: TenantCast, key: str) -> Scope:
    with tenant_scope(Scope.system(cast.tenant.pk)):
        return Scope.for_membership(Membership.objects.select_related("user").get(user=cast.users[key]))


@pytest.fixture
def outlets(cast_a: TenantCast) -> dict[str, Outlet]:
    """Tenant A's outlets: three BAD (two of A1, one of A2), one ODD, one fine."""
    a1, a2 = cast_a.distributors
    return {"bad1": make_outlet(a1, name="BAD one"), "bad2": make_outlet(a1, name="BAD two"),
            "bad3": make_outlet(a2, name="BAD three"), "odd": make_outlet(a1, name="ODD one"),
            "fine": make_outlet(a1, name="Fine")}


@pytest.fixture
def done_run(cast_a: TenantCast, outlets: dict[str, Outlet], enqueued: list) -> ReconciliationRun:
    """Yesterday's run of tenant A with BAD and ODD, executed once."""
    run = request(cast_a, yesterday(cast_a))
    assert execute(run, BAD, ODD) == RunStatus.SUCCEEDED
    return reload(run)


# --- request -----------------------------------------------------------------------------------------------------

def test_a_request_makes_one_run_per_tenant_and_date_and_enqueues_it(cast_a, cast_b, enqueued):
    # given
    day = yesterday(cast_a)
    # when
    first = request(cast_a, day)
    again = request(cast_a, day)
    other = request(cast_b, day)
    # then
    assert first.pk == again.pk != other.pk
    assert (first.status, first.trigger, first.attempts) == (RunStatus.QUEUED, RunTrigger.MANUAL, 0)
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        assert ReconciliationRun.objects.count() == 1
    assert enqueued[0] == {"tenant_id": cast_a.tenant.pk, "run_id": first.pk}
    assert {"tenant_id": cast_b.tenant.pk, "run_id": other.pk} in enqueued


def test_a_business_date_that_has_not_come_is_refused(cast_a, enqueued):
    # given
    tomorrow = timezone.now().astimezone(cast_a.tenant.tz).date() + timedelta(days=1)
    # when
    with pytest.raises(DomainError) as caught:
        request(cast_a, tomorrow)
    # then
    assert caught.value.status_code == 400
    assert "business_date" in caught.value.fields
    assert enqueued == []
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        assert not ReconciliationRun.objects.exists()


def test_a_succeeded_run_is_not_requested_again_unless_rerun(done_run, cast_a, enqueued):
    # given
    enqueued.clear()
    # when
    same = request(cast_a, done_run.business_date)
    # then
    assert same.status == RunStatus.SUCCEEDED and enqueued == []
    # when
    rerun = request(cast_a, done_run.business_date, rerun=True)
    # then: from the first check again, same row
    assert (rerun.pk, rerun.status, rerun.checks_done, rerun.counts) == (done_run.pk, RunStatus.QUEUED, [], {})
    assert enqueued == [{"tenant_id": cast_a.tenant.pk, "run_id": done_run.pk}]


# --- execute -----------------------------------------------------------------------------------------------------

def test_execute_runs_the_checks_and_records_their_counts(done_run, cast_a, outlets):
    # then
    run = done_run
    assert (run.status, run.attempts, run.lease_until, run.error) == (RunStatus.SUCCEEDED, 1, None, "")
    assert run.checks_done == ["t_bad", "t_odd"]
    assert {k: v for k, v in run.counts["t_bad"].items() if k != "ms"} == {"found": 3, "new": 3, "open": 3,
                                                                            "cleared": 0}
    assert run.counts["t_odd"]["found"] == run.counts["t_odd"]["new"] == 1
    assert run.duration_ms == run.counts["t_bad"]["ms"] + run.counts["t_odd"]["ms"]
    assert run.finished_at is not None and run.started_at is not None and run.finished_at >= run.started_at
    # and each mismatch is one exception, with its records and distributor
    bad = queue(cast_a, "t_bad")
    assert set(bad) == {f"outlet:{outlets[k].pk}" for k in ("bad1", "bad2", "bad3")}
    row = bad[f"outlet:{outlets['bad3'].pk}"]
    assert row["distributor_id"] == cast_a.distributors[1].pk
    assert row["records"] == [{"type": "outlet", "id": outlets["bad3"].pk, "ref": outlets["bad3"].code}]
    assert (row["status"], row["business_date"], row["first_run_id"]) == ("open", run.business_date, run.pk)


def test_a_second_run_of_the_date_finds_the_same_exceptions_without_duplicates(done_run, cast_a):
    # given
    before = queue(cast_a)
    # when
    request(cast_a, done_run.business_date, rerun=True)
    status = execute(done_run, BAD, ODD)
    # then
    run = reload(done_run)
    assert status == RunStatus.SUCCEEDED and run.attempts == 2
    assert {code: (c["found"], c["new"], c["cleared"]) for code, c in run.counts.items()} == {
        "t_bad": (3, 0, 0), "t_odd": (1, 0, 0)}
    after = queue(cast_a)
    assert {k: r["id"] for k, r in after.items()} == {k: r["id"] for k, r in before.items()}
    assert len(after) == 4


def test_an_exception_no_longer_found_is_cleared_and_reopened_when_found_again(done_run, cast_a, outlets):
    # given: bad1 fixed
    rename(outlets["bad1"], "Fixed")
    key = f"outlet:{outlets['bad1'].pk}"
    # when
    request(cast_a, done_run.business_date, rerun=True)
    execute(done_run, BAD, ODD)
    # then
    counts = reload(done_run).counts["t_bad"]
    assert (counts["found"], counts["cleared"], counts["open"]) == (2, 1, 2)
    cleared = queue(cast_a, "t_bad")[key]
    assert cleared["status"] == ExceptionStatus.CLEARED
    assert "No longer found" in cleared["resolution_note"]
    # when: broken again
    rename(outlets["bad1"], "BAD again")
    request(cast_a, done_run.business_date, rerun=True)
    execute(done_run, BAD, ODD)
    # then: the same row, open again
    counts = reload(done_run).counts["t_bad"]
    assert (counts["found"], counts["new"], counts["cleared"], counts["open"]) == (3, 0, 0, 3)
    row = queue(cast_a, "t_bad")[key]
    assert (row["id"], row["status"], row["resolution_note"]) == (cleared["id"], ExceptionStatus.OPEN, "")
    assert events(cast_a, row["id"]) == [("open", "cleared", "clear"), ("cleared", "open", "reopen")]


def test_an_assigned_exception_cleared_and_found_again_goes_back_to_its_assignee(done_run, cast_a, outlets):
    # given
    staff = cast_a.users[Role.DISTRIBUTOR_STAFF]
    key = f"outlet:{outlets['bad1'].pk}"
    exc_id = queue(cast_a)[key]["id"]
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        exception_assign(scope=scope, exception_id=exc_id, user_id=staff.pk)
    # when: cleared, then found again
    for name in ("Fixed", "BAD again"):
        rename(outlets["bad1"], name)
        request(cast_a, done_run.business_date, rerun=True)
        execute(done_run, BAD, ODD)
    # then
    row = queue(cast_a)[key]
    assert (row["status"], row["assigned_to_id"]) == (ExceptionStatus.ASSIGNED, staff.pk)
    assert events(cast_a, exc_id)[1:] == [("assigned", "cleared", "clear"), ("cleared", "assigned", "reopen")]


def test_a_resolved_exception_stays_resolved_whether_found_again_or_not(done_run, cast_a, outlets):
    # given
    keys = [f"outlet:{outlets[k].pk}" for k in ("bad1", "bad2")]
    ids = [queue(cast_a)[key]["id"] for key in keys]
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        for exc_id in ids:
            exception_resolve(scope=scope, exception_id=exc_id, note="Outlet renamed in the ERP.")
    rename(outlets["bad2"], "Fixed")
    # when
    request(cast_a, done_run.business_date, rerun=True)
    execute(done_run, BAD, ODD)
    # then: bad1 still found, bad2 not: both stay resolved with their note
    rows = queue(cast_a, "t_bad")
    assert [(rows[k]["status"], rows[k]["resolution_note"]) for k in keys] == [
        (ExceptionStatus.RESOLVED, "Outlet renamed in the ERP.")] * 2
    counts = reload(done_run).counts["t_bad"]
    assert (counts["found"], counts["open"], counts["cleared"]) == (2, 1, 0)


def test_a_day_check_clears_only_the_exceptions_of_its_own_date(cast_a, enqueued):
    # given: found on the day before yesterday, fixed since
    outlet = make_outlet(cast_a.distributors[0], name="DAY one")
    older = request(cast_a, yesterday(cast_a) - timedelta(days=1))
    execute(older, DAY)
    rename(outlet, "Fixed")
    # when: yesterday's run
    run = request(cast_a, yesterday(cast_a))
    execute(run, DAY)
    # then: the older date's exception is that date's business
    assert reload(run).counts["t_day"]["cleared"] == 0
    assert queue(cast_a)[f"outlet:{outlet.pk}"]["status"] == ExceptionStatus.OPEN
    # when: the older date is run again
    request(cast_a, older.business_date, rerun=True)
    execute(older, DAY)
    # then
    assert queue(cast_a)[f"outlet:{outlet.pk}"]["status"] == ExceptionStatus.CLEARED


def test_a_run_whose_worker_died_resumes_at_the_first_check_not_done(cast_a, outlets, enqueued):
    # given: the worker dies in the second check, after the first committed
    run = request(cast_a, yesterday(cast_a))
    killer = failing("t_killed", WorkerKilled())
    with pytest.raises(WorkerKilled):
        execute(run, BAD, killer, ODD)
    dead = reload(run)
    assert (dead.status, dead.checks_done, dead.attempts) == (RunStatus.RUNNING, ["t_bad"], 1)
    # when: a copy of the task arrives while the lease is live
    assert execute(run, BAD, killer, ODD) == "skipped"
    # then it leaves the run alone
    assert executions(run.pk, "t_bad") == 1 and reload(run).attempts == 1
    # when: the lease has passed (the redrive's case)
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        ReconciliationRun.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    status = execute(run, BAD, killer, ODD)
    # then: only the checks not done ran, each committed once
    done = reload(run)
    assert (status, done.status, done.attempts) == (RunStatus.SUCCEEDED, RunStatus.SUCCEEDED, 2)
    assert done.checks_done == ["t_bad", "t_killed", "t_odd"]
    assert (executions(run.pk, "t_bad"), executions(run.pk, "t_odd")) == (1, 1)
    assert len(queue(cast_a, "t_killed")) == 3 and len(queue(cast_a, "t_bad")) == 3


def test_two_executors_of_one_run_one_runs_it_and_the_other_skips(cast_a, outlets, enqueued):
    # given
    run = request(cast_a, yesterday(cast_a))
    # when
    results = at_once([lambda: execute(run, *SLOW), lambda: execute(run, *SLOW)])
    # then
    assert sorted(results) == ["skipped", RunStatus.SUCCEEDED]
    assert [executions(run.pk, c.code) for c in SLOW] == [1, 1]
    assert reload(run).attempts == 1


@override_settings(RECONCILIATION_LEASE_SECONDS=0)
def test_two_executors_holding_the_run_at_once_never_run_a_check_twice(cast_a, outlets, enqueued):
    # given: a lease that passes at once, so both executors claim the run and step through it together
    run = request(cast_a, yesterday(cast_a))
    # when
    results = at_once([lambda: execute(run, *SLOW), lambda: execute(run, *SLOW)])
    # then
    assert not [r for r in results if isinstance(r, BaseException)], results
    done = reload(run)
    assert (done.status, done.attempts) == (RunStatus.SUCCEEDED, 2)
    assert [executions(run.pk, c.code) for c in SLOW] == [1, 1]
    assert done.checks_done == ["t_slow1", "t_slow2"]
    assert len(queue(cast_a)) == 4


def test_a_check_raising_an_error_fails_the_run_with_the_error(cast_a, outlets, enqueued):
    # given
    run = request(cast_a, yesterday(cast_a))
    broken = failing("t_broken", ValueError("the figures do not add up"))
    # when
    with pytest.raises(ValueError):
        execute(run, BAD, broken, ODD)
    # then
    failed = reload(run)
    assert (failed.status, failed.checks_done, failed.lease_until) == (RunStatus.FAILED, ["t_bad"], None)
    assert failed.error == "ValueError: the figures do not add up"
    assert executions(run.pk, "t_odd") == 0
    # and a late copy of the task does not revive it; "Run again" starts it from its first check
    assert execute(run, BAD, broken, ODD) == "skipped"
    again = request(cast_a, run.business_date)
    assert (again.status, again.checks_done, again.error) == (RunStatus.QUEUED, [], "")
    assert execute(run, BAD, broken, ODD) == RunStatus.SUCCEEDED
    assert len(queue(cast_a, "t_bad")) == 3


def test_a_check_whose_sql_is_broken_fails_the_run_rather_than_being_retried_forever(cast_a, outlets, enqueued):
    # given
    run = request(cast_a, yesterday(cast_a))
    broken = failing("t_sql", sql="SELECT no_such_column FROM no_such_table")
    # when
    with pytest.raises(Exception, match="no_such_table"):
        execute(run, BAD, broken)
    # then
    failed = reload(run)
    assert (failed.status, failed.checks_done) == (RunStatus.FAILED, ["t_bad"])
    assert "no_such_table" in failed.error


def test_a_transient_database_error_leaves_the_run_to_the_retry_which_resumes_it(cast_a, outlets, enqueued):
    # given
    run = request(cast_a, yesterday(cast_a))
    flaky = failing("t_flaky", OperationalError("deadlock detected"))
    # when
    with pytest.raises(OperationalError):
        execute(run, BAD, flaky)
    # then: still running, what was done kept, the lease handed back for the task's retry
    left = reload(run)
    assert (left.status, left.checks_done, left.error) == (RunStatus.RUNNING, ["t_bad"], "")
    assert left.lease_until is not None and left.lease_until <= timezone.now()
    # when: the retry
    assert execute(run, BAD, flaky) == RunStatus.SUCCEEDED
    # then
    assert reload(run).attempts == 2 and executions(run.pk, "t_bad") == 1


def test_the_task_retries_a_transient_database_error_and_the_retry_resumes_the_run(cast_a, outlets, settings,
                                                                                   monkeypatch, enqueued):
    # given: a registry whose last check meets a dropped connection once
    monkeypatch.setitem(globals(), "FLAKY", failing("t_flaky", OperationalError("server closed the connection")))
    settings.RECONCILIATION_EXTRA_CHECKS = [f"{__name__}.BAD", f"{__name__}.FLAKY"]
    run = request(cast_a, yesterday(cast_a))
    # when: the task the request enqueued (run in this process; retries executed, as a worker would)
    result = reconcile_task.apply(kwargs=enqueued[0], throw=False)
    # then
    assert result.get() == RunStatus.SUCCEEDED
    done = reload(run)
    assert (done.status, done.attempts) == (RunStatus.SUCCEEDED, 2)
    assert done.checks_done[-2:] == ["t_bad", "t_flaky"] and executions(run.pk, "t_bad") == 1


def test_the_after_run_hook_is_called_once_after_the_run_commits(cast_a, outlets, enqueued):
    # given
    AFTER_RUN.clear()
    run = request(cast_a, yesterday(cast_a))
    hook = ["tests.reconciliation.test_run.after_run"]
    # when
    with override_settings(RECONCILIATION_AFTER_RUN=hook):
        execute(run, BAD)
        execute(run, BAD)  # a redelivered task: skipped
    # then
    assert AFTER_RUN == [(cast_a.tenant.pk, run.business_date, False)]
    # and a failed run does not call it
    other = request(cast_a, run.business_date - timedelta(days=1))
    with override_settings(RECONCILIATION_AFTER_RUN=hook), pytest.raises(ValueError):
        execute(other, failing("t_broken", ValueError("no")))
    assert len(AFTER_RUN) == 1


# --- the management command --------------------------------------------------------------------------------------

def reconcile(*args: str) -> str:
    out = StringIO()
    call_command("reconcile", *args, stdout=out)
    return out.getvalue()


@override_settings(RECONCILIATION_EXTRA_CHECKS=["tests.reconciliation.test_run.COMMAND_CHECK"])
def test_the_reconcile_command_prints_the_counts_and_is_idempotent(cast_a, enqueued):
    # given
    a1 = cast_a.distributors[0]
    make_outlet(a1, name="CMD one")
    make_outlet(a1, name="CMD two")
    day = yesterday(cast_a).isoformat()
    line = re.compile(r"Test check t_cmd\s+found\s+(\d+)\s+new\s+(\d+)\s+open\s+(\d+)\s+cleared\s+(\d+)")
    # when
    first = reconcile("--tenant", "a", "--date", day)
    second = reconcile("--tenant", "a", "--date", day)
    # then
    assert f"Reconciliation of a {day}: succeeded" in first
    assert line.search(first).groups() == ("2", "2", "2", "0")  # type: ignore[union-attr]
    assert line.search(second).groups() == ("2", "0", "2", "0")  # type: ignore[union-attr]
    assert len(queue(cast_a, "t_cmd")) == 2
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        run = ReconciliationRun.objects.get()
    assert (run.trigger, run.attempts, run.checks_done) == (RunTrigger.COMMAND, 2,
                                                            [c.code for c in registered_checks()])
    assert run.checks_done[-1] == "t_cmd"
    assert enqueued == []  # run in the command's process, not left to a worker as well


def test_the_reconcile_command_refuses_an_unknown_tenant_and_a_future_date(cast_a, enqueued):
    with pytest.raises(CommandError, match="No tenant"):
        reconcile("--tenant", "nobody", "--date", yesterday(cast_a).isoformat())
    with pytest.raises(CommandError, match="has not come"):
        reconcile("--tenant", "a", "--date", (yesterday(cast_a) + timedelta(days=3)).isoformat())


# --- the exception queue -----------------------------------------------------------------------------------------

def test_assign_resolve_and_reopen_write_events(done_run, cast_a, outlets):
    # given
    exc_id = queue(cast_a)[f"outlet:{outlets['bad1'].pk}"]["id"]
    staff = user_scope(cast_a, Role.DISTRIBUTOR_STAFF)
    analyst = cast_a.users[Role.MANUFACTURER_ANALYST]
    # when
    with tenant_scope(staff):
        exception_assign(scope=staff, exception_id=exc_id, user_id=analyst.pk)
        exception_assign(scope=staff, exception_id=exc_id, user_id=analyst.pk)  # no change
        resolved = exception_resolve(scope=staff, exception_id=exc_id, note="  Outlet renamed.  ")
        exception_resolve(scope=staff, exception_id=exc_id, note="again")  # no change
        reopened = exception_reopen(scope=staff, exception_id=exc_id, reason="It is back")
    # then
    assert (resolved.resolution_note, resolved.resolved_by_id) == ("Outlet renamed.", staff.actor.id)
    assert (reopened.status, reopened.assigned_to_id, reopened.resolved_at) == (ExceptionStatus.OPEN, None, None)
    assert events(cast_a, exc_id) == [("open", "assigned", "assign"), ("assigned", "resolved", "resolve"),
                                      ("resolved", "open", "reopen")]
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        reasons = list(ExceptionEvent.objects.filter(exception_id=exc_id).order_by("id")
                       .values_list("actor_id", "reason"))
    assert reasons[1:] == [(staff.actor.id, "Outlet renamed."), (staff.actor.id, "It is back")]


@pytest.mark.parametrize("note", ["", "   "])
def test_resolving_needs_a_note(done_run, cast_a, outlets, note):
    # given
    exc_id = queue(cast_a)[f"outlet:{outlets['bad1'].pk}"]["id"]
    # when
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope, pytest.raises(DomainError) as caught:
        exception_resolve(scope=scope, exception_id=exc_id, note=note)
    # then
    assert caught.value.status_code == 400 and list(caught.value.fields) == ["note"]
    assert queue(cast_a)[f"outlet:{outlets['bad1'].pk}"]["status"] == ExceptionStatus.OPEN
    assert events(cast_a, exc_id) == []


def test_the_assignee_must_see_the_distributor(done_run, cast_a, cast_b, outlets):
    # given: an exception of A1
    exc_id = queue(cast_a)[f"outlet:{outlets['bad1'].pk}"]["id"]
    strangers = [cast_a.users[f"{Role.DISTRIBUTOR_STAFF}@A2"], cast_b.users[Role.MANUFACTURER_ADMIN]]
    for user in strangers:
        # when
        with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope, pytest.raises(DomainError) as caught:
            exception_assign(scope=scope, exception_id=exc_id, user_id=user.pk)
        # then
        assert caught.value.status_code == 400 and list(caught.value.fields) == ["assigned_to"]
    assert queue(cast_a)[f"outlet:{outlets['bad1'].pk}"]["assigned_to_id"] is None


def test_a_resolved_exception_cannot_be_assigned(done_run, cast_a, outlets):
    exc_id = queue(cast_a)[f"outlet:{outlets['bad1'].pk}"]["id"]
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        exception_resolve(scope=scope, exception_id=exc_id, note="done")
        with pytest.raises(DomainError) as caught:
            exception_assign(scope=scope, exception_id=exc_id, user_id=cast_a.users[Role.DISTRIBUTOR_STAFF].pk)
    assert caught.value.status_code == 409


def test_another_tenants_or_distributors_exception_is_not_found(done_run, cast_a, cast_b, outlets):
    # given: an exception of A1
    exc_id = queue(cast_a)[f"outlet:{outlets['bad1'].pk}"]["id"]
    intruders = [Scope.system(cast_b.tenant.pk), user_scope(cast_a, f"{Role.DISTRIBUTOR_STAFF}@A2")]
    for scope in intruders:
        with tenant_scope(scope):
            # when / then
            with pytest.raises(NotFound):
                exception_assign(scope=scope, exception_id=exc_id, user_id=None)
            with pytest.raises(NotFound):
                exception_resolve(scope=scope, exception_id=exc_id, note="not mine")
            with pytest.raises(NotFound):
                exception_reopen(scope=scope, exception_id=exc_id)
    assert queue(cast_a)[f"outlet:{outlets['bad1'].pk}"]["status"] == ExceptionStatus.OPEN
    assert events(cast_a, exc_id) == []
