from django.db import models


class Role(models.TextChoices):
    PLATFORM_OPERATOR = "platform_operator", "Platform operator"
    MANUFACTURER_ADMIN = "manufacturer_admin", "Manufacturer admin"
    MANUFACTURER_ANALYST = "manufacturer_analyst", "Manufacturer analyst"
    DISTRIBUTOR_ADMIN = "distributor_admin", "Distributor admin"
    DISTRIBUTOR_STAFF = "distributor_staff", "Distributor staff"
    ORDER_BOOKER = "order_booker", "Order-booker"
    DELIVERY_MAN = "delivery_man", "Delivery man"
    # Not assignable to a membership: the role an API key acts with.
    MANUFACTURER_SYSTEM = "manufacturer_system", "Manufacturer system (API key)"


MEMBERSHIP_ROLES = [c for c in Role.choices if c[0] != Role.MANUFACTURER_SYSTEM]
MANUFACTURER_ROLES = frozenset({Role.MANUFACTURER_ADMIN, Role.MANUFACTURER_ANALYST, Role.MANUFACTURER_SYSTEM})
DISTRIBUTOR_ROLES = frozenset({Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF, Role.ORDER_BOOKER, Role.DELIVERY_MAN})
# Roles that may open the browser admin. Order-bookers and delivery men use the app only.
ADMIN_ROLES = frozenset({Role.PLATFORM_OPERATOR, Role.MANUFACTURER_ADMIN, Role.MANUFACTURER_ANALYST,
                         Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF})
READ_ONLY_ROLES = frozenset({Role.MANUFACTURER_ANALYST})


class ActorKind(models.TextChoices):
    USER = "user", "User"
    DEVICE = "device", "Device"
    API_KEY = "api_key", "API key"
    SYSTEM = "system", "System"
