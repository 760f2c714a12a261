"""The dashboards' filter form: a tenant-local date range (the last 7 days by default), distributor, route, booker,
brand and outlet (each page shows those its selectors take), each a choice list out of the user's scope.

Decisions:
- A malformed value (not a date, not a number, a range the wrong way round or too long) is a form error shown on
  the page. A well-formed id that is not the user's (another tenant's, a sibling distributor's) is a 404, as for any
  foreign object: `clean_<field>` raises NotFound out of is_valid() and the view turns it into Http404. An id of the
  user's own that does not belong to the distributor picked (a route of A2 with A1 picked) is a form error.
- A distributor user never picks a distributor: the field is hidden and fixed to theirs.
- Route, booker and outlet lists follow the distributor picked (outlets: the route's stops when a route is picked);
  without one they list the whole scope up to MAX_CHOICES (beyond that the form asks to pick a distributor first,
  and an id in the URL still works).
- Bookers are users (a global table): listed through the scope's order-booker memberships.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from catalog.selectors import brand_list, outlet_list
from dms.core.errors import NotFound
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from dms.tenancy.selectors import distributor_list, membership_list, tenant_zone
from pjp.models import RouteStop
from pjp.selectors import route_list

DEFAULT_DAYS = 7
MAX_DAYS = 366
MAX_CHOICES = 1000
ALL = ("", "All")
FILTERS = ("distributor", "route", "booker", "brand", "outlet")
KPI_FILTERS = ("distributor", "route", "booker", "brand")


def local_today(scope: Scope) -> date:
    return timezone.now().astimezone(tenant_zone(scope=scope)).date()


def default_range(scope: Scope) -> tuple[date, date]:
    """The last DEFAULT_DAYS tenant-local days, today included."""
    today = local_today(scope)
    return today - timedelta(days=DEFAULT_DAYS - 1), today


class IdChoiceField(forms.TypedChoiceField):
    """A select of ids whose validity is decided by the form's clean_<name> (scope check, 404), not by the
    choices listed: a list capped at MAX_CHOICES must not refuse an id it did not list."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(coerce=int, required=False, empty_value=None, **kwargs)

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values:
            return None
        try:
            number = int(str(value))
        except ValueError:
            raise forms.ValidationError("Pick one from the list.", code="invalid") from None
        if number < 1:
            raise forms.ValidationError("Pick one from the list.", code="invalid")
        return number

    def validate(self, value: Any) -> None:
        return None  # the scope check is clean_<name>'s

    def clean(self, value: Any) -> Any:
        value = self.to_python(value)
        self.run_validators(value)
        return value


