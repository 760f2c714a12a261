from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MobileConfig(AppConfig):
    name = "mobile"

    def ready(self) -> None:
        from dms.tenancy.signals import device_revoked

        from .auth import end_sessions_of_revoked_device
        from .changes import install_sync_triggers

        # After every migrate (and test flush): the change-feed triggers on the captured tables (mobile.changes).
        post_migrate.connect(install_sync_triggers, sender=self, dispatch_uid="dms_mobile_sync_triggers")
        device_revoked.connect(end_sessions_of_revoked_device, dispatch_uid="dms_mobile_end_revoked_sessions")
