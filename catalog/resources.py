"""django-import-export resources for master data: SKUs, outlets and price-list rows.

Only catalog.imports uses them: it reads the file, checks the header row and runs the import. Every
resource is built for one Scope: lookups go through the scoped default managers, a new row takes its
tenant (and a distributor user's distributor) from the scope, and no column can name a tenant or an id.

Widgets are strict on purpose: a cell that does not parse is a field error, never a silent default.
Numbers become Decimal from their text; an XLSX number cell arrives as a float and is accepted only when
its shortest representation is exact (at most 15 significant digits, what a spreadsheet cell holds).
"""

from __future__ import annotations

import datetime
import json
import math
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, models, transaction
from import_export import fields, resources, widgets

from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope

from .enums import Channel
from .models import Brand, Outlet, PriceList, PriceListItem, Sku
from .validation import validate_opening_hours

# A double holds 15 significant decimal digits exactly; a longer repr may not be what was typed.
EXACT_FLOAT_DIGITS = 15
_DECIMAL_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_INTEGER_TEXT = re.compile(r"^[+-]?\d+$")
_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TRUE_TEXT = frozenset({"true", "yes", "y", "1"})
FALSE_TEXT = frozenset({"false", "no", "n", "0"})

RowError = tuple[int | None, str, str]  # (spreadsheet row, column, message)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _significant_digits(value: Decimal) -> int:
    return len(value.normalize().as_tuple().digits)


def cell_text(value: Any) -> str:
    """A cell as text. XLSX gives numbers for numeric-looking codes (1001 -> "1001")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        raise ValueError("Expected text, found a TRUE/FALSE cell.")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("Expected text, found a non-finite number.")
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (datetime.date, datetime.time)):
        raise ValueError("Expected text, found a date cell; format the column as text.")
    return str(value).strip()


def cell_decimal(value: Any) -> Decimal | None:
    if _is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError("Enter a number, not TRUE/FALSE.")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("Enter a finite number.")
        number = Decimal(repr(value))
        if _significant_digits(number) > EXACT_FLOAT_DIGITS:
            raise ValueError(f"The number cell {value!r} has more than {EXACT_FLOAT_DIGITS} significant digits and "
                             "cannot be read exactly; round it or format the cell as text.")
    elif isinstance(value, str):
        text = value.strip()
        if not _DECIMAL_TEXT.match(text):
            raise ValueError(f"'{text}' is not a number; write it like 1234.50 (a dot for decimals, "
                             "no thousands separators).")
        number = Decimal(text)
    else:
        raise ValueError("Enter a number.")
    return number


class TextWidget(widgets.Widget):
    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str:
        return cell_text(value)

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return "" if value is None else str(value)


class ExactDecimalWidget(widgets.Widget):
    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Decimal | None:
        return cell_decimal(value)

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> Any:
        if value is None:
            return ""
        # XLSX stores numbers as doubles: a longer value goes out as text so that it comes back exact.
        if kwargs.get("force_native_type") and _significant_digits(value) <= EXACT_FLOAT_DIGITS:
            return value
        return format(value, "f")


class StrictIntegerWidget(widgets.Widget):
    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> int | None:
        if _is_blank(value):
            return None
        if isinstance(value, bool):
            raise ValueError("Enter a whole number, not TRUE/FALSE.")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and _INTEGER_TEXT.match(value.strip()):
            return int(value.strip())
        raise ValueError(f"'{value}' is not a whole number.")

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> Any:
        if value is None:
            return ""
        return value if kwargs.get("force_native_type") else str(value)


class StrictBooleanWidget(widgets.Widget):
    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> bool | None:
        if _is_blank(value):
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        text = str(value).strip().lower()
        if text in TRUE_TEXT:
            return True
        if text in FALSE_TEXT:
            return False
        raise ValueError(f"'{value}' is not true or false.")

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> Any:
        if value is None:
            return ""
        return value if kwargs.get("force_native_type") else ("true" if value else "false")


class IsoDateWidget(widgets.Widget):
    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> datetime.date | None:
        if _is_blank(value):
            return None
        if isinstance(value, datetime.datetime):
            if value.time() != datetime.time(0):
                raise ValueError("Enter a date without a time.")
            return value.date()
        if isinstance(value, datetime.date):
            return value
        text = str(value).strip()
        if _DATE_TEXT.match(text):
            try:
                return datetime.date.fromisoformat(text)
            except ValueError:
                pass
        raise ValueError(f"'{text}' is not a date; write it as YYYY-MM-DD.")

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> Any:
        if value is None:
            return ""
        return value if kwargs.get("force_native_type") else value.isoformat()


class OpeningHoursWidget(widgets.Widget):
    """JSON text, e.g. {"mon": [["08:00", "13:00"]]}, checked by catalog.validation."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> dict[str, list[list[str]]] | None:
        if _is_blank(value):
            return None
        if not isinstance(value, str):
            raise ValueError('Enter opening hours as JSON text, e.g. {"mon": [["08:00", "20:00"]]}.')
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"Not valid JSON ({exc.msg} at character {exc.pos + 1}).") from exc
        return validate_opening_hours(parsed)

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return json.dumps(value, ensure_ascii=False) if value else ""


