"""Master data: brands, SKUs, outlets, price lists, taxes and schemes.

Tenant master data (SKUs, price lists, schemes, taxes) is owned by the manufacturer; outlets are owned by
a distributor. Money is NUMERIC: amounts (18,2), prices (18,4), rates as fractions (7,4).
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from dms.tenancy.models import DistributorModel, TenantModel

from .enums import Channel, SchemeKind, SlabBasis


class Brand(TenantModel):
    code = models.CharField(max_length=30)
    name = models.CharField(max_length=120)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="brand_code_uniq")]

    def __str__(self) -> str:
        return self.name


class TaxRate(TenantModel):
    """The rate of one tax class over a validity period, as a fraction (0.1700 = 17 %)."""

    tax_class = models.CharField(max_length=30)
    name = models.CharField(max_length=120)
    rate = models.DecimalField(max_digits=7, decimal_places=4, validators=[MinValueValidator(0), MaxValueValidator(1)])
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["tax_class", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "tax_class", "valid_from"], name="taxrate_class_from_uniq"),
            models.CheckConstraint(condition=Q(rate__gte=0, rate__lte=1), name="taxrate_rate_fraction"),
            models.CheckConstraint(condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                                   name="taxrate_valid_range"),
        ]

    def __str__(self) -> str:
        return f"{self.tax_class} {self.rate:%}"


class Sku(TenantModel):
    code = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="skus")
    pack_size = models.CharField(max_length=60, blank=True, help_text="e.g. 250 ml x 24")
    units_per_case = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    weight_kg_per_case = models.DecimalField(max_digits=10, decimal_places=3, default=0)
    volume_l_per_case = models.DecimalField(max_digits=10, decimal_places=3, default=0)
    tax_class = models.CharField(max_length=30)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "SKU"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="sku_code_uniq"),
            models.CheckConstraint(condition=Q(units_per_case__gte=1), name="sku_units_per_case_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Outlet(DistributorModel):
    """A retail store served by one distributor.

    opening_hours: {"mon": [["08:00", "13:00"], ["15:00", "21:00"]], ..., "sun": []}; a missing day is closed.
    """

    code = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.GENERAL_TRADE)
    address = models.CharField(max_length=300, blank=True)
    lat = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True,
                              validators=[MinValueValidator(-90), MaxValueValidator(90)])
    lng = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True,
                              validators=[MinValueValidator(-180), MaxValueValidator(180)])
    opening_hours = models.JSONField(default=dict, blank=True)
    credit_limit = models.DecimalField(max_digits=18, decimal_places=2, default=0,
                                       validators=[MinValueValidator(0)])
    tax_id = models.CharField(max_length=40, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "distributor", "code"], name="outlet_code_uniq"),
            models.CheckConstraint(condition=Q(credit_limit__gte=0), name="outlet_credit_limit_nonneg"),
        ]
        indexes = [
            # the coverage KPI's outlets in scope, read from the index alone (analytics.kpi_reads)
            models.Index(fields=["tenant", "distributor", "id"], condition=Q(active=True), name="outlet_active_scope"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PriceList(TenantModel):
    """Case prices for a validity period; tenant-wide, or narrowed to a distributor and/or a channel.

    The most specific valid list that prices a SKU wins (see catalog.pricing).
    """

    code = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    distributor = models.ForeignKey("tenancy.Distributor", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    channel = models.CharField(max_length=20, choices=Channel.choices, blank=True)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="pricelist_code_uniq"),
            models.CheckConstraint(condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                                   name="pricelist_valid_range"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PriceListItem(TenantModel):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="items")
    sku = models.ForeignKey(Sku, on_delete=models.PROTECT, related_name="+")
    case_price = models.DecimalField(max_digits=18, decimal_places=4, validators=[MinValueValidator(0)])

    class Meta:
        ordering = ["price_list", "sku"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "price_list", "sku"], name="pricelistitem_sku_uniq"),
            models.CheckConstraint(condition=Q(case_price__gte=0), name="pricelistitem_price_nonneg"),
        ]


class Scheme(TenantModel):
    """A trade promotion. Eligibility: channels (empty = all), SKUs and brands (both empty = all SKUs).

    The slab whose threshold is the highest one reached by the eligible lines of an order applies:
    percent off (benefit = percent, 10 = 10 %), amount off per case (benefit = amount), or free goods
    (benefit = free cases of `free_sku` for every `threshold` cases bought).
    """

    code = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=SchemeKind.choices)
    basis = models.CharField(max_length=10, choices=SlabBasis.choices, default=SlabBasis.QUANTITY)
    distributor = models.ForeignKey("tenancy.Distributor", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    channels = models.JSONField(default=list, blank=True)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    priority = models.PositiveSmallIntegerField(default=100)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="scheme_code_uniq"),
            models.CheckConstraint(condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                                   name="scheme_valid_range"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class SchemeSku(TenantModel):
    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="sku_rules")
    sku = models.ForeignKey(Sku, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "scheme", "sku"], name="schemesku_uniq")]


class SchemeBrand(TenantModel):
    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="brand_rules")
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "scheme", "brand"], name="schemebrand_uniq")]


class SchemeSlab(TenantModel):
    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="slabs")
    threshold = models.DecimalField(max_digits=18, decimal_places=3, validators=[MinValueValidator(0)],
                                    help_text="cases (quantity basis) or gross amount (value basis)")
    benefit = models.DecimalField(max_digits=18, decimal_places=4, validators=[MinValueValidator(0)],
                                  help_text="percent, amount per case, or free cases")
    free_sku = models.ForeignKey(Sku, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["scheme", "threshold"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "scheme", "threshold"], name="schemeslab_threshold_uniq"),
            models.CheckConstraint(condition=Q(threshold__gte=0, benefit__gte=0), name="schemeslab_nonneg"),
        ]
