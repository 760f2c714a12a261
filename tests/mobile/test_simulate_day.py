"""`manage.py simulate_day` on the demo: a realistic day through the HTTP API, exactly once despite re-sends."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Tenant
from dms.tenancy.scope import Scope
from mobile.models import PushBatch, SyncHealth
from orders.models import SecondaryOrder
from pjp.enums import VisitStatus
from pjp.models import Visit


def test_a_simulated_day_books_orders_once_and_closes_without_gaps(db):
    # given: the demo data set, small
    call_command("seed_demo", "--outlets-per-distributor", "30", "--skus", "20", stdout=StringIO())
    out = StringIO()
    # when: two bookers of the first tenant play their day (sign-in, pull, visits, orders, re-sends, day close)
    call_command("simulate_day", "--bookers", "2", "--tenant", "crescent", "--seed", "3", stdout=out)
    # then
    report = out.getvalue()
    assert report.count("day close ok") == 2, report
    tenant = Tenant.objects.get(slug="crescent")
    with tenant_scope(Scope.system(tenant.pk)):
        orders = SecondaryOrder.objects.all()
        booked = sum(int(line.split(" orders (")[0].rsplit(", ", 1)[1]) for line in report.splitlines()
                     if " orders (" in line)
        assert orders.count() == booked > 0  # every booked order once, re-sends notwithstanding
        assert all(o.total > 0 and o.lines.exists() for o in orders)
        visited = Visit.objects.exclude(status=VisitStatus.PLANNED)
        assert visited.filter(status=VisitStatus.PRODUCTIVE).count() == booked
        assert visited.filter(distance_m__lte=100).count() == visited.count()  # GPS near the outlet
        assert PushBatch.objects.exists()
        assert set(SyncHealth.objects.values_list("status", flat=True)) == {SyncHealth.Status.OK}
    # and a second run with --unless-orders does nothing
    again = StringIO()
    call_command("simulate_day", "--unless-orders", stdout=again)
    assert "already there" in again.getvalue()
