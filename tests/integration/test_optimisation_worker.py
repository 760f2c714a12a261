"""Route optimisation through a real Celery worker on Redis: progress while it runs, the proposal, accepting
it; and a worker killed mid-solve leaves nothing behind, and a retry on a fresh worker finishes the job once."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.utils.dateparse import parse_datetime

from dms.celery import app as celery_app
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.models import BackgroundJob, Distributor
from dms.tenancy.scope import Scope
from pjp.models import OptimisationProposal, Route, RouteStop
from pjp.tasks import route_sequence_task, routes_build_task
from tests.conftest import build_tenant
from tests.factories.catalog import make_outlet
from tests.factories.pjp import make_route
from tests.integration.conftest import (
    forget_unacked,
    shared_cache_settings,
    start_worker,
    stop_worker,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

API = "/api/v1/pjp"
OUTLETS = 60
POLL_S = 0.05


@dataclass
class Workers:
    """Optimisation workers on a queue of this test run; `start` may be called again after a kill."""

    queue: str
    cache_prefix: str
    procs: list[Any] = field(default_factory=list)

    def start(self) -> Any:
        proc = start_worker(queue=self.queue, node=f"{self.queue}-{len(self.procs) + 1}",
                            cache_prefix=self.cache_prefix)
        self.procs.append(proc)
        return proc


@pytest.fixture
def workers(transactional_db: None, settings: Any, monkeypatch: Any) -> Iterator[Workers]:
    if not settings.REDIS_URL:
        pytest.fail("REDIS_URL is not set: the worker tests need a real Redis broker (make test sets it).")
    queue = f"dms-test-{os.getpid()}-optimisation"
    prefix = f"dms-test-{os.getpid()}"
    # the test process reads job progress from the Redis cache the workers write it to
    settings.CACHES = shared_cache_settings(prefix)
    # the tasks are routed to "optimisation" by CELERY_TASK_ROUTES; an explicit queue on the task wins over
    # the route, so this run's workers consume a queue of their own and no other worker picks the messages up
    for task in (route_sequence_task, routes_build_task):
        monkeypatch.setattr(task, "queue", queue, raising=False)
        monkeypatch.setattr(task, "_exec_options", None)
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    pool = Workers(queue=queue, cache_prefix=prefix)
    try:
        yield pool
    finally:
        celery_app.conf.task_always_eager = eager
        for proc in pool.procs:
            stop_worker(proc)
        forget_unacked(queue)
        cache.delete_pattern("*")  # this run's keys only (the prefix); never clear(): it would flush Redis


@dataclass
class Scene:
    route: Route
    staff: Any
    tenant_id: int


def scattered_route(prefix: str, api_as: Any) -> Scene:
    """A route of OUTLETS outlets scattered over ~8 km, in the (poor) order of their codes."""
    cast = build_tenant(prefix)
    dist = cast.distributors[0]
    with tenant_scope(Scope.system(dist.tenant_id)):
        Distributor.objects.filter(pk=dist.pk).update(lat=Decimal("31.520000"), lng=Decimal("74.350000"))
    rnd = random.Random(11)
    outlets = [make_outlet(dist, code=f"{prefix.upper()}{k:03d}",
                           lat=Decimal(f"{31.52 + rnd.uniform(-0.04, 0.04):.6f}"),
                           lng=Decimal(f"{74.35 + rnd.uniform(-0.04, 0.04):.6f}")) for k in range(OUTLETS)]
    route = make_route(dist, outlets, code=f"{prefix.upper()}-R1", name="Scattered",
                       work_start="08:00", work_end="22:00", default_service_minutes=5)
    return Scene(route=route, staff=api_as(cast.users[Role.DISTRIBUTOR_STAFF]), tenant_id=cast.tenant.pk)


def stops(scene: Scene) -> tuple[int, list[int]]:
    with tenant_scope(Scope.system(scene.tenant_id)):
        version = Route.objects.get(pk=scene.route.pk).version
        return version, list(RouteStop.objects.filter(route_id=scene.route.pk).order_by("sequence")
                             .values_list("outlet_id", flat=True))


def proposals(scene: Scene, job_id: int) -> int:
    with tenant_scope(Scope.system(scene.tenant_id)):
        return OptimisationProposal.objects.filter(job_id=job_id).count()


def poll(scene: Scene, job_id: int, until: Any, timeout: float = 60.0) -> list[dict[str, Any]]:
    """GET the job every POLL_S seconds until `until(body)`; returns every body seen."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = scene.staff.get(f"/api/v1/jobs/{job_id}/").json()
        seen.append(body)
        if until(body):
            return seen
        time.sleep(POLL_S)
    raise AssertionError(f"job {job_id} did not get there in {timeout} s: {seen[-1]}")


