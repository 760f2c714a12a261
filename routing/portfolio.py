"""Run one backend several times at once with different seeds, each on its own core, and keep the best plan.

A portfolio of independent searches is the simplest parallel search that helps an iterated local search: runs
with different seeds explore different basins, and the best of k runs is at least as good as the run with the
caller's seed (it is one of them). The caller's process runs `seed` itself (so its progress reports go on); the
other runs are forked children with seeds seed + 1, ..., seed + k - 1 and no progress reporting, returning
their plans through a pipe. Choosing the winner is deterministic: lowest cost, then lowest seed.

`os.fork` is used directly rather than multiprocessing: a Celery prefork worker process is daemonic, and
multiprocessing refuses to start children from a daemonic process. A child touches nothing it inherited except
the pipe, and leaves by `os._exit`, so inherited database connections and sockets are never used or closed by it.
"""

from __future__ import annotations

import math
import os
import pickle
import select
import signal
import time
from collections.abc import Callable
from dataclasses import replace

from routing.backend import Outcome, Task

# Seconds a child may overrun the deadline (building its result, pickling it) before it is killed.
GRACE = 2.0


def cost_of(outcome: Outcome) -> float:
    """The backend's objective value of the outcome (infinite when infeasible or not reported)."""
    cost = outcome.stats.get("cost")
    feasible = outcome.stats.get("solver_feasible", True)
    return float(cost) if isinstance(cost, int | float) and feasible else math.inf


def _child(run: Callable[[Task], Outcome], task: Task, write_fd: int) -> None:  # pragma: no cover - in a child
    code = 0
    try:
        data = pickle.dumps(run(task))
    except BaseException:  # noqa: BLE001 - the parent treats a missing result as a failed run
        data, code = b"", 1
    try:
        view = memoryview(data)
        while view:
            written = os.write(write_fd, view)
            view = view[written:]
    finally:
        os._exit(code)


def _collect(read_fd: int, deadline: float) -> bytes:
    chunks: list[bytes] = []
    while True:
        wait = deadline - time.perf_counter()
        if wait <= 0:
            return b""
        ready, _, _ = select.select([read_fd], [], [], wait)
        if not ready:
            return b""
        chunk = os.read(read_fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def run(run_one: Callable[[Task], Outcome], task: Task, workers: int) -> Outcome:
    """Best of `workers` runs of `run_one` with seeds task.seed, task.seed + 1, ...; one run when workers <= 1."""
    if workers <= 1:
        return run_one(task)
    children: list[tuple[int, int, int]] = []  # (seed, pid, read end)
    for k in range(1, workers):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            os.close(read_fd)
            _child(run_one, replace(task, seed=task.seed + k, progress=None), write_fd)
        os.close(write_fd)
        children.append((task.seed + k, pid, read_fd))
    outcomes: list[tuple[float, int, Outcome]] = []
    try:
        mine = run_one(task)
        outcomes.append((cost_of(mine), task.seed, mine))
        deadline = task.started + task.time_limit + GRACE
        for seed, _pid, read_fd in children:
            data = _collect(read_fd, deadline)
            if data:
                theirs = pickle.loads(data)  # noqa: S301 - our own child's output through our own pipe
                outcomes.append((cost_of(theirs), seed, theirs))
    finally:
        for _seed, pid, read_fd in children:
            os.close(read_fd)
            try:
                os.kill(pid, signal.SIGKILL)  # a no-op for a child that has already exited
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
    cost, seed, best = min(outcomes, key=lambda item: (item[0], item[1]))
    best.stats = {**best.stats, "portfolio": {"workers": workers, "seed": seed,
                                             "costs": [c if math.isfinite(c) else None for c, _, _ in outcomes]}}
    return best
