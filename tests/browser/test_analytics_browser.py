"""The analytics dashboards in a real browser, for an analyst, a manufacturer admin and distributor staff: the KPI
cards read the figures worked out by hand (the staff's their distributor's only), every chart is drawn by the
vendored Chart.js (datasets with data, and the first series' colour on the canvas), nothing is logged to the console,
and a screenshot of each page is kept as a test artefact (tests/browser/conftest.py screenshot).
"""

from __future__ import annotations

from typing import Any

import pytest

from dms.tenancy.enums import Role
from tests.analytics.test_dashboards import A1, BOTH, two_days
from tests.analytics.test_facts import refresh
from tests.browser.conftest import TIMEOUT_MS, screenshot
from tests.browser.test_admin_browser import log_in
from tests.reconciliation.money_fixtures import clean_day

pytestmark = pytest.mark.browser

# Per canvas: the chart's datasets with how many points have data, and the canvas pixel under one drawn point (a
# line's point, the middle of a bar) of a dataset with data, against that dataset's colour.
DRAWN = """() => Array.from(document.querySelectorAll('#analytics-chart-grid canvas')).map((canvas) => {
  const chart = Chart.getChart(canvas);
  if (!chart) { return {id: canvas.id, chart: false, datasets: []}; }
  const datasets = chart.data.datasets.map((d) => d.data.filter((v) => v !== null).length);
  let probe = null;
  chart.data.datasets.forEach((d, i) => d.data.forEach((v, j) => {
    if (probe === null && v !== null && (v !== 0 || chart.config.type === 'line')) { probe = [i, j]; }
  }));
  if (probe === null) { return {id: canvas.id, chart: true, datasets: datasets, pixel: null}; }
  const [i, j] = probe;
  const point = chart.getDatasetMeta(i).data[j];
  const y = point.base !== undefined && Math.abs(point.base - point.y) > 2 ? (point.y + point.base) / 2 : point.y;
  const ratio = chart.currentDevicePixelRatio;
  const px = canvas.getContext('2d').getImageData(Math.round(point.x * ratio), Math.round(y * ratio), 1, 1).data;
  const colour = chart.data.datasets[i].borderColor;
  const want = [1, 3, 5].map((k) => parseInt(colour.slice(k, k + 2), 16));
  return {id: canvas.id, chart: true, datasets: datasets, pixel: Array.from(px), want: want};
})"""


def watch_console(page: Any) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"{msg.text} {msg.location.get('url', '')}")
            if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
    return problems


def assert_charts_drawn(page: Any, who: str) -> list[str]:
    """Every chart of the page is drawn: a Chart.js chart on the canvas with data, and a point of it painted in
    its dataset's colour (not only the axes)."""
    page.wait_for_function("() => window.Chart && document.querySelectorAll('#analytics-chart-grid canvas').length"
                           " > 0 && Array.from(document.querySelectorAll('#analytics-chart-grid canvas'))"
                           ".every((c) => Chart.getChart(c))", timeout=TIMEOUT_MS)
    drawn = page.evaluate(DRAWN)
    assert drawn, who
    for chart in drawn:
        assert chart["chart"] and any(chart["datasets"]), (who, chart)
        assert chart["pixel"] is not None, (who, chart)
        *rgb, alpha = chart["pixel"]
        assert alpha > 150 and all(abs(a - b) < 40 for a, b in zip(rgb, chart["want"], strict=True)), (who, chart)
    return [c["id"] for c in drawn]


def kpi_value(page: Any, name: str) -> str:
    return str(page.inner_text(f"#kpi-{name} .kpi-value")).replace("\xa0", " ").split(" PKR")[0].strip()


@pytest.mark.parametrize(("role", "expected"), [
    (Role.MANUFACTURER_ANALYST, BOTH), (Role.MANUFACTURER_ADMIN, BOTH), (Role.DISTRIBUTOR_STAFF, A1)])
