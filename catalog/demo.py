"""The demo data set behind `manage.py seed_demo`: two manufacturers, their distributors, outlets, SKUs,
prices, schemes, and a user for every role.

Generation is pure and deterministic (`outlet_rows`, `sku_rows`, `demo_digest`): every part draws from its
own `random.Random` seeded with a string, so a seed always yields the same rows whatever the other sizes
are. Writes go through the tenancy services for the registry and `bulk_create` for the bulk masters.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
import random
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from catalog.enums import Channel, SchemeKind, SlabBasis
from catalog.models import (
    Brand,
    Outlet,
    PriceList,
    PriceListItem,
    Scheme,
    SchemeBrand,
    SchemeSku,
    SchemeSlab,
    Sku,
    TaxRate,
)
from catalog.services import brand_create
from catalog.validation import DAYS
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.models import Distributor, Membership, Tenant
from dms.tenancy.scope import Scope
from dms.tenancy.services import api_key_create, device_register, distributor_create, membership_grant, tenant_create

DEFAULT_SEED = 42
DEMO_PASSWORD = "demo-pass-123"
BOOKERS_PER_DISTRIBUTOR = 3
OUTLET_BATCH = 2000
PLATFORM_USERNAME = "platform.ops"
KM_PER_DEG_LAT = 110.574


# --- the world: cities, neighbourhoods, brands --------------------------------------------------

@dataclass(frozen=True)
class Place:
    """A neighbourhood: the centre of one gaussian cluster of outlets."""

    name: str
    lat: float
    lng: float
    weight: int = 10
    sigma_km: float = 0.9


@dataclass(frozen=True)
class City:
    code: str  # IATA code of the city, reused in distributor and outlet codes
    name: str
    distributor: str
    warehouse: str
    lat: float  # the distributor's warehouse
    lng: float
    places: tuple[Place, ...]
    water: tuple[tuple[float, float, float, float], ...] = ()  # (lat_min, lat_max, lng_min, lng_max) to avoid

    def in_water(self, lat: float, lng: float) -> bool:
        return any(a <= lat <= b and c <= lng <= d for a, b, c, d in self.water)


@dataclass(frozen=True)
class Pack:
    label: str
    units: int
    size: float  # litres or kilograms of content per unit
    unit_price: float
    tare_kg: float = 0.01  # container per unit
    density: float = 1.0  # liquids: kg per litre of content; solids: kg per litre of case volume
    liquid: bool = True


@dataclass(frozen=True)
class BrandSpec:
    code: str
    name: str
    tax_class: str
    products: tuple[str, ...]
    packs: tuple[Pack, ...]


@dataclass(frozen=True)
class TenantSpec:
    slug: str
    name: str
    country: str
    currency: str
    time_zone: str
    fiscal_year_start_month: int
    sku_prefix: str
    money_scale: float  # amounts (credit limits, value slabs) are drawn in PKR and scaled by this
    taxes: tuple[tuple[str, str, str, date, date | None], ...]  # class, name, rate, valid from, valid to
    brands: tuple[BrandSpec, ...]
    cities: tuple[City, ...]


def _liq(label: str, units: int, litres: float, price: float, tare: float = 0.02, density: float = 1.04) -> Pack:
    return Pack(label, units, litres, price, tare, density, liquid=True)


def _sol(label: str, units: int, kg: float, price: float, bulk: float = 0.35, tare: float = 0.004) -> Pack:
    return Pack(label, units, kg, price, tare, bulk, liquid=False)


_BOTTLE = 0.38  # returnable 300 ml glass bottle plus its share of the crate
_CRESCENT_BRANDS = (
    BrandSpec("CRN", "Crescent Crunch", "STD",
              ("Butter Cookies", "Chocolate Chip", "Coconut", "Zeera Plus", "Cream Sandwich", "Digestive"),
              (_sol("38 g", 144, 0.038, 20, 0.30), _sol("76 g", 72, 0.076, 40, 0.30),
               _sol("152 g", 48, 0.152, 80, 0.32), _sol("Family 300 g", 24, 0.3, 160, 0.32))),
    BrandSpec("SNH", "Sunehri", "STD", ("Cooking Oil", "Canola Oil", "Sunflower Oil"),
              (_liq("1 L pouch", 12, 1, 560, 0.02, 0.92), _liq("3 L bottle", 6, 3, 1650, 0.12, 0.92),
               _liq("5 L tin", 4, 5, 2700, 0.45, 0.92), _liq("16 L tin", 1, 16, 8400, 1.2, 0.92))),
    BrandSpec("CBR", "Chai Bahar", "STD", ("Black Tea", "Danedar", "Family Mixture", "Green Tea"),
              (_sol("95 g", 72, 0.095, 190), _sol("190 g", 36, 0.19, 370), _sol("475 g", 24, 0.475, 900),
               _sol("900 g", 12, 0.9, 1700))),
    BrandSpec("FRS", "Fresco", "STD", ("Mango", "Orange", "Apple", "Guava", "Peach", "Red Grape"),
              (_liq("200 ml", 24, 0.2, 60, 0.01, 1.05), _liq("250 ml", 24, 0.25, 75, 0.012, 1.05),
               _liq("1 L", 12, 1, 380, 0.04, 1.05), _liq("1.5 L", 6, 1.5, 520, 0.05, 1.05))),
    BrandSpec("ZQA", "Zaiqa", "STD",
              ("Chicken Noodles", "Masala Noodles", "Chatt Pata Noodles", "Vegetable Noodles", "Chicken Soup"),
              (_sol("66 g", 72, 0.066, 60, 0.15), _sol("132 g", 48, 0.132, 115, 0.15),
               _sol("Family 264 g", 24, 0.264, 230, 0.16))),
    BrandSpec("MSG", "Masala Ghar", "STD",
              ("Biryani Masala", "Karahi Masala", "Tikka Masala", "Nihari Masala", "Red Chilli Powder",
               "Turmeric Powder", "Chaat Masala"),
              (_sol("50 g", 144, 0.05, 110, 0.45), _sol("100 g", 96, 0.1, 200, 0.45),
               _sol("200 g", 48, 0.2, 380, 0.5))),
    BrandSpec("PKZ", "Pakeeza", "REDUCED", ("UHT Milk", "Low Fat Milk", "Strawberry Milk", "Chocolate Milk"),
              (_liq("250 ml", 24, 0.25, 90, 0.01, 1.03), _liq("1 L", 12, 1, 320, 0.03, 1.03),
               _liq("1.5 L", 8, 1.5, 470, 0.04, 1.03))),
    BrandSpec("SNK", "Snackit", "STD", ("Salted", "Masala", "Ketchup", "Cheese & Onion", "Salt & Vinegar"),
              (_sol("20 g", 120, 0.02, 30, 0.08), _sol("45 g", 60, 0.045, 70, 0.08),
               _sol("90 g", 30, 0.09, 130, 0.09))),
)
_SAVANNA_BRANDS = (
    BrandSpec("SVC", "Savanna Cola", "STD", ("Classic", "Zero Sugar", "Cherry", "Vanilla"),
              (_liq("300 ml glass", 24, 0.3, 40, _BOTTLE), _liq("500 ml", 24, 0.5, 60, 0.025),
               _liq("1.25 L", 12, 1.25, 110, 0.04), _liq("2 L", 6, 2, 170, 0.05),
               _liq("330 ml can", 24, 0.33, 80, 0.015))),
    BrandSpec("FZZ", "Fizzi", "STD", ("Orange", "Lemon-Lime", "Pineapple", "Tangawizi", "Blackcurrant"),
              (_liq("300 ml glass", 24, 0.3, 40, _BOTTLE), _liq("500 ml", 24, 0.5, 60, 0.025),
               _liq("1.25 L", 12, 1.25, 110, 0.04), _liq("2 L", 6, 2, 170, 0.05))),
    BrandSpec("MJS", "Maji Safi", "STD", ("Still Water", "Sparkling Water", "Lemon Water"),
              (_liq("500 ml", 24, 0.5, 30, 0.02, 1.0), _liq("1 L", 12, 1, 50, 0.03, 1.0),
               _liq("1.5 L", 6, 1.5, 70, 0.035, 1.0), _liq("5 L", 4, 5, 180, 0.12, 1.0),
               _liq("18.9 L refill", 1, 18.9, 450, 0.75, 1.0))),
    BrandSpec("TND", "Tunda", "STD", ("Mango", "Tropical", "Passion", "Orange", "Apple", "Pineapple"),
              (_liq("250 ml", 24, 0.25, 50, 0.012, 1.05), _liq("500 ml", 12, 0.5, 90, 0.025, 1.05),
               _liq("1 L", 12, 1, 180, 0.03, 1.05))),
    BrandSpec("NGV", "Nguvu", "STD", ("Original", "Berry Blast", "Sugar Free", "Tropical"),
              (_liq("250 ml can", 24, 0.25, 100, 0.015, 1.05), _liq("400 ml", 12, 0.4, 120, 0.025, 1.05),
               _liq("500 ml can", 24, 0.5, 180, 0.02, 1.05))),
    BrandSpec("DHB", "Dhahabu Malt", "STD", ("Original", "Ginger", "Pineapple"),
              (_liq("330 ml glass", 24, 0.33, 80, 0.4), _liq("330 ml can", 24, 0.33, 90, 0.015),
               _liq("500 ml", 12, 0.5, 110, 0.025))),
    BrandSpec("MZW", "Maziwa Bora", "EXEMPT", ("Fresh Milk", "Mala", "Vanilla Yoghurt", "Strawberry Yoghurt"),
              (_liq("250 ml", 24, 0.25, 35, 0.008, 1.03), _liq("500 ml", 12, 0.5, 65, 0.01, 1.03),
               _liq("1 L", 12, 1, 120, 0.015, 1.03))),
    BrandSpec("SFC", "Safari Chai", "REDUCED", ("Kenya Tea", "Tangawizi Tea", "Masala Chai"),
              (_sol("50 g", 144, 0.05, 45), _sol("100 g", 96, 0.1, 90), _sol("250 g", 40, 0.25, 200),
               _sol("500 g", 20, 0.5, 380), _sol("100 bags", 24, 0.2, 260, 0.25))),
)

_P = Place
_PK_CITIES = (
    City("LHE", "Lahore", "Ravi Traders (Pvt) Ltd", "Plot 42, Kot Lakhpat Industrial Estate, Lahore",
         31.4700, 74.3320, (
        _P("Gulberg III", 31.5110, 74.3450, 12), _P("Model Town", 31.4830, 74.3220, 8),
        _P("Johar Town", 31.4690, 74.2780, 12), _P("Allama Iqbal Town", 31.5100, 74.2880, 10),
        _P("Samanabad", 31.5440, 74.2990, 8), _P("Anarkali", 31.5650, 74.3110, 10, 0.6),
        _P("Shadbagh", 31.5870, 74.3270, 7), _P("Mughalpura", 31.5690, 74.3620, 8),
        _P("Township", 31.4500, 74.3090, 9), _P("DHA Phase 3", 31.4760, 74.3780, 6),
        _P("Cavalry Ground", 31.5000, 74.3650, 5, 0.6),
    )),
    City("KHI", "Karachi", "Indus Distribution Company", "Plot B-17, SITE Industrial Area, Karachi", 24.8970, 67.0050, (
        _P("Saddar", 24.8560, 67.0290, 10, 0.7), _P("PECHS", 24.8680, 67.0640, 8),
        _P("Gulshan-e-Iqbal", 24.9210, 67.0930, 12, 1.1), _P("North Nazimabad", 24.9420, 67.0400, 10),
        _P("Nazimabad", 24.9100, 67.0320, 8), _P("Lyari", 24.8700, 66.9950, 9, 0.7),
        _P("Korangi", 24.8310, 67.1290, 10, 1.1), _P("Clifton", 24.8190, 67.0330, 6, 0.7),
        _P("Federal B Area", 24.9330, 67.0750, 9), _P("Liaquatabad", 24.9060, 67.0440, 8, 0.6),
        _P("Orangi Town", 24.9480, 66.9980, 10, 1.0),
    ), water=((24.60, 24.800, 66.80, 67.30), (24.78, 24.848, 66.90, 66.985))),
    City("ISB", "Islamabad", "Margalla Distributors", "Street 5, I-9/2 Industrial Area, Islamabad", 33.6560, 73.0500, (
        _P("F-6 Supermarket", 33.7270, 73.0770, 7, 0.6), _P("F-7 Jinnah Super", 33.7200, 73.0550, 7, 0.6),
        _P("F-10 Markaz", 33.6950, 73.0120, 7, 0.7), _P("G-9 Karachi Company", 33.6900, 73.0300, 9, 0.7),
        _P("G-11 Markaz", 33.6680, 72.9960, 7, 0.7), _P("I-8 Markaz", 33.6680, 73.0750, 7, 0.7),
        _P("E-11", 33.6980, 72.9770, 5, 0.6), _P("Saddar, Rawalpindi", 33.5960, 73.0500, 12, 0.9),
        _P("Satellite Town, Rawalpindi", 33.6400, 73.0700, 10, 0.9),
        _P("Raja Bazaar, Rawalpindi", 33.6140, 73.0640, 10, 0.6),
    ), water=((33.742, 34.0, 72.8, 73.3),)),  # the Margalla Hills: no shops
)
_KE_CITIES = (
    City("NBO", "Nairobi", "Highway Distributors Ltd", "Enterprise Road, Industrial Area, Nairobi", -1.3060, 36.8480, (
        _P("CBD", -1.2850, 36.8240, 12, 0.7), _P("Westlands", -1.2670, 36.8100, 9, 0.8),
        _P("Eastleigh", -1.2750, 36.8500, 11, 0.8), _P("Kibera", -1.3130, 36.7870, 9, 0.8),
        _P("Kawangware", -1.2830, 36.7510, 8, 0.8), _P("South B", -1.3090, 36.8370, 6, 0.6),
        _P("Embakasi", -1.3150, 36.8960, 10, 1.0), _P("Kasarani", -1.2220, 36.8980, 8, 1.0),
        _P("Githurai", -1.1990, 36.9150, 8, 0.8), _P("Dandora", -1.2490, 36.9000, 7, 0.7),
        _P("Kilimani", -1.2900, 36.7850, 6, 0.7), _P("Umoja", -1.2840, 36.8970, 8, 0.7),
    )),
    City("MBA", "Mombasa", "Pwani Distributors Ltd", "Magongo Road, Changamwe, Mombasa", -4.0270, 39.6310, (
        _P("Old Town", -4.0600, 39.6700, 12, 0.6), _P("Tudor", -4.0440, 39.6720, 7, 0.4),
        _P("Nyali", -4.0300, 39.7050, 8, 0.7), _P("Kisauni", -4.0100, 39.6950, 10, 0.8),
        _P("Bamburi", -3.9970, 39.7170, 8, 0.7), _P("Likoni", -4.0880, 39.6600, 9, 0.7),
        _P("Changamwe", -4.0230, 39.6300, 8, 0.8), _P("Mikindani", -4.0050, 39.6250, 7, 0.8),
        _P("Mtwapa", -3.9430, 39.7390, 6, 0.6),
    ), water=((-4.10, -3.97, 39.728, 39.90),)),  # the Indian Ocean east of the beaches
    City("KIS", "Kisumu", "Lakeside Distributors Ltd", "Obote Road, Kisumu", -0.0970, 34.7590, (
        _P("CBD", -0.1020, 34.7560, 12, 0.5), _P("Kondele", -0.0880, 34.7680, 10, 0.6),
        _P("Manyatta", -0.0960, 34.7780, 10, 0.6), _P("Nyalenda", -0.1150, 34.7660, 9, 0.6),
        _P("Migosi", -0.0930, 34.7900, 7, 0.6), _P("Mamboleo", -0.0650, 34.7850, 6, 0.7),
        _P("Obunga", -0.0850, 34.7560, 6, 0.5), _P("Nyamasaria", -0.0990, 34.8030, 6, 0.7),
    ), water=((-0.25, -0.100, 34.60, 34.748), (-0.100, -0.06, 34.60, 34.735))),  # Winam Gulf, Lake Victoria
)

TENANTS = (
    TenantSpec("crescent", "Crescent Foods", "PK", "PKR", "Asia/Karachi", 7, "CF", 1.0, (
        ("STD", "General sales tax", "0.1700", date(2019, 7, 1), date(2023, 2, 13)),
        ("STD", "General sales tax", "0.1800", date(2023, 2, 14), None),
        ("REDUCED", "Reduced rate (dairy)", "0.1000", date(2019, 7, 1), None),
        ("EXEMPT", "Exempt", "0.0000", date(2019, 7, 1), None),
    ), _CRESCENT_BRANDS, _PK_CITIES),
    TenantSpec("savanna", "Savanna Beverages", "KE", "KES", "Africa/Nairobi", 1, "SB", 0.5, (
        ("STD", "VAT", "0.1600", date(2019, 1, 1), date(2020, 3, 31)),
        ("STD", "VAT (Covid-19 relief)", "0.1400", date(2020, 4, 1), date(2020, 12, 31)),
        ("STD", "VAT", "0.1600", date(2021, 1, 1), None),
        ("REDUCED", "Reduced rate", "0.0800", date(2019, 1, 1), None),
        ("EXEMPT", "Exempt", "0.0000", date(2019, 1, 1), None),
    ), _SAVANNA_BRANDS, _KE_CITIES),
)


# --- names and hours ---------------------------------------------------------------------------------

_NAMES = {
    "PK": ("Bilal", "Usman", "Hamza", "Imran", "Faisal", "Rizwan", "Shahid", "Tariq", "Waqas", "Yasir", "Kashif",
           "Nadeem", "Asif", "Irfan", "Sajid", "Khalid", "Saleem", "Javed", "Rafiq", "Akram", "Zeeshan", "Ghani",
           "Haji Bashir", "Abdullah", "Arshad", "Naveed", "Shafiq", "Aslam"),
    "KE": ("Mwangi", "Otieno", "Kamau", "Ochieng", "Mutua", "Kariuki", "Odhiambo", "Kiprono", "Omondi", "Juma",
           "Hassan", "Salim", "Njoroge", "Wafula", "Barasa", "Onyango", "Mohamed", "Abdi", "Karanja", "Maina",
           "Wanjiru", "Akinyi", "Njeri", "Wambui", "Achieng", "Chebet", "Nyambura", "Fatuma"),
}
_BLESSINGS = {
    "PK": ("Madina", "Bismillah", "Al-Rehman", "Makkah", "Al-Noor", "Rehmat", "Barkat", "Al-Habib", "Ittefaq",
           "Pak", "Punjab", "Shalimar", "Zam Zam", "Al-Fazal", "Sitara", "Chand", "Hilal", "Al-Karam"),
    "KE": ("Baraka", "Neema", "Upendo", "Amani", "Jamii", "Tumaini", "Bahati", "Furaha", "Zawadi", "Imani",
           "Faraja", "Riziki", "Nuru", "Jirani", "Uhuru", "Harambee", "Mwangaza", "Sunrise", "Green Valley"),
}
_SHOP_NAMES = {
    ("PK", Channel.GENERAL_TRADE): ("{b} General Store", "{n} Karyana Store", "{b} Kiryana Merchants",
                                    "New {n} Store", "{n} & Sons", "{b} Super Store", "{n} Confectionery"),
    ("PK", Channel.WHOLESALE): ("{b} Traders", "{n} & Brothers Wholesale", "{b} Wholesale Mart", "{n} Enterprises"),
    ("PK", Channel.MODERN_TRADE): ("{b} Cash & Carry", "{b} Mart", "{b} Superstore", "{b} Departmental Store"),
    ("PK", Channel.HORECA): ("{n} Hotel", "{b} Tikka House", "{n} Tea Stall", "Cafe {b}", "{b} Restaurant",
                             "{n} Biryani Centre"),
    ("PK", Channel.PHARMACY): ("{b} Medical Store", "{n} Pharmacy", "{b} Chemist"),
    ("PK", Channel.INSTITUTIONAL): ("{b} School Canteen", "Govt. {b} College Canteen", "{b} Hospital Cafeteria"),
    ("KE", Channel.GENERAL_TRADE): ("{n} General Shop", "Mama {n} Kiosk", "{b} Shop", "{n} Mini Mart",
                                    "{b} General Stores", "{n} Duka"),
    ("KE", Channel.WHOLESALE): ("{b} Wholesalers", "{n} & Sons Distributors", "{b} Traders Ltd"),
    ("KE", Channel.MODERN_TRADE): ("{b} Supermarket", "{b} Mini Supermarket", "{b} Mart"),
    ("KE", Channel.HORECA): ("{b} Hotel", "{n}'s Cafe", "{b} Eatery", "{b} Butchery & Hotel", "{b} Bar & Restaurant"),
    ("KE", Channel.PHARMACY): ("{b} Chemist", "{b} Pharmacy"),
    ("KE", Channel.INSTITUTIONAL): ("{b} Secondary School", "{b} Hospital Canteen", "{b} Academy"),
}
_STREETS = {
    "PK": ("Shop {k}, Main Bazaar", "Shop {k}, Street {j}", "Shop {k}, Main Boulevard", "Shop {k}, Block {L}",
           "Plot {k}, Service Road", "Shop {k}, Chowk Market"),
    "KE": ("Shop {k}, Market Street", "Plot {k}, Off Main Road", "Shop {k}, Stage Road", "Plot {k}, Lane {j}",
           "Shop {k}, Estate Road"),
}
_PEOPLE = {
    "PK": (("Ahmed", "Ali", "Bilal", "Faisal", "Hina", "Imran", "Kamran", "Maria", "Nadia", "Omar", "Sana", "Usman"),
           ("Khan", "Malik", "Qureshi", "Butt", "Chaudhry", "Sheikh", "Raza", "Iqbal", "Hussain", "Siddiqui")),
    "KE": (("Brian", "Kevin", "Faith", "Mercy", "Dennis", "Grace", "Collins", "Sharon", "Peter", "Esther", "Joy",
            "Victor"), ("Otieno", "Mwangi", "Kamau", "Wanjiru", "Ochieng", "Kiprop", "Njoroge", "Achieng", "Mutua")),
}

# Channel mix: mostly general trade, as in any emerging-market distribution book.
_CHANNELS = tuple(c for c in (Channel.GENERAL_TRADE, Channel.WHOLESALE, Channel.MODERN_TRADE, Channel.HORECA,
                                     Channel.PHARMACY, Channel.INSTITUTIONAL))
_CHANNEL_WEIGHTS = (68, 7, 5, 12, 6, 2)
# credit limit range (PKR) and step, share of cash-only outlets, share with a tax registration
_CREDIT = {
    Channel.GENERAL_TRADE: (10_000, 150_000, 5_000, 0.30, 0.12),
    Channel.WHOLESALE: (250_000, 2_000_000, 50_000, 0.05, 0.80),
    Channel.MODERN_TRADE: (200_000, 1_500_000, 50_000, 0.0, 0.95),
    Channel.HORECA: (20_000, 200_000, 5_000, 0.25, 0.40),
    Channel.PHARMACY: (20_000, 150_000, 5_000, 0.20, 0.70),
    Channel.INSTITUTIONAL: (50_000, 500_000, 10_000, 0.0, 0.60),
}

_Spans = tuple[tuple[str, str], ...]
_ALL_DAY: _Spans = (("00:00", "23:59"),)


def _week(daily: _Spans, **days: _Spans) -> dict[str, _Spans]:
    return {d: days.get(d, daily) for d in DAYS}


# (weight, week) per country and channel; an empty tuple is a closed day. Jumu'ah closes shops in Pakistan
# on Friday early afternoon; Kenyan shops often close on Sunday afternoon.
_HOURS: dict[tuple[str, str], tuple[tuple[int, dict[str, _Spans]], ...]] = {
    ("PK", Channel.GENERAL_TRADE): (
        (35, _week((("09:00", "23:00"),))),
        (30, _week((("09:00", "23:00"),), fri=(("09:00", "13:00"), ("14:30", "23:00")))),
        (15, _week((("09:00", "22:00"),), sun=())),
        (20, _week((("08:00", "13:00"), ("16:00", "22:30")))),
    ),
    ("PK", Channel.WHOLESALE): (
        (60, _week((("09:00", "19:00"),), fri=(("09:00", "12:30"), ("14:30", "19:00")), sun=())),
        (40, _week((("08:30", "18:00"),), fri=(("08:30", "12:30"),), sun=(("10:00", "15:00"),))),
    ),
    ("PK", Channel.MODERN_TRADE): ((100, _week((("09:00", "23:00"),), fri=(("09:00", "12:30"), ("14:00", "23:00")))),),
    ("PK", Channel.HORECA): (
        (60, _week((("12:00", "23:30"),))),
        (40, _week((("07:00", "11:00"), ("17:00", "23:30")))),
    ),
    ("PK", Channel.PHARMACY): ((80, _week((("09:00", "23:00"),))), (20, _week(_ALL_DAY))),
    ("PK", Channel.INSTITUTIONAL): ((100, _week((("08:00", "14:00"),), fri=(("08:00", "12:00"),), sun=())),),
    ("KE", Channel.GENERAL_TRADE): (
        (40, _week((("06:30", "22:00"),))),
        (30, _week((("07:00", "21:00"),), sun=(("07:00", "13:00"),))),
        (15, _week((("07:00", "21:00"),), sun=())),
        (15, _week((("06:30", "13:00"), ("14:00", "21:30")))),
    ),
    ("KE", Channel.WHOLESALE): (
        (70, _week((("08:00", "18:00"),), sun=())),
        (30, _week((("08:00", "17:30"),), sat=(("08:00", "13:00"),), sun=())),
    ),
    ("KE", Channel.MODERN_TRADE): ((100, _week((("08:00", "21:00"),), sun=(("09:00", "20:00"),))),),
    ("KE", Channel.HORECA): ((60, _week((("06:00", "22:00"),))), (40, _week((("11:00", "23:30"),)))),
    ("KE", Channel.PHARMACY): ((80, _week((("08:00", "21:00"),), sun=(("10:00", "18:00"),))), (20, _week(_ALL_DAY))),
    ("KE", Channel.INSTITUTIONAL): ((100, _week((("07:30", "16:30"),), sat=(), sun=())),),
}


def _shift(hhmm: str, minutes: int) -> str:
    total = min(max(int(hhmm[:2]) * 60 + int(hhmm[3:]) + minutes, 0), 23 * 60 + 59)
    return f"{total // 60:02d}:{total % 60:02d}"


_WEEKS: dict[tuple[str, str, int, int, int], dict[str, list[list[str]]]] = {}


def _opening_hours(rng: random.Random, country: str, channel: str) -> dict[str, list[list[str]]]:
    """A week from the channel's templates, opening and closing up to 30 minutes early or late.

    The few distinct weeks are built once and shared between rows (120,000 outlets, ~100 weeks): treat the
    result as read-only.
    """
    options = _HOURS[(country, channel)]
    pick = rng.choices(range(len(options)), [p for p, _ in options])[0]
    key = (country, channel, pick, rng.choice((-30, 0, 0, 30)), rng.choice((-30, 0, 0, 30)))
    if key not in _WEEKS:
        out: dict[str, list[list[str]]] = {}
        for day, spans in options[pick][1].items():
            hours = [list(s) for s in spans]
            if hours and spans != _ALL_DAY:
                hours[0][0] = _shift(hours[0][0], key[3])
                hours[-1][1] = _shift(hours[-1][1], key[4])
            out[day] = hours
        _WEEKS[key] = out
    return _WEEKS[key]


# --- pure generation -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class OutletRow:
    code: str
    name: str
    channel: str
    address: str
    lat: Decimal
    lng: Decimal
    opening_hours: dict[str, list[list[str]]]
    credit_limit: Decimal
    tax_id: str
    active: bool


@dataclass(frozen=True, slots=True)
class SkuRow:
    code: str
    name: str
    brand_code: str
    pack_size: str
    units_per_case: int
    weight_kg_per_case: Decimal
    volume_l_per_case: Decimal
    tax_class: str
    case_price: Decimal  # the base list price


def _point(rng: random.Random, city: City, place: Place) -> tuple[Decimal, Decimal]:
    """A gaussian draw around the neighbourhood centre, cut at 2.5 sigma and kept out of the water."""
    lat, lng = place.lat, place.lng
    for _ in range(20):
        north, east = rng.gauss(0, place.sigma_km), rng.gauss(0, place.sigma_km)
        if north * north + east * east > (2.5 * place.sigma_km) ** 2:
            continue
        cand_lat = place.lat + north / KM_PER_DEG_LAT
        cand_lng = place.lng + east / (111.320 * math.cos(math.radians(place.lat)))
        if not city.in_water(cand_lat, cand_lng):
            lat, lng = cand_lat, cand_lng
            break
    return Decimal(f"{lat:.6f}"), Decimal(f"{lng:.6f}")


def _tax_id(rng: random.Random, country: str) -> str:
    if country == "PK":  # NTN: seven digits and a check digit
        return f"{rng.randrange(10**6, 10**7)}-{rng.randrange(10)}"
    return f"P{rng.randrange(10**9):09d}{rng.choice(string.ascii_uppercase)}"  # KRA PIN of a business


def outlet_rows(*, spec: TenantSpec, city: City, n: int, seed: int = DEFAULT_SEED) -> list[OutletRow]:
    """`n` outlets of the distributor in `city`, deterministic for (seed, tenant, city); a prefix of any larger n."""
    rng = random.Random(f"{seed}:{spec.slug}:{city.code}:outlets")
    place_weights = list(itertools.accumulate(p.weight for p in city.places))
    channel_weights = list(itertools.accumulate(_CHANNEL_WEIGHTS))
    names, blessings, streets = _NAMES[spec.country], _BLESSINGS[spec.country], _STREETS[spec.country]
    rows = []
    for i in range(1, n + 1):  # every draw per row, so the first k rows are the same whatever n is
        place = city.places[bisect.bisect(place_weights, rng.random() * place_weights[-1])]
        channel = _CHANNELS[bisect.bisect(channel_weights, rng.random() * channel_weights[-1])]
        lat, lng = _point(rng, city, place)
        shop = rng.choice(_SHOP_NAMES[(spec.country, channel)]).format(n=rng.choice(names), b=rng.choice(blessings))
        street = rng.choice(streets).format(k=rng.randint(1, 240), j=rng.randint(1, 40),
                                            L=rng.choice(string.ascii_uppercase[:12]))
        low, high, step, cash_only, registered = _CREDIT[channel]
        credit = 0 if rng.random() < cash_only else round(rng.uniform(low, high) * spec.money_scale / step) * step
        rows.append(OutletRow(
            code=f"{city.code}{i:06d}", name=shop, channel=channel, address=f"{street}, {place.name}, {city.name}",
            lat=lat, lng=lng, opening_hours=_opening_hours(rng, spec.country, channel),
            credit_limit=Decimal(credit).quantize(Decimal("0.01")),
            tax_id=_tax_id(rng, spec.country) if rng.random() < registered else "",
            active=rng.random() >= 0.02,
        ))
    return rows


def _pack_weight_volume(pack: Pack) -> tuple[Decimal, Decimal]:
    """Gross case weight and outer volume from the pack: content plus containers plus a 0.4 kg carton."""
    content_kg = pack.size * pack.density if pack.liquid else pack.size
    weight = pack.units * (content_kg + pack.tare_kg) + 0.4
    volume = pack.units * pack.size * 1.25 if pack.liquid else pack.units * pack.size / pack.density
    return Decimal(f"{weight:.3f}"), Decimal(f"{volume:.3f}")


def sku_rows(*, spec: TenantSpec, n: int, seed: int = DEFAULT_SEED) -> list[SkuRow]:
    """`n` SKUs dealt round-robin across the brands from each brand's shuffled product x pack range."""
    rng = random.Random(f"{seed}:{spec.slug}:skus")
    ranges = []
    for brand in spec.brands:
        combos = [(product, pack) for product in brand.products for pack in brand.packs]
        rng.shuffle(combos)
        ranges.append((brand, combos))
    picked: list[tuple[BrandSpec, str, Pack]] = []
    edition = 0
    while len(picked) < n:
        for brand, combos in ranges:
            if edition < len(combos) and len(picked) < n:
                product, pack = combos[edition]
                picked.append((brand, product, pack))
        edition += 1
        if edition > max(len(c) for _, c in ranges) and len(picked) < n:  # more SKUs asked than the range has
            ranges = [(b, [(f"{p} Promo", pk) for p, pk in c]) for b, c in ranges]
            edition = 0
    rows = []
    for i, (brand, product, pack) in enumerate(picked, start=1):
        weight, volume = _pack_weight_volume(pack)
        places = rng.choice((2, 2, 2, 3, 4))
        price = Decimal(pack.unit_price * pack.units * rng.uniform(0.96, 1.05)).quantize(Decimal(1).scaleb(-places))
        rows.append(SkuRow(
            code=f"{spec.sku_prefix}-{10000 + i}", name=f"{brand.name} {product} {pack.label}", brand_code=brand.code,
            pack_size=f"{pack.label} x {pack.units}", units_per_case=pack.units, weight_kg_per_case=weight,
            volume_l_per_case=volume, tax_class=brand.tax_class, case_price=price,
        ))
    return rows


