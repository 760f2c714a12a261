"""Travel distances and times between a distributor's points, for the optimisers.

With TenantSettings.matrix_provider_url set, an OSRM-compatible table service gives road distances and
times (`GET {url}/table/v1/driving/{lng,lat;...}?annotations=duration,distance`); without it, or when the
service fails, the great-circle model of routing.matrix does (distance x the tenant's road factor, at its
travel speed). Results are cached per distributor for a day, keyed by tenant, distributor, provider, the
tenant's travel settings and the points themselves, so an edit of any of them is a new key.

The HTTP call must not run inside a database transaction (a slow provider would hold the transaction
open): callers that run in one warm the cache first with `travel_prefetch` (see pjp.optimisation).
"""

from __future__ import annotations

import hashlib
import json
import logging
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db import connection

from dms.tenancy.models import TenantSettings
from dms.tenancy.scope import Scope
from routing.matrix import travel_arrays

logger = logging.getLogger(__name__)

Point = tuple[float, float]
Matrices = tuple[list[list[int]], list[list[int]]]

CACHE_TTL = 24 * 3600
PROVIDER_TIMEOUT_S = 10.0
# OSRM's default --max-table-size; larger sets use the great-circle model rather than a refused request.
PROVIDER_MAX_POINTS = 100
# Above this many points the great-circle matrices are cheaper to recompute than to move through the
# cache (2,000 points: two 16 MB matrices, computed in well under a second).
CACHE_MAX_POINTS = 500
GREAT_CIRCLE = "great-circle"


@dataclass(frozen=True)
class TravelModel:
    """The tenant's travel policy: a provider URL ("" for none), the road factor and the speed."""

    provider_url: str
    road_factor: float
    speed_kmh: float

    @property
    def provider(self) -> str:
        return f"osrm:{self.provider_url}" if self.provider_url else GREAT_CIRCLE


def travel_model(*, scope: Scope) -> TravelModel:
    """The tenant's travel settings (one query; the model defaults stand in when the row is missing)."""
    settings = TenantSettings.objects.filter(tenant_id=scope.tenant_id).first() or TenantSettings()
    return TravelModel(provider_url=(settings.matrix_provider_url or "").rstrip("/"),
                       road_factor=float(settings.road_factor), speed_kmh=float(settings.travel_speed_kmh))


def travel_for(*, scope: Scope, distributor_id: int, points: Sequence[Point]) -> Matrices:
    """(distance_m, duration_s) between all pairs of `points` (lat, lng), indexed [from][to].

    Inside a transaction a provider is only called on a cache miss that `travel_prefetch` did not cover
    (the cache was evicted, or the points changed in between): that call is bounded by PROVIDER_TIMEOUT_S
    and the optimisers hold no row locks while they read travel times, so it delays one job, nobody else.
    """
    return travel_matrices(model=travel_model(scope=scope), tenant_id=scope.tenant_id, distributor_id=distributor_id,
                           points=points)


def travel_prefetch(*, model: TravelModel, tenant_id: int, distributor_id: int, points: Sequence[Point]) -> None:
    """Warm the cache for `points`; call it outside any transaction, before one that reads travel times."""
    travel_matrices(model=model, tenant_id=tenant_id, distributor_id=distributor_id, points=points)


