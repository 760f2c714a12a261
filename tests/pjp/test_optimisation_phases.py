"""The optimisation job searches with no transaction open: the snapshot is read in one transaction, the proposal
written in another (pjp.optimisation.common.propose_in_phases)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from dms.tenancy.context import tenant_scope
from dms.tenancy.models import BackgroundJob
from dms.tenancy.scope import Scope
from pjp import tasks
from pjp.models import OptimisationProposal
from pjp.optimisation import route_optimise_start, route_sequence_run, sequence
from tests.factories.pjp import staff_scope
from tests.pjp.test_optimisation import SOLVE_SECONDS, line_route

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def job(dist_a1: Any, outlet_factory: Any, monkeypatch: pytest.MonkeyPatch) -> BackgroundJob:
    monkeypatch.setattr(tasks.route_sequence_task, "delay", lambda **kwargs: None)  # the test runs it itself
    route, _outlets = line_route(dist_a1, outlet_factory)
    with tenant_scope(staff_scope(dist_a1)) as scope:
        return route_optimise_start(scope=scope, route_id=route.pk, time_limit=SOLVE_SECONDS)


def test_the_search_runs_outside_any_transaction_and_the_proposal_is_written_after_it(job, dist_a1, monkeypatch):
    # given: a spy on the search
    seen: list[tuple[bool, int]] = []
    search = sequence._sequence_search

    def spy(state: Any, **kwargs: Any) -> Any:
        with tenant_scope(Scope.system(dist_a1.tenant_id)):
            proposals = OptimisationProposal.objects.filter(job_id=job.pk).count()
        seen.append((connection.in_atomic_block, proposals))
        return search(state, **kwargs)

    monkeypatch.setattr(sequence, "_sequence_search", spy)
    # when
    status = route_sequence_run(tenant_id=dist_a1.tenant_id, job_id=job.pk)
    # then: no transaction around the search, no proposal before it, one after
    assert status == BackgroundJob.Status.SUCCEEDED
    assert seen == [(False, 0)]
    with tenant_scope(Scope.system(dist_a1.tenant_id)):
        assert OptimisationProposal.objects.filter(job_id=job.pk).count() == 1


def test_a_run_racing_another_run_of_the_same_job_keeps_the_first_proposal(job, dist_a1, monkeypatch):
    # given: while this run searches, another run of the same job (a redelivery) finishes and writes its proposal
    search = sequence._sequence_search
    inner_done: list[str] = []

    def search_then_race(state: Any, **kwargs: Any) -> Any:
        if not inner_done:
            inner_done.append("running")
            monkeypatch.setattr(sequence, "_sequence_search", search)
            with tenant_scope(Scope.system(dist_a1.tenant_id)):
                BackgroundJob.objects.filter(pk=job.pk).update(status=BackgroundJob.Status.QUEUED)
            inner_done.append(route_sequence_run(tenant_id=dist_a1.tenant_id, job_id=job.pk))
        return search(state, **kwargs)

    monkeypatch.setattr(sequence, "_sequence_search", search_then_race)
    # when
    route_sequence_run(tenant_id=dist_a1.tenant_id, job_id=job.pk)
    # then: the late writer found the proposal under the job's lock and wrote none of its own
    assert inner_done == ["running", BackgroundJob.Status.SUCCEEDED]
    with tenant_scope(Scope.system(dist_a1.tenant_id)):
        proposals = list(OptimisationProposal.objects.filter(job_id=job.pk))
        job.refresh_from_db()
    assert len(proposals) == 1 and job.result == {"proposal_id": proposals[0].pk}
