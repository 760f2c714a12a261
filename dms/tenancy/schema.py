"""OpenAPI descriptions of our two machine authentications (drf-spectacular extensions)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "dms.tenancy.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "Manufacturer systems: `Api-Key dms_<tenant>_<prefix>.<secret>`"}


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    target_class = "dms.tenancy.authentication.DeviceTokenAuthentication"
    name = "DeviceToken"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "Order-booker app: a short-lived token bound to one registered device"}
