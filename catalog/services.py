"""Writes on master data. The tenant (and the distributor of a distributor user) come from the scope."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from dms.core.errors import DomainError, NotFound
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope

from .errors import CatalogError
from .models import Brand, Outlet, Sku

SKU_FIELDS = {"code", "name", "brand", "pack_size", "units_per_case", "weight_kg_per_case", "volume_l_per_case",
              "tax_class", "active"}
OUTLET_FIELDS = {"code", "name", "channel", "address", "lat", "lng", "opening_hours", "credit_limit", "tax_id",
                 "active"}


def _save(obj: models.Model, *, unique_field: str = "code") -> None:
    """full_clean then save; a validation or uniqueness failure becomes a 400 naming the field."""
    try:
        obj.full_clean(exclude=["tenant", "distributor"], validate_unique=False)
    except ValidationError as exc:
        raise DomainError("invalid", "Invalid master data.", fields=exc.message_dict) from exc
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise DomainError(CatalogError.DUPLICATE_CODE, f"{unique_field} is already used.",
                          fields={unique_field: ["Already used."]}) from exc


def _check_manufacturer(scope: Scope) -> None:
    if scope.distributor_ids is not None:
        raise DomainError("forbidden", "Only the manufacturer maintains tenant master data.", status_code=403)


@transaction.atomic
def brand_create(*, scope: Scope, code: str, name: str, active: bool = True) -> Brand:
    _check_manufacturer(scope)
    brand = Brand(code=code, name=name, active=active)
    _save(brand)
    return brand


@transaction.atomic
def sku_create(*, scope: Scope, **fields: Any) -> Sku:
    _check_manufacturer(scope)
    sku = Sku(**{k: v for k, v in fields.items() if k in SKU_FIELDS})
    _save(sku)
    return sku


@transaction.atomic
def sku_update(*, scope: Scope, sku_id: int, **fields: Any) -> Sku:
    _check_manufacturer(scope)
    sku = Sku.objects.select_for_update(no_key=True).filter(pk=sku_id).first()
    if sku is None:
        raise NotFound()
    for k, v in fields.items():
        if k in SKU_FIELDS:
            setattr(sku, k, v)
    _save(sku)
    return sku


def _outlet_distributor(scope: Scope, distributor: Distributor | None) -> int:
    """A distributor user's outlets are its own; a manufacturer user names the distributor."""
    if distributor is not None:
        if not scope.can_access_distributor(distributor.pk) or distributor.tenant_id != scope.tenant_id:
            raise NotFound("Distributor not found.")
        return distributor.pk
    if scope.single_distributor_id is None:
        raise DomainError("invalid", "distributor is required.", fields={"distributor": ["This field is required."]})
    return scope.single_distributor_id


@transaction.atomic
def outlet_create(*, scope: Scope, distributor: Distributor | None = None, **fields: Any) -> Outlet:
    outlet = Outlet(distributor_id=_outlet_distributor(scope, distributor),
                    **{k: v for k, v in fields.items() if k in OUTLET_FIELDS})
    _save(outlet)
    return outlet


@transaction.atomic
def outlet_update(*, scope: Scope, outlet_id: int, **fields: Any) -> Outlet:
    outlet = scope.filter(Outlet.objects.select_for_update(no_key=True)).filter(pk=outlet_id).first()
    if outlet is None:
        raise NotFound()
    for k, v in fields.items():
        if k in OUTLET_FIELDS:
            setattr(outlet, k, v)
    _save(outlet)
    return outlet
