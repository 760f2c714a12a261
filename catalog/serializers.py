from rest_framework import serializers

from .models import Brand, Outlet, PriceList, PriceListItem, Scheme, SchemeSlab, Sku, TaxRate


class BrandOutput(serializers.ModelSerializer):
    class Meta:
        model = Brand
        fields = ["id", "code", "name", "active"]


class SkuOutput(serializers.ModelSerializer):
    brand_code = serializers.CharField(source="brand.code", read_only=True)

    class Meta:
        model = Sku
        fields = ["id", "code", "name", "brand", "brand_code", "pack_size", "units_per_case", "weight_kg_per_case",
                  "volume_l_per_case", "tax_class", "active", "updated_at"]


class OutletOutput(serializers.ModelSerializer):
    class Meta:
        model = Outlet
        fields = ["id", "distributor", "code", "name", "channel", "address", "lat", "lng", "opening_hours",
                  "credit_limit", "tax_id", "active", "updated_at"]


class PriceListItemOutput(serializers.ModelSerializer):
    sku_code = serializers.CharField(source="sku.code", read_only=True)

    class Meta:
        model = PriceListItem
        fields = ["sku", "sku_code", "case_price"]


class PriceListOutput(serializers.ModelSerializer):
    items = PriceListItemOutput(many=True, read_only=True)

    class Meta:
        model = PriceList
        fields = ["id", "code", "name", "distributor", "channel", "valid_from", "valid_to", "active", "items"]


class TaxRateOutput(serializers.ModelSerializer):
    class Meta:
        model = TaxRate
        fields = ["id", "tax_class", "name", "rate", "valid_from", "valid_to"]


class SchemeSlabOutput(serializers.ModelSerializer):
    class Meta:
        model = SchemeSlab
        fields = ["threshold", "benefit", "free_sku"]


class SchemeOutput(serializers.ModelSerializer):
    slabs = SchemeSlabOutput(many=True, read_only=True)
    skus = serializers.SerializerMethodField()
    brands = serializers.SerializerMethodField()

    class Meta:
        model = Scheme
        fields = ["id", "code", "name", "kind", "basis", "distributor", "channels", "skus", "brands", "valid_from",
                  "valid_to", "priority", "active", "slabs"]

    def get_skus(self, obj: Scheme) -> list[int]:
        return [r.sku_id for r in obj.sku_rules.all()]

    def get_brands(self, obj: Scheme) -> list[int]:
        return [r.brand_id for r in obj.brand_rules.all()]
