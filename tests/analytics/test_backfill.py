"""analytics.backfill.facts_backfill, facts_backfill_task and `manage.py analytics_backfill`: a backfill over
several dates writes exactly what a refresh of each date writes, a second run changes nothing, progress is reported
once per date in date order, a retry resumes at the failed date, and bad arguments are refused with a message.

The data is the tiny scale seed of test_scale (3 dates, 2 distributors, 5 bookers, 40 orders of 10 lines a day, none
cancelled), so each date's facts hold 40 orders, 400 order lines and 5 booker days, hand-counted from its spec."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO
from typing import Any
from unittest import mock

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.db.models import Sum

from analytics import backfill as backfill_module
from analytics import tasks
from analytics.backfill import BackfillStep, facts_backfill, tenant_today
from analytics.builders import facts_refresh
from analytics.models import BookerDayFact, OutletSkuDayFact
from analytics.scale import ScaleSummary
from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope
from tests.analytics.test_scale import END, seed

D1, D2, D3 = END - timedelta(days=2), END - timedelta(days=1), END


@pytest.fixture
def tiny(db: None) -> ScaleSummary:
    return seed()


def fact_rows(tenant_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every fact table's rows of the tenant, without their ids and refresh instants, in a stable order."""
    out = {}
    with tenant_scope(Scope.system(tenant_id)):
        for model in apps.get_app_config("analytics").get_models():
            rows = [{k: v for k, v in r.items() if k not in ("id", "refreshed_at")} for r in model.objects.values()]
            out[model.__name__] = sorted(rows, key=repr)
    return out


def wipe_facts(tenant_id: int) -> None:
    with tenant_scope(Scope.system(tenant_id)):
        for model in apps.get_app_config("analytics").get_models():
            model.objects.all().delete()


def per_date(tenant_id: int, model: Any, field: str) -> dict[date, int]:
    with tenant_scope(Scope.system(tenant_id)):
        return dict(model.objects.order_by("date").values_list("date").annotate(n=Sum(field)))


def backfill(summary: ScaleSummary, first: date = D1, last: date = D3, **kwargs: Any) -> dict[date, dict[str, int]]:
    return facts_backfill(scope=Scope.system(summary.tenant_id, "test"), date_from=first, date_to=last, **kwargs)


# --- the function ----------------------------------------------------------------------------------------------------

def test_a_backfill_writes_what_a_refresh_of_each_date_writes(tiny):
    # given: each date refreshed on its own, then the facts wiped
    tid = tiny.tenant_id
    refreshed = {}
    for day in (D1, D2, D3):
        with tenant_scope(Scope.system(tid, "test")) as scope:
            refreshed[day] = facts_refresh(scope=scope, business_date=day)
    expected = fact_rows(tid)
    wipe_facts(tid)
    # when
    done = backfill(tiny)
    # then
    assert done == refreshed
    assert fact_rows(tid) == expected
    assert per_date(tid, BookerDayFact, "orders") == {D1: 40, D2: 40, D3: 40}
    assert per_date(tid, BookerDayFact, "order_lines") == {D1: 400, D2: 400, D3: 400}
    assert per_date(tid, OutletSkuDayFact, "ordered_lines") == {D1: 400, D2: 400, D3: 400}
    assert [counts["booker"] for counts in done.values()] == [5, 5, 5]


def test_running_it_twice_changes_nothing(tiny):
    # given
    first = backfill(tiny)
    once = fact_rows(tiny.tenant_id)
    # when
    second = backfill(tiny)
    # then
    assert second == first
    assert fact_rows(tiny.tenant_id) == once
    assert sum(len(rows) for rows in once.values()) > 0


def test_progress_is_reported_once_per_date_oldest_first(tiny):
    # given
    steps: list[BackfillStep] = []
    # when
    done = backfill(tiny, progress=steps.append)
    # then
    assert [(s.done, s.total, s.date) for s in steps] == [(1, 3, D1), (2, 3, D2), (3, 3, D3)]
    assert [s.counts for s in steps] == [done[D1], done[D2], done[D3]]


