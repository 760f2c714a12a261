from rest_framework import serializers

from .models import ApiKey, Device, Distributor


class DistributorOutput(serializers.ModelSerializer):
    class Meta:
        model = Distributor
        fields = ["id", "code", "name", "address", "lat", "lng", "tax_id", "active"]


class ApiKeyOutput(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at"]


class DeviceOutput(serializers.ModelSerializer):
    class Meta:
        model = Device
        fields = ["id", "distributor", "user", "identifier", "name", "platform", "active", "revoked_at", "last_seen_at"]