class DashboardFilterForm(forms.Form):
    """GET filters of every dashboard page. `fields_shown` narrows the filters a page offers (the journeys have no
    brand). cleaned_data gives the selector keywords: date_from, date_to, distributor_id, route_id, booker_id,
    brand_id."""

    date_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}),
                              help_text=f"Tenant-local days, both included; at most {MAX_DAYS} days.")
    distributor = IdChoiceField(label="Distributor")
    route = IdChoiceField(label="Route")
    booker = IdChoiceField(label="Order-booker")
    brand = IdChoiceField(label="Brand",
                          help_text="Narrows the fill, delivery and sales figures; visits have no brand.")
    outlet = IdChoiceField(label="Outlet")

    def __init__(self, data: Any = None, *, scope: Scope, fields_shown: tuple[str, ...] = KPI_FILTERS) -> None:
        first, last = default_range(scope)
        data = data.copy() if data is not None else {}
        if not data.get("date_from"):
            data["date_from"] = first.isoformat()
        if not data.get("date_to"):
            data["date_to"] = last.isoformat()
        super().__init__(data)
        self.scope = scope
        for name in FILTERS:
            if name not in fields_shown:
                del self.fields[name]
        if "distributor" in self.fields:
            if scope.single_distributor_id is not None:
                self.fields["distributor"].widget = forms.HiddenInput()
            else:
                self._set_choices("distributor", list(distributor_list(scope=scope).order_by("code")
                                                      .values_list("pk", "name")))
        picked = self._picked_distributor(data)
        if "route" in self.fields:
            routes = route_list(scope=self.scope, distributor_id=picked).order_by("code")
            self._choices("route", [(r.pk, f"{r.code} {r.name}") for r in routes[:MAX_CHOICES + 1]])
        if "booker" in self.fields:
            bookers = self._bookers(picked).order_by("user__username")
            self._choices("booker", [(m.user_id, m.user.get_username()) for m in bookers[:MAX_CHOICES + 1]])
        if "brand" in self.fields:
            self._set_choices("brand", list(brand_list(scope=scope).order_by("name").values_list("pk", "name")))
        if "outlet" in self.fields:
            outlets = self._outlets(picked, self._picked("route", data))
            self._choices("outlet", [(o.pk, f"{o.code} {o.name}") for o in outlets.order_by("code")[:MAX_CHOICES + 1]])

    def _picked_distributor(self, data: Any) -> int | None:
        if self.scope.single_distributor_id is not None:
            return self.scope.single_distributor_id
        value = self._picked("distributor", data)
        return value if value is not None and self.scope.can_access_distributor(value) else None

    @staticmethod
    def _picked(name: str, data: Any) -> int | None:
        value = str(data.get(name) or "")
        return int(value) if value.isdigit() else None

    def _outlets(self, distributor_id: int | None, route_id: int | None) -> Any:
        """A route's stops when one is picked, else the distributor's outlets (the scope's without one)."""
        qs = outlet_list(scope=self.scope)
        if route_id is not None:
            stops = RouteStop.objects.filter(tenant_id=self.scope.tenant_id, route_id=route_id)
            return qs.filter(pk__in=self.scope.filter(stops).values("outlet_id"))
        return qs if distributor_id is None else qs.filter(distributor_id=distributor_id)

    def _choices(self, name: str, rows: list[tuple[int, str]]) -> None:
        if len(rows) > MAX_CHOICES:
            self.fields[name].help_text = "Too many to list: pick a distributor first."
            rows = rows[:MAX_CHOICES]
        self._set_choices(name, rows)

    def _set_choices(self, name: str, rows: list[tuple[int, str]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [ALL, *rows]

    def _bookers(self, distributor_id: int | None) -> Any:
        qs = membership_list(scope=self.scope).filter(role=Role.ORDER_BOOKER, distributor__isnull=False)
        return qs if distributor_id is None else qs.filter(distributor_id=distributor_id)

    # --- scope checks: a foreign id is a 404 (raised out of is_valid) ------------------------------------------
    def clean_distributor(self) -> int | None:
        value = self.cleaned_data.get("distributor")
        if value is not None and not distributor_list(scope=self.scope).filter(pk=value).exists():
            raise NotFound("Distributor not found.")
        return value if value is not None else self.scope.single_distributor_id

    def clean_route(self) -> int | None:
        value = self.cleaned_data.get("route")
        if value is not None and not route_list(scope=self.scope).filter(pk=value).exists():
            raise NotFound("Route not found.")
        return value

    def clean_booker(self) -> int | None:
        value = self.cleaned_data.get("booker")
        if value is not None and not self._bookers(None).filter(user_id=value).exists():
            raise NotFound("Order-booker not found.")
        return value

    def clean_brand(self) -> int | None:
        value = self.cleaned_data.get("brand")
        if value is not None and not brand_list(scope=self.scope).filter(pk=value).exists():
            raise NotFound("Brand not found.")
        return value

    def clean_outlet(self) -> int | None:
        value = self.cleaned_data.get("outlet")
        if value is not None and not outlet_list(scope=self.scope).filter(pk=value).exists():
            raise NotFound("Outlet not found.")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("date_from"), data.get("date_to")
        if first and last:
            if last < first:
                self.add_error("date_to", "The last day is before the first.")
            elif (last - first).days + 1 > MAX_DAYS:
                self.add_error("date_to", f"Ask for at most {MAX_DAYS} days; this range has {(last - first).days + 1}.")
        distributor = data.get("distributor")
        if distributor is not None:
            route, booker = data.get("route"), data.get("booker")
            if route is not None and not route_list(scope=self.scope, distributor_id=distributor).filter(
                    pk=route).exists():
                self.add_error("route", "This route is not one of the distributor's.")
            if booker is not None and not self._bookers(distributor).filter(user_id=booker).exists():
                self.add_error("booker", "This order-booker does not work for the distributor.")
            outlet = data.get("outlet")
            if outlet is not None and not outlet_list(scope=self.scope).filter(pk=outlet,
                                                                               distributor_id=distributor).exists():
                self.add_error("outlet", "This outlet is not one of the distributor's.")
        return data

    def filters(self) -> dict[str, Any]:
        """The selector keywords (call after is_valid())."""
        data = self.cleaned_data
        out: dict[str, Any] = {"date_from": data["date_from"], "date_to": data["date_to"]}
        for name in FILTERS:
            if name in self.fields:
                out[f"{name}_id"] = data.get(name)
        return out

    def query(self, **extra: Any) -> str:
        """The form's values as a query string (for CSV links and cross-page links), `extra` overriding."""
        from django.http import QueryDict

        q = QueryDict(mutable=True)
        for name in self.fields:
            value = self.cleaned_data.get(name) if hasattr(self, "cleaned_data") else None
            if value is not None and not (name == "distributor" and self.scope.single_distributor_id is not None):
                q[name] = value.isoformat() if isinstance(value, date) else str(value)
        for key, value in extra.items():
            q[key] = str(value)
        return q.urlencode()
