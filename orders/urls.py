"""/api/v1/orders/: secondary orders for distributor staff and manufacturers."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
