"""Test settings: real PostgreSQL and Redis (URLs from the environment), fast hashers, eager Celery.

The test database is created and migrated as the owner role (DATABASE_OWNER_URL); tests/conftest.py
then reconnects as the application role so row-level security is in force for every test.
"""

import os

from .base import *  # noqa: F401,F403
from .base import env

SECRET_KEY = "dms-test-key-not-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
DEBUG = False
DATABASES = {"default": env.db("DATABASE_OWNER_URL", default=env.str("DATABASE_URL", default="sqlite://"))}
# One test database per run, so concurrent runs on one machine never drop each other's database.
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=f"test_dms_{os.getpid()}")}
DMS_APP_DB_ROLE = env.str("DMS_APP_DB_ROLE", default="dms_app")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
ALLOWED_HOSTS = ["*"]

# A real Celery worker started by tests/integration: it joins the running test database as the app role.
if env.bool("DMS_TEST_WORKER", default=False):
    DATABASES["default"].update(NAME=env.str("DMS_TEST_WORKER_DB"), USER=DMS_APP_DB_ROLE,
                                PASSWORD=env.str("DMS_APP_DB_PASSWORD", default=DMS_APP_DB_ROLE))
    CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_DEFAULT_QUEUE = env.str("DMS_TEST_QUEUE", default="default")

# A real beat started by tests/integration/test_single_beat.py: a one-second tick onto the test's queue, its own
# RedBeat keys and lock, and a short lock timeout so that a killed beat's lock passes to the next one quickly.
if env.bool("DMS_TEST_BEAT", default=False):
    CELERY_BEAT_SCHEDULE = {"test-tick": {"task": "reconciliation.tasks.reconcile_redrive_task", "schedule": 1.0}}
    CELERY_REDBEAT_KEY_PREFIX = env.str("DMS_TEST_BEAT_PREFIX")
    CELERY_REDBEAT_LOCK_TIMEOUT = 5
    CELERY_BEAT_MAX_LOOP_INTERVAL = 1