def travel_matrices(*, model: TravelModel, tenant_id: int, distributor_id: int, points: Sequence[Point]) -> Matrices:
    """`travel_for` with the settings already read: no database access, only the cache and the provider."""
    points = [(float(lat), float(lng)) for lat, lng in points]
    if len(points) < 2:
        return [[0] * len(points) for _ in points], [[0] * len(points) for _ in points]
    use_provider = bool(model.provider_url) and len(points) <= PROVIDER_MAX_POINTS
    if model.provider_url and not use_provider:
        logger.info("%s points exceed the provider's table size (%s): great-circle model used", len(points),
                    PROVIDER_MAX_POINTS)
    effective = model if use_provider else TravelModel("", model.road_factor, model.speed_kmh)
    hit = _cached(tenant_id, distributor_id, effective, points)
    if hit is not None:
        return hit
    if use_provider:
        if connection.in_atomic_block:
            logger.info("travel times for distributor %s fetched inside a transaction (cache miss)", distributor_id)
        try:
            distance, duration = _fetch_table(model.provider_url, points, model)
        except (OSError, ValueError, KeyError, TypeError) as exc:  # URLError and timeouts are OSErrors
            logger.warning("matrix provider %s failed (%s: %s); using the great-circle model for distributor %s",
                           model.provider_url, type(exc).__name__, exc, distributor_id)
            return travel_matrices(model=TravelModel("", model.road_factor, model.speed_kmh), tenant_id=tenant_id,
                                   distributor_id=distributor_id, points=points)
    else:
        distance, duration = travel_arrays(points, road_factor=model.road_factor, speed_kmh=model.speed_kmh)
    _store(tenant_id, distributor_id, effective, points, distance, duration)
    return distance.tolist(), duration.tolist()


def _key(tenant_id: int, distributor_id: int, model: TravelModel, points: Sequence[Point]) -> str:
    provider = hashlib.sha256(model.provider.encode()).hexdigest()[:16]
    settings = f"{model.road_factor:.4f}:{model.speed_kmh:.4f}"
    digest = hashlib.sha256(";".join(f"{lat:.6f},{lng:.6f}" for lat, lng in points).encode()).hexdigest()
    return f"dms:travel:{tenant_id}:{distributor_id}:{provider}:{settings}:{digest}"


def _cached(tenant_id: int, distributor_id: int, model: TravelModel, points: Sequence[Point]) -> Matrices | None:
    if len(points) > CACHE_MAX_POINTS:
        return None
    value = cache.get(_key(tenant_id, distributor_id, model, points))
    if value is None:
        return None
    n = len(points)
    distance = np.frombuffer(value[0], dtype=np.int32).reshape(n, n)
    duration = np.frombuffer(value[1], dtype=np.int32).reshape(n, n)
    return distance.tolist(), duration.tolist()


def _store(tenant_id: int, distributor_id: int, model: TravelModel, points: Sequence[Point], distance: Any,
           duration: Any) -> None:
    if len(points) > CACHE_MAX_POINTS:
        return
    value = (np.asarray(distance, dtype=np.int32).tobytes(), np.asarray(duration, dtype=np.int32).tobytes())
    cache.set(_key(tenant_id, distributor_id, model, points), value, CACHE_TTL)


def _fetch_table(url: str, points: Sequence[Point], model: TravelModel) -> tuple[Any, Any]:
    """Call the table service; cells it cannot route (null) take the great-circle values."""
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError("the matrix provider URL is not http(s)")
    coordinates = ";".join(f"{lng:.6f},{lat:.6f}" for lat, lng in points)
    address = f"{url}/table/v1/driving/{coordinates}?annotations=duration,distance"
    request = urllib.request.Request(address, headers={"Accept": "application/json"})  # noqa: S310 - http(s) only
    with urllib.request.urlopen(request, timeout=PROVIDER_TIMEOUT_S) as response:  # noqa: S310 - http(s) only
        body = json.loads(response.read())
    if body.get("code") != "Ok":
        raise ValueError(f"the table service answered {body.get('code')!r}: {body.get('message', '')}")
    n = len(points)
    tables = [body[name] for name in ("distances", "durations")]
    if any(len(table) != n or any(len(row) != n for row in table) for table in tables):
        raise ValueError(f"the table service answered a matrix of the wrong shape for {n} points")
    fallback = travel_arrays(points, road_factor=model.road_factor, speed_kmh=model.speed_kmh)
    out = []
    for table, backup in zip(tables, fallback, strict=True):
        missing = np.array([[value is None for value in row] for row in table], dtype=bool)
        if missing.any():
            logger.info("the table service could not route %s of %s pairs: great-circle values used",
                        int(missing.sum()), n * n)
        values = np.array([[0.0 if value is None else float(value) for value in row] for row in table])
        result = np.rint(np.where(missing, backup, values)).astype(np.int64)
        np.fill_diagonal(result, 0)
        out.append(result)
    return out[0], out[1]
