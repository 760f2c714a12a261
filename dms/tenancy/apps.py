from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TenancyConfig(AppConfig):
    name = "dms.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"

    def ready(self) -> None:
        from . import schema  # noqa: F401 - registers the OpenAPI auth extensions
        from .ddl import apply_tenancy_ddl

        # Sent once per migrate for this app, after every app's migrations have run.
        post_migrate.connect(apply_tenancy_ddl, sender=self, dispatch_uid="dms_tenancy_ddl")
