from django.urls import path

from . import apis

urlpatterns = [
    path("me/", apis.MeApi.as_view(), name="me"),
    path("distributors/", apis.DistributorListApi.as_view(), name="distributor-list"),
    path("distributors/<int:distributor_id>/", apis.DistributorDetailApi.as_view(), name="distributor-detail"),
    path("api-keys/", apis.ApiKeyListApi.as_view(), name="api-key-list"),
    path("api-keys/<int:key_id>/revoke/", apis.ApiKeyRevokeApi.as_view(), name="api-key-revoke"),
    path("jobs/", apis.JobListApi.as_view(), name="job-list"),
    path("jobs/<int:job_id>/", apis.JobDetailApi.as_view(), name="job-detail"),
]
