from django.db import models


class Channel(models.TextChoices):
    GENERAL_TRADE = "general_trade", "General trade"
    MODERN_TRADE = "modern_trade", "Modern trade"
    WHOLESALE = "wholesale", "Wholesale"
    HORECA = "horeca", "Hotels, restaurants, cafés"
    PHARMACY = "pharmacy", "Pharmacy"
    INSTITUTIONAL = "institutional", "Institutional"


class SchemeKind(models.TextChoices):
    PERCENT_OFF = "percent_off", "Percentage off"
    AMOUNT_OFF = "amount_off", "Amount off per case"
    FREE_GOODS = "free_goods", "Free goods"


class SlabBasis(models.TextChoices):
    QUANTITY = "quantity", "Quantity (cases)"
    VALUE = "value", "Value (gross amount)"