def test_each_kind_of_user_reads_its_kpis_with_charts_drawn(live_server, cast_a, api_as, page, role: str,
                                                            expected: dict[str, str]) -> None:
    # given: a booker day at A1 and one at its sibling A2, facts refreshed
    days = two_days(cast_a, api_as)
    problems = watch_console(page)

    # when: the user opens the dashboard from the admin index, then asks for the day of the facts
    log_in(page, live_server.url, cast_a.users[role].username)
    page.get_by_role("link", name="KPI dashboard").first.click()
    page.wait_for_url(f"{live_server.url}/admin/analytics/dashboard/")
    page.fill("#id_date_from", days.a1.today.isoformat())
    page.fill("#id_date_to", days.a1.today.isoformat())
    page.click("#analytics-show")
    page.wait_for_url(f"{live_server.url}/admin/analytics/dashboard/?*")

    # then: the KPIs of its scope, each with its definition, and every chart drawn
    for name, value in expected.items():
        assert kpi_value(page, name) == value, (role, name)
    assert "productive visits" in page.inner_text("#kpi-strike_rate .kpi-definition")
    charts = assert_charts_drawn(page, role)
    assert {"chart-visits", "chart-drop"} <= set(charts)
    if role == Role.DISTRIBUTOR_STAFF:
        assert page.locator("#id_distributor").get_attribute("type") == "hidden"
        assert "A2 Shop" not in page.content() and "a-a2-order_booker" not in page.content()
    else:
        assert page.locator("#id_distributor option").count() == 3  # All, A1, A2
    assert "PJP adherence" in page.inner_text("#table-kpis")
    page.screenshot(path=screenshot(f"analytics-dashboard-{role}.png"), full_page=True)

    # when: the journeys of the same day, then the first one
    page.locator("#analytics-nav").get_by_role("link", name="Journeys: plan against actual").click()
    page.wait_for_url(f"{live_server.url}/admin/analytics/journeys/?*")
    listed = page.inner_text("#table-journeys")
    # then: A1's booker day (and A2's for the manufacturer)
    assert ("a-a2-order_booker" in listed) == (role != Role.DISTRIBUTOR_STAFF), role
    page.locator("#table-journeys tbody a", has_text=days.a1.today.isoformat()).last.click()
    page.wait_for_url(f"{live_server.url}/admin/analytics/journeys/*/?*")
    # then: the map of the plan against what happened, and the stops made
    assert page.locator("#journey-map svg.journey-map").is_visible()
    assert page.locator("svg.journey-map .planned-path").count() == 1
    assert "Distance" in page.inner_text("#journey-facts")
    assert page.locator("#table-actual tbody tr").count() >= 2
    page.screenshot(path=screenshot(f"analytics-journey-{role}.png"), full_page=True)

    # when: the outlet funnel of the last seven days
    page.locator("#analytics-nav").get_by_role("link", name="Outlet funnel").click()
    page.wait_for_url(f"{live_server.url}/admin/analytics/funnel/")
    # then: its chart drawn, and the stages
    assert assert_charts_drawn(page, role) == ["chart-funnel"]
    assert "Visited" in page.inner_text("#table-stages")
    page.screenshot(path=screenshot(f"analytics-funnel-{role}.png"), full_page=True)
    assert problems == [], problems


@pytest.mark.parametrize("role", [Role.MANUFACTURER_ANALYST, Role.DISTRIBUTOR_STAFF])
def test_sell_in_against_sell_through_and_the_receivables_ageing_are_drawn(live_server, cast_a, page,
                                                                         role: str) -> None:
    # given: A1's money day (money_fixtures.clean_day): goods received, four invoices, deliveries, payments
    day = clean_day(cast_a)
    refresh(cast_a.tenant.pk, day.today)
    problems = watch_console(page)
    # when
    log_in(page, live_server.url, cast_a.users[role].username)
    page.goto(f"{live_server.url}/admin/analytics/dashboard/?date_from={day.today}&date_to={day.today}")
    # then: the cards (worked out in tests/analytics/test_dashboards.py) and the sales and ageing charts drawn
    assert kpi_value(page, "sell_in_value") == "14,119.98"
    assert kpi_value(page, "sell_through_value") == "9,102.59"
    assert kpi_value(page, "ar_0_30") == "280.80"
    charts = assert_charts_drawn(page, role)
    assert {"chart-sell-value", "chart-sell-units", "chart-ageing", "chart-service"} <= set(charts)
    assert "chart-visits" not in charts  # no booker day: nothing to draw, so no empty chart
    assert page.locator("#table-by_brand tbody tr").count() == 1  # cola, chips and water are of one brand
    page.screenshot(path=screenshot(f"analytics-sales-{role}.png"), full_page=True)
    assert problems == [], problems