def solve_seconds(job: dict[str, Any]) -> float:
    return (parse_datetime(job["finished_at"]) - parse_datetime(job["started_at"])).total_seconds()  # type: ignore[operator]


def test_a_route_is_optimised_on_the_worker_with_visible_progress_and_accepted(workers, api_as, capsys):
    # given
    workers.start()
    scene = scattered_route("wo", api_as)
    version, order = stops(scene)
    # when
    response = scene.staff.post(f"{API}/routes/{scene.route.pk}/optimise/", {"time_limit": 3}, format="json")
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    seen = poll(scene, job_id, lambda b: b["status"] in ("succeeded", "failed"))
    # then: progress was visible while it ran
    running = [b for b in seen if b["status"] == "running"]
    assert any(0 < b["percent"] < 100 for b in running), running[-3:]
    assert any(b["message"].startswith("pyvrp:") for b in running)
    job = seen[-1]
    assert job["status"] == "succeeded" and job["percent"] == 100, job
    with capsys.disabled():
        print(f"\n  {OUTLETS}-stop route, time limit 3 s: job ran {solve_seconds(job):.2f} s on the worker, "
              f"{len(running)} polls while running")
    # and the proposal is stored, with the route untouched until accepted
    proposal = scene.staff.get(f"{API}/proposals/{job['result']['proposal_id']}/").json()
    assert proposal["status"] == "ready" and proposal["job"] == job_id
    assert proposal["after"]["total"]["distance_m"] < proposal["before"]["total"]["distance_m"]
    assert stops(scene) == (version, order)
    # when
    accepted = scene.staff.post(f"{API}/proposals/{proposal['id']}/accept/")
    # then
    assert accepted.status_code == 200, accepted.content
    new_version, new_order = stops(scene)
    assert new_version == version + 1
    assert new_order == proposal["plan"]["routes"][str(scene.route.pk)] != order
    assert sorted(new_order) == sorted(order)


def test_a_worker_killed_mid_solve_leaves_nothing_and_a_retry_on_a_fresh_worker_finishes_once(workers, api_as,
                                                                                             capsys):
    # given: a long optimisation under way
    first = workers.start()
    scene = scattered_route("wk", api_as)
    version, order = stops(scene)
    response = scene.staff.post(f"{API}/routes/{scene.route.pk}/optimise/", {"time_limit": 8}, format="json")
    job_id = response.json()["id"]
    poll(scene, job_id, lambda b: b["status"] == "running" and b["message"].startswith("pyvrp:"))
    # when: the worker dies (SIGKILL: no shutdown, no ack, its database transaction is cut off)
    first.kill()
    first.wait(timeout=10)
    # then: the solve's transaction never committed
    assert proposals(scene, job_id) == 0
    assert stops(scene) == (version, order)
    with tenant_scope(Scope.system(scene.tenant_id)):
        job = BackgroundJob.objects.get(pk=job_id)
    assert (job.status, job.attempts) == (BackgroundJob.Status.RUNNING, 1)

    # With acks_late and reject_on_worker_lost the message was never acknowledged, so the broker would hand it
    # to a worker again, but the Redis transport only restores unacknowledged messages after its visibility
    # timeout (3600 s). An operator's retry sends the same task for the same job at once; that is what we do.
    # job_run's compare-and-set claims a RUNNING job again, so the retry runs it from the start.
    workers.start()
    started = time.monotonic()
    retry = route_sequence_task.apply_async(kwargs={"tenant_id": scene.tenant_id, "job_id": job_id})
    assert retry.get(timeout=90) == "succeeded"
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\n  {OUTLETS}-stop route, time limit 8 s: killed mid-solve; the retry finished in {elapsed:.2f} s")
    # then: one proposal, the route still as it was, until the proposal is accepted
    assert proposals(scene, job_id) == 1
    body = scene.staff.get(f"/api/v1/jobs/{job_id}/").json()
    assert body["status"] == "succeeded"
    with tenant_scope(Scope.system(scene.tenant_id)):
        assert BackgroundJob.objects.get(pk=job_id).attempts == 2
    assert stops(scene) == (version, order)
    # and a second delivery of the same message (the broker's, an hour later) changes nothing
    assert route_sequence_task.apply_async(kwargs={"tenant_id": scene.tenant_id,
                                                   "job_id": job_id}).get(timeout=30) == "succeeded"
    assert proposals(scene, job_id) == 1
    accepted = scene.staff.post(f"{API}/proposals/{body['result']['proposal_id']}/accept/")
    assert accepted.status_code == 200
    assert stops(scene)[0] == version + 1

