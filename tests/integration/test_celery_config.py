"""The reliability settings the design relies on (research notes §4.3) are really in force."""

from dms.celery import app


def test_celery_is_configured_for_at_least_once_delivery_with_idempotent_tasks():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.worker_cancel_long_running_tasks_on_connection_loss is True
    assert conf.worker_soft_shutdown_timeout > 0
    # the visibility timeout must be set in all three places or the shortest silently wins
    assert conf.broker_transport_options["visibility_timeout"] == 3600
    assert conf.result_backend_transport_options["visibility_timeout"] == 3600
    assert conf.visibility_timeout == 3600
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.beat_scheduler == "redbeat.RedBeatScheduler"
    assert conf.task_routes["routing.*"] == {"queue": "optimisation"}


def test_the_beat_schedule_names_real_tasks():
    app.loader.import_default_modules()
    for entry in app.conf.beat_schedule.values():
        assert entry["task"] in app.tasks, entry["task"]
