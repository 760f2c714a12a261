"""/api/v1/mobile/journey/: the booker's day."""

from django.urls import path

from . import apis_journey

urlpatterns = [
    path("", apis_journey.JourneyApi.as_view(), name="mobile-journey"),
]
