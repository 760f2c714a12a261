from django.core.management.base import BaseCommand, CommandError

from dms.tenancy.checks import tenancy_violations
from dms.tenancy.ddl import tenant_tables


class Command(BaseCommand):
    help = ("Check every tenant table: RLS enabled and forced with policies, unique constraints carrying "
            "tenant/distributor columns, composite foreign keys, and an application role that cannot bypass RLS.")

    def handle(self, *args, **options) -> None:
        problems = tenancy_violations()
        for p in problems:
            self.stdout.write(p)
        if problems:
            raise CommandError(f"{len(problems)} tenancy rule(s) broken")
        self.stdout.write(self.style.SUCCESS(f"tenancy ok: {len(tenant_tables())} tenant tables checked"))
