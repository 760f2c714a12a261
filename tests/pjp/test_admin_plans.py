"""The plan side of the pjp admin: the PJP calendar, publishing a new version, and the read-only journeys,
visits, notifications and proposals."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from pjp.enums import ProposalKind
from pjp.models import DailyJourney, OptimisationProposal, Pjp, Visit
from pjp.planning import monday_of
from pjp.services.common import tenant_policy
from tests.factories.catalog import make_outlet
from tests.factories.pjp import MON, TUE, make_plan, make_route
from tests.pjp.test_admin import client_for, line_outlets, messages_of

pytestmark = pytest.mark.django_db

PJPS = "/admin/pjp/pjp/"
JOURNEYS = "/admin/pjp/dailyjourney/"


def tenant_today(tenant_id: int) -> Any:
    with tenant_scope(Scope.system(tenant_id)) as scope:
        return tenant_policy(scope).today()


@pytest.fixture
def plan(cast_a: Any, dist_a1: Any) -> dict[str, Any]:
    """A fortnightly plan in force from today: R-ONE today (week 1) and on Monday of week 2, R-TWO on Tuesday
    of week 2. R-ONE's third stop is visited in week 2 only."""
    booker = cast_a.users[Role.ORDER_BOOKER]
    today = tenant_today(cast_a.tenant.pk)
    outlets = line_outlets(dist_a1, 5)
    closed = make_outlet(dist_a1, code="SUNONLY", opening_hours={"sun": [["01:00", "02:00"]]})
    one = make_route(dist_a1, [closed, *outlets[:2]], code="R-ONE")
    two = make_route(dist_a1, outlets[3:], code="R-TWO")
    from tests.factories.pjp import set_stops

    set_stops(one, [closed.pk, outlets[0].pk, outlets[1].pk], weeks={outlets[1].pk: [2]})
    pjp = make_plan(dist_a1, booker, [(1, today.weekday(), one), (2, MON, one), (2, TUE, two)], cycle_weeks=2,
                    anchor=monday_of(today), effective_from=today)
    return {"booker": booker, "today": today, "one": one, "two": two, "pjp": pjp}


# --- the calendar -------------------------------------------------------------------------------------

def test_the_calendar_shows_each_slots_route_and_its_stops_that_cycle_week(cast_a, plan):
    # given
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    # when
    page = client.get(f"{PJPS}calendar/", {"booker": plan["booker"].pk})
    # then
    assert page.status_code == 200
    weeks = page.context["calendar"].weeks
    cells = {(week, day): (c.route.code, c.stops) for week, row in weeks for day, c in enumerate(row) if c.route}
    assert cells == {(1, plan["today"].weekday()): ("R-ONE", 2), (2, MON): ("R-ONE", 3), (2, TUE): ("R-TWO", 2)}
    html = page.content.decode()
    assert re.search(r"R-ONE</a><br>\s*<span class=\"stops\">2 stops</span>", html)
    assert 'class="current-week" data-week="1"' in html


def test_the_calendar_lists_the_next_days_with_the_built_journeys_first_eta(cast_a, plan):
    # given: publishing built today's journey
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        journey = DailyJourney.objects.get(booker=plan["booker"], date=plan["today"])
        first = Visit.objects.filter(journey=journey).order_by("sequence").first()
        expected = first.eta.astimezone(tenant_policy(scope).tz).strftime("%H:%M")
    # when
    page = client_for(cast_a, Role.MANUFACTURER_ANALYST).get(f"{PJPS}calendar/", {"booker": plan["booker"].pk})
    # then
    days = page.context["calendar"].days
    assert [d.day for d in days] == [plan["today"] + timedelta(days=i) for i in range(7)]
    assert days[0].route.code == "R-ONE" and days[0].journey == journey
    assert days[0].first_eta == expected and days[0].visits == 2  # the week-2 stop is not visited in week 1
    assert days[0].window_missed == 1  # SUNONLY is closed at that hour
    assert "outside opening hours" in page.content.decode()


def test_the_calendar_of_a_sibling_distributors_booker_is_not_found(cast_a):
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    assert client.get(f"{PJPS}calendar/", {"booker": cast_a.users[f"{Role.ORDER_BOOKER}@A2"].pk}).status_code == 404
    page = client.get(f"{PJPS}calendar/")
    assert page.status_code == 200 and cast_a.users[f"{Role.ORDER_BOOKER}@A2"].username not in page.content.decode()


def test_the_plan_list_links_the_calendar_and_shows_the_status(cast_a, plan):
    # when
    html = client_for(cast_a, Role.DISTRIBUTOR_STAFF).get(PJPS).content.decode()
    # then
    assert f'href="/admin/pjp/pjp/calendar/?booker={plan["booker"].pk}"' in html
    assert '<td class="field-status">current</td>' in html
    assert 'href="/admin/pjp/pjp/publish/"' in html


# --- plans are read-only: a new version is published ---------------------------------------------------

def test_a_plan_version_is_read_only_for_everyone(cast_a, plan):
    # given
    client = client_for(cast_a, Role.DISTRIBUTOR_ADMIN)
    url = f"{PJPS}{plan['pjp'].pk}/change/"
    # when
    page = client.get(url)
    # then
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert "changes by publishing a new version" in page.content.decode()
    assert client.post(url, {"note": "x"}).status_code == 403
    assert client.get(f"{PJPS}add/").status_code == 403
    assert client.post(f"{PJPS}{plan['pjp'].pk}/delete/", {"post": "yes"}).status_code == 403