def test_a_distributor_list_narrows_the_backfill(tiny):
    # given
    with tenant_scope(Scope.system(tiny.tenant_id)):
        first_distributor = min(Distributor.objects.values_list("pk", flat=True))
    # when
    done = backfill(tiny, first=D3, last=D3, distributor_ids=[first_distributor])
    # then: only its rows (one distributor row), none of the other distributor's
    assert done[D3]["distributor"] == 1
    with tenant_scope(Scope.system(tiny.tenant_id)):
        assert set(BookerDayFact.objects.values_list("distributor_id", flat=True)) == {first_distributor}


def test_a_failure_keeps_the_dates_before_it(tiny):
    # given: the second date fails
    calls: list[date] = []

    def failing(**kwargs: Any) -> dict[str, int]:
        calls.append(kwargs["business_date"])
        if kwargs["business_date"] == D2:
            raise OperationalError("connection lost")
        return facts_refresh(**kwargs)

    # when
    with mock.patch.object(backfill_module, "facts_refresh", failing), pytest.raises(OperationalError):
        backfill(tiny)
    # then
    assert calls == [D1, D2]
    assert per_date(tiny.tenant_id, BookerDayFact, "orders") == {D1: 40}


@pytest.mark.parametrize(("first", "last", "message"), [
    (D3, D1, "is after date_to"),
    (D1, date(2099, 1, 1), "is after the tenant's today"),
])
def test_an_empty_range_or_a_future_date_is_refused(tiny, first, last, message):
    with pytest.raises(ValueError, match=message):
        backfill(tiny, first=first, last=last)


def test_it_refuses_to_run_inside_a_tenant_scope(tiny):
    with tenant_scope(Scope.system(tiny.tenant_id)), pytest.raises(RuntimeError, match="outside tenant_scope"):
        backfill(tiny)


# --- the task --------------------------------------------------------------------------------------------------------

def run_task(summary: ScaleSummary) -> tuple[Any, list[dict[str, Any]]]:
    """The task through Celery's eager path, as a worker would run it: a Retry is carried out, not raised (eager
    mode propagates exceptions, a Retry included, unless told not to); result.get() raises what the task raised."""
    with mock.patch.object(tasks.facts_backfill_task, "update_state") as update_state:
        result = tasks.facts_backfill_task.apply(kwargs={"tenant_id": summary.tenant_id, "date_from": D1.isoformat(),
                                                         "date_to": D3.isoformat()}, throw=False)
    states = {c.kwargs["state"] for c in update_state.call_args_list}
    assert states <= {"PROGRESS"}
    return result, [c.kwargs["meta"] for c in update_state.call_args_list]


def test_the_task_reports_progress_and_the_rows_written(tiny):
    # given
    expected = backfill(tiny)
    # when
    result, metas = run_task(tiny)
    # then
    assert metas == [{"done": 1, "total": 3, "date": D1.isoformat()}, {"done": 2, "total": 3, "date": D2.isoformat()},
                     {"done": 3, "total": 3, "date": D3.isoformat()}]
    assert result.get() == {"done": 3, "total": 3, "rows": {
        table: sum(counts[table] for counts in expected.values()) for table in expected[D1]}}


def test_a_retried_task_resumes_at_the_date_that_failed(tiny):
    # given: the second date fails once with a database error
    calls: list[date] = []

    def flaky(**kwargs: Any) -> dict[str, int]:
        calls.append(kwargs["business_date"])
        if calls.count(D2) == 1 and kwargs["business_date"] == D2:
            raise OperationalError("server closed the connection unexpectedly")
        return facts_refresh(**kwargs)

    # when
    with mock.patch.object(backfill_module, "facts_refresh", flaky):
        result, metas = run_task(tiny)
    # then: the first date is not redone, and progress still counts over the whole range
    assert calls == [D1, D2, D2, D3]
    assert [m["done"] for m in metas] == [1, 2, 3]
    assert result.get()["done"] == 3
    assert per_date(tiny.tenant_id, BookerDayFact, "orders") == {D1: 40, D2: 40, D3: 40}


def test_a_task_past_its_time_budget_hands_the_rest_to_a_new_task(tiny, monkeypatch):
    # given: a budget every date exceeds
    monkeypatch.setattr(tasks, "BACKFILL_BUDGET_SECONDS", -1)
    # when
    result, metas = run_task(tiny)
    # then: the first task did one date; its continuations did the rest
    first = result.get()
    assert (first["done"], first["total"]) == (1, 3) and first["continued_as"]
    assert [m["done"] for m in metas] == [1, 2, 3]
    assert per_date(tiny.tenant_id, BookerDayFact, "orders") == {D1: 40, D2: 40, D3: 40}