def demo_digest(*, seed: int = DEFAULT_SEED, outlets_per_distributor: int = 600, skus: int = 120) -> str:
    """A fingerprint of everything the seed generates, to show that a seed reproduces its data."""
    h = hashlib.sha256()
    for spec in TENANTS:
        for city in spec.cities:
            for row in outlet_rows(spec=spec, city=city, n=outlets_per_distributor, seed=seed):
                h.update(repr(row).encode())
        for sku in sku_rows(spec=spec, n=skus, seed=seed):
            h.update(repr(sku).encode())
    return h.hexdigest()


# --- writing --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Credential:
    username: str
    password: str
    role: str
    tenant: str
    distributor: str


@dataclass
class DemoSummary:
    credentials: list[Credential] = field(default_factory=list)
    api_keys: list[tuple[str, str]] = field(default_factory=list)  # (tenant slug, raw key)
    counts: dict[str, int] = field(default_factory=dict)


def demo_usernames() -> list[str]:
    names = [PLATFORM_USERNAME]
    for spec in TENANTS:
        names += [f"{spec.slug}.admin", f"{spec.slug}.analyst"]
        for city in spec.cities:
            prefix = f"{spec.slug}.{city.code.lower()}"
            names += [f"{prefix}.admin", f"{prefix}.staff", f"{prefix}.delivery"]
            names += [f"{prefix}.booker{i}" for i in range(1, BOOKERS_PER_DISTRIBUTOR + 1)]
    return names


