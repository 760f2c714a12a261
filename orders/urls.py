"""/api/v1/orders/: secondary orders for distributor staff and manufacturers; primary/: the distributor's primary
orders; primary/suggestion/: the suggested primary order and a draft made from it."""

from django.urls import path

from . import apis, apis_primary, apis_suggest

urlpatterns = [
    path("", apis.OrderListApi.as_view(), name="order-list"),
    path("<int:order_id>/", apis.OrderDetailApi.as_view(), name="order-detail"),
    path("<int:order_id>/confirm/", apis.OrderConfirmApi.as_view(), name="order-confirm"),
    path("<int:order_id>/cancel/", apis.OrderCancelApi.as_view(), name="order-cancel"),
    path("<int:order_id>/release-hold/", apis.OrderReleaseHoldApi.as_view(), name="order-release-hold"),
    path("bulk/confirm/", apis.OrderBulkConfirmApi.as_view(), name="order-bulk-confirm"),
    path("bulk/cancel/", apis.OrderBulkCancelApi.as_view(), name="order-bulk-cancel"),
    path("primary/", apis_primary.PrimaryOrderListApi.as_view(), name="primary-order-list"),
    path("primary/<int:order_id>/", apis_primary.PrimaryOrderDetailApi.as_view(), name="primary-order-detail"),
    path("primary/<int:order_id>/submit/", apis_primary.PrimaryOrderSubmitApi.as_view(), name="primary-order-submit"),
    path("primary/<int:order_id>/cancel/", apis_primary.PrimaryOrderCancelApi.as_view(), name="primary-order-cancel"),
    path("primary/suggestion/", apis_suggest.PrimaryOrderSuggestionApi.as_view(), name="primary-order-suggestion"),
    path("primary/suggestion/draft/", apis_suggest.PrimaryOrderSuggestionDraftApi.as_view(),
         name="primary-order-suggestion-draft"),
]
