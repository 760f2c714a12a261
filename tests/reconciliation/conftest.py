"""Reconciliation test helpers: checks of the tests' own (so the run's tests do not depend on which real checks
exist), and the enqueue captured instead of run eagerly."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from catalog.models import Outlet
from reconciliation.checks.base import Check, CheckContext, Prepare, table
from reconciliation.enums import CheckScope

# Every execution of a counted check's prepare, as (run_id, check code); appended under the run row lock.
EXECUTIONS: list[tuple[int, str]] = []
_executions_lock = threading.Lock()


def marked_outlets(code: str, marker: str, *, scope: CheckScope = CheckScope.STATE, prepare: Prepare | None = None,
                   sleep: float = 0.0) -> Check:
    """A check finding the tenant's outlets whose name starts with `marker`, one exception per outlet
    (key "outlet:<id>"). Its prepare records the execution in EXECUTIONS (then calls `prepare`, and sleeps
    `sleep` seconds inside the check's transaction, for races)."""

    def select(ctx: CheckContext) -> tuple[str, dict[str, Any]]:
        sql = f"""
            SELECT o.distributor_id, 'outlet:' || o.id AS key, 'outlet' AS subject_type, o.id AS subject_id,
                   'Outlet ' || o.code || ' is marked.' AS message,
                   jsonb_build_array(jsonb_build_object('type', 'outlet', 'id', o.id, 'ref', o.code)) AS records,
                   jsonb_build_object('name', o.name) AS detail
            FROM {table(Outlet)} o
            WHERE o.tenant_id = %(tenant_id)s AND o.name LIKE %(marker)s
        """
        return sql, ctx.params(marker=f"{marker}%")

    def counted(ctx: CheckContext) -> dict[str, int]:
        with _executions_lock:
            EXECUTIONS.append((ctx.run_id, code))
        if sleep:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_sleep(%s)", [sleep])
        return prepare(ctx) if prepare else {}

    return Check(code=code, title=f"Test check {code}", description=f"outlets named {marker}...", scope=scope,
                 select=select, prepare=counted)


def executions(run_id: int, code: str | None = None) -> int:
    return sum(1 for r, c in EXECUTIONS if r == run_id and (code is None or c == code))


@pytest.fixture(autouse=True)
def _forget_executions() -> None:
    EXECUTIONS.clear()


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, int]]:
    """The reconcile tasks enqueued (after commit), recorded instead of run: tests execute runs themselves, with
    their own checks."""
    from reconciliation.tasks import reconcile_task

    calls: list[dict[str, int]] = []

    def record(**kwargs: int) -> None:
        calls.append(kwargs)

    monkeypatch.setattr(reconcile_task, "delay", record)
    return calls