def demo_present() -> list[str]:
    """What of the demo already exists: tenant slugs and usernames."""
    slugs = list(Tenant.objects.filter(slug__in=[s.slug for s in TENANTS]).values_list("slug", flat=True))
    users = list(get_user_model().objects.filter(username__in=demo_usernames()).values_list("username", flat=True))
    return slugs + users


def demo_reset() -> None:
    """Delete the demo tenants with every row they own, and the demo users."""
    from dms.tenancy.ddl import tenant_models

    for tenant in Tenant.objects.filter(slug__in=[s.slug for s in TENANTS]):
        with tenant_scope(Scope.system(tenant.pk)):
            # Raw deletes skip the collector, whose PROTECT checks would need a parent-last order across
            # apps; every foreign key is DEFERRABLE INITIALLY DEFERRED, so the commit checks the end state.
            for model in tenant_models():
                model._default_manager.all()._raw_delete(model._default_manager.db)
            Membership.objects.filter(tenant=tenant).delete()
            tenant.delete()
    get_user_model().objects.filter(username__in=demo_usernames()).delete()


def outlets_insert(*, tenant_id: int, distributor_id: int, rows: Sequence[OutletRow],
                   batch_size: int = OUTLET_BATCH) -> int:
    """Insert generated outlets in the tenant's scope. bulk_create skips save(), so the owner ids are set here."""
    for start in range(0, len(rows), batch_size):
        Outlet.objects.bulk_create([
            Outlet(tenant_id=tenant_id, distributor_id=distributor_id, code=r.code, name=r.name, channel=r.channel,
                   address=r.address, lat=r.lat, lng=r.lng, opening_hours=r.opening_hours,
                   credit_limit=r.credit_limit, tax_id=r.tax_id, active=r.active)
            for r in rows[start:start + batch_size]
        ], batch_size=batch_size)
    return len(rows)


