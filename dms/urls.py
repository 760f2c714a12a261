from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from dms.tenancy.views import healthz, switch_tenant

admin.site.site_header = "dms administration"
admin.site.site_title = "dms"

api_v1 = [
    path("", include("dms.tenancy.urls")),
    path("analytics/", include("analytics.urls")),
    path("catalog/", include("catalog.urls")),
    path("dispatch/", include("dispatch.urls")),
    path("inventory/", include("inventory.urls")),
    path("invoicing/", include("invoicing.urls")),
    path("manufacturer/", include("orders.urls_manufacturer")),
    path("manufacturer/", include("dispatch.urls_manufacturer")),
    path("manufacturer/", include("inventory.urls_manufacturer")),
    path("manufacturer/webhooks/", include("webhooks.urls")),
    path("mobile/", include("mobile.urls")),
    path("orders/", include("orders.urls")),
    path("pjp/", include("pjp.urls")),
    path("reconciliation/", include("reconciliation.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("switch-tenant/", switch_tenant, name="switch-tenant"),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
