"""django-import-export resources for master data: SKUs, outlets and price-list rows.

Only catalog.imports uses them: it reads the file, checks the header row and runs the import. Every
resource is built for one Scope: lookups go through the scoped default managers, a new row takes its
tenant (and a distributor user's distributor) from the scope, and no column can name a tenant or an id.

Widgets are strict on purpose: a cell that does not parse is a field error, never a silent default.
Numbers become Decimal from their text; an XLSX number cell arrives as a float and is accepted only when
its shortest representation is exact (at most 15 significant digits, what a spreadsheet cell holds).

An import costs a handful of queries, not a handful per row. Before the first row, the related rows the
file names by code (brands, distributors, SKUs) and the rows it may update are loaded in one query each
(`before_import`). Each row is then converted and validated in Python with no query: the model's field
rules (full_clean without its per-row unique and check-constraint queries), the check constraints
evaluated in Python (`check_constraint_errors`), uniqueness from the loaded rows plus the in-file
duplicate check. Only when every row is valid are the rows written, in bulk (`after_import`); the
database constraints remain the backstop, and a batch the database refuses is retried row by row so
the refusal is still reported against its spreadsheet row.
"""

from __future__ import annotations

import datetime
import json
import math
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db import DatabaseError, IntegrityError, connections, models, router, transaction
from django.db.models import F, Q
from django.utils import timezone
from import_export import fields, resources, widgets

from dms.tenancy.context import NoTenantInContext
from dms.tenancy.models import Distributor, DistributorModel
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

# Codes per `code__in` query when loading what a file names, and rows per INSERT/UPDATE when writing.
LOOKUP_CHUNK = 5_000
SAVE_BATCH = 1_000

T = TypeVar("T")


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


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
    (or a sibling distributor) is simply unknown.

    `preload` fetches every code of a file in one query before the rows are read; a code it did not
    find is unknown without another query. A code not preloaded is looked up on its own.
    """

    def __init__(self, model: type[models.Model], label: str, *, required: bool = True) -> None:
        super().__init__()
        self.model = model
        self.label = label
        self.required = required
        # Per resource instance (each resource deep-copies its fields): one import, one scope.
        self._found: dict[str, Any] = {}
        self._missing: set[str] = set()

    def _lookup(self, codes: Sequence[str]) -> dict[str, Any]:
        qs: models.QuerySet[Any] = self.model._default_manager.filter(code__in=codes)
        if not qs.ordered:
            qs = qs.order_by("pk")
        found: dict[str, Any] = {}
        for obj in qs:
            found.setdefault(obj.code, obj)  # as .first() would pick, were a code ever not unique
        return found

    def preload(self, codes: Iterable[str]) -> None:
        wanted = sorted({c for c in codes if c} - self._found.keys() - self._missing)
        # PostgreSQL text cannot hold NUL, so no row has such a code (and the driver refuses to send one).
        self._missing.update(c for c in wanted if "\x00" in c)
        wanted = [c for c in wanted if "\x00" not in c]
        for chunk in _chunks(wanted, LOOKUP_CHUNK):
            found = self._lookup(chunk)
            self._found.update(found)
            self._missing.update(c for c in chunk if c not in found)

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Any:
        code = cell_text(value)
        if not code:
            if self.required:
                raise ValueError(f"Enter the {self.label} code.")
            return None
        if code not in self._found and code not in self._missing:
            self.preload([code])
        found = self._found.get(code)
        if found is None:
            raise ValueError(f"No {self.label} with code '{code}'.")
        return found

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return "" if value is None else value.code


def _field(name: str, widget: widgets.Widget, *, column: str | None = None, readonly: bool = False,
           default: Any = models.NOT_PROVIDED) -> fields.Field:
    return fields.Field(attribute=name, column_name=column or name, widget=widget, readonly=readonly,
                        default=default)


def _column_codes(dataset: Any, column: str) -> set[str]:
    """The non-blank codes of a column; a cell that is not text is left to its row's error."""
    if column not in dataset.headers:
        return set()
    codes = set()
    for value in dataset.get_col(dataset.headers.index(column)):
        try:
            code = cell_text(value)
        except ValueError:
            continue
        if code and "\x00" not in code:  # no stored code holds NUL (nor can a query send one)
            codes.add(code)
    return codes