class _People:
    """Demo users: one shared password hash, realistic names drawn from the tenant's country."""

    def __init__(self, *, seed: int, summary: DemoSummary) -> None:
        # user_create hashes per call (PBKDF2, ~0.5 s), ~40 users would spend 20 s on one public password;
        # hash it once and share the encoded value (only the salt is shared).
        self.password_hash = make_password(DEMO_PASSWORD)
        self.seed = seed
        self.summary = summary

    def add(self, username: str, role: str, *, country: str = "PK", tenant: str = "", distributor: str = "") -> Any:
        first_names, last_names = _PEOPLE[country]
        rng = random.Random(f"{self.seed}:{username}")
        user = get_user_model()(username=username, email=f"{username}@example.com", first_name=rng.choice(first_names),
                                last_name=rng.choice(last_names), password=self.password_hash)
        user.save()
        self.summary.credentials.append(Credential(username, DEMO_PASSWORD, role, tenant, distributor))
        return user


def seed_demo(*, seed: int = DEFAULT_SEED, outlets_per_distributor: int = 600, skus: int = 120,
              today: date | None = None, log: Callable[[str], None] | None = None) -> DemoSummary:
    """Create the demo data set. The caller checks `demo_present()` first: nothing here is idempotent."""
    today = today or timezone.localdate()
    summary = DemoSummary()
    people = _People(seed=seed, summary=summary)
    operator = people.add(PLATFORM_USERNAME, Role.PLATFORM_OPERATOR)
    membership_grant(scope=None, user=operator, role=Role.PLATFORM_OPERATOR)
    for spec in TENANTS:
        _seed_tenant(spec, people=people, seed=seed, outlets_per_distributor=outlets_per_distributor, skus=skus,
                     today=today, log=log or (lambda _: None))
    return summary


