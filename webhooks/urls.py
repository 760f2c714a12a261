"""/api/v1/manufacturer/webhooks/: the manufacturer's webhook endpoints and their delivery log."""

from django.urls import path

from . import apis

urlpatterns = [
    path("endpoints/", apis.WebhookEndpointListApi.as_view(), name="webhook-endpoint-list"),
    path("endpoints/<int:endpoint_id>/", apis.WebhookEndpointDetailApi.as_view(), name="webhook-endpoint-detail"),
    path("endpoints/<int:endpoint_id>/rotate-secret/", apis.WebhookEndpointRotateSecretApi.as_view(),
         name="webhook-endpoint-rotate-secret"),
    path("endpoints/<int:endpoint_id>/test/", apis.WebhookEndpointTestApi.as_view(), name="webhook-endpoint-test"),
    path("deliveries/", apis.WebhookDeliveryListApi.as_view(), name="webhook-delivery-list"),
    path("deliveries/<int:delivery_id>/", apis.WebhookDeliveryDetailApi.as_view(), name="webhook-delivery-detail"),
    path("deliveries/<int:delivery_id>/retry/", apis.WebhookDeliveryRetryApi.as_view(),
         name="webhook-delivery-retry"),
]
