"""/api/v1/reconciliation/: runs and the exception queue."""

from django.urls import path

from . import apis

urlpatterns = [
    path("runs/", apis.RunListApi.as_view(), name="reconciliation-run-list"),
    path("runs/<int:run_id>/", apis.RunDetailApi.as_view(), name="reconciliation-run-detail"),
    path("exceptions/", apis.ExceptionListApi.as_view(), name="reconciliation-exception-list"),
    path("exceptions/<int:exception_id>/", apis.ExceptionDetailApi.as_view(), name="reconciliation-exception-detail"),
    path("exceptions/<int:exception_id>/assign/", apis.ExceptionAssignApi.as_view(),
         name="reconciliation-exception-assign"),
    path("exceptions/<int:exception_id>/resolve/", apis.ExceptionResolveApi.as_view(),
         name="reconciliation-exception-resolve"),
    path("exceptions/<int:exception_id>/reopen/", apis.ExceptionReopenApi.as_view(),
         name="reconciliation-exception-reopen"),
]
