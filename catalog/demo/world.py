"""The demo world: the two manufacturers, their cities and neighbourhoods, brands and packs, shop names,
channels and opening hours. Data only (and the helpers that shape it)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from catalog.enums import Channel
from catalog.validation import DAYS

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
