"""The nightly reconciliation on a real Celery worker (Redis broker): a worker SIGKILLed in the middle of a run,
the redrive, and a fresh worker that completes the run with nothing lost or doubled.

The workers run the real registry (reconciliation.checks.CHECKS, whatever it holds) followed by three checks of
this module, added through settings.RECONCILIATION_EXTRA_CHECKS by the worker's bootstrap. The middle one waits
in its transaction for an advisory lock the test holds: that is how the worker is caught mid-run, every time,
after the first one has committed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from dms.celery import app as celery_app
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from reconciliation.checks.base import CheckContext
from reconciliation.enums import RunStatus
from reconciliation.models import ReconciliationException, ReconciliationRun
from reconciliation.services import reconcile_redrive, reconciliation_request
from reconciliation.services.run import registered_checks
from reconciliation.tasks import reconcile_task
from tests.conftest import TenantCast, build_tenant
from tests.factories.catalog import make_outlet
from tests.integration.conftest import ROOT, forget_unacked, stop_worker, wait_for
from tests.reconciliation.conftest import marked_outlets

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

LOCK_BASE = 0x5EC0_0000  # + tenant id: the advisory lock the middle check waits for
LEASE_S = 3  # the killed worker's lease: short, so the redrive may pick the run up within the test


def _wait_for_the_test(ctx: CheckContext) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [LOCK_BASE + ctx.tenant_id])
    return {}


W_FIRST = marked_outlets("w_first", "WBAD")
W_BLOCKED = marked_outlets("w_blocked", "WBAD", prepare=_wait_for_the_test)
W_LAST = marked_outlets("w_last", "WODD")
EXTRA = [f"{__name__}.{name}" for name in ("W_FIRST", "W_BLOCKED", "W_LAST")]

# Like tests/integration/conftest.py's workers, with this module's checks and a lease of the test's choosing.
_BOOTSTRAP = """
import os, sys
from django.conf import settings
settings.RECONCILIATION_EXTRA_CHECKS = os.environ["DMS_TEST_RECON_CHECKS"].split(",")
settings.RECONCILIATION_LEASE_SECONDS = int(os.environ["DMS_TEST_RECON_LEASE"])
from celery.__main__ import main
sys.argv = ["celery", *sys.argv[1:]]
sys.exit(main())
"""


@dataclass
class Workers:
    queue: str
    procs: list[subprocess.Popen] = field(default_factory=list)

    def start(self, *, lease_s: int) -> subprocess.Popen:
        """A solo worker on this test's queue, in a process group of its own; returns once it answers a ping."""
        node = f"{self.queue}-{len(self.procs) + 1}"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dms.settings.test", "DMS_TEST_WORKER": "1",
               "DMS_TEST_WORKER_DB": connection.settings_dict["NAME"], "DMS_TEST_QUEUE": self.queue,
               "DMS_TEST_RECON_CHECKS": ",".join(EXTRA), "DMS_TEST_RECON_LEASE": str(lease_s)}
        log = Path(f"/tmp/dms-test-worker-{os.getpid()}-{node}.log")
        with log.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-c", _BOOTSTRAP, "-A", "dms", "worker", "--pool=solo", "--concurrency=1",
                 "-Q", self.queue, "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info",
                 "-n", f"{node}@%h"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"the Celery worker exited: {log.read_text()[-2000:]}")
            if celery_app.control.ping(destination=[f"{node}@{os.uname().nodename}"], timeout=0.5):
                return proc
        pytest.fail(f"the Celery worker did not answer in 60 s: {log.read_text()[-2000:]}")


@pytest.fixture
def workers(transactional_db: None, settings: Any) -> Iterator[Workers]:
    if not settings.REDIS_URL:
        pytest.fail("REDIS_URL is not set: the worker tests need a real Redis broker (make test sets it).")
    settings.RECONCILIATION_EXTRA_CHECKS = EXTRA  # this process names the same checks as the workers
    queue = f"dms-test-{os.getpid()}-reconciliation"
    old = (celery_app.conf.task_always_eager, celery_app.conf.task_default_queue)
    celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = False, queue
    pool = Workers(queue=queue)
    try:
        yield pool
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = old
        for proc in pool.procs:
            stop_worker(proc)
        forget_unacked(queue)


@pytest.fixture
def test_lock() -> Iterator[Any]:
    """A connection of the test's own, outside Django's, to hold the advisory locks."""
    raw = connection.get_new_connection(connection.get_connection_params())
    raw.autocommit = True
    try:
        yield raw
    finally:
        raw.close()