class CodeWidget(widgets.Widget):
    """A related row by its code, looked up through the scoped default manager: a code of another tenant
    (or a sibling distributor) is simply unknown."""

    def __init__(self, model: type[models.Model], label: str, *, required: bool = True) -> None:
        super().__init__()
        self.model = model
        self.label = label
        self.required = required
        # Hits only, per resource instance (each resource deep-copies its fields): one import, one scope.
        self._found: dict[str, Any] = {}

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Any:
        code = cell_text(value)
        if not code:
            if self.required:
                raise ValueError(f"Enter the {self.label} code.")
            return None
        found = self._found.get(code) or self.model._default_manager.filter(code=code).first()
        if found is None:
            raise ValueError(f"No {self.label} with code '{code}'.")
        self._found[code] = found
        return found

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return "" if value is None else value.code


def _field(name: str, widget: widgets.Widget, *, column: str | None = None, readonly: bool = False,
           default: Any = models.NOT_PROVIDED) -> fields.Field:
    return fields.Field(attribute=name, column_name=column or name, widget=widget, readonly=readonly,
                        default=default)


class ScopedResource(resources.ModelResource):
    """A resource bound to one Scope. Rows are upserted by their code within the scope."""

    required_columns: tuple[str, ...] = ()
    # Model attributes whose errors belong to a differently named column.
    error_columns: ClassVar[dict[str, str]] = {}
    duplicate_attribute: ClassVar[str] = "code"

    def __init__(self, *, scope: Scope, line_numbers: Sequence[int] = ()) -> None:
        super().__init__()
        self.scope = scope
        self.line_numbers = list(line_numbers)
        self.pre_errors: list[RowError] = []
        self._first_row_of: dict[tuple[str, ...], int] = {}

    # --- columns and row numbers ----------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        return [f.column_name for f in self.get_export_fields()]

    def column_for(self, attribute: str) -> str:
        if attribute == NON_FIELD_ERRORS:
            return ""
        if attribute in self.error_columns:
            return self.error_columns[attribute]
        for f in self.fields.values():
            if f.attribute == attribute:
                return f.column_name
        return attribute

    def spreadsheet_row(self, number: int) -> int:
        """The library counts data rows from 1; the spreadsheet shows the header as row 1."""
        if 0 < number <= len(self.line_numbers):
            return self.line_numbers[number - 1]
        return number + 1

    # --- import hooks ---------------------------------------------------------------------------
    def export_queryset(self) -> models.QuerySet:
        raise NotImplementedError

    def get_instance(self, instance_loader: Any, row: dict[str, Any]) -> Any:
        try:
            params = {self.fields[name].attribute: self.fields[name].clean(row)
                      for name in self.get_import_id_fields()}
        except (ValueError, KeyError):
            return None  # import_instance reports the bad cell against its column
        if any(v in (None, "") for v in params.values()):
            return None
        return self.get_queryset().filter(**params).first()

    def after_init_instance(self, instance: Any, new: bool, row: dict[str, Any], **kwargs: Any) -> None:
        if new:
            instance.tenant_id = self.scope.tenant_id

    def before_import_row(self, row: dict[str, Any], **kwargs: Any) -> None:
        try:
            key = tuple(cell_text(row.get(self.fields[name].column_name)) for name in self.get_import_id_fields())
        except ValueError:
            return
        if not all(key):
            return
        line = self.spreadsheet_row(kwargs["row_number"])
        first = self._first_row_of.setdefault(key, line)
        if first != line:
            raise ValidationError({self.duplicate_attribute: f"Duplicate of row {first}: each one may appear "
                                                              "only once in a file."})

    def after_import(self, dataset: Any, result: Any, **kwargs: Any) -> None:
        # Not ModelResource.after_import: it resets the id sequence to max(id) when rows were created, and
        # under row-level security max(id) sees only this tenant's rows, so it could rewind the shared
        # sequence into other tenants' ids. Files never carry ids, so there is nothing to reset.
        return None


