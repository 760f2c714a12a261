import secrets

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dms.core.errors import DomainError
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from dms.tenancy.services import membership_grant, tenant_create, user_create


class Command(BaseCommand):
    help = "Create a tenant (manufacturer) and its first manufacturer admin. Prints the admin's password once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", required=True)
        parser.add_argument("--currency", default="USD")
        parser.add_argument("--time-zone", default="UTC")
        parser.add_argument("--fiscal-year-start-month", type=int, default=1)
        parser.add_argument("--admin-username", required=True)
        parser.add_argument("--admin-email", default="")

    def handle(self, *args: object, **o: object) -> None:
        from django.contrib.auth import get_user_model

        if get_user_model().objects.filter(username=o["admin_username"]).exists():
            raise CommandError(f"user '{o['admin_username']}' exists; pick another --admin-username")
        password = secrets.token_urlsafe(12)
        try:
            tenant = tenant_create(name=str(o["name"]), slug=str(o["slug"]), currency=str(o["currency"]),
                                   time_zone=str(o["time_zone"]),
                                   fiscal_year_start_month=int(str(o["fiscal_year_start_month"])))
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        except Exception as exc:  # a ValidationError from full_clean: bad time zone, month
            raise CommandError(str(exc)) from exc
        with tenant_scope(Scope.system(tenant.pk, "create_tenant")) as scope:
            user = user_create(username=str(o["admin_username"]), password=password, email=str(o["admin_email"]))
            membership_grant(scope=scope, user=user, role=Role.MANUFACTURER_ADMIN)
        self.stdout.write(self.style.SUCCESS(f"Tenant '{tenant.slug}' (id {tenant.pk}) created."))
        self.stdout.write(f"Manufacturer admin: {user.get_username()}  password: {password}  (shown once)")
