"""/api/v1/manufacturer/: the manufacturer's systems (API keys) and admins."""

from django.urls import path

from . import apis_primary, apis_sellthrough

urlpatterns = [
    path("primary-orders/", apis_primary.ManufacturerPrimaryOrderListApi.as_view(),
         name="manufacturer-primary-order-list"),
    path("primary-orders/<int:order_id>/", apis_primary.ManufacturerPrimaryOrderDetailApi.as_view(),
         name="manufacturer-primary-order-detail"),
    path("primary-orders/<int:order_id>/decision/", apis_primary.ManufacturerPrimaryOrderDecisionApi.as_view(),
         name="manufacturer-primary-order-decision"),
    path("sell-through/", apis_sellthrough.SellThroughApi.as_view(), name="manufacturer-sell-through"),
]
