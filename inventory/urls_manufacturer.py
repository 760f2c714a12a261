"""inventory/urls_manufacturer.py: filled in by issue 5."""

urlpatterns: list = []
