from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "dms.core"
    label = "core"
    verbose_name = "Core"
