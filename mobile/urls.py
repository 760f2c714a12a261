from django.urls import path

from . import apis

urlpatterns = [
    path("profile/", apis.DeviceProfileApi.as_view(), name="mobile-profile"),
]