class SkuResource(ScopedResource):
    code = _field("code", TextWidget())
    name = _field("name", TextWidget())
    brand = _field("brand", CodeWidget(Brand, "brand"))
    pack_size = _field("pack_size", TextWidget())
    units_per_case = _field("units_per_case", StrictIntegerWidget())
    weight_kg_per_case = _field("weight_kg_per_case", ExactDecimalWidget(), default=Decimal("0"))
    volume_l_per_case = _field("volume_l_per_case", ExactDecimalWidget(), default=Decimal("0"))
    tax_class = _field("tax_class", TextWidget())
    active = _field("active", StrictBooleanWidget(), default=True)

    required_columns = ("code", "name", "brand", "units_per_case", "tax_class")

    class Meta:
        model = Sku
        fields = ("code", "name", "brand", "pack_size", "units_per_case", "weight_kg_per_case",
                  "volume_l_per_case", "tax_class", "active")
        import_id_fields = ("code",)
        clean_model_instances = True
        skip_diff = True
        use_transactions = True

    def export_queryset(self) -> models.QuerySet:
        return Sku.objects.filter(tenant_id=self.scope.tenant_id).select_related("brand").order_by("code")


class OutletResource(ScopedResource):
    """A distributor user (or a command narrowed to a distributor) imports its own outlets and has no
    distributor column; a manufacturer user names each outlet's distributor by code."""

    distributor = _field("distributor", CodeWidget(Distributor, "distributor"))
    code = _field("code", TextWidget())
    name = _field("name", TextWidget())
    channel = _field("channel", TextWidget(), default=Channel.GENERAL_TRADE.value)
    address = _field("address", TextWidget())
    lat = _field("lat", ExactDecimalWidget())
    lng = _field("lng", ExactDecimalWidget())
    opening_hours = _field("opening_hours", OpeningHoursWidget(), default=dict)
    credit_limit = _field("credit_limit", ExactDecimalWidget(), default=Decimal("0"))
    tax_id = _field("tax_id", TextWidget())
    active = _field("active", StrictBooleanWidget(), default=True)

    required_columns: tuple[str, ...] = ("distributor", "code", "name")

    class Meta:
        model = Outlet
        fields = ("distributor", "code", "name", "channel", "address", "lat", "lng", "opening_hours",
                  "credit_limit", "tax_id", "active")
        import_id_fields = ("distributor", "code")
        clean_model_instances = True
        skip_diff = True
        use_transactions = True

    def __init__(self, *, scope: Scope, line_numbers: Sequence[int] = ()) -> None:
        super().__init__(scope=scope, line_numbers=line_numbers)
        if self.fixed_distributor_id is not None:
            del self.fields["distributor"]
            self.required_columns = ("code", "name")

    @property
    def fixed_distributor_id(self) -> int | None:
        return self.scope.single_distributor_id

    def get_import_id_fields(self) -> Sequence[str]:
        return ("code",) if self.fixed_distributor_id is not None else ("distributor", "code")

    def get_queryset(self) -> models.QuerySet:
        return self.scope.filter(Outlet.objects.all())

    def after_init_instance(self, instance: Any, new: bool, row: dict[str, Any], **kwargs: Any) -> None:
        super().after_init_instance(instance, new, row, **kwargs)
        if new and self.fixed_distributor_id is not None:
            instance.distributor_id = self.fixed_distributor_id

    def export_queryset(self) -> models.QuerySet:
        return self.get_queryset().select_related("distributor").order_by("distributor__code", "code")


