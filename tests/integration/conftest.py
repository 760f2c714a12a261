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


# --- restartable workers with a shared cache (the optimisation worker tests) -------------------------------

# Runs `celery` with the test settings, but with the Redis cache instead of the per-process locmem one, so
# that a job's progress written by the worker can be read through the API by the test process.
_SHARED_CACHE_BOOTSTRAP = """
import os, sys
from django.conf import settings
settings.CACHES = {"default": {
    "BACKEND": "django_redis.cache.RedisCache", "LOCATION": os.environ["REDIS_URL"],
    "KEY_PREFIX": os.environ["DMS_TEST_CACHE_PREFIX"],
    "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"}}}
from celery.__main__ import main
sys.argv = ["celery", *sys.argv[1:]]
sys.exit(main())
"""


def shared_cache_settings(prefix: str) -> dict:
    """CACHES for the test process matching the workers started by `start_worker(cache_prefix=prefix)`."""
    return {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": settings.REDIS_URL,
                        "KEY_PREFIX": prefix, "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"}}}


def start_worker(*, queue: str, node: str, cache_prefix: str) -> subprocess.Popen:
    """Start a solo Celery worker consuming `queue`, joined to the test database and sharing the Redis cache
    under `cache_prefix`; returns once it answers a ping. The caller stops it (`stop_worker`) or kills it.
    Its log is /tmp/dms-test-worker-<pid>-<node>.log."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dms.settings.test", "DMS_TEST_WORKER": "1",
           "DMS_TEST_WORKER_DB": connection.settings_dict["NAME"], "DMS_TEST_QUEUE": queue,
           "DMS_TEST_CACHE_PREFIX": cache_prefix}
    log = Path(f"/tmp/dms-test-worker-{os.getpid()}-{node}.log")
    with log.open("w") as out:  # the worker keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [sys.executable, "-c", _SHARED_CACHE_BOOTSTRAP, "-A", "dms", "worker", "--pool=solo",
             "--concurrency=1", "-Q", queue, "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-l", "info", "-n", f"{node}@%h"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the Celery worker exited: {log.read_text()[-2000:]}")
        if celery_app.control.ping(destination=[f"{node}@{os.uname().nodename}"], timeout=0.5):
            return proc
    stop_worker(proc)
    pytest.fail(f"the Celery worker did not answer in 60 s: {log.read_text()[-2000:]}")


def stop_worker(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def forget_unacked(queue: str) -> int:
    """Drop the broker's unacknowledged deliveries of `queue` (a killed worker's message): kombu would put them
    back on the queue after the visibility timeout, long after the test and its database are gone."""
    import json

    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    dropped = 0
    for tag, raw in client.hgetall("unacked").items():
        try:
            _message, exchange, routing_key = json.loads(raw)
        except (ValueError, TypeError):
            continue
        if queue in (exchange, routing_key):
            client.pipeline().zrem("unacked_index", tag).hdel("unacked", tag).execute()
            dropped += 1
    return dropped
