import secrets

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dms.core.errors import DomainError
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.models import Tenant
from dms.tenancy.scope import Scope
from dms.tenancy.services import distributor_create, membership_grant, user_create


class Command(BaseCommand):
    help = "Add a distributor to a tenant, optionally with its first distributor admin (password printed once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--code", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--admin-username", default="")

    def handle(self, *args: object, **o: object) -> None:
        tenant = Tenant.objects.filter(slug=o["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant with slug '{o['tenant']}'")
        password = secrets.token_urlsafe(12)
        try:
            with tenant_scope(Scope.system(tenant.pk, "create_distributor")) as scope:
                distributor = distributor_create(scope=scope, code=str(o["code"]), name=str(o["name"]))
                if o["admin_username"]:
                    user = user_create(username=str(o["admin_username"]), password=password)
                    membership_grant(scope=scope, user=user, role=Role.DISTRIBUTOR_ADMIN, distributor=distributor)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"Distributor {distributor.code} (id {distributor.pk}) added to "
                                             f"'{tenant.slug}'."))
        if o["admin_username"]:
            self.stdout.write(f"Distributor admin: {o['admin_username']}  password: {password}  (shown once)")
