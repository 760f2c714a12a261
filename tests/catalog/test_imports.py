"""Master-data import/export (catalog.imports): round trips, all-or-nothing, scope, commands."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import openpyxl
import pytest
from django.apps import apps
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import CheckConstraint, DateField, DecimalField, Q, UniqueConstraint
from django.db.models.functions import Lower
from django.test.utils import CaptureQueriesContext

from catalog.imports import ImportRowError, masters_export, masters_import
from catalog.models import Outlet, PriceList, PriceListItem, Sku
from catalog.resources import OutletResource, _NotEvaluable, check_constraint_errors, condition_holds
from dms.core.errors import DomainError
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.principals import scope_for_user
from dms.tenancy.scope import Scope
from tests.factories.catalog import make_brand, make_outlet, make_price_list, make_sku

pytestmark = pytest.mark.django_db

SKU_HEADER = "code,name,brand,pack_size,units_per_case,weight_kg_per_case,volume_l_per_case,tax_class,active"
OUTLET_HEADER = "code,name,channel,address,lat,lng,opening_hours,credit_limit,tax_id,active"


def run_import(scope: Scope, kind: str, data: bytes | str, file_format: str = "csv") -> Any:
    if isinstance(data, str):
        data = data.encode()
    with tenant_scope(scope):
        return masters_import(scope=scope, kind=kind, data=data, file_format=file_format)


def run_export(scope: Scope, kind: str, file_format: str = "csv") -> bytes:
    with tenant_scope(scope):
        return masters_export(scope=scope, kind=kind, file_format=file_format)


def user_scope(cast: Any, role: str) -> Scope:
    scope = scope_for_user(cast.users[role])
    assert scope is not None
    return scope


def table(data: bytes, file_format: str) -> list[list[Any]]:
    if file_format == "csv":
        return list(csv.reader(io.StringIO(data.decode())))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def xlsx(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rows_of(scope: Scope, model: type, *fields: str) -> list[tuple[Any, ...]]:
    with tenant_scope(scope):
        return list(model.objects.order_by(*fields[:1]).values_list(*fields))


SKU_FIELDS = ("code", "name", "brand__code", "pack_size", "units_per_case", "weight_kg_per_case",
              "volume_l_per_case", "tax_class", "active")
OUTLET_FIELDS = ("code", "distributor__code", "name", "channel", "address", "lat", "lng", "opening_hours",
                 "credit_limit", "tax_id", "active")


@pytest.fixture
def catalog_a(cast_a: Any) -> dict[str, Any]:
    tid = cast_a.tenant.pk
    brand = make_brand(tid, code="FIZ", name="Fizz")
    skus = [
        make_sku(tid, brand=brand, code="FIZ-250", name="Fizz 250 ml", pack_size="250 ml x 24", units_per_case=24,
                 weight_kg_per_case=Decimal("6.125"), volume_l_per_case=Decimal("6.000")),
        make_sku(tid, brand=brand, code="FIZ-1500", name="Fizz 1.5 L, family", units_per_case=6,
                 weight_kg_per_case=Decimal("9.300"), volume_l_per_case=Decimal("9.000"), active=False),
    ]
    a1, a2 = cast_a.distributors
    outlets = [
        make_outlet(a1, code="O-1", name="Bismillah Store", address='12 "Main" Bazaar, Lahore',
                    opening_hours={"mon": [["08:00", "13:00"], ["15:00", "21:00"]], "sun": []},
                    credit_limit=Decimal("75000.50"), tax_id="NTN-1"),
        make_outlet(a1, code="O-2", name="Madina Mart", channel="modern_trade", lat=None, lng=None),
        make_outlet(a2, code="O-9", name="Sibling Kiryana"),
    ]
    return {"brand": brand, "skus": skus, "outlets": outlets}


# --- round trips --------------------------------------------------------------------------------------

@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_sku_export_then_import_recreates_the_same_rows(cast_a, catalog_a, file_format):
    # given
    scope = user_scope(cast_a, Role.MANUFACTURER_ADMIN)
    before = rows_of(scope, Sku, *SKU_FIELDS)
    exported = run_export(scope, "skus", file_format)
    with tenant_scope(scope):
        Sku.objects.all().delete()
    # when
    report = run_import(scope, "skus", exported, file_format)
    # then
    assert report.ok, report.lines()
    assert (report.created, report.updated) == (2, 0)
    assert rows_of(scope, Sku, *SKU_FIELDS) == before
    assert table(run_export(scope, "skus", file_format), file_format) == table(exported, file_format)


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_outlet_export_then_import_recreates_the_same_rows_for_a_distributor(cast_a, catalog_a, file_format):
    # given
    scope = user_scope(cast_a, Role.DISTRIBUTOR_STAFF)
    before = rows_of(scope, Outlet, *OUTLET_FIELDS)
    exported = run_export(scope, "outlets", file_format)
    assert table(exported, file_format)[0] == OUTLET_HEADER.split(",")
    with tenant_scope(scope):
        Outlet.objects.all().delete()
    # when
    report = run_import(scope, "outlets", exported, file_format)
    # then
    assert report.ok, report.lines()
    assert (report.created, report.updated) == (2, 0)
    assert rows_of(scope, Outlet, *OUTLET_FIELDS) == before
    assert [r[1] for r in before] == ["A1", "A1"]


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_manufacturer_outlet_export_carries_distributor_codes_and_reimports_as_updates(cast_a, catalog_a,
                                                                                       file_format):
    # given
    scope = user_scope(cast_a, Role.MANUFACTURER_ADMIN)
    before = rows_of(scope, Outlet, *OUTLET_FIELDS)
    exported = run_export(scope, "outlets", file_format)
    rows = table(exported, file_format)
    assert rows[0][0] == "distributor" and sorted(r[0] for r in rows[1:]) == ["A1", "A1", "A2"]
    # when
    report = run_import(scope, "outlets", exported, file_format)
    # then
    assert report.ok, report.lines()
    assert (report.created, report.updated) == (0, 3)
    assert rows_of(scope, Outlet, *OUTLET_FIELDS) == before


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_price_list_rows_round_trip_headers_and_items(cast_a, catalog_a, file_format):
    # given
    tid = cast_a.tenant.pk
    s1, s2 = catalog_a["skus"]
    make_price_list(tid, {s1: Decimal("1234.5678"), s2: Decimal("12345678901234.5678")}, code="PL-GT",
                    name="General trade", channel="general_trade", valid_from=date(2024, 7, 1),
                    valid_to=date(2025, 6, 30))
    make_price_list(tid, {s1: Decimal("1200")}, code="PL-A1", name="A1 special", distributor=cast_a.distributors[0],
                    valid_from=date(2024, 1, 1))
    scope = user_scope(cast_a, Role.MANUFACTURER_ADMIN)
    fields = ("price_list__code", "price_list__name", "price_list__valid_from", "price_list__valid_to",
              "price_list__channel", "price_list__distributor__code", "sku__code", "case_price")
    before = sorted(rows_of(scope, PriceListItem, *fields))
    exported = run_export(scope, "price_lists", file_format)
    with tenant_scope(scope):
        PriceList.objects.all().delete()
    # when
    report = run_import(scope, "price_lists", exported, file_format)
    # then
    assert report.ok, report.lines()
    assert (report.created, report.lists_created) == (3, 2)
    assert sorted(rows_of(scope, PriceListItem, *fields)) == before


# --- re-import updates by code ----------------------------------------------------------------------

def test_reimporting_updates_by_code_instead_of_duplicating(cast_a, catalog_a):
    # given
    scope = user_scope(cast_a, Role.MANUFACTURER_ADMIN)
    first = f"{SKU_HEADER}\nNEW-1,New one,FIZ,,12,1.5,2,STD,true\nNEW-2,New two,FIZ,,6,,,STD,\n"
    assert run_import(scope, "skus", first).created == 2
    # when
    report = run_import(scope, "skus", first.replace("New one", "\"New one, renamed\""))
    # then
    assert report.ok and (report.created, report.updated) == (0, 2)
    with tenant_scope(scope):
        assert Sku.objects.filter(code__startswith="NEW-").count() == 2
        renamed = Sku.objects.get(code="NEW-1")
        assert renamed.name == "New one, renamed" and renamed.weight_kg_per_case == Decimal("1.5")
        assert Sku.objects.get(code="NEW-2").active is True  # an empty cell takes the default


def test_price_list_reimport_updates_header_and_upserts_items(cast_a, catalog_a):
    # given
    scope = user_scope(cast_a, Role.MANUFACTURER_ADMIN)
    header = "price_list_code,price_list_name,valid_from,valid_to,channel,distributor,sku_code,case_price"
    run_import(scope, "price_lists", f"{header}\nPL1,Main,2024-07-01,,,,FIZ-250,100.00\n")
    # when
    report = run_import(scope, "price_lists", f"{header}\nPL1,Main 2,2024-07-01,,,A2,FIZ-250,101.25\n"
                                              "PL1,Main 2,2024-07-01,,,A2,FIZ-1500,300\n")
    # then
    assert report.ok, report.lines()
    assert (report.created, report.updated, report.lists_created, report.lists_updated) == (1, 1, 0, 1)
    with tenant_scope(scope):
        pl = PriceList.objects.get(code="PL1")
        assert (pl.name, pl.distributor_id) == ("Main 2", cast_a.distributors[1].pk)
        assert dict(pl.items.values_list("sku__code", "case_price")) == {"FIZ-250": Decimal("101.2500"),
                                                                         "FIZ-1500": Decimal("300.0000")}


# --- all or nothing, with row numbers -----------------------------------------------------------------

def test_one_bad_row_imports_nothing_and_names_the_row_and_field(cast_a, catalog_a):
    # given: header = row 1, so the bad second data row is row 3
    scope = user_scope(cast_a, Role.MANUFACTURER_ADMIN)
    data = f"{SKU_HEADER}\nOK-1,Fine,FIZ,,12,,,STD,\nBAD-1,Broken,FIZ,,0,,,STD,\nOK-2,Fine too,FIZ,,6,,,STD,\n"
    # when
    report = run_import(scope, "skus", data)
    # then
    assert report.errors == [ImportRowError(3, "units_per_case", "Ensure this value is greater than or equal to 1.")]
    assert str(report.errors[0]) == "row 3: units_per_case: Ensure this value is greater than or equal to 1."
    assert "header is row 1" in report.summary()
    assert (report.created, report.updated) == (0, 0)
    with tenant_scope(scope):
        assert not Sku.objects.filter(code__in=["OK-1", "BAD-1", "OK-2"]).exists()


def test_every_bad_cell_is_reported_and_existing_rows_are_left_untouched(cast_a, catalog_a):
    # given: an update to an existing outlet followed by bad rows
    scope = user_scope(cast_a, Role.DISTRIBUTOR_STAFF)
    data = (f"{OUTLET_HEADER}\n"
            "O-1,Renamed,,,,,,,,\n"
            'N-1,New,no_such_channel,,91,,"{""mon"": [[""09:00"", ""08:00""]]}","1,000",,maybe\n'
            "O-1,Again,,,,,,,,\n")
    # when
    report = run_import(scope, "outlets", data)
    # then
    got = {(e.row, e.field) for e in report.errors}
    assert got == {(3, "channel"), (3, "lat"), (3, "opening_hours"), (3, "credit_limit"), (3, "active"),
                   (4, "code")}
    messages = {e.field: e.message for e in report.errors}
    assert messages["opening_hours"] == "mon: 09:00 is not before 08:00."
    assert "not a number" in messages["credit_limit"]
    assert messages["code"].startswith("Duplicate of row 2")
    with tenant_scope(scope):
        assert Outlet.objects.get(code="O-1").name == "Bismillah Store"
        assert not Outlet.objects.filter(code="N-1").exists()


def test_unknown_and_missing_columns_are_refused_on_row_1(cast_a, catalog_a):
    scope = user_scope(cast_a, Role.MANUFACTURER_ADMIN)
    report = run_import(scope, "skus", "code,name,colour\nX,Y,red\n")
    assert {(e.row, e.field) for e in report.errors} == {(1, "colour"), (1, "brand"), (1, "units_per_case"),
                                                         (1, "tax_class")}


def test_xlsx_numbers_become_exact_decimals_or_a_clear_error(cast_a, catalog_a):
    # given: floats that are exactly what was typed, and one with more digits than a double holds exactly
    scope = user_scope(cast_a, Role.MANUFACTURER_ADMIN)
    header = SKU_HEADER.split(",")
    good = xlsx([header, ["X-1", "Exact", "FIZ", None, 12.0, 0.1, 1234567.125, "STD", True]])
    bad = xlsx([header, ["X-1", "Exact", "FIZ", None, 12, 1234567890123.457, 1, "STD", True]])
    # when
    ok_report = run_import(scope, "skus", good, "xlsx")
    bad_report = run_import(scope, "skus", bad, "xlsx")
    # then
    assert ok_report.ok, ok_report.lines()
    with tenant_scope(scope):
        sku = Sku.objects.get(code="X-1")
    assert (sku.units_per_case, sku.weight_kg_per_case, sku.volume_l_per_case) == (12, Decimal("0.1"),
                                                                                     Decimal("1234567.125"))
    assert [(e.row, e.field) for e in bad_report.errors] == [(2, "weight_kg_per_case")]
    assert "significant digits" in bad_report.errors[0].message


def test_xlsx_row_numbers_count_blank_rows_as_the_spreadsheet_does(cast_a, catalog_a):
    scope = user_scope(cast_a, Role.MANUFACTURER_ADMIN)
    data = xlsx([SKU_HEADER.split(","), ["A", "A", "FIZ", None, 1, None, None, "STD", None], [None] * 9,
                 ["B", "B", "NOPE", None, 1, None, None, "STD", None]])
    report = run_import(scope, "skus", data, "xlsx")
    assert report.errors == [ImportRowError(4, "brand", "No brand with code 'NOPE'.")]


def test_price_list_rows_must_repeat_the_same_header(cast_a, catalog_a):
    scope = user_scope(cast_a, Role.MANUFACTURER_ADMIN)
    header = "price_list_code,price_list_name,valid_from,valid_to,sku_code,case_price"
    report = run_import(scope, "price_lists", f"{header}\nPL1,Main,2024-07-01,,FIZ-250,1\n"
                                              "PL1,Main,2024-08-01,,FIZ-1500,2\nPL2,Other,2024-07-01,2024-06-01,FIZ-250,1\n")
    assert {(e.row, e.field) for e in report.errors} == {(3, "valid_from"), (4, "valid_to"), (4, "price_list_code")}
    with tenant_scope(scope):
        assert not PriceList.objects.exists()


# --- the scope decides where rows go, never the file ------------------------------------------------

def test_a_distributor_file_cannot_name_a_tenant_or_a_sibling_distributor(cast_a, catalog_a):
    # given
    scope = user_scope(cast_a, Role.DISTRIBUTOR_STAFF)
    # when
    with_distributor = run_import(scope, "outlets", "distributor,code,name\nA2,X-1,Sneaky\n")
    with_tenant = run_import(scope, "outlets", "tenant,code,name\nb,X-1,Sneaky\n")
    # then
    assert [(e.row, e.field) for e in with_distributor.errors] == [(1, "distributor")]
    assert [(e.row, e.field) for e in with_tenant.errors] == [(1, "tenant")]
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        assert not Outlet.objects.filter(code="X-1").exists()


def test_a_distributor_reusing_a_sibling_code_creates_its_own_outlet(cast_a, catalog_a):
    # given: O-9 belongs to A2
    scope = user_scope(cast_a, Role.DISTRIBUTOR_STAFF)
    # when
    report = run_import(scope, "outlets", "code,name\nO-9,Mine now\n")
    # then
    assert (report.created, report.updated) == (1, 0)
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        assert dict(Outlet.objects.filter(code="O-9").values_list("distributor__code", "name")) == {
            "A1": "Mine now", "A2": "Sibling Kiryana"}


def test_a_manufacturer_cannot_place_outlets_with_another_tenants_distributor(cast_a, cast_b, catalog_a):
    # given: B1 is tenant B's distributor code
    scope = user_scope(cast_a, Role.MANUFACTURER_ADMIN)
    # when
    report = run_import(scope, "outlets", "distributor,code,name\nA1,X-1,Fine\nB1,X-2,Elsewhere\n")
    # then
    assert report.errors == [ImportRowError(3, "distributor", "No distributor with code 'B1'.")]
    for cast in (cast_a, cast_b):
        with tenant_scope(Scope.system(cast.tenant.pk)):
            assert not Outlet.objects.filter(code__in=["X-1", "X-2"]).exists()


def test_tenants_import_the_same_codes_independently(cast_a, cast_b, catalog_a):
    # given: tenant B has its own brand FIZ; tenant A's rows share the codes
    make_brand(cast_b.tenant.pk, code="FIZ", name="B's Fizz")
    scope_b = user_scope(cast_b, Role.MANUFACTURER_ADMIN)
    exported_a = run_export(user_scope(cast_a, Role.MANUFACTURER_ADMIN), "skus")
    # when
    report = run_import(scope_b, "skus", exported_a)
    # then
    assert (report.created, report.updated) == (2, 0)
    with tenant_scope(scope_b):
        assert set(Sku.objects.values_list("brand__name", flat=True)) == {"B's Fizz"}
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        assert Sku.objects.count() == 2


def test_only_the_manufacturer_imports_skus_and_price_lists(cast_a, catalog_a):
    for role in (Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF, Role.MANUFACTURER_ANALYST):
        with pytest.raises(DomainError) as caught:
            run_import(user_scope(cast_a, role), "skus", f"{SKU_HEADER}\n")
        assert caught.value.status_code == 403
    with pytest.raises(DomainError):
        run_import(user_scope(cast_a, Role.MANUFACTURER_ANALYST), "outlets", "distributor,code,name\n")


# --- management commands --------------------------------------------------------------------------

def test_import_masters_command_imports_a_good_file(cast_a, catalog_a, tmp_path: Path):
    # given
    path = tmp_path / "outlets.csv"
    path.write_text("code,name,credit_limit\nC-1,Command outlet,100.10\n")
    out = io.StringIO()
    # when
    call_command("import_masters", str(path), "--tenant", "a", "--distributor", "A2", "--kind", "outlets",
                 stdout=out)
    # then
    assert "1 created" in out.getvalue()
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        outlet = Outlet.objects.get(code="C-1")
    assert (outlet.distributor_id, outlet.credit_limit) == (cast_a.distributors[1].pk, Decimal("100.10"))


def test_import_masters_command_fails_on_a_bad_file_and_imports_nothing(cast_a, catalog_a, tmp_path: Path):
    # given
    path = tmp_path / "skus.xlsx"
    path.write_bytes(xlsx([SKU_HEADER.split(","), ["C-1", "Good", "FIZ", None, 1, None, None, "STD", None],
                           ["C-2", "Bad", "FIZ", None, "six", None, None, "STD", None]]))
    err = io.StringIO()
    # when
    with pytest.raises(CommandError):
        call_command("import_masters", str(path), "--tenant", "a", "--kind", "skus", stdout=io.StringIO(),
                     stderr=err)
    # then
    assert "row 3: units_per_case: 'six' is not a whole number." in err.getvalue()
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        assert not Sku.objects.filter(code__in=["C-1", "C-2"]).exists()


def test_import_masters_command_refuses_skus_for_a_distributor(cast_a, catalog_a, tmp_path: Path):
    path = tmp_path / "skus.csv"
    path.write_text(f"{SKU_HEADER}\n")
    with pytest.raises(CommandError, match="cannot import skus"):
        call_command("import_masters", str(path), "--tenant", "a", "--distributor", "A1", "--kind", "skus")


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_export_masters_command_writes_what_the_scope_sees(cast_a, catalog_a, tmp_path: Path, file_format):
    # given
    path = tmp_path / f"outlets.{file_format}"
    # when
    call_command("export_masters", "--tenant", "a", "--distributor", "A1", "--kind", "outlets", "--format",
                 file_format, "-o", str(path), stdout=io.StringIO())
    # then
    rows = table(path.read_bytes(), file_format)
    assert rows[0] == OUTLET_HEADER.split(",")
    assert [r[0] for r in rows[1:]] == ["O-1", "O-2"]


def test_export_masters_command_rejects_an_unknown_tenant(tmp_path: Path):
    with pytest.raises(CommandError, match="No active tenant"):
        call_command("export_masters", "--tenant", "nope", "--kind", "skus", "-o", str(tmp_path / "x.csv"))


# --- cost: the queries of an import do not grow with its rows ------------------------------------------

def outlet_file(n: int, *, distributor: str | None = None, name: str = "Outlet") -> str:
    prefix = "distributor," if distributor else ""
    cells = f"{distributor}," if distributor else ""
    lines = [f"{prefix}{OUTLET_HEADER}"]
    lines += [f'{cells}Q-{i:04d},{name} {i},,"{i} Mall Road",31.5{i:04d},74.3{i:04d},'
              f'"{{""mon"": [[""08:00"", ""20:00""]]}}",{i}.25,NTN-{i},true' for i in range(n)]
    return "\n".join(lines) + "\n"


def import_queries(scope: Scope, kind: str, data: str) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        report = run_import(scope, kind, data)
    return report, [q["sql"] for q in captured.captured_queries]


def test_outlet_import_queries_do_not_grow_with_the_rows(cast_a, catalog_a):
    # given: a distributor user's files of 10 and of 100 new outlets
    scope = user_scope(cast_a, Role.DISTRIBUTOR_STAFF)
    # when: each is imported (all creates), then imported again (all updates)
    created_10, creating_10 = import_queries(scope, "outlets", outlet_file(10))
    created_100, creating_100 = import_queries(scope, "outlets", outlet_file(100).replace("Q-", "R-"))
    updated_10, updating_10 = import_queries(scope, "outlets", outlet_file(10, name="Renamed"))
    updated_100, updating_100 = import_queries(scope, "outlets", outlet_file(100, name="Renamed").replace("Q-", "R-"))
    # then: the same queries whatever the number of rows (one SELECT of the rows to update, one INSERT or
    # UPDATE per 1,000 rows, the scope's and the transaction's own); no savepoint, lookup or check per row
    assert (created_10.created, created_100.created, updated_10.updated, updated_100.updated) == (10, 100, 10, 100)
    assert len(creating_100) == len(creating_10) <= 20, creating_100
    assert len(updating_100) == len(updating_10) <= 20, updating_100
    assert sum(q.startswith("SELECT") for q in creating_100) == sum(q.startswith("SELECT") for q in updating_100) == 1
    with tenant_scope(scope):
        outlet = Outlet.objects.get(code="R-0042")
    assert (outlet.name, outlet.credit_limit, outlet.lat, outlet.opening_hours) == (
        "Renamed 42", Decimal("42.25"), Decimal("31.50042"), {"mon": [["08:00", "20:00"]]})


def test_manufacturer_outlet_sku_and_price_list_imports_do_not_grow_with_the_rows(cast_a, catalog_a):
    scope = user_scope(cast_a, Role.MANUFACTURER_ADMIN)
    header = "price_list_code,price_list_name,valid_from,valid_to,channel,distributor,sku_code,case_price"
    counts: dict[str, list[int]] = {}
    for n in (10, 100):
        skus = f"{SKU_HEADER}\n" + "".join(f"S{n}-{i},Sku {i},FIZ,,{i + 1},1.5,2,STD,true\n" for i in range(n))
        prices = f"{header}\n" + "".join(f"PL{n},List {n},2024-07-01,,,A1,S{n}-{i},{i}.5\n" for i in range(n))
        outlets = outlet_file(n // 2, distributor="A1").replace("Q-", f"M{n}-") + "".join(
            outlet_file(n // 2, distributor="A2").replace("Q-", f"M{n}-").splitlines(keepends=True)[1:])
        for step, kind, data in (("skus", "skus", skus), ("new prices", "price_lists", prices),
                                 ("outlets", "outlets", outlets), ("updated prices", "price_lists", prices)):
            report, queries = import_queries(scope, kind, data)
            assert report.ok and report.created + report.updated == n, report.lines()
            counts.setdefault(step, []).append(len(queries))
    # the same for 10 rows as for 100, each a small constant (a price list's header costs a few of its own)
    assert all(ten == hundred <= 32 for ten, hundred in counts.values()), counts


# --- what the database refuses at write time is still reported by row, and nothing is saved ------------

def test_a_row_the_database_refuses_is_reported_by_row_and_nothing_is_saved(cast_a, catalog_a):
    # given: the rows to update are not found (as if another import created O-1 meanwhile), so O-1 is inserted
    scope = user_scope(cast_a, Role.DISTRIBUTOR_STAFF)
    data = f"{OUTLET_HEADER}\nN-1,New,,,,,,,,\nO-1,Clash,,,,,,,,\nN-2,New too,,,,,,,,\n"
    # when
    with mock.patch.object(OutletResource, "existing_rows", return_value=[]):
        report = run_import(scope, "outlets", data)
    # then: the unique constraint refuses row 3 alone; the other rows are not kept either
    assert [(e.row, e.field) for e in report.errors] == [(3, "")]
    assert report.errors[0].message.startswith("Could not be saved:") and "outlet_code_uniq" in report.errors[0].message
    assert (report.created, report.updated) == (0, 0)
    with tenant_scope(scope):
        assert not Outlet.objects.filter(code__in=["N-1", "N-2"]).exists()
        assert Outlet.objects.get(code="O-1").name == "Bismillah Store"


def test_a_value_the_database_driver_refuses_is_reported_by_row(cast_a, catalog_a):
    # given: PostgreSQL text cannot hold NUL; a NUL in a code is simply an unknown code
    scope = user_scope(cast_a, Role.MANUFACTURER_ADMIN)
    outlets = run_import(scope, "outlets", "distributor,code,name\nA1,N-1,Fine\nA1,N-2,Bad\x00name\n")
    skus = run_import(scope, "skus", f"{SKU_HEADER}\nN-1,Fine,F\x00Z,,1,,,STD,\n")
    # then
    assert [(e.row, e.field) for e in outlets.errors] == [(3, "")] and "NUL" in outlets.errors[0].message
    assert [(e.row, e.field) for e in skus.errors] == [(2, "brand")]
    with tenant_scope(scope):
        assert not Outlet.objects.filter(code="N-1").exists()


def test_an_update_of_a_row_deleted_meanwhile_is_reported_by_row_and_nothing_is_saved(cast_a, catalog_a):
    # given: O-2 was loaded for update, then deleted before the write
    scope = user_scope(cast_a, Role.DISTRIBUTOR_STAFF)
    with tenant_scope(scope):
        loaded = list(Outlet.objects.filter(code__in=["O-1", "O-2"]))
        Outlet.objects.filter(code="O-2").delete()
    # when
    with mock.patch.object(OutletResource, "existing_rows", return_value=loaded):
        report = run_import(scope, "outlets", f"{OUTLET_HEADER}\nO-1,Renamed,,,,,,,,\nO-2,Gone,,,,,,,,\n")
    # then
    assert [(e.row, e.field) for e in report.errors] == [(3, "")]
    assert "no longer exist" in report.errors[0].message
    with tenant_scope(scope):
        assert Outlet.objects.get(code="O-1").name == "Bismillah Store"


def test_an_update_writes_the_files_columns_and_bumps_updated_at_only(cast_a, catalog_a):
    # given
    scope = user_scope(cast_a, Role.DISTRIBUTOR_STAFF)
    with tenant_scope(scope):
        before = Outlet.objects.get(code="O-1")
    # when: a file with only some of the columns
    report = run_import(scope, "outlets", "code,name,credit_limit\nO-1,Renamed,12345678901234.99\n")
    # then
    assert (report.created, report.updated) == (0, 1), report.lines()
    with tenant_scope(scope):
        after = Outlet.objects.get(code="O-1")
    assert (after.name, after.credit_limit) == ("Renamed", Decimal("12345678901234.99"))
    assert (after.address, after.opening_hours, after.tax_id) == (before.address, before.opening_hours,
                                                                  before.tax_id)
    assert after.created_at == before.created_at and after.updated_at > before.updated_at


# --- the checks that replace full_clean's per-row queries --------------------------------------------

def test_the_imported_models_unique_rules_are_the_import_keys():
    # validate_unique/validate_constraints are off per row because every unique rule is (tenant, key), which
    # the loaded rows and the in-file duplicate check cover. A new unique rule must be handled there first.
    keys = {Sku: {"tenant", "code"}, Outlet: {"tenant", "distributor", "code"},
            PriceListItem: {"tenant", "price_list", "sku"}}
    for model, key in keys.items():
        uniques = [set(c.fields) for c in model._meta.constraints if isinstance(c, UniqueConstraint)]
        assert uniques == [key], model
        assert not model._meta.unique_together
        assert [f.name for f in model._meta.concrete_fields if f.unique] == ["id"], model


def _samples(field: Any) -> list[Any]:
    if isinstance(field, DateField):
        values: list[Any] = [date(2024, 1, 1), date(2024, 6, 30)]
    elif isinstance(field, DecimalField):
        values = [Decimal("-0.01"), Decimal("0"), Decimal("1"), Decimal("1.5")]
    else:
        values = [0, 1, 2]
    return [*values, None] if field.null else values


@pytest.mark.parametrize("model", sorted({m for m in apps.get_app_config("catalog").get_models()
                                           if any(isinstance(c, CheckConstraint) for c in m._meta.constraints)},
                                          key=lambda m: m.__name__))
def test_check_constraints_in_python_agree_with_the_database(cast_a, model):
    # every combination of values of the constraint's fields: the Python reading equals Django's query
    tid = cast_a.tenant.pk
    with tenant_scope(Scope.system(tid)):
        for constraint in (c for c in model._meta.constraints if isinstance(c, CheckConstraint)):
            names = sorted(Q(constraint.condition).referenced_base_fields)
            fields = [model._meta.get_field(n) for n in names]
            for values in itertools.product(*(_samples(f) for f in fields)):
                instance = model(tenant_id=tid, **dict(zip(names, values, strict=True)))
                try:
                    constraint.validate(model, instance)
                    in_db = True
                except ValidationError:
                    in_db = False
                errors = check_constraint_errors(instance, skip=set())
                assert (not errors) is in_db, (constraint.name, values)


def test_a_check_constraint_violation_names_its_field_and_skips_fields_already_in_error(cast_a):
    tid = cast_a.tenant.pk
    with tenant_scope(Scope.system(tid)):
        negative = Outlet(tenant_id=tid, credit_limit=Decimal("-1"))
        assert [(k, [e.message for e in v]) for k, v in check_constraint_errors(negative, skip=set()).items()] == [
            ("credit_limit", ["Constraint “outlet_credit_limit_nonneg” is violated."])]
        assert check_constraint_errors(negative, skip={"credit_limit"}) == {}
        backwards = PriceList(tenant_id=tid, valid_from=date(2024, 7, 1), valid_to=date(2024, 6, 30))
        assert list(check_constraint_errors(backwards, skip=set())) == [NON_FIELD_ERRORS]
        open_ended = PriceList(tenant_id=tid, valid_from=date(2024, 7, 1), valid_to=None)
        assert check_constraint_errors(open_ended, skip=set()) == {}


def test_a_condition_python_does_not_read_is_left_to_the_database(cast_a):
    tid = cast_a.tenant.pk
    outlet = Outlet(tenant_id=tid, name="Zed", code="A")
    for condition in (Q(name__startswith="Z"), Q(name__gt="A"), Q(name__lower="zed"), Q(name=Lower("code"))):
        with pytest.raises(_NotEvaluable):
            condition_holds(condition, outlet)
    assert condition_holds(Q(credit_limit__gte=0) & ~Q(lat__isnull=False), Outlet(credit_limit=Decimal("0"))) is True
    assert condition_holds(Q(lat__gte=0), Outlet()) is None  # NULL: the database's CHECK passes it
    assert condition_holds(Q(lat__gte=0) | Q(credit_limit__lt=0), Outlet(credit_limit=Decimal("0"))) is None
    # a constraint the evaluator cannot read still runs as Django's query
    constraint = CheckConstraint(condition=Q(name__startswith="Z"), name="outlet_name_z")
    with tenant_scope(Scope.system(tid)), mock.patch.object(Outlet._meta, "constraints", [constraint]):
        assert check_constraint_errors(Outlet(tenant_id=tid, name="Zed"), skip=set()) == {}
        assert list(check_constraint_errors(Outlet(tenant_id=tid, name="Abc"), skip=set())) == ["name"]
