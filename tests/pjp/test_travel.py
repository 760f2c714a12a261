"""pjp.travel: the great-circle model, an OSRM-compatible table service on loopback, the fallback when it
fails, the cache, and the optimiser fetching outside any transaction."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection

from dms.tenancy.context import tenant_scope
from dms.tenancy.models import TenantSettings
from dms.tenancy.scope import Scope
from pjp import travel
from pjp.travel import travel_for
from routing.matrix import travel_matrices

pytestmark = pytest.mark.django_db

POINTS = [(31.5204, 74.3587), (31.5497, 74.3436), (31.4697, 74.2728)]


class TableServer(ThreadingHTTPServer):
    """Answers /table/v1/driving/... with a fixed table: distance 1000 x |i - j| + 0.4 m, duration
    60 x |i - j| + 0.6 s (so rounding shows), or with `status` when it is not 200."""

    status = 200
    requests: list[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class TableHandler(BaseHTTPRequestHandler):
    server: TableServer

    def do_GET(self) -> None:  # noqa: N802 - the http.server hook
        self.server.requests.append(self.path)
        if self.server.status != 200:
            self.send_response(self.server.status)
            self.end_headers()
            self.wfile.write(b"boom")
            return
        coordinates = self.path.split("/table/v1/driving/", 1)[1].split("?", 1)[0]
        n = coordinates.count(";") + 1
        body = {"code": "Ok",
                "distances": [[1000 * abs(i - j) + 0.4 for j in range(n)] for i in range(n)],
                "durations": [[60 * abs(i - j) + 0.6 for j in range(n)] for i in range(n)]}
        if n > 2:
            body["distances"][0][2] = None  # a pair the service cannot route
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the http.server signature
        pass


@pytest.fixture
def table_server() -> Iterator[TableServer]:
    server = TableServer(("127.0.0.1", 0), TableHandler)  # loopback only
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def set_travel(tenant_id: int, *, url: str = "", road_factor: str = "1.50", speed: str = "30.0") -> None:
    with tenant_scope(Scope.system(tenant_id)):
        TenantSettings.objects.update(matrix_provider_url=url, road_factor=Decimal(road_factor),
                                      travel_speed_kmh=Decimal(speed))


def matrices(dist: Any) -> tuple[list[list[int]], list[list[int]]]:
    with tenant_scope(Scope.system(dist.tenant_id)) as scope:
        return travel_for(scope=scope, distributor_id=dist.pk, points=POINTS)


def test_without_a_provider_the_great_circle_model_uses_the_tenants_road_factor_and_speed(dist_a1):
    # given
    set_travel(dist_a1.tenant_id)
    # when
    distance, duration = matrices(dist_a1)
    # then
    assert (distance, duration) == travel_matrices(POINTS, road_factor=1.5, speed_kmh=30.0)
    assert distance[0][1] > 3000 and duration[0][1] == round(distance[0][1] / (30 / 3.6))


def test_a_table_service_gives_its_distances_and_times_rounded(dist_a1, table_server):
    # given
    set_travel(dist_a1.tenant_id, url=table_server.url)
    # when
    distance, duration = matrices(dist_a1)
    # then
    [path] = table_server.requests
    assert path == ("/table/v1/driving/74.358700,31.520400;74.343600,31.549700;74.272800,31.469700"
                    "?annotations=duration,distance")
    great_circle, _ = travel_matrices(POINTS, road_factor=1.5, speed_kmh=30.0)
    assert distance == [[0, 1000, great_circle[0][2]], [1000, 0, 1000], [2000, 1000, 0]]
    assert duration == [[0, 61, 121], [61, 0, 61], [121, 61, 0]]


def test_a_failing_service_falls_back_to_the_great_circle_model_with_a_warning(dist_a1, table_server, caplog):
    # given
    table_server.status = 500
    set_travel(dist_a1.tenant_id, url=table_server.url)
    # when
    with caplog.at_level(logging.WARNING, logger="pjp.travel"):
        result = matrices(dist_a1)
    # then
    assert len(table_server.requests) == 1
    assert result == travel_matrices(POINTS, road_factor=1.5, speed_kmh=30.0)
    assert "using the great-circle model" in caplog.text and "HTTPError" in caplog.text


def test_a_second_call_for_the_same_points_is_served_from_the_cache(dist_a1, table_server):
    # given
    set_travel(dist_a1.tenant_id, url=table_server.url)
    first = matrices(dist_a1)
    # when
    second = matrices(dist_a1)
    # then
    assert second == first and len(table_server.requests) == 1


def test_the_cache_key_follows_the_points_the_settings_and_the_distributor(dist_a1, dist_a2, table_server):
    # given
    set_travel(dist_a1.tenant_id, url=table_server.url)
    matrices(dist_a1)
    # when: another distributor, other points, other settings
    matrices(dist_a2)
    with tenant_scope(Scope.system(dist_a1.tenant_id)) as scope:
        travel_for(scope=scope, distributor_id=dist_a1.pk, points=POINTS[:2])
    set_travel(dist_a1.tenant_id, url=table_server.url, speed="20.0")
    matrices(dist_a1)
    # then: each is a miss
    assert len(table_server.requests) == 4


def test_more_points_than_the_services_table_size_use_the_great_circle_model(dist_a1, table_server, monkeypatch):
    # given
    monkeypatch.setattr(travel, "PROVIDER_MAX_POINTS", 2)
    set_travel(dist_a1.tenant_id, url=table_server.url)
    # when
    result = matrices(dist_a1)
    # then
    assert table_server.requests == []
    assert result == travel_matrices(POINTS, road_factor=1.5, speed_kmh=30.0)


@pytest.mark.django_db(transaction=True)
def test_the_optimiser_fetches_travel_times_before_it_opens_its_transaction(table_server, monkeypatch):
    from pjp.optimisation import proposal_for_job, route_optimise_start
    from tests.conftest import build_tenant
    from tests.factories.catalog import make_outlet
    from tests.pjp.test_optimisation import line_route

    # given: a real commit, so the task runs after it as on a worker (eager Celery, in this process)
    dist = build_tenant("tt").distributors[0]
    set_travel(dist.tenant_id, url=table_server.url)
    route, _outlets = line_route(dist, make_outlet)
    in_transaction: list[bool] = []
    fetch = travel._fetch_table

    def watched(*args: Any, **kwargs: Any) -> Any:
        in_transaction.append(connection.in_atomic_block)
        return fetch(*args, **kwargs)

    monkeypatch.setattr(travel, "_fetch_table", watched)
    # when: the request commits, then the task runs (eagerly, like a worker: outside any transaction)
    with tenant_scope(Scope.system(dist.tenant_id)) as scope:
        job = route_optimise_start(scope=scope, route_id=route.pk, time_limit=5.0)
    # then: one fetch, outside the transaction; the solve inside it was a cache hit
    assert in_transaction == [False]
    assert len(table_server.requests) == 1
    with tenant_scope(Scope.system(dist.tenant_id)) as scope:
        assert proposal_for_job(scope=scope, job_id=job.pk) is not None