def _key_part(value: Any) -> Any:
    return value.pk if isinstance(value, models.Model) else value


# --- check constraints, evaluated in Python -------------------------------------------------------------
# full_clean(validate_constraints=True) checks each CheckConstraint with a query (SELECT 1 WHERE ...) per
# row. The conditions of our models are plain comparisons of the row's own fields, so they are evaluated
# here, with SQL's rules: NULL compares as unknown and an unknown condition passes. A condition this does
# not read (a join, a function, a string ordering that depends on the collation) still goes to the query.

class _NotEvaluable(Exception):
    pass


_ORDERED = (int, float, Decimal, datetime.date, datetime.time, datetime.timedelta)
_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "exact": operator.eq, "gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


def _own_value(instance: models.Model, name: str) -> Any:
    try:
        field = instance._meta.get_field(name)
    except FieldDoesNotExist as exc:
        raise _NotEvaluable(name) from exc
    if not isinstance(field, models.Field) or not field.concrete:
        raise _NotEvaluable(name)
    return getattr(instance, field.attname)


def _comparable(lhs: Any, rhs: Any, lookup: str) -> bool:
    if isinstance(lhs, str) or isinstance(rhs, str):
        return lookup == "exact" and isinstance(lhs, str) and isinstance(rhs, str)
    return isinstance(lhs, _ORDERED) and isinstance(rhs, _ORDERED)


def _lookup_holds(path: str, rhs: Any, instance: models.Model) -> bool | None:
    name, _, lookup = path.partition("__")
    lookup = lookup or "exact"
    lhs = _own_value(instance, name)
    if lookup == "isnull" and isinstance(rhs, bool):
        return (lhs is None) is rhs
    if lookup == "exact" and rhs is None:
        return lhs is None  # Django reads field=None as IS NULL
    if lookup == "in" and isinstance(rhs, (list, tuple, set, frozenset)):
        if lhs is None:
            return None
        if not all(v is not None and _comparable(lhs, v, "exact") for v in rhs):
            raise _NotEvaluable(path)
        return lhs in rhs
    if isinstance(rhs, F):
        rhs = _own_value(instance, rhs.name)
    elif hasattr(rhs, "resolve_expression"):
        raise _NotEvaluable(path)
    compare = _COMPARISONS.get(lookup)
    if compare is None:
        raise _NotEvaluable(path)
    if lhs is None or rhs is None:
        return None
    if not _comparable(lhs, rhs, lookup):
        raise _NotEvaluable(path)
    try:
        return bool(compare(lhs, rhs))
    except TypeError as exc:  # e.g. naive against aware datetimes
        raise _NotEvaluable(path) from exc


def condition_holds(condition: Q, instance: models.Model) -> bool | None:
    """A Q of the instance's own fields in SQL's three-valued logic: True, False or None (unknown).
    Raises _NotEvaluable for what it does not read."""
    results: list[bool | None] = []
    for child in condition.children:
        if isinstance(child, Q):
            results.append(condition_holds(child, instance))
        elif isinstance(child, tuple) and len(child) == 2:
            results.append(_lookup_holds(child[0], child[1], instance))
        else:
            raise _NotEvaluable(repr(child))
    if condition.connector == Q.AND:
        value = False if False in results else None if None in results else True
    elif condition.connector == Q.OR:
        value = True if True in results else None if None in results else False
    else:
        raise _NotEvaluable(condition.connector)
    return value if value is None or not condition.negated else not value