class PriceListRowResource(ScopedResource):
    """One row per price-list item; each row repeats its list's header (code, name, validity, channel and
    optional distributor code). The first row of a code creates or updates the PriceList; later rows of
    the same code must repeat the same header. Items are upserted by (list, SKU); items missing from the
    file are left as they are."""

    price_list_code = _field("price_list__code", TextWidget(), column="price_list_code", readonly=True)
    price_list_name = _field("price_list__name", TextWidget(), column="price_list_name", readonly=True)
    valid_from = _field("price_list__valid_from", IsoDateWidget(), column="valid_from", readonly=True)
    valid_to = _field("price_list__valid_to", IsoDateWidget(), column="valid_to", readonly=True)
    channel = _field("price_list__channel", TextWidget(), column="channel", readonly=True)
    distributor = _field("price_list__distributor", CodeWidget(Distributor, "distributor", required=False),
                         column="distributor", readonly=True)
    sku_code = _field("sku", CodeWidget(Sku, "SKU"), column="sku_code")
    case_price = _field("case_price", ExactDecimalWidget())

    required_columns = ("price_list_code", "price_list_name", "valid_from", "sku_code", "case_price")
    error_columns = {"price_list": "price_list_code"}
    duplicate_attribute = "sku"
    # header column -> PriceList attribute
    HEADER_COLUMNS: ClassVar[dict[str, str]] = {"price_list_name": "name", "valid_from": "valid_from",
                                                "valid_to": "valid_to", "channel": "channel",
                                                "distributor": "distributor"}

    class Meta:
        model = PriceListItem
        fields = ("price_list_code", "price_list_name", "valid_from", "valid_to", "channel", "distributor",
                  "sku_code", "case_price")
        export_order = fields
        import_id_fields = ("price_list_code", "sku_code")
        clean_model_instances = True
        skip_diff = True
        use_transactions = True

    def __init__(self, *, scope: Scope, line_numbers: Sequence[int] = ()) -> None:
        super().__init__(scope=scope, line_numbers=line_numbers)
        self.headers: dict[str, PriceList] = {}
        self.bad_headers: dict[str, int] = {}
        self.headers_created = 0
        self.headers_updated = 0

    def export_queryset(self) -> models.QuerySet:
        lists = self.scope.filter_optional_distributor(PriceList.objects.all())
        return (PriceListItem.objects.filter(price_list__in=lists)
                .select_related("price_list", "price_list__distributor", "sku")
                .order_by("price_list__code", "sku__code"))

    # --- headers: created or updated before the items, in the same transaction --------------------
    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        first_of: dict[str, tuple[int, dict[str, Any]]] = {}
        for number, values in enumerate(dataset, 1):
            row = dict(zip(dataset.headers, values, strict=True))
            line = self.spreadsheet_row(number)
            try:
                code = cell_text(row.get("price_list_code"))
            except ValueError:
                continue  # reported with the row
            if not code:
                continue
            header, errors = self._clean_header(row)
            self.pre_errors.extend((line, column, message) for column, message in errors)
            if code not in first_of:
                first_of[code] = (line, header)
                if errors:
                    self.bad_headers[code] = line
                else:
                    self._upsert_header(code, header, line)
                continue
            first_line, first = first_of[code]
            for column, value in header.items():
                if column in first and value != first[column]:
                    self.pre_errors.append((line, column, f"Differs from row {first_line}, the first row of price "
                                                          f"list {code}; every row of a list repeats its header."))

    def _clean_header(self, row: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        header: dict[str, Any] = {}
        errors: list[tuple[str, str]] = []
        for column in self.HEADER_COLUMNS:
            if column not in row:
                continue
            try:
                header[column] = self.fields[column].widget.clean(row[column])
            except ValueError as exc:
                errors.append((column, str(exc)))
        return header, errors

    def _upsert_header(self, code: str, header: dict[str, Any], line: int) -> None:
        price_list = PriceList.objects.filter(code=code).first()
        new = price_list is None
        if price_list is None:
            price_list = PriceList(code=code, tenant_id=self.scope.tenant_id)
        for column, value in header.items():
            setattr(price_list, self.HEADER_COLUMNS[column], value)
        errors: list[tuple[str, str]] = []
        if price_list.valid_from and price_list.valid_to and price_list.valid_to < price_list.valid_from:
            errors.append(("valid_to", "Must be on or after valid_from."))
        else:
            try:
                price_list.full_clean()
            except ValidationError as exc:
                by_attribute = {v: k for k, v in self.HEADER_COLUMNS.items()} | {"code": "price_list_code"}
                errors.extend((by_attribute.get(attribute, "" if attribute == NON_FIELD_ERRORS else attribute), m)
                              for attribute, messages in exc.message_dict.items() for m in messages)
        if not errors:
            try:
                with transaction.atomic():
                    price_list.save()
            except IntegrityError as exc:
                errors.append(("price_list_code", f"Could not be saved: {exc}"))
        if errors:
            self.pre_errors.extend((line, column, message) for column, message in errors)
            self.bad_headers[code] = line
            return
        self.headers[code] = price_list
        if new:
            self.headers_created += 1
        else:
            self.headers_updated += 1

    # --- items -------------------------------------------------------------------------------------
    def _header_of(self, row: dict[str, Any]) -> PriceList | None:
        try:
            return self.headers.get(cell_text(row.get("price_list_code")))
        except ValueError:
            return None

    def get_instance(self, instance_loader: Any, row: dict[str, Any]) -> Any:
        header = self._header_of(row)
        try:
            sku = self.fields["sku_code"].clean(row)
        except ValueError:
            return None
        if header is None or sku is None:
            return None
        return PriceListItem.objects.filter(price_list=header, sku=sku).first()

    def import_instance(self, instance: Any, row: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, Any] = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        header = self._header_of(row)
        if header is not None:
            instance.price_list = header
        else:
            try:
                code = cell_text(row.get("price_list_code"))
            except ValueError as exc:
                code, errors["price_list"] = "", [str(exc)]
            if code and code in self.bad_headers:
                errors["price_list"] = [f"The header of price list {code} has errors "
                                        f"(row {self.bad_headers[code]})."]
            elif not code and "price_list" not in errors:
                errors["price_list"] = ["Enter the price list code."]
        if errors:
            raise ValidationError(errors)


RESOURCES: dict[str, type[ScopedResource]] = {
    "skus": SkuResource,
    "outlets": OutletResource,
    "price_lists": PriceListRowResource,
}