def test_the_refresh_hooks_do_nothing_where_the_builder_cannot_run(db):
    # given: a database the builder's SQL does not run on
    with mock.patch.object(backfill_module, "facts_supported", return_value=False), \
            mock.patch.object(tasks.facts_refresh_task, "apply_async") as apply_async, \
            mock.patch.object(tasks.facts_refresh_task, "delay") as delay:
        # when
        tasks.after_sync(tenant_id=1, distributor_id=2, business_date=END)
        tasks.after_reconciliation(tenant_id=1, business_date=END)
    # then
    assert apply_async.call_count == 0 and delay.call_count == 0


# --- the command -----------------------------------------------------------------------------------------------------

def command(*args: str) -> str:
    out = StringIO()
    call_command("analytics_backfill", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_the_rows_written_per_date(tiny):
    # given
    expected = backfill(tiny)
    # when
    out = command("--tenant", tiny.slug, "--from", D1.isoformat(), "--to", D3.isoformat())
    # then
    for n, day in enumerate((D1, D2, D3), start=1):
        counts = ", ".join(f"{table} {rows:,}" for table, rows in expected[day].items())
        assert f"{tiny.slug} {day.isoformat()} ({n}/3): {counts}" in out
    assert "3 dates in" in out


def test_days_counts_back_from_the_tenants_today_and_includes_it(tiny):
    # given
    today = tenant_today(tiny.tenant_id)
    # when
    out = command("--all-tenants", "--days", "2")
    # then
    dated = [line.split()[1] for line in out.splitlines() if line.startswith(f"  {tiny.slug} ")]
    assert dated == [(today - timedelta(days=2)).isoformat(), (today - timedelta(days=1)).isoformat(),
                     today.isoformat()]


def test_enqueue_leaves_it_to_the_task(tiny):
    # when
    with mock.patch.object(tasks.facts_backfill_task, "delay") as delay:
        out = command("--tenant", tiny.slug, "--from", D3.isoformat(), "--to", D3.isoformat(), "--enqueue")
    # then
    delay.assert_called_once_with(tenant_id=tiny.tenant_id, date_from=D3.isoformat(), date_to=D3.isoformat())
    assert "backfill enqueued" in out


def test_the_command_skips_with_a_message_where_the_builder_cannot_run(tiny):
    # when
    with mock.patch.object(backfill_module, "facts_supported", return_value=False):
        out = command("--tenant", tiny.slug, "--days", "3")
    # then
    assert "Skipped: the analytics facts builder needs PostgreSQL" in out
    assert per_date(tiny.tenant_id, BookerDayFact, "orders") == {}


@pytest.mark.parametrize(("args", "message"), [
    ((), "Give either --tenant <slug> or --all-tenants."),
    (("--tenant", "tiny", "--all-tenants"), "Give either --tenant <slug> or --all-tenants."),
    (("--tenant", "nobody"), "No tenant with slug 'nobody'."),
    (("--tenant", "tiny", "--days", "3", "--from", "2026-03-02", "--to", "2026-03-04"),
     "Give either --days or --from/--to, not both."),
    (("--tenant", "tiny", "--from", "2026-03-02"), "--from and --to go together."),
    (("--tenant", "tiny", "--from", "2026-03-02", "--to", "4 March"), "--to: '4 March' is not a date (YYYY-MM-DD)."),
    (("--tenant", "tiny", "--from", "2026-03-04", "--to", "2026-03-02"), "--from 2026-03-04 is after --to 2026-03-02."),
    (("--tenant", "tiny", "--from", "2026-03-02", "--to", "2099-01-01"), "--to 2099-01-01 is after tiny's today"),
    (("--tenant", "tiny", "--days", "-1"), "--days must be 0 or more (got -1)."),
])
def test_bad_arguments_are_a_command_error_saying_what_is_wrong(tiny, args, message):
    with pytest.raises(CommandError) as raised:
        command(*args)
    assert message in str(raised.value)
    assert per_date(tiny.tenant_id, BookerDayFact, "orders") == {}
