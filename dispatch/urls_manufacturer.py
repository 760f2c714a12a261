"""/api/v1/manufacturer/: dispatch advices and goods receipts for the manufacturer's systems (API keys) and
admins (see dispatch.apis)."""

from django.urls import path

from . import apis

urlpatterns = [
    path("primary-orders/<int:order_id>/dispatch-advice/", apis.ManufacturerDispatchAdviceIssueApi.as_view(),
         name="manufacturer-dispatch-advice-issue"),
    path("dispatch-advices/", apis.ManufacturerDispatchAdviceListApi.as_view(),
         name="manufacturer-dispatch-advice-list"),
    path("dispatch-advices/<int:advice_id>/", apis.ManufacturerDispatchAdviceDetailApi.as_view(),
         name="manufacturer-dispatch-advice-detail"),
    path("goods-receipts/", apis.ManufacturerGoodsReceiptListApi.as_view(), name="manufacturer-goods-receipt-list"),
    path("goods-receipts/<int:receipt_id>/", apis.ManufacturerGoodsReceiptDetailApi.as_view(),
         name="manufacturer-goods-receipt-detail"),
]
