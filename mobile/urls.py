"""/api/v1/mobile/: the order-booker app's API. Device tokens only (DeviceApi), except signing in."""

from django.urls import include, path

from . import apis

urlpatterns = [
    path("profile/", apis.DeviceProfileApi.as_view(), name="mobile-profile"),
    path("auth/", include("mobile.urls_auth")),
    path("journey/", include("mobile.urls_journey")),
    path("sync/", include("mobile.urls_sync")),
    path("sync/", include("mobile.urls_pull")),
]
