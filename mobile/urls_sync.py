from django.urls import path

from . import apis_sync

urlpatterns = [
    path("push/", apis_sync.PushApi.as_view(), name="mobile-push"),
    path("day-close/", apis_sync.DayCloseApi.as_view(), name="mobile-day-close"),
]