def test_publishing_a_new_version_goes_through_pjp_publish(cast_a, plan):
    # given: the form starts from the booker's plan
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    booker = plan["booker"]
    form = client.get(f"{PJPS}publish/", {"booker": booker.pk}).context["form"]
    assert form.initial["cycle_weeks"] == 2 and form.initial[f"slot_2_{TUE}"] == str(plan["two"].pk)
    start = monday_of(plan["today"]) + timedelta(days=14)
    data = {"booker": form.initial["booker"], "cycle_weeks": 1, "cycle_anchor": start.isoformat(),
            "effective_from": start.isoformat(), "note": "weekly now", f"slot_1_{MON}": plan["two"].pk}
    # when
    response = client.post(f"{PJPS}publish/", data, follow=True)
    # then: a new version from `start`, the old one closed the day before
    assert response.redirect_chain[-1][0] == f"{PJPS}calendar/?booker={booker.pk}"
    assert any(m.startswith("Published:") for m in messages_of(response))
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        versions = list(Pjp.objects.filter(booker=booker).order_by("effective_from")
                        .values_list("effective_from", "effective_to", "cycle_weeks", "note"))
    assert versions == [(plan["today"], start - timedelta(days=1), 2, ""), (start, None, 1, "weekly now")]


def test_a_refused_plan_shows_the_services_message_on_its_field(cast_a, plan):
    # given: an anchor that is not a Monday
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    tuesday = monday_of(plan["today"]) + timedelta(days=15)
    data = {"booker": f"{plan['one'].distributor_id}:{plan['booker'].pk}", "cycle_weeks": 1,
            "cycle_anchor": tuesday.isoformat(), "effective_from": tuesday.isoformat(),
            f"slot_1_{MON}": plan["two"].pk}
    # when
    response = client.post(f"{PJPS}publish/", data)
    # then
    assert response.status_code == 200
    assert "week 1 of a cycle starts on a Monday" in str(response.context["form"].errors["cycle_anchor"])
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        assert Pjp.objects.filter(booker=plan["booker"]).count() == 1


def test_analysts_cannot_publish(cast_a):
    assert client_for(cast_a, Role.MANUFACTURER_ANALYST).get(f"{PJPS}publish/").status_code == 403


# --- journeys, visits, proposals: read-only -----------------------------------------------------------

def test_a_journey_shows_its_visits_in_sequence_with_local_times_and_missed_windows(cast_a, plan):
    # given
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        journey = DailyJourney.objects.get(booker=plan["booker"], date=plan["today"])
        tz = tenant_policy(scope).tz
        visits = list(Visit.objects.filter(journey=journey).order_by("sequence").select_related("outlet"))
    # when
    listing = client.get(JOURNEYS, {"booker": plan["booker"].pk}).content.decode()
    page = client.get(f"{JOURNEYS}{journey.pk}/change/")
    # then
    assert '<td class="field-visit_count">2</td>' in listing
    assert journey.planned_start.astimezone(tz).strftime("%H:%M") in listing
    html = page.content.decode()
    assert page.status_code == 200 and 'name="_save"' not in html
    positions = [html.index(v.eta.astimezone(tz).strftime("%H:%M")) for v in visits]
    assert positions == sorted(positions)
    assert [v.outlet.code for v in visits] == ["SUNONLY", "L1"] and visits[0].window_missed
    assert html.count("⚠ outside opening hours") == 1  # the missed window is flagged
    assert client.post(f"{JOURNEYS}{journey.pk}/delete/", {"post": "yes"}).status_code == 403


def test_the_booker_filter_lists_only_the_scopes_bookers(cast_a, plan):
    html = client_for(cast_a, Role.DISTRIBUTOR_STAFF).get(JOURNEYS).content.decode()
    assert f"?booker={plan['booker'].pk}" in html
    assert cast_a.users[f"{Role.ORDER_BOOKER}@A2"].username not in html


def test_the_proposal_page_shows_the_diff_sentences_escaped(cast_a, dist_a1):
    # given
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        proposal = OptimisationProposal.objects.create(
            distributor=dist_a1, kind=ProposalKind.SEQUENCE,
            before={"routes": {}, "total": {"distance_m": 12000, "duration_s": 3600, "routes": 1, "stops": 3}},
            after={"routes": {}, "total": {"distance_m": 9000, "duration_s": 3000, "routes": 1, "stops": 3}},
            diff=[{"kind": "reordered", "text": "Shop <script>x</script> moves from stop 3 to stop 1."}])
    client = client_for(cast_a, Role.MANUFACTURER_ANALYST)
    # when
    page = client.get(f"/admin/pjp/optimisationproposal/{proposal.pk}/change/")
    # then
    html = page.content.decode()
    assert page.status_code == 200
    assert "<li>Shop &lt;script&gt;x&lt;/script&gt; moves from stop 3 to stop 1.</li>" in html
    assert "12.0 km, 1 h 00 min → 9.0 km, 50 min" in html
    assert client.post(f"/admin/pjp/optimisationproposal/{proposal.pk}/change/", {}).status_code == 403


@pytest.mark.parametrize("model", ["route", "pjp", "dailyjourney", "visit", "journeynotification",
                                   "optimisationproposal"])
def test_every_pjp_changelist_opens_for_every_admin_role(cast_a, plan, model):
    for role in (Role.MANUFACTURER_ADMIN, Role.MANUFACTURER_ANALYST, Role.DISTRIBUTOR_ADMIN,
                 Role.DISTRIBUTOR_STAFF):
        assert client_for(cast_a, role).get(f"/admin/pjp/{model}/").status_code == 200, role
