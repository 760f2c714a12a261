from django.urls import path

from . import apis

urlpatterns = [
    path("brands/", apis.BrandListApi.as_view(), name="brand-list"),
    path("brands/<int:pk>/", apis.BrandDetailApi.as_view(), name="brand-detail"),
    path("skus/", apis.SkuListApi.as_view(), name="sku-list"),
    path("skus/<int:pk>/", apis.SkuDetailApi.as_view(), name="sku-detail"),
    path("outlets/", apis.OutletListApi.as_view(), name="outlet-list"),
    path("outlets/<int:pk>/", apis.OutletDetailApi.as_view(), name="outlet-detail"),
    path("price-lists/", apis.PriceListListApi.as_view(), name="price-list-list"),
    path("price-lists/<int:pk>/", apis.PriceListDetailApi.as_view(), name="price-list-detail"),
    path("tax-rates/", apis.TaxRateListApi.as_view(), name="tax-rate-list"),
    path("schemes/", apis.SchemeListApi.as_view(), name="scheme-list"),
    path("schemes/<int:pk>/", apis.SchemeDetailApi.as_view(), name="scheme-detail"),
    path("imports/", apis.MastersImportApi.as_view(), name="masters-import"),
    path("export/", apis.MastersExportApi.as_view(), name="masters-export"),
    path("price-quote/", apis.PriceQuoteApi.as_view(), name="price-quote"),
]
