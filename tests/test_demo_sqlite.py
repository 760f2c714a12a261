"""`make demo` without DATABASE_URL runs on embedded SQLite: every migration must apply there (a PostgreSQL-only
statement in a migration once broke it), and the demo seed must load. Run in a subprocess against a scratch SQLite
file, as `make demo` would, so the test's own PostgreSQL connection is untouched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def manage(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "REDIS_URL": "", "DATABASE_OWNER_URL": "",
           "DJANGO_SETTINGS_MODULE": "dms.settings.local"}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.timeout(900)
def test_demo_migrates_and_seeds_on_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite3"
    migrated = manage(db, "migrate", "--noinput", "-v0")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    seeded = manage(db, "seed_demo")
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    backfill = manage(db, "analytics_backfill", "--all-tenants", "--days", "2")
    assert backfill.returncode == 0, backfill.stderr[-3000:]
    assert "needs PostgreSQL" in backfill.stdout + backfill.stderr
