import django_filters

from .enums import Channel
from .models import Outlet, PriceList, Scheme, Sku


class SkuFilter(django_filters.FilterSet):
    code = django_filters.CharFilter(lookup_expr="iexact")
    name = django_filters.CharFilter(lookup_expr="icontains")
    brand = django_filters.NumberFilter(field_name="brand_id")
    brand_code = django_filters.CharFilter(field_name="brand__code", lookup_expr="iexact")
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Sku
        fields = ["code", "name", "brand", "brand_code", "tax_class", "active", "updated_since"]


class OutletFilter(django_filters.FilterSet):
    code = django_filters.CharFilter(lookup_expr="iexact")
    name = django_filters.CharFilter(lookup_expr="icontains")
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    distributor = django_filters.NumberFilter(field_name="distributor_id")
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Outlet
        fields = ["code", "name", "channel", "distributor", "active", "updated_since"]


class PriceListFilter(django_filters.FilterSet):
    valid_on = django_filters.DateFilter(method="filter_valid_on")
    distributor = django_filters.NumberFilter(field_name="distributor_id")

    class Meta:
        model = PriceList
        fields = ["code", "channel", "distributor", "active", "valid_on"]

    def filter_valid_on(self, qs, name, value):
        from django.db.models import Q

        return qs.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=value), valid_from__lte=value)


class SchemeFilter(PriceListFilter):
    class Meta:
        model = Scheme
        fields = ["code", "kind", "distributor", "active", "valid_on"]
