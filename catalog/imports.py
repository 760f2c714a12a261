"""Import and export of master data (SKUs, outlets, price lists) as CSV or XLSX.

The one entry point for the admin and the management commands. The tenant and the distributor always
come from the scope, never from the file: a file naming a tenant or an id is refused, and a distributor
code only counts where the scope allows that distributor.

An import is all-or-nothing: every row is validated (the model's field and constraint rules, opening
hours, duplicates within the file) and only when all are valid are they written, in bulk, in one
savepoint; if any row fails, the savepoint is rolled back and the report lists every failing row, a row
the database refuses included. Row numbers are spreadsheet rows (the header is row 1, the first data row
row 2). The queries do not grow with the rows (catalog.resources): what the file names is loaded once.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import openpyxl
import tablib
from django.db import transaction
from import_export.results import RowResult
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from dms.core.errors import DomainError
from dms.tenancy.context import current_scope, tenant_scope
from dms.tenancy.enums import ActorKind, Role
from dms.tenancy.models import Distributor, Tenant
from dms.tenancy.scope import Actor, Scope

from .resources import RESOURCES, ScopedResource, cell_text

KINDS = tuple(RESOURCES)
FORMATS = ("csv", "xlsx")
ROW_CONVENTION = "Row numbers are spreadsheet rows: the header is row 1, the first data row is row 2."
MAX_ROWS = 50_000

MASTER_WRITERS = frozenset({Role.MANUFACTURER_ADMIN, Role.MANUFACTURER_SYSTEM})
OUTLET_WRITERS = MASTER_WRITERS | {Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF}
# Columns that would decide where a row lands; they come from the scope only.
SCOPE_COLUMNS = frozenset({"id", "pk", "tenant", "tenant_id", "distributor", "distributor_id"})


@dataclass(frozen=True)
class ImportRowError:
    row: int | None  # spreadsheet row (header = 1); None for the whole file
    field: str
    message: str

    def __str__(self) -> str:
        where = "file" if self.row is None else f"row {self.row}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


@dataclass
class ImportReport:
    """What an import did. Counts are of rows saved, so they are 0 whenever errors is not empty."""

    kind: str
    created: int = 0
    updated: int = 0
    errors: list[ImportRowError] = field(default_factory=list)
    # price_lists only: headers created/updated alongside the item rows
    lists_created: int = 0
    lists_updated: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if self.errors:
            return f"{self.kind}: nothing imported, {len(self.errors)} error(s). {ROW_CONVENTION}"
        text = f"{self.kind}: {self.created} created, {self.updated} updated"
        if self.kind == "price_lists":
            text += f" (price lists: {self.lists_created} created, {self.lists_updated} updated)"
        return text + "."

    def lines(self) -> list[str]:
        return [self.summary(), *(str(e) for e in self.errors)]


class _FileError(Exception):
    pass


@dataclass
class _Table:
    headers: list[str]
    rows: list[list[Any]]
    line_numbers: list[int]
    errors: list[ImportRowError]


# --- permissions --------------------------------------------------------------------------------------

def _check_may_import(scope: Scope, kind: str) -> None:
    system = scope.actor.kind == ActorKind.SYSTEM
    if kind == "outlets":
        allowed = system or scope.role in OUTLET_WRITERS
    else:
        # SKUs and price lists are the manufacturer's; a distributor-narrowed scope never writes them.
        allowed = scope.distributor_ids is None and (system or scope.role in MASTER_WRITERS)
    if not allowed:
        raise DomainError("forbidden", f"This account cannot import {kind}.", status_code=403)


def _check_context(scope: Scope) -> None:
    # The managers and RLS follow the context; importing under another scope would mix the two.
    context = current_scope()
    if context.tenant_id != scope.tenant_id or context.distributor_ids != scope.distributor_ids:
        raise RuntimeError("masters_import/masters_export must run inside tenant_scope(scope) of the same scope")


def _resource_class(kind: str, file_format: str) -> type[ScopedResource]:
    if kind not in RESOURCES:
        raise DomainError("invalid", f"Unknown kind '{kind}'; use one of {', '.join(KINDS)}.")
    if file_format not in FORMATS:
        raise DomainError("invalid", f"Unknown format '{file_format}'; use csv or xlsx.")
    return RESOURCES[kind]


def masters_columns(*, scope: Scope, kind: str) -> tuple[list[str], list[str]]:
    """(required, optional) columns of a file of `kind` for this scope."""
    resource = _resource_class(kind, "csv")(scope=scope)
    required = list(resource.required_columns)
    return required, [c for c in resource.columns if c not in required]


# --- reading and writing files ---------------------------------------------------------------------

def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _records_csv(data: bytes) -> list[list[Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _FileError("The file is not UTF-8 text; save it as 'CSV UTF-8'.") from exc
    try:
        return [list(r) for r in csv.reader(io.StringIO(text, newline=""), strict=True)]
    except csv.Error as exc:
        raise _FileError(f"The file is not valid CSV: {exc}.") from exc


def _records_xlsx(data: bytes) -> list[list[Any]]:
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise _FileError("The file could not be read as an XLSX workbook.") from exc
    try:
        # The first sheet, whichever was active when the file was saved.
        return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def _read_table(data: bytes, file_format: str) -> _Table:
    records = _records_csv(data) if file_format == "csv" else _records_xlsx(data)
    if not records:
        raise _FileError("The file is empty.")
    if all(_blank(c) for c in records[0]):
        raise _FileError("Row 1 must be the header row, naming the columns.")
    errors: list[ImportRowError] = []
    header_cells = records[0]
    headers = []
    for cell in header_cells:
        try:
            headers.append(cell_text(cell).lower())
        except ValueError:
            headers.append(str(cell))
    rows: list[list[Any]] = []
    line_numbers: list[int] = []
    width = len(headers)
    for line, record in enumerate(records[1:], start=2):
        cells = list(record)
        if all(_blank(c) for c in cells):
            continue
        if any(not _blank(c) for c in cells[width:]):
            errors.append(ImportRowError(line, "", f"The row has more cells than the header's {width} columns."))
            continue
        rows.append((cells + [None] * width)[:width])
        line_numbers.append(line)
    # Spreadsheets often carry empty, unnamed columns; drop them unless they hold data.
    keep = []
    for index, name in enumerate(headers):
        if name:
            keep.append(index)
        elif any(not _blank(r[index]) for r in rows):
            errors.append(ImportRowError(1, "", f"Column {index + 1} has data but no header."))
    if len(rows) > MAX_ROWS:
        raise _FileError(f"The file has {len(rows)} data rows; import at most {MAX_ROWS} at a time.")
    return _Table([headers[i] for i in keep], [[r[i] for i in keep] for r in rows], line_numbers, errors)


def _check_headers(resource: ScopedResource, headers: list[str]) -> list[ImportRowError]:
    errors = []
    accepted = resource.columns
    seen: set[str] = set()
    for name in headers:
        if name in seen:
            errors.append(ImportRowError(1, name, "The column appears twice."))
        seen.add(name)
        if name in accepted:
            continue
        if name in SCOPE_COLUMNS:
            errors.append(ImportRowError(1, name, "Not accepted: the tenant and distributor of the rows come from "
                                                  "the account importing the file, never from the file."))
        else:
            errors.append(ImportRowError(1, name, f"Unknown column; the columns are {', '.join(accepted)}."))
    errors.extend(ImportRowError(1, name, "Required column is missing.")
                  for name in resource.required_columns if name not in headers)
    return errors


def _write_csv(dataset: tablib.Dataset) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(dataset.headers)
    for row in dataset:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue().encode("utf-8")


def _write_xlsx(dataset: tablib.Dataset, title: str) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append(dataset.headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for r, row in enumerate(dataset, start=2):
        for c, value in enumerate(row, start=1):
            if isinstance(value, str):
                # openpyxl refuses control characters; they have no place in master data anyway.
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
            cell = sheet.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text stays text: "=..." never becomes a formula
            elif isinstance(value, (date, datetime)):
                cell.number_format = "yyyy-mm-dd"
    for c, header in enumerate(dataset.headers, start=1):
        width = max([len(str(header)), *(len(str(v)) for v in dataset.get_col(c - 1))], default=8)
        sheet.column_dimensions[get_column_letter(c)].width = min(width + 2, 60)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def command_scope(*, tenant_slug: str, distributor_code: str | None, label: str) -> Scope:
    """The scope of a management command: the tenant's system scope, or narrowed to one distributor.

    Both come from the operator's arguments, never from the file. Opens (and closes) its own
    tenant_scope to look the distributor up; the caller then enters tenant_scope(scope) for the work.
    """
    tenant = Tenant.objects.filter(slug=tenant_slug, active=True).first()
    if tenant is None:
        raise DomainError("not_found", f"No active tenant with slug '{tenant_slug}'.")
    scope = Scope.system(tenant.pk, label=label)
    if not distributor_code:
        return scope
    with tenant_scope(scope):
        distributor = Distributor.objects.filter(code=distributor_code).first()
    if distributor is None:
        raise DomainError("not_found", f"Tenant '{tenant_slug}' has no distributor '{distributor_code}'.")
    return Scope(tenant_id=tenant.pk, distributor_ids=frozenset({distributor.pk}), actor=Actor.system(label))


# --- services -----------------------------------------------------------------------------------------

def masters_import(*, scope: Scope, kind: str, data: bytes, file_format: str) -> ImportReport:
    """Upsert `kind` rows from a CSV/XLSX file by code within the scope. All-or-nothing: any bad row
    means nothing is saved and the report names every bad row (spreadsheet number) and column.

    Runs inside the caller's tenant_scope(scope) transaction, in a savepoint of its own (and no savepoint
    per row). Idempotent: importing the same file twice updates the same rows.
    """
    resource_class = _resource_class(kind, file_format)
    _check_may_import(scope, kind)
    _check_context(scope)
    report = ImportReport(kind=kind)
    try:
        table = _read_table(data, file_format)
    except _FileError as exc:
        report.errors.append(ImportRowError(None, "", str(exc)))
        return report
    resource = resource_class(scope=scope, line_numbers=table.line_numbers)
    report.errors.extend(table.errors)
    report.errors.extend(_check_headers(resource, table.headers))
    if not report.errors and not table.rows:
        report.errors.append(ImportRowError(None, "", "The file has no data rows."))
    if report.errors:
        return report

    dataset = tablib.Dataset(*table.rows, headers=table.headers)
    with transaction.atomic():
        result = resource.import_data(dataset, dry_run=False, raise_errors=False, use_transactions=True,
                                      rollback_on_validation_errors=True)
        errors = [ImportRowError(row, column, message) for row, column, message in resource.pre_errors]
        errors.extend(ImportRowError(None, "", str(e.error)) for e in result.base_errors)
        for invalid in result.invalid_rows:
            line = resource.spreadsheet_row(invalid.number)
            errors.extend(ImportRowError(line, resource.column_for(attribute), str(message))
                          for attribute, messages in invalid.error_dict.items() for message in messages)
        for failed in result.error_rows:
            line = resource.spreadsheet_row(failed.number)
            errors.extend(ImportRowError(line, "", f"Could not be saved: {e.error}") for e in failed.errors)
        if errors:
            transaction.set_rollback(True)
            report.errors = sorted(set(errors), key=lambda e: (e.row or 0, e.field, e.message))
            return report
    report.created = result.totals[RowResult.IMPORT_TYPE_NEW]
    report.updated = result.totals[RowResult.IMPORT_TYPE_UPDATE]
    report.lists_created = getattr(resource, "headers_created", 0)
    report.lists_updated = getattr(resource, "headers_updated", 0)
    return report


def masters_export(*, scope: Scope, kind: str, file_format: str) -> bytes:
    """Every `kind` row the scope can see, in the import's columns: exporting then importing is a no-op."""
    resource = _resource_class(kind, file_format)(scope=scope)
    _check_context(scope)
    dataset = resource.export(resource.export_queryset(), force_native_type=file_format == "xlsx")
    return _write_csv(dataset) if file_format == "csv" else _write_xlsx(dataset, title=kind)
