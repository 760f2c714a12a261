from django.core.management.base import BaseCommand, CommandError, CommandParser

from dms.core.errors import DomainError
from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Tenant
from dms.tenancy.scope import Scope
from dms.tenancy.services import api_key_create


class Command(BaseCommand):
    help = "Issue an API key for a tenant's systems. The key is printed once; only its hash is stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--name", required=True, help="what the key is for, e.g. 'SAP production'")

    def handle(self, *args: object, **o: object) -> None:
        tenant = Tenant.objects.filter(slug=o["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant with slug '{o['tenant']}'")
        try:
            with tenant_scope(Scope.system(tenant.pk, "api_key_create")) as scope:
                issued = api_key_create(scope=scope, name=str(o["name"]))
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"API key '{issued.key.name}' ({issued.key.prefix}...) issued."))
        self.stdout.write(issued.raw)
