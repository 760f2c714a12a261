"""A person with memberships in two tenants acts in one at a time and switches explicitly."""

from django.test import Client

from catalog.models import Outlet
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from dms.tenancy.services import membership_grant
from tests.factories.catalog import make_outlet


def test_switching_tenant_changes_what_the_admin_shows_and_only_to_own_memberships(cast_a, cast_b):
    # given: A's manufacturer admin is also a distributor admin at B1
    user = cast_a.users[Role.MANUFACTURER_ADMIN]
    with tenant_scope(Scope.system(cast_b.tenant.pk)) as scope:
        b_membership = membership_grant(scope=scope, user=user, role=Role.DISTRIBUTOR_ADMIN,
                                        distributor=cast_b.distributors[0])
    make_outlet(cast_a.distributors[0], name="Alpha Mart")
    make_outlet(cast_b.distributors[0], name="Bravo Stores")
    client = Client()
    client.force_login(user)
    # when / then: first membership (tenant A) is active
    page = client.get("/admin/catalog/outlet/").content.decode()
    assert "Alpha Mart" in page and "Bravo Stores" not in page
    assert 'id="dms-membership"' in page
    client.post("/switch-tenant/", {"membership": b_membership.pk})
    page = client.get("/admin/catalog/outlet/").content.decode()
    assert "Bravo Stores" in page and "Alpha Mart" not in page
    # someone else's membership id is ignored
    other = cast_b.users[Role.MANUFACTURER_ADMIN].memberships.get()
    client.post("/switch-tenant/", {"membership": other.pk})
    page = client.get("/admin/catalog/outlet/").content.decode()
    assert "Bravo Stores" in page
    with tenant_scope(Scope.system(cast_b.tenant.pk)):
        assert Outlet.objects.count() == 1