def _seed_tenant(spec: TenantSpec, *, people: _People, seed: int, outlets_per_distributor: int, skus: int,
                 today: date, log: Callable[[str], None]) -> None:
    from pjp import demo as pjp_demo  # pjp sits above catalog: imported here, at demo time only

    summary = people.summary
    tenant = tenant_create(name=spec.name, slug=spec.slug, currency=spec.currency, time_zone=spec.time_zone,
                           fiscal_year_start_month=spec.fiscal_year_start_month)
    with tenant_scope(Scope.system(tenant.pk)) as scope:
        admin = people.add(f"{spec.slug}.admin", Role.MANUFACTURER_ADMIN, country=spec.country, tenant=spec.slug)
        membership_grant(scope=scope, user=admin, role=Role.MANUFACTURER_ADMIN)
        analyst = people.add(f"{spec.slug}.analyst", Role.MANUFACTURER_ANALYST, country=spec.country,
                             tenant=spec.slug)
        membership_grant(scope=scope, user=analyst, role=Role.MANUFACTURER_ANALYST)
        summary.api_keys.append((spec.slug, api_key_create(scope=scope, name="ERP (demo)", created_by=admin).raw))

        sku_list = _seed_catalogue(spec, scope=scope, seed=seed, skus=skus, today=today)
        distributors = []
        for n, city in enumerate(spec.cities, start=1):
            rng = random.Random(f"{seed}:{spec.slug}:{city.code}:distributor")
            dist = distributor_create(scope=scope, code=f"{city.code}-{n:02d}", name=city.distributor,
                                      address=city.warehouse, lat=Decimal(f"{city.lat:.6f}"),
                                      lng=Decimal(f"{city.lng:.6f}"), tax_id=_tax_id(rng, spec.country))
            distributors.append(dist)
            bookers = _seed_distributor_people(spec, city, dist, scope=scope, people=people)
            rows = outlet_rows(spec=spec, city=city, n=outlets_per_distributor, seed=seed)
            outlets_insert(tenant_id=tenant.pk, distributor_id=dist.pk, rows=rows)
            planned = pjp_demo.seed_routes_and_plans(scope=scope, distributor=dist, booker_ids=bookers)
            for key, value in [("outlets", len(rows)), *planned.items()]:
                summary.counts[key] = summary.counts.get(key, 0) + value
            log(f"{spec.name}: {dist.code} {city.name}: {len(rows)} outlets, {planned['routes']} routes")
        _seed_prices_and_schemes(spec, sku_list, distributors, seed=seed, today=today)
        summary.counts["skus"] = summary.counts.get("skus", 0) + len(sku_list)
        summary.counts["distributors"] = summary.counts.get("distributors", 0) + len(distributors)
        summary.counts["tenants"] = summary.counts.get("tenants", 0) + 1
        summary.counts["journeys"] = summary.counts.get("journeys", 0) + pjp_demo.build_journeys(scope=scope)


