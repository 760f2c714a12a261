"""Complete, environment-driven settings. test/local override for speed; production only tightens."""

from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY and env.str("SECRET_KEY_FILE", default=""):
    SECRET_KEY = Path(env.str("SECRET_KEY_FILE")).read_text().strip()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "dms.admin_apps.DmsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "import_export",
    "dms.core",
    "dms.tenancy",
    "catalog",
    "pjp",
    "orders",
    "inventory",
    "invoicing",
    "dispatch",
    "analytics",
    "reconciliation",
    "mobile",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that the tenant transaction wraps only the view (the API opens its own).
    "dms.tenancy.middleware.TenantMiddleware",
]

ROOT_URLCONF = "dms.urls"
WSGI_APPLICATION = "dms.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL is the application role: it owns no tables and cannot bypass row-level security.
# DATABASE_OWNER_URL (optional) is the role that owns the schema; migrations run as it.
# With neither set, an embedded SQLite file is used (demo only: no row-level security there).
DATABASES = {
    "default": environ.Env.db_url_config(env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
# The role the application runs as; the tenancy DDL grants it DML rights after each migrate.
DMS_APP_DB_ROLE = env.str("DMS_APP_DB_ROLE", default="")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
LOGIN_URL = "/admin/login/"

# --- Cache and Celery -------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
# No broker configured: run tasks in-process so the demo works on a bare machine.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = 25.0
CELERY_VISIBILITY_TIMEOUT = 3600
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_TASK_TIME_LIMIT = 1800
CELERY_TASK_SOFT_TIME_LIMIT = 1500
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "default"
# CPU-heavy optimisation has its own queue (and workers): `celery worker -Q optimisation`.
CELERY_TASK_ROUTES = {
    "routing.*": {"queue": "optimisation"},
    "*.optimise_*": {"queue": "optimisation"},
    "pjp.tasks.route_sequence_task": {"queue": "optimisation"},
    "pjp.tasks.routes_build_task": {"queue": "optimisation"},
}
# Searches run at once by one route optimisation (routing.portfolio: different seeds on as many cores, the best
# kept). 1 suits a worker that shares its cores; an optimisation worker with concurrency 1 on a 2-core machine
# can use 2 (measured: Solomon mean gap 1 s / 5 s, see README "Route optimisation").
ROUTING_WORKERS = env.int("ROUTING_WORKERS", default=1)
CELERY_TIMEZONE = "UTC"
# RedBeat keeps the schedule in Redis under a lock, so only one beat schedules at a time.
CELERY_BEAT_SCHEDULER = "redbeat.RedBeatScheduler"
CELERY_REDBEAT_REDIS_URL = REDIS_URL or None
CELERY_REDBEAT_LOCK_TIMEOUT = 300
CELERY_BEAT_SCHEDULE: dict = {
    # Hourly; each tenant is built once a day, when its local time reaches pjp.tasks.JOURNEY_BUILD_LOCAL_HOUR.
    "pjp-journeys-build-ahead": {
        "task": "pjp.tasks.journeys_build_ahead_all_task",
        "schedule": crontab(minute=10),
    },
    # Nightly: change-feed rows older than the retention (mobile pull cursors behind them answer 410).
    "mobile-prune-sync-changes": {"task": "mobile.tasks.prune_sync_changes", "schedule": crontab(minute=40, hour=3)},
    # Every minute: webhook deliveries whose enqueue was lost, retries that are due, deliveries of a dead worker.
    "webhooks-redrive": {"task": "webhooks.tasks.redrive_webhooks", "schedule": crontab()},
    # Hourly: each tenant's nightly reconciliation, once its business date has closed in its own time zone
    # (TenantSettings.day_close_hour); every 5 minutes, runs whose worker died are picked up again.
    "reconciliation-due": {"task": "reconciliation.tasks.reconcile_due_task", "schedule": crontab(minute=5)},
    "reconciliation-redrive": {"task": "reconciliation.tasks.reconcile_redrive_task",
                               "schedule": crontab(minute="*/5")},
}
# Called after a reconciliation run commits, with tenant_id and business_date (dotted paths of callables).
RECONCILIATION_AFTER_RUN: list[str] = env.list("RECONCILIATION_AFTER_RUN",
                                               default=["analytics.tasks.after_reconciliation"])
# Called after a mobile push applies items, per working day synced (tenant_id, distributor_id, business_date):
# the analytics facts of that distributor's day are refreshed a few minutes later (debounced).
MOBILE_AFTER_PUSH: list[str] = env.list("MOBILE_AFTER_PUSH", default=["analytics.tasks.after_sync"])
# More checks run after the built-in ones (dotted paths of reconciliation.checks.base.Check objects).
RECONCILIATION_EXTRA_CHECKS: list[str] = env.list("RECONCILIATION_EXTRA_CHECKS", default=[])
# A running reconciliation whose worker has not reported for this long is picked up by the redrive.
RECONCILIATION_LEASE_SECONDS = env.int("RECONCILIATION_LEASE_SECONDS", default=600)
# The stock check's ledger checkpoint moves only up to movements older than this: longer than any transaction that
# writes stock movements can stay open.
RECONCILIATION_LEDGER_SETTLED_MINUTES = env.int("RECONCILIATION_LEDGER_SETTLED_MINUTES", default=60)
# How long mobile pull cursors stay valid (change-feed retention); a device may be offline 3 days (DESIGN §9).
SYNC_CHANGE_RETENTION_DAYS = env.int("SYNC_CHANGE_RETENTION_DAYS", default=7)

# Outbound webhooks (webhooks/conf.py has the retry schedule). Private and loopback endpoint addresses are refused
# unless WEBHOOKS_ALLOW_PRIVATE_URLS (a receiver on the same private network); plain http unless WEBHOOKS_ALLOW_HTTP.
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_DISABLE_AFTER = env.int("WEBHOOK_DISABLE_AFTER", default=5)
WEBHOOK_LEASE_SECONDS = env.int("WEBHOOK_LEASE_SECONDS", default=60)
WEBHOOK_TIMEOUT = (env.float("WEBHOOK_CONNECT_TIMEOUT", default=5.0), env.float("WEBHOOK_READ_TIMEOUT", default=10.0))
WEBHOOKS_ALLOW_PRIVATE_URLS = env.bool("WEBHOOKS_ALLOW_PRIVATE_URLS", default=False)
WEBHOOKS_ALLOW_HTTP = env.bool("WEBHOOKS_ALLOW_HTTP", default=False)

# --- REST API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "dms.tenancy.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "dms.core.api.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "dms.core.api.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "dms API",
    "DESCRIPTION": (
        "Multi-tenant distribution management. Authenticate with a browser session, a device token "
        "(`Authorization: Bearer <jwt>`, order-booker app) or a manufacturer API key "
        "(`Authorization: Api-Key <key>`). Every 4xx answers `{\"error\": {\"code\", \"message\", \"fields\"}}`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # One name per choice set that several fields share (drf-spectacular would invent "Status88cEnum").
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.enums.OrderStatus",
        "VisitStatusEnum": "pjp.enums.VisitStatus",
        "JobStatusEnum": "dms.tenancy.models.BackgroundJob.Status",
        "ProposalStatusEnum": "pjp.enums.ProposalStatus",
        "InvoiceStatusEnum": "invoicing.enums.InvoiceStatus",
    },
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": __import__("datetime").timedelta(minutes=env.int("DEVICE_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": __import__("datetime").timedelta(days=env.int("DEVICE_REFRESH_DAYS", default=4)),
    "ALGORITHM": "HS256",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_CLAIM": "user_id",
}

IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = True

# --- Tenancy ---------------------------------------------------------------------------------
DMS_ROAD_FACTOR = env.float("DMS_ROAD_FACTOR", default=1.3)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
