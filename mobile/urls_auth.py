"""/api/v1/mobile/auth/: sign-in and refresh (the mobile API's only unauthenticated routes), sign-out."""

from django.urls import path

from . import apis_auth

urlpatterns = [
    path("sign-in/", apis_auth.SignInApi.as_view(), name="mobile-sign-in"),
    path("refresh/", apis_auth.RefreshApi.as_view(), name="mobile-token-refresh"),
    path("sign-out/", apis_auth.SignOutApi.as_view(), name="mobile-sign-out"),
]
