"""/api/v1/inventory/: the signed-in user's stock (a distributor user's own distributor only)."""

from django.urls import path

from . import apis

urlpatterns = [
    path("stock/", apis.StockBalanceListApi.as_view(), name="stock-list"),
]