def _seed_distributor_people(spec: TenantSpec, city: City, dist: Distributor, *, scope: Scope,
                             people: _People) -> list[int]:
    """The distributor's users, one per role and BOOKERS_PER_DISTRIBUTOR order bookers with a device each;
    returns the bookers' user ids."""
    bookers = []
    prefix = f"{spec.slug}.{city.code.lower()}"
    roles = [("admin", Role.DISTRIBUTOR_ADMIN), ("staff", Role.DISTRIBUTOR_STAFF), ("delivery", Role.DELIVERY_MAN)]
    roles += [(f"booker{i}", Role.ORDER_BOOKER) for i in range(1, BOOKERS_PER_DISTRIBUTOR + 1)]
    for suffix, role in roles:
        user = people.add(f"{prefix}.{suffix}", role, country=spec.country, tenant=spec.slug, distributor=dist.code)
        membership_grant(scope=scope, user=user, role=role, distributor=dist)
        if role == Role.ORDER_BOOKER:
            bookers.append(user.pk)
            device_register(scope=scope, user=user, distributor_id=dist.pk, identifier=f"demo-{user.username}",
                            name=f"{user.first_name}'s phone", platform="android")
    return bookers


def _seed_catalogue(spec: TenantSpec, *, scope: Scope, seed: int, skus: int, today: date) -> list[Sku]:
    tenant_id = scope.tenant_id
    for tax_class, name, rate, valid_from, valid_to in spec.taxes:
        TaxRate.objects.create(tax_class=tax_class, name=name, rate=Decimal(rate), valid_from=valid_from,
                               valid_to=valid_to)
    brands = {b.code: brand_create(scope=scope, code=b.code, name=b.name) for b in spec.brands}
    rows = sku_rows(spec=spec, n=skus, seed=seed)
    sku_list = Sku.objects.bulk_create([
        Sku(tenant_id=tenant_id, code=r.code, name=r.name, brand=brands[r.brand_code], pack_size=r.pack_size,
            units_per_case=r.units_per_case, weight_kg_per_case=r.weight_kg_per_case,
            volume_l_per_case=r.volume_l_per_case, tax_class=r.tax_class)
        for r in rows
    ])
    base = PriceList.objects.create(code="BASE", name=f"{spec.name} list price", valid_from=date(today.year - 1, 1, 1))
    PriceListItem.objects.bulk_create([
        PriceListItem(tenant_id=tenant_id, price_list=base, sku=sku, case_price=r.case_price)
        for sku, r in zip(sku_list, rows, strict=True)
    ])
    return sku_list