def seeded(slug: str) -> TenantCast:
    """A tenant whose day holds mismatches for this module's checks (and whatever the real checks find in a
    tenant with a device that never synced)."""
    cast = build_tenant(slug)
    a1, a2 = cast.distributors
    for dist, name in ((a1, "WBAD 1"), (a1, "WBAD 2"), (a2, "WBAD 3"), (a1, "WODD 1"), (a2, "WODD 2"),
                       (a1, "Fine")):
        make_outlet(dist, name=name)
    return cast


def request(cast: TenantCast, **kw: Any) -> ReconciliationRun:
    day = timezone.now().astimezone(cast.tenant.tz).date()
    with tenant_scope(Scope.system(cast.tenant.pk)) as scope:
        return reconciliation_request(scope=scope, business_date=day, **kw)  # enqueued when this commits


def run_row(run: ReconciliationRun) -> ReconciliationRun:
    with tenant_scope(Scope.system(run.tenant_id)):
        return ReconciliationRun.objects.get(pk=run.pk)


def finished(run: ReconciliationRun) -> ReconciliationRun | None:
    row = run_row(run)
    return row if row.status in (RunStatus.SUCCEEDED, RunStatus.FAILED) else None


def exceptions(cast: TenantCast) -> dict[str, int]:
    """Exceptions per check; asserts each (check, distributor, key) is there once."""
    with tenant_scope(Scope.system(cast.tenant.pk)):
        rows = list(ReconciliationException.objects.values_list("check_code", "distributor_id", "key"))
    assert len(rows) == len(set(rows)), "duplicate exceptions"
    counts: dict[str, int] = {}
    for code, _, _ in rows:
        counts[code] = counts.get(code, 0) + 1
    return counts


def waiting_on(raw: Any, key: int) -> int:
    """Backends waiting for the advisory lock `key`."""
    with raw.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                       "AND ((classid::bigint << 32) | objid::bigint) = %s", [key])
        return int(cursor.fetchone()[0])


def test_a_run_whose_worker_is_killed_mid_run_completes_after_the_redrive_with_nothing_lost_or_doubled(
        workers, test_lock, capsys):
    # given: two tenants with the same day; the first reconciled cleanly, as the measure
    codes = [c.code for c in registered_checks()]
    assert codes[-3:] == ["w_first", "w_blocked", "w_last"]
    first_worker = workers.start(lease_s=LEASE_S)
    clean, victim = seeded("wc"), seeded("wv")
    clean_run = request(clean)
    done = wait_for(lambda: finished(clean_run))
    assert (done.status, done.checks_done, done.attempts) == (RunStatus.SUCCEEDED, codes, 1), done.error
    single = exceptions(clean)
    assert (single["w_first"], single["w_blocked"], single["w_last"]) == (3, 3, 2)

    # when: the victim's run is caught in the middle check, after the first committed, and the worker killed
    key = LOCK_BASE + victim.tenant.pk
    with test_lock.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    run = request(victim)
    wait_for(lambda: "w_first" in run_row(run).checks_done and waiting_on(test_lock, key))
    os.killpg(first_worker.pid, signal.SIGKILL)
    first_worker.wait(timeout=10)
    killed = run_row(run)
    # then: what the dead worker committed is there, the check it was in is not
    assert (killed.status, killed.attempts) == (RunStatus.RUNNING, 1)
    assert killed.checks_done == codes[:-2]
    assert "w_blocked" not in exceptions(victim)

    # when: the lock goes (the dead worker's database session then ends), the lease passes, a fresh worker starts
    # and the redrive (beat's, every 5 minutes) finds the run
    with test_lock.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    wait_for(lambda: (run_row(run).lease_until or timezone.now()) < timezone.now())
    workers.start(lease_s=60)
    started = time.monotonic()
    assert reconcile_redrive() == [run.pk]
    completed = wait_for(lambda: finished(run))
    with capsys.disabled():
        print(f"\n  reconciliation killed mid-run after {len(killed.checks_done)} of {len(codes)} checks; "
              f"the redriven run finished {time.monotonic() - started:.2f} s later")
    # then: completed by the second attempt, each check once, the same exceptions as a clean run
    assert (completed.status, completed.attempts, completed.error) == (RunStatus.SUCCEEDED, 2, "")
    assert completed.checks_done == codes and set(completed.counts) == set(codes)
    assert exceptions(victim) == single
    # (a check run again by the second attempt would have recorded new = 0 where the clean run found new ones)
    assert ({c: (n["found"], n["new"]) for c, n in completed.counts.items()}
            == {c: (n["found"], n["new"]) for c, n in done.counts.items()})
    # and the broker's late copy of the killed worker's message changes nothing
    late = reconcile_task.apply_async(kwargs={"tenant_id": victim.tenant.pk, "run_id": run.pk})
    assert late.get(timeout=30) == "skipped"
    assert run_row(run).attempts == 2 and exceptions(victim) == single
