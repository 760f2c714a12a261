"""/api/v1/dispatch/: the distributor's side of dispatch advices and goods receipts (see dispatch.apis), and its
vehicles and load forms (see dispatch.apis_loading)."""

from django.urls import path

from . import apis, apis_loading

urlpatterns = [
    path("advices/", apis.DispatchAdviceListApi.as_view(), name="dispatch-advice-list"),
    path("advices/<int:advice_id>/", apis.DispatchAdviceDetailApi.as_view(), name="dispatch-advice-detail"),
    path("advices/<int:advice_id>/receipt/", apis.DispatchAdviceReceiptApi.as_view(),
         name="dispatch-advice-receipt"),
    path("receipts/", apis.GoodsReceiptListApi.as_view(), name="dispatch-receipt-list"),
    path("receipts/<int:receipt_id>/", apis.GoodsReceiptDetailApi.as_view(), name="dispatch-receipt-detail"),
    path("primary-orders/<int:order_id>/close/", apis.PrimaryOrderCloseApi.as_view(),
         name="dispatch-primary-order-close"),
    path("vehicles/", apis_loading.VehicleListApi.as_view(), name="vehicle-list"),
    path("vehicles/<int:vehicle_id>/", apis_loading.VehicleDetailApi.as_view(), name="vehicle-detail"),
    path("load-forms/", apis_loading.LoadFormListApi.as_view(), name="load-form-list"),
    path("load-forms/plan/", apis_loading.LoadFormPlanApi.as_view(), name="load-form-plan"),
    path("load-forms/<int:load_form_id>/", apis_loading.LoadFormDetailApi.as_view(), name="load-form-detail"),
    path("load-forms/<int:load_form_id>/pick-list/", apis_loading.LoadFormPickListApi.as_view(),
         name="load-form-pick-list"),
    path("load-forms/<int:load_form_id>/pdf/", apis_loading.LoadFormPdfApi.as_view(), name="load-form-pdf"),
    path("load-forms/<int:load_form_id>/loaded/", apis_loading.LoadFormLoadedApi.as_view(), name="load-form-loaded"),
    path("load-forms/<int:load_form_id>/depart/", apis_loading.LoadFormDepartApi.as_view(), name="load-form-depart"),
    path("load-forms/<int:load_form_id>/cancel/", apis_loading.LoadFormCancelApi.as_view(), name="load-form-cancel"),
    path("load-forms/<int:load_form_id>/deliveries/", apis_loading.LoadFormDeliveryApi.as_view(),
         name="load-form-deliveries"),
    path("load-forms/<int:load_form_id>/cash/", apis_loading.LoadFormCashApi.as_view(), name="load-form-cash"),
    path("load-forms/<int:load_form_id>/settle/", apis_loading.LoadFormSettleApi.as_view(), name="load-form-settle"),
]
