"""Order-booker app endpoints (device tokens only). The sync API arrives with the mobile issue."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from dms.tenancy.api import DeviceApi
from dms.tenancy.models import Device


class DeviceProfileApi(DeviceApi):
    @extend_schema(responses=inline_serializer("DeviceProfile", {
        "device_id": serializers.IntegerField(), "user": serializers.CharField(),
        "distributor_id": serializers.IntegerField(), "tenant_id": serializers.IntegerField()}))
    def get(self, request: Request) -> Response:
        device: Device = request.auth  # type: ignore[assignment]  # DeviceApi authenticates devices only
        return Response({"device_id": device.pk, "user": device.user.get_username(),
                         "distributor_id": device.distributor_id, "tenant_id": device.tenant_id})
