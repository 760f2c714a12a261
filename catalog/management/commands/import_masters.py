"""python manage.py import_masters --tenant <slug> [--distributor <code>] --kind skus|outlets|price_lists FILE"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.imports import FORMATS, KINDS, command_scope, masters_import
from dms.core.errors import DomainError
from dms.tenancy.context import tenant_scope


class Command(BaseCommand):
    help = ("Import SKUs, outlets or price-list rows from a .csv or .xlsx file, all-or-nothing, into one tenant "
            "(and, with --distributor, one of its distributors). Exits non-zero if any row is bad.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="a .csv (UTF-8) or .xlsx file; the format follows the extension")
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--distributor", help="distributor code: import as that distributor only")
        parser.add_argument("--kind", required=True, choices=KINDS)

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        file_format = path.suffix.lower().lstrip(".")
        if file_format not in FORMATS:
            raise CommandError(f"{path}: use a .csv or .xlsx file")
        try:
            data = path.read_bytes()  # before any transaction: no file I/O inside one
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from exc
        try:
            scope = command_scope(tenant_slug=options["tenant"], distributor_code=options["distributor"],
                                  label="import_masters")
            with tenant_scope(scope):
                report = masters_import(scope=scope, kind=options["kind"], data=data, file_format=file_format)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if report.ok:
            self.stdout.write(self.style.SUCCESS(report.summary()))
            return
        self.stdout.write(report.summary())
        for error in report.errors:
            self.stderr.write(str(error))
        raise CommandError(f"{path}: nothing imported, {len(report.errors)} error(s)")