def _seed_prices_and_schemes(spec: TenantSpec, sku_list: list[Sku], distributors: list[Distributor], *, seed: int,
                             today: date) -> None:
    rng = random.Random(f"{seed}:{spec.slug}:pricing")
    tenant_id = distributors[0].tenant_id
    base = {i.sku_id: i.case_price for i in PriceListItem.objects.filter(price_list__code="BASE")}
    start = date(today.year - 1, 1, 1)

    def narrowed(code: str, name: str, share: float, low: float, high: float, **where: Any) -> None:
        price_list = PriceList.objects.create(code=code, name=name, valid_from=start, **where)
        chosen = [s for s in sku_list if rng.random() < share]
        PriceListItem.objects.bulk_create([
            PriceListItem(tenant_id=tenant_id, price_list=price_list, sku=s,
                          case_price=(base[s.pk] * Decimal(f"{rng.uniform(low, high):.4f}")).quantize(Decimal("0.01")))
            for s in chosen
        ])

    narrowed("WHOLESALE", "Wholesale channel price", 0.5, 0.94, 0.98, channel=Channel.WHOLESALE)
    port = distributors[1] if len(distributors) > 1 else distributors[0]  # the port city: lower freight
    narrowed(f"DIST-{port.code}", f"{port.name} landed price", 0.25, 0.97, 0.99, distributor=port)

    valid_from = today.replace(day=1)
    valid_to = (valid_from + timedelta(days=95)).replace(day=1) - timedelta(days=1)  # end of the third month
    brand, amount_brand, hero_brand, channel_brand = (Brand.objects.get(code=spec.brands[i].code) for i in range(4))
    amount_skus = [s for s in sku_list if s.brand_id == amount_brand.pk][:3] or sku_list[:3]
    hero = next((s for s in sku_list if s.brand_id == hero_brand.pk), sku_list[0])
    money = Decimal(str(spec.money_scale))

    def scheme(code: str, name: str, kind: str, slabs: list[tuple[str, str]], *, basis: str = SlabBasis.QUANTITY,
               channels: list[str] | None = None, brands: Sequence[Brand] = (), skus: Sequence[Sku] = (),
               free_sku: Sku | None = None) -> None:
        s = Scheme.objects.create(code=code, name=name, kind=kind, basis=basis, channels=channels or [],
                                  valid_from=valid_from, valid_to=valid_to)
        SchemeBrand.objects.bulk_create([SchemeBrand(tenant_id=tenant_id, scheme=s, brand=b) for b in brands])
        SchemeSku.objects.bulk_create([SchemeSku(tenant_id=tenant_id, scheme=s, sku=k) for k in skus])
        SchemeSlab.objects.bulk_create([
            SchemeSlab(tenant_id=tenant_id, scheme=s, threshold=Decimal(t), benefit=Decimal(b), free_sku=free_sku)
            for t, b in slabs
        ])

    scheme("SLAB-" + brand.code, f"{brand.name} volume slabs", SchemeKind.PERCENT_OFF,
           [("5", "2.5"), ("10", "4"), ("25", "6")], brands=[brand])
    per_case = (base[amount_skus[0].pk] * Decimal("0.03")).quantize(Decimal("1"))
    scheme("OFF-" + amount_brand.code, f"{amount_brand.name}: {per_case:,} {spec.currency} off per case",
           SchemeKind.AMOUNT_OFF, [("1", str(per_case))], skus=amount_skus)
    scheme("B10G1", f"Buy 10 get 1: {hero.name}", SchemeKind.FREE_GOODS, [("10", "1")], skus=[hero], free_sku=hero)
    scheme("MT-VALUE", f"{channel_brand.name}: modern trade value slabs", SchemeKind.PERCENT_OFF,
           [(str(50_000 * money), "1.5"), (str(150_000 * money), "3")], basis=SlabBasis.VALUE,
           channels=[Channel.MODERN_TRADE], brands=[channel_brand])
