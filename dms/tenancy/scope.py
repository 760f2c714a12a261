"""Scope: who is acting, for which tenant and which of its distributors. Made once from the principal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from django.db.models import Model, QuerySet

from .enums import ActorKind, Role

if TYPE_CHECKING:
    from .models import ApiKey, Device, Membership

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Actor:
    kind: str
    id: int | None
    role: str | None
    label: str

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(kind=ActorKind.SYSTEM, id=None, role=None, label=label)


@dataclass(frozen=True)
class Scope:
    tenant_id: int
    distributor_ids: frozenset[int] | None  # None = every distributor of the tenant
    actor: Actor

    # --- construction: only from an authenticated principal, never from a request body ---------
    @classmethod
    def system(cls, tenant_id: int, label: str = "system") -> Scope:
        return cls(tenant_id=int(tenant_id), distributor_ids=None, actor=Actor.system(label))

    @classmethod
    def for_membership(cls, membership: Membership) -> Scope:
        if membership.tenant_id is None:
            raise ValueError("a platform operator's membership has no tenant scope")
        dids = None if membership.distributor_id is None else frozenset({membership.distributor_id})
        return cls(
            tenant_id=membership.tenant_id,
            distributor_ids=dids,
            actor=Actor(kind=ActorKind.USER, id=membership.user_id, role=membership.role,
                        label=membership.user.get_username()),
        )

    @classmethod
    def for_api_key(cls, key: ApiKey) -> Scope:
        return cls(tenant_id=key.tenant_id, distributor_ids=None,
                   actor=Actor(kind=ActorKind.API_KEY, id=key.pk, role=Role.MANUFACTURER_SYSTEM,
                               label=f"api-key:{key.prefix}"))

    @classmethod
    def for_device(cls, device: Device) -> Scope:
        return cls(tenant_id=device.tenant_id, distributor_ids=frozenset({device.distributor_id}),
                   actor=Actor(kind=ActorKind.DEVICE, id=device.pk, role=Role.ORDER_BOOKER,
                               label=f"device:{device.pk}:{device.user_id}"))

    # --- use ---------------------------------------------------------------------------------------
    @property
    def role(self) -> str | None:
        return self.actor.role

    @property
    def is_distributor_user(self) -> bool:
        return self.distributor_ids is not None

    @property
    def single_distributor_id(self) -> int | None:
        if self.distributor_ids is not None and len(self.distributor_ids) == 1:
            return next(iter(self.distributor_ids))
        return None

    def can_access_distributor(self, distributor_id: int | None) -> bool:
        return self.distributor_ids is None or distributor_id in self.distributor_ids

    def filter(self, qs: QuerySet[M]) -> QuerySet[M]:
        """Scope a DistributorModel queryset (the manager already does; this is explicit in selectors)."""
        qs = qs.filter(tenant_id=self.tenant_id)
        return qs if self.distributor_ids is None else qs.filter(distributor_id__in=self.distributor_ids)

    def filter_optional_distributor(self, qs: QuerySet[M]) -> QuerySet[M]:
        """Tenant masters that may be narrowed to one distributor (price lists, schemes): a distributor
        user sees tenant-wide rows and its own, never a sibling's."""
        from django.db.models import Q

        qs = qs.filter(tenant_id=self.tenant_id)
        if self.distributor_ids is None:
            return qs
        return qs.filter(Q(distributor__isnull=True) | Q(distributor_id__in=self.distributor_ids))
