"""What every benchmark shares: the Result record, timing, and a scratch PostgreSQL database.

A benchmark that needs a database runs in `scratch_database()`: created through a superuser connection,
owned by the owner role and migrated as it (so the tenancy DDL and row-level security are in place), then
used by Django as the application role, and dropped at the end.
"""

from __future__ import annotations

import os
import re
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import environ
import psycopg2
import psycopg2.extras
from django.conf import settings
from django.core.management import call_command
from django.db import connections

SCALES = ("small", "full")


class BenchError(RuntimeError):
    """The benchmark cannot run here (no PostgreSQL, missing configuration)."""


@dataclass
class Result:
    name: str
    value: float
    unit: str
    baseline: str  # what the value is compared with, measured in the same run
    baseline_value: float
    goal: str  # a condition on the ratio or on the value itself, e.g. "ratio >= 0.5", "value <= 100"
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.value / self.baseline_value if self.baseline_value else float("nan")

    def met(self) -> bool | None:
        match = re.fullmatch(r"(ratio|value)\s*(<=|>=)\s*([0-9.]+)", self.goal.strip())
        if match is None:
            return None
        measured, limit = (self.ratio if match.group(1) == "ratio" else self.value), float(match.group(3))
        return measured <= limit if match.group(2) == "<=" else measured >= limit

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        return {"name": data["name"], "value": round(self.value, 4), "unit": self.unit, "baseline": self.baseline,
                "baseline_value": round(self.baseline_value, 4), "ratio": round(self.ratio, 4), "goal": self.goal,
                "params": self.params}


def by_scale(scale: str, *, small: Any, full: Any) -> Any:
    if scale not in SCALES:
        raise BenchError(f"Unknown scale '{scale}'; use one of {', '.join(SCALES)}.")
    return small if scale == "small" else full


def median_seconds(fn: Callable[[], Any], *, repeat: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


# --- the scratch database --------------------------------------------------------------------------

@dataclass(frozen=True)
class BenchDb:
    name: str
    owner: dict[str, Any]  # psycopg2.connect() keyword arguments for the owner role
    app: dict[str, Any]  # and for the application role

    def connect_owner(self) -> Any:
        conn = psycopg2.connect(**self.owner)
        # Decode as Django's connection does (jsonb left as text), so a baseline does the same client work.
        psycopg2.extras.register_default_jsonb(conn_or_curs=conn, loads=lambda text: text)
        return conn

    @contextmanager
    def owner_cursor(self) -> Iterator[Any]:
        """One transaction as the owner, committed and closed at the end."""
        conn = self.connect_owner()
        try:
            with conn, conn.cursor() as cursor:
                yield cursor
        finally:
            conn.close()


def _url_config(var: str) -> dict[str, Any]:
    url = os.environ.get(var, "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise BenchError(f"{var} must point at PostgreSQL (got {url or 'nothing'}); e.g. `. /tmp/testenv.sh`.")
    return environ.Env.db_url_config(url)


def _psycopg_kwargs(config: dict[str, Any], dbname: str) -> dict[str, Any]:
    return {"host": config["HOST"] or "127.0.0.1", "port": config["PORT"] or 5432, "user": config["USER"],
            "password": config["PASSWORD"], "dbname": dbname}


def _superuser_connection(host: str, port: int) -> Any:
    url = os.environ.get("BENCH_PG_SUPERUSER_URL", f"postgres://postgres@{host}:{port}/postgres")
    try:
        conn = psycopg2.connect(url, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        raise BenchError(f"PostgreSQL is unreachable as superuser at {url} ({str(exc).strip()}). "
                         "Start it, or set BENCH_PG_SUPERUSER_URL.") from exc
    conn.autocommit = True
    return conn


@contextmanager
def scratch_database(name: str = "dms_bench") -> Iterator[BenchDb]:
    """A fresh, migrated database that Django's default connection uses as the application role."""
    owner_cfg, app_cfg = _url_config("DATABASE_OWNER_URL"), _url_config("DATABASE_URL")
    if not settings.DMS_APP_DB_ROLE:
        raise BenchError("DMS_APP_DB_ROLE is not set: the migration could not grant the application role its rights.")
    host, port = owner_cfg["HOST"] or "127.0.0.1", int(owner_cfg["PORT"] or 5432)
    db = BenchDb(name, _psycopg_kwargs(owner_cfg, name), _psycopg_kwargs(app_cfg, name))
    conn = connections["default"]
    saved = {k: conn.settings_dict[k] for k in ("NAME", "USER", "PASSWORD", "HOST", "PORT")}
    superuser = _superuser_connection(host, port)
    try:
        with superuser.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{name}" OWNER "{owner_cfg["USER"]}"')
        connections.close_all()
        conn.settings_dict.update(NAME=name, USER=owner_cfg["USER"], PASSWORD=owner_cfg["PASSWORD"], HOST=host,
                                  PORT=port)
        call_command("migrate", verbosity=0, interactive=False)
        conn.close()
        conn.settings_dict.update(USER=app_cfg["USER"], PASSWORD=app_cfg["PASSWORD"])
        yield db
    finally:
        connections.close_all()
        conn.settings_dict.update(saved)
        with superuser.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        superuser.close()
