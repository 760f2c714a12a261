"""/api/v1/manufacturer/stock/: every distributor's stock and stock ledger, for the manufacturer."""

from django.urls import path

from . import apis

urlpatterns = [
    path("stock/", apis.ManufacturerStockBalanceListApi.as_view(), name="manufacturer-stock-list"),
    path("stock/movements/", apis.ManufacturerStockMovementListApi.as_view(), name="manufacturer-stock-movements"),
]
