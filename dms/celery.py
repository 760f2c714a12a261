import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dms.settings.local")

app = Celery("dms")
app.config_from_object("django.conf:settings", namespace="CELERY")
# RedBeat reads its own keys without the CELERY_ namespace prefix.
app.conf.redbeat_redis_url = app.conf.get("redbeat_redis_url") or os.environ.get("REDIS_URL")
app.conf.visibility_timeout = app.conf.get("visibility_timeout", 3600)
app.autodiscover_tasks()
