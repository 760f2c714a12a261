"""/api/v1/inventory/: the signed-in user's stock (a distributor user's own distributor only), and allocating
secondary orders against it."""

from django.urls import path

from . import apis

urlpatterns = [
    path("stock/", apis.StockBalanceListApi.as_view(), name="stock-list"),
    path("allocations/", apis.AllocationListApi.as_view(), name="allocation-list"),
    path("allocations/preview/", apis.AllocationPreviewApi.as_view(), name="allocation-preview"),
    path("allocations/day/", apis.AllocationDayApi.as_view(), name="allocation-day"),
    path("orders/<int:order_id>/deallocate/", apis.OrderDeallocateApi.as_view(), name="allocation-deallocate"),
]
