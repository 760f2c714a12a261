"""A real Celery worker on the real Redis broker, joined to the running test database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from dms.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def celery_worker_process(transactional_db: None) -> Iterator[subprocess.Popen]:
    if not settings.REDIS_URL:
        pytest.fail("REDIS_URL is not set: the worker tests need a real Redis broker (make test sets it).")
    queue = f"dms-test-{os.getpid()}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dms.settings.test",
        "DMS_TEST_WORKER": "1",
        "DMS_TEST_WORKER_DB": connection.settings_dict["NAME"],
        "DMS_TEST_QUEUE": queue,
    }
    log = open(f"/tmp/dms-test-worker-{os.getpid()}.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "dms", "worker", "--pool=solo", "--concurrency=1", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info", "-n", f"test-{queue}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    old = (celery_app.conf.task_always_eager, celery_app.conf.task_default_queue)
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"the Celery worker exited: {Path(log.name).read_text()[-2000:]}")
            if celery_app.control.ping(destination=[f"test-{queue}@{os.uname().nodename}"], timeout=0.5):
                break
        else:
            pytest.fail(f"the Celery worker did not answer in 60 s: {Path(log.name).read_text()[-2000:]}")
        yield proc
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = old
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.3):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
