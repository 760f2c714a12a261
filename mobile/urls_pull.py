"""/api/v1/mobile/sync/pull/: the delta pull (mobile.pull)."""

from django.urls import path

from . import apis_pull

urlpatterns = [
    path("pull/", apis_pull.PullApi.as_view(), name="mobile-pull"),
]