def check_constraint_errors(instance: models.Model, skip: set[str]) -> dict[str, list[ValidationError]]:
    """The model's CheckConstraints as full_clean checks them, without its query per constraint.

    A constraint on a field in `skip` (one that already has an error) is not checked, as in full_clean.
    A violation is reported against the constraint's field when it has one, else against the row.
    """
    errors: dict[str, list[ValidationError]] = {}
    model = type(instance)
    for constraint in model._meta.constraints:
        if not isinstance(constraint, models.CheckConstraint):
            continue
        condition = constraint.condition if isinstance(constraint.condition, Q) else Q(constraint.condition)
        referenced = condition.referenced_base_fields
        if referenced & skip:
            continue
        try:
            holds = condition_holds(condition, instance) is not False
        except _NotEvaluable:
            try:
                constraint.validate(model, instance, exclude=skip)  # type: ignore[attr-defined]  # not in the stubs
                holds = True
            except ValidationError:
                holds = False
        if not holds:
            key = next(iter(referenced)) if len(referenced) == 1 else NON_FIELD_ERRORS
            errors.setdefault(key, []).append(
                ValidationError(constraint.get_violation_error_message(), code=constraint.violation_error_code))
    return errors


class ScopedResource(resources.ModelResource):
    """A resource bound to one Scope. Rows are upserted by their code within the scope.

    The import runs in three steps (see the module docstring): load what the file names and the rows it
    may update (before_import), convert and validate each row with no query (import-export's row loop;
    `use_bulk` in Meta means no savepoint per row), write the valid rows in bulk (after_import). Nothing
    is written when any row is invalid: masters_import rolls the whole import back anyway.
    """

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
        # The rows the file may update, by their key within the scope; loaded once by before_import.
        self._existing: dict[tuple[Any, ...], Any] = {}
        # Valid rows waiting to be written: (library row number, instance).
        self._creates: list[tuple[int, Any]] = []
        self._updates: list[tuple[int, Any]] = []
        self._update_fields: list[str] = []

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

    # --- before the rows: load what the file names, once ------------------------------------------
    def export_queryset(self) -> models.QuerySet:
        raise NotImplementedError

    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        self._load_related(dataset)
        self.prepare_rows(dataset)
        self._existing = {self.instance_key(obj): obj for obj in self.existing_rows(dataset)}
        self._update_fields = self._fields_to_update(dataset)

    def _load_related(self, dataset: Any) -> None:
        """Every related row the file names by code, one query per related model."""
        for f in self.fields.values():
            if isinstance(f.widget, CodeWidget):
                f.widget.preload(_column_codes(dataset, f.column_name))

    def prepare_rows(self, dataset: Any) -> None:
        """Work before the rows are read, once the related rows are loaded."""

    def existing_rows(self, dataset: Any) -> Iterable[Any]:
        """The scope's rows whose code the file names: the rows it may update."""
        codes = sorted(_column_codes(dataset, self.fields["code"].column_name))
        for chunk in _chunks(codes, LOOKUP_CHUNK):
            yield from self.get_queryset().filter(code__in=chunk).order_by()

    def _id_attnames(self) -> list[str]:
        opts = self._meta.model._meta
        return [opts.get_field(self.fields[name].attribute).attname for name in self.get_import_id_fields()]

    def instance_key(self, instance: Any) -> tuple[Any, ...]:
        return tuple(getattr(instance, attname) for attname in self._id_attnames())

    def row_key(self, row: dict[str, Any]) -> tuple[Any, ...] | None:
        """The key of the existing row this row names, or None when its key cells are blank or bad (the
        bad cell is then reported by import_instance against its column)."""
        try:
            key = tuple(_key_part(self.fields[name].clean(row)) for name in self.get_import_id_fields())
        except (ValueError, KeyError):
            return None
        if any(v is None or v == "" for v in key):
            return None
        return key

    def _fields_to_update(self, dataset: Any) -> list[str]:
        """The model fields an update writes: those of the file's columns, except the key, and updated_at."""
        names = {f.name for f in self._meta.model._meta.concrete_fields}
        key = {self.fields[name].attribute for name in self.get_import_id_fields()}
        chosen = [f.attribute for f in self.get_import_fields()
                  if f.column_name in dataset.headers and not f.readonly and f.attribute in names
                  and f.attribute not in key]
        return [*chosen, "updated_at"] if "updated_at" in names else chosen

    # --- each row: no query ----------------------------------------------------------------------
    def get_instance(self, instance_loader: Any, row: dict[str, Any]) -> Any:
        key = self.row_key(row)
        return None if key is None else self._existing.get(key)

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

    def validate_instance(self, instance: Any, import_validation_errors: dict[str, Any] | None = None,
                          validate_unique: bool = True) -> None:
        """full_clean's field rules, and its constraint rules without a query per row.

        - A foreign key that is set is not looked up again: it came from the scope (tenant, a distributor
          user's distributor), from a row loaded through the scoped managers (an update), or from a
          CodeWidget lookup through the scoped managers. An unset one still fails as "cannot be null".
        - Unique constraints: every one is (tenant[, distributor], key), and the row's key was looked up in
          the scope's rows (an existing row is updated, not duplicated) and checked against the file's
          other rows (before_import_row). The database constraint is the backstop at write time.
        - Check constraints: evaluated in Python (check_constraint_errors), with full_clean's messages.
        """
        errors: dict[str, Any] = dict(import_validation_errors or {})
        exclude = set(errors) | {f.name for f in self._meta.model._meta.concrete_fields
                                 if f.is_relation and getattr(instance, f.attname) is not None}
        try:
            instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        for attribute, messages in check_constraint_errors(instance, skip=set(errors) - {NON_FIELD_ERRORS}).items():
            errors.setdefault(attribute, []).extend(messages)
        if errors:
            raise ValidationError(errors)

    def save_instance(self, instance: Any, is_create: bool, row: dict[str, Any], **kwargs: Any) -> None:
        """Queue the valid row; after_import writes the queued rows once every row has been validated."""
        (self._creates if is_create else self._updates).append((kwargs["row_number"], instance))

    # --- after the rows: write them all, or nothing ---------------------------------------------------
    def after_import(self, dataset: Any, result: Any, **kwargs: Any) -> None:
        # Not ModelResource.after_import: it resets the id sequence to max(id) when rows were created, and
        # under row-level security max(id) sees only this tenant's rows, so it could rewind the shared
        # sequence into other tenants' ids. Files never carry ids, so there is nothing to reset.
        if result.has_errors() or result.has_validation_errors() or self.pre_errors:
            return  # the import is rolled back: writing the valid rows would be wasted
        now = timezone.now()
        for _, instance in self._updates:
            instance.updated_at = now  # bulk_update does not apply auto_now
        self._write(self._creates, create=True)
        self._write(self._updates, create=False)

    def _check_owner(self, instance: Any) -> None:
        """What TenantModel.save and DistributorModel.save check: bulk writes do not call save()."""
        if instance.tenant_id != self.scope.tenant_id:
            raise NoTenantInContext(f"{type(instance).__name__} belongs to another tenant than the scope")
        if isinstance(instance, DistributorModel) and not self.scope.can_access_distributor(instance.distributor_id):
            raise NoTenantInContext(f"{type(instance).__name__} belongs to a distributor outside the scope")

    def _bulk_update(self, instances: list[Any]) -> None:
        """UPDATE ... FROM (VALUES ...): one statement for the batch, the rows restricted to the scope as
        the scoped manager would. Django's bulk_update builds a CASE WHEN expression per value, which
        costs milliseconds a row in Python; the values here are prepared by the fields themselves."""
        model = self._meta.model
        opts = model._meta
        db = router.db_for_write(model)
        connection = connections[db]
        qn = connection.ops.quote_name
        columns = [opts.pk, *(opts.get_field(name) for name in self._update_fields)]
        types = [f.db_type(connection) for f in columns]
        if None in types:  # a field without a column type to cast to: let Django do it
            model._default_manager.bulk_update(instances, self._update_fields)
            return
        row_sql = "(" + ", ".join(f"%s::{t}" for t in types) + ")"
        params: list[Any] = []
        for instance in instances:
            params.extend(f.get_db_prep_save(getattr(instance, f.attname), connection) for f in columns)
        where = [f"t.{qn(opts.pk.column)} = v.{qn(opts.pk.column)}", f"t.{qn('tenant_id')} = %s"]
        params.append(self.scope.tenant_id)
        if issubclass(model, DistributorModel) and self.scope.distributor_ids is not None:
            where.append(f"t.{qn('distributor_id')} = ANY(%s)")
            params.append(sorted(self.scope.distributor_ids))
        sql = (f"UPDATE {qn(opts.db_table)} AS t SET "
               + ", ".join(f"{qn(f.column)} = v.{qn(f.column)}" for f in columns[1:])
               + f" FROM (VALUES {', '.join([row_sql] * len(instances))}) AS v("
               + ", ".join(qn(f.column) for f in columns) + ") WHERE " + " AND ".join(where))
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            if cursor.rowcount != len(instances):
                raise DatabaseError(f"{len(instances) - cursor.rowcount} of the {len(instances)} "
                                    f"{opts.verbose_name_plural} to update no longer exist (deleted meanwhile).")

    def _write(self, rows: list[tuple[int, Any]], *, create: bool) -> None:
        """Write rows in batches of SAVE_BATCH. A batch the database refuses (a row written meanwhile by
        someone else, a value it rejects) is retried row by row to report each refused row by number."""
        manager = self._meta.model._default_manager

        def write(instances: list[Any]) -> None:
            with transaction.atomic(using=router.db_for_write(self._meta.model)):
                if create:
                    manager.bulk_create(instances)
                else:
                    self._bulk_update(instances)

        for _, instance in rows:
            self._check_owner(instance)
        for batch in _chunks(rows, SAVE_BATCH):
            try:
                write([instance for _, instance in batch])
                continue
            except (DatabaseError, ValueError) as exc:
                batch_error = exc
            refused = False
            for number, instance in batch:
                try:
                    write([instance])
                except (DatabaseError, ValueError) as exc:
                    refused = True
                    self.pre_errors.append((self.spreadsheet_row(number), "", f"Could not be saved: {exc}"))
            if not refused:
                self.pre_errors.append((None, "", f"Could not be saved: {batch_error}"))


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
        use_bulk = True  # no savepoint per row; ScopedResource.save_instance queues, after_import writes

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
        use_bulk = True  # no savepoint per row; ScopedResource.save_instance queues, after_import writes

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
        use_bulk = True  # no savepoint per row; ScopedResource.save_instance queues, after_import writes

    def __init__(self, *, scope: Scope, line_numbers: Sequence[int] = ()) -> None:
        super().__init__(scope=scope, line_numbers=line_numbers)
        self.headers: dict[str, PriceList] = {}
        self.bad_headers: dict[str, int] = {}
        self.headers_created = 0
        self.headers_updated = 0
        self._lists: dict[str, PriceList] = {}  # the file's existing lists by code, loaded once

    def export_queryset(self) -> models.QuerySet:
        lists = self.scope.filter_optional_distributor(PriceList.objects.all())
        return (PriceListItem.objects.filter(price_list__in=lists)
                .select_related("price_list", "price_list__distributor", "sku")
                .order_by("price_list__code", "sku__code"))

    # --- headers: created or updated before the items, in the same transaction --------------------
    def prepare_rows(self, dataset: Any) -> None:
        codes = sorted(_column_codes(dataset, "price_list_code"))
        for chunk in _chunks(codes, LOOKUP_CHUNK):
            self._lists.update((pl.code, pl) for pl in PriceList.objects.filter(code__in=chunk))
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
        price_list = self._lists.get(code)
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

    def existing_rows(self, dataset: Any) -> Iterable[Any]:
        """The items of the file's lists (their headers are saved by now)."""
        ids = sorted(header.pk for header in self.headers.values())
        for chunk in _chunks(ids, LOOKUP_CHUNK):
            yield from PriceListItem.objects.filter(price_list_id__in=chunk).order_by()

    def instance_key(self, instance: Any) -> tuple[Any, ...]:
        return (instance.price_list_id, instance.sku_id)

    def row_key(self, row: dict[str, Any]) -> tuple[Any, ...] | None:
        header = self._header_of(row)
        try:
            sku = self.fields["sku_code"].clean(row)
        except (ValueError, KeyError):
            return None
        if header is None or sku is None:
            return None
        return (header.pk, sku.pk)

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
