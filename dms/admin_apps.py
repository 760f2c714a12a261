from django.contrib.admin.apps import AdminConfig


class DmsAdminConfig(AdminConfig):
    default_site = "dms.admin_site.DmsAdminSite"
