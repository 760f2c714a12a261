"""/api/v1/dispatch/: the distributor's side of dispatch advices and goods receipts (see dispatch.apis)."""

from django.urls import path

from . import apis

urlpatterns = [
    path("advices/", apis.DispatchAdviceListApi.as_view(), name="dispatch-advice-list"),
    path("advices/<int:advice_id>/", apis.DispatchAdviceDetailApi.as_view(), name="dispatch-advice-detail"),
    path("advices/<int:advice_id>/receipt/", apis.DispatchAdviceReceiptApi.as_view(),
         name="dispatch-advice-receipt"),
    path("receipts/", apis.GoodsReceiptListApi.as_view(), name="dispatch-receipt-list"),
    path("receipts/<int:receipt_id>/", apis.GoodsReceiptDetailApi.as_view(), name="dispatch-receipt-detail"),
    path("primary-orders/<int:order_id>/close/", apis.PrimaryOrderCloseApi.as_view(),
         name="dispatch-primary-order-close"),
]
