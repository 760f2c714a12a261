"""Tenancy: the manufacturer (Tenant), its distributors, who may act for them, and the base classes
every tenant-owned model inherits.

Tenant-owned tables carry `tenant_id` (and `distributor_id` when a distributor owns the row). Their
default manager filters by the tenant in context and raises without one; PostgreSQL row-level security
(dms/tenancy/ddl.py) enforces the same rule in the database.
"""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from .context import NoTenantInContext, current_scope_or_none
from .enums import MANUFACTURER_ROLES, MEMBERSHIP_ROLES, Role


def _guarded(name: str) -> Any:
    def method(self: TenantQuerySet, *args: Any, **kwargs: Any) -> Any:
        if self._no_tenant:
            raise NoTenantInContext(
                f"{self.model.__name__}.objects.{name}() with no tenant in context: "
                "enter dms.tenancy.context.tenant_scope() first."
            )
        return getattr(models.QuerySet, name)(self, *args, **kwargs)

    method.__name__ = name
    return method


class TenantQuerySet(models.QuerySet):
    """A queryset built with no tenant in context is empty and raises when evaluated or written.

    Building one is allowed (the admin, django-filter and import-export introspect managers at import
    time); running one is not. `.none()` underneath means even a path we did not guard returns nothing.
    """

    _no_tenant = False

    def _clone(self) -> TenantQuerySet:
        clone = super()._clone()  # type: ignore[misc]  # private in the stubs, stable in Django
        clone._no_tenant = self._no_tenant
        return clone

    for _name in ("_fetch_all", "count", "exists", "aggregate", "update", "delete", "_raw_delete", "iterator",
                  "bulk_create", "bulk_update", "in_bulk", "explain", "contains", "_update"):
        locals()[_name] = _guarded(_name)
    del _name


class TenantManager(models.Manager):
    """Default manager of tenant-owned models: the context tenant's rows (and distributors), or an error."""

    def get_queryset(self) -> models.QuerySet:
        scope = current_scope_or_none()
        if scope is None:
            qs = TenantQuerySet(self.model, using=self._db).none()
            qs._no_tenant = True
            return qs
        qs = TenantQuerySet(self.model, using=self._db).filter(tenant_id=scope.tenant_id)
        if scope.distributor_ids is not None:
            if issubclass(self.model, DistributorModel):
                qs = qs.filter(distributor_id__in=scope.distributor_ids)
            elif self.model is Distributor:
                qs = qs.filter(pk__in=scope.distributor_ids)
        return qs

    def unscoped_for_platform(self) -> models.QuerySet:
        """Every tenant's rows as far as the ORM goes (RLS still applies). Platform code only."""
        return TenantQuerySet(self.model, using=self._db)


class Timestamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class TenantModel(Timestamped):
    """A row owned by one tenant. The tenant is taken from the context, never from input."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.PROTECT, editable=False,
                               related_name="+")

    objects = TenantManager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        scope = current_scope_or_none()
        if scope is None:
            raise NoTenantInContext(f"Saving {type(self).__name__} with no tenant in context")
        if self.tenant_id is None:
            self.tenant_id = scope.tenant_id
        elif self.tenant_id != scope.tenant_id:
            raise NoTenantInContext(f"{type(self).__name__} belongs to another tenant than the context")
        super().save(*args, **kwargs)


class DistributorModel(TenantModel):
    """A row owned by one distributor of the tenant."""

    # The database constraint is the composite (tenant_id, distributor_id) key from ddl.py; a second,
    # single-column one would only add a check to every insert of operational rows.
    distributor = models.ForeignKey("tenancy.Distributor", on_delete=models.PROTECT, related_name="+",
                                    db_constraint=False)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        scope = current_scope_or_none()
        if scope is not None and self.distributor_id is not None and not scope.can_access_distributor(
            self.distributor_id
        ):
            raise NoTenantInContext(f"{type(self).__name__} belongs to a distributor outside the scope")
        super().save(*args, **kwargs)


# --- the tenant registry (global tables) ---------------------------------------------------------

def _validate_tz(value: str) -> None:
    from django.core.exceptions import ValidationError

    try:
        zoneinfo.ZoneInfo(value)
    except Exception as exc:  # noqa: BLE001 - any failure means the name is unknown
        raise ValidationError(f"Unknown time zone '{value}'.") from exc


class Tenant(Timestamped):
    """A manufacturer. Global: the table that tenant ids point at."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    currency = models.CharField(max_length=3, default="USD", help_text="ISO 4217 code")
    time_zone = models.CharField(max_length=64, default="UTC", validators=[_validate_tz])
    fiscal_year_start_month = models.PositiveSmallIntegerField(default=1)
    fiscal_year_start_day = models.PositiveSmallIntegerField(default=1)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(fiscal_year_start_month__gte=1, fiscal_year_start_month__lte=12),
                                   name="tenant_fy_month_valid"),
            models.CheckConstraint(condition=Q(fiscal_year_start_day__gte=1, fiscal_year_start_day__lte=28),
                                   name="tenant_fy_day_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def fiscal_year(self, day: Any) -> int:
        """The fiscal year a date falls in, named by the calendar year in which it starts."""
        start = (self.fiscal_year_start_month, self.fiscal_year_start_day)
        return day.year if (day.month, day.day) >= start else day.year - 1


class TenantSettings(TenantModel):
    """Tenant policy (not Django settings): closing hour, credit checks, travel model, allocation."""

    day_close_hour = models.PositiveSmallIntegerField(default=23)
    credit_check = models.CharField(
        max_length=10, default="hold", choices=[("off", "Off"), ("hold", "Hold for approval"), ("refuse", "Refuse")]
    )
    allocation_all_or_nothing = models.BooleanField(default=False)
    road_factor = models.DecimalField(max_digits=4, decimal_places=2, default=1.30)
    travel_speed_kmh = models.DecimalField(max_digits=5, decimal_places=1, default=25)
    matrix_provider_url = models.URLField(blank=True)
    # Nightly reconciliation: how long a secondary order may stay in a state before it is reported stuck, and how
    # many days after dispatch a Dispatch Advice must have its goods receipt.
    stuck_booked_hours = models.PositiveIntegerField(default=24, help_text="booked and not confirmed")
    stuck_allocated_hours = models.PositiveIntegerField(default=24, help_text="allocated and not invoiced")
    stuck_invoiced_hours = models.PositiveIntegerField(default=48, help_text="invoiced and not loaded")
    grn_due_days = models.PositiveIntegerField(default=7, help_text="days from dispatch to goods receipt")
    # Analytics (on time in full): an order without a delivery date is due this many days after its booking date.
    delivery_due_days = models.PositiveIntegerField(default=1, help_text="days from booking to the delivery due")

    class Meta:
        verbose_name_plural = "tenant settings"
        constraints = [models.UniqueConstraint(fields=["tenant"], name="tenantsettings_one_per_tenant")]


class Distributor(TenantModel):
    """A distributor of one tenant. A company distributing for two manufacturers has one row in each."""

    code = models.CharField(max_length=30)
    name = models.CharField(max_length=200)
    address = models.CharField(max_length=300, blank=True)
    lat = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    lng = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    tax_id = models.CharField(max_length=40, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="distributor_code_uniq")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Membership(Timestamped):
    """A user's role in one tenant (and, for distributor roles, one distributor).

    Global identity table, like the user table: authentication reads it before any tenant context
    exists. Only dms/tenancy reads it unscoped; every listing of memberships is filtered by the scope.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    distributor = models.ForeignKey(Distributor, on_delete=models.CASCADE, null=True, blank=True,
                                    related_name="+")
    role = models.CharField(max_length=30, choices=MEMBERSHIP_ROLES)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="membership_one_per_user_tenant"),
            models.CheckConstraint(
                name="membership_role_shape",
                condition=(
                    Q(role=Role.PLATFORM_OPERATOR, tenant__isnull=True, distributor__isnull=True)
                    | Q(role__in=sorted(r.value for r in MANUFACTURER_ROLES), tenant__isnull=False,
                        distributor__isnull=True)
                    | Q(role__in=[Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF, Role.ORDER_BOOKER,
                                  Role.DELIVERY_MAN], tenant__isnull=False, distributor__isnull=False)
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.get_role_display()}"


class ApiKey(TenantModel):
    """A manufacturer system's key. Only a SHA-512 hash is stored; the prefix identifies it.

    The key reads `dms_<tenant_id>_<prefix>.<secret>`: the tenant id lets authentication look the
    key up under that tenant's row-level security; it proves nothing until the hash matches.
    """

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=128, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        constraints = [models.UniqueConstraint(fields=["tenant", "prefix"], name="apikey_prefix_uniq")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Device(DistributorModel):
    """An order-booker's registered phone. Tokens are bound to it; revoking it locks the app out."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="devices")
    identifier = models.CharField(max_length=100, help_text="the app's install id")
    name = models.CharField(max_length=100, blank=True)
    platform = models.CharField(max_length=20, blank=True)
    app_version = models.CharField(max_length=20, blank=True)
    active = models.BooleanField(default=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "distributor", "identifier"], name="device_identifier_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.name or self.identifier} ({self.user})"


class BackgroundJob(TenantModel):
    """Long work run by Celery (imports now; batch invoicing, optimisation, reconciliation later).

    The row records who asked (their role and distributor, so the worker acts with the same scope), the
    parameters, and the outcome. Live progress goes to the cache (dms.tenancy.jobs), because the work
    itself runs in one transaction whose writes nobody sees until it commits.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=50)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    payload = models.BinaryField(null=True, blank=True, editable=False)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    actor_role = models.CharField(max_length=30, blank=True)
    scope_distributor = models.ForeignKey(Distributor, null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="+")
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "kind", "status"], name="job_tenant_kind_status")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"
