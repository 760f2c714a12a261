"""Exactly one beat schedules at a time: two real `celery beat` processes on the real Redis, with RedBeat's lock.

The second beat waits on the lock while the first holds it and sends nothing; when the first is killed (SIGKILL,
so it never releases the lock), the lock expires and the second takes over and sends. A one-second test schedule
(dms/settings/test.py, DMS_TEST_BEAT) onto a queue of the test's own, with RedBeat keys of its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
SENT = "Sending due task test-tick"
ACQUIRED = "beat: Acquired lock"


def _wait_for(what: str, condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"waited {seconds} s for {what}")


@pytest.fixture
def beats(tmp_path: Path) -> Iterator[Callable[[str], tuple[subprocess.Popen, Path]]]:
    if not settings.REDIS_URL:
        pytest.fail("REDIS_URL is not set: the beat test needs a real Redis (make test sets it).")
    run = uuid.uuid4().hex[:8]
    prefix, queue = f"dms-test-beat-{run}:", f"dms-test-beat-{run}"
    started: list[subprocess.Popen] = []

    def start(name: str) -> tuple[subprocess.Popen, Path]:
        log = tmp_path / f"beat-{name}.log"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dms.settings.test", "DMS_TEST_BEAT": "1",
               "DMS_TEST_BEAT_PREFIX": prefix, "DMS_TEST_QUEUE": queue}
        with log.open("w") as out:
            proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "dms", "beat", "-l", "info",
                                     "--pidfile=", f"--schedule={tmp_path / name}"],
                                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        started.append(proc)
        return proc, log

    try:
        yield start
    finally:
        for proc in started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        client = redis.Redis.from_url(settings.REDIS_URL)
        keys = [*client.scan_iter(f"{prefix}*"), queue.encode()]
        client.delete(*keys)


def _count(log: Path, text: str) -> int:
    return log.read_text().count(text)


@pytest.mark.timeout(120)
def test_a_second_beat_waits_for_the_lock_and_takes_over_only_when_the_first_dies(beats):
    # given: beat A holds the lock and schedules
    a, a_log = beats("a")
    _wait_for("beat A to send", lambda: _count(a_log, SENT) >= 2, 40)
    # when: beat B starts beside it
    b, b_log = beats("b")
    sent_before = _count(a_log, SENT)
    time.sleep(6)  # longer than the lock timeout (5 s): A keeps extending it
    # then: B got no lock and sent nothing, while A went on
    assert b.poll() is None
    assert _count(b_log, ACQUIRED) == 0 and _count(b_log, SENT) == 0
    assert _count(a_log, SENT) > sent_before
    # when: A is killed without releasing the lock
    os.killpg(a.pid, signal.SIGKILL)
    a.wait(timeout=10)
    # then: B takes over once the lock expires, and schedules
    _wait_for("beat B to take over", lambda: _count(b_log, SENT) >= 1, 40)
    assert _count(b_log, ACQUIRED) == 1
