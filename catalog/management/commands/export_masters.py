"""python manage.py export_masters --tenant <slug> [--distributor <code>] --kind ... --format csv|xlsx -o FILE"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.imports import FORMATS, KINDS, command_scope, masters_export
from dms.core.errors import DomainError
from dms.tenancy.context import tenant_scope


class Command(BaseCommand):
    help = ("Export SKUs, outlets or price-list rows of one tenant (and, with --distributor, one of its "
            "distributors) as .csv or .xlsx, in the columns import_masters reads.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--distributor", help="distributor code: export what that distributor sees")
        parser.add_argument("--kind", required=True, choices=KINDS)
        parser.add_argument("--format", choices=FORMATS, help="default: the extension of -o")
        parser.add_argument("-o", "--output", required=True, help="the file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["output"])
        file_format = options["format"] or path.suffix.lower().lstrip(".")
        if file_format not in FORMATS:
            raise CommandError("give --format csv|xlsx or an -o file ending in .csv or .xlsx")
        try:
            scope = command_scope(tenant_slug=options["tenant"], distributor_code=options["distributor"],
                                  label="export_masters")
            with tenant_scope(scope):
                content = masters_export(scope=scope, kind=options["kind"], file_format=file_format)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        try:
            path.write_bytes(content)  # after the transaction has closed
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from exc
        self.stdout.write(self.style.SUCCESS(f"{options['kind']}: wrote {path} ({len(content)} bytes)"))
