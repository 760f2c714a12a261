"""/api/v1/orders/: secondary orders for distributor staff and manufacturers."""

from django.urls import path

from . import apis

urlpatterns = [
    path("", apis.OrderListApi.as_view(), name="order-list"),
    path("<int:order_id>/", apis.OrderDetailApi.as_view(), name="order-detail"),
    path("<int:order_id>/confirm/", apis.OrderConfirmApi.as_view(), name="order-confirm"),
    path("<int:order_id>/cancel/", apis.OrderCancelApi.as_view(), name="order-cancel"),
    path("<int:order_id>/release-hold/", apis.OrderReleaseHoldApi.as_view(), name="order-release-hold"),
    path("bulk/confirm/", apis.OrderBulkConfirmApi.as_view(), name="order-bulk-confirm"),
    path("bulk/cancel/", apis.OrderBulkCancelApi.as_view(), name="order-bulk-cancel"),
]
