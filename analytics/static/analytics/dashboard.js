/* Draws the charts of an analytics page with the vendored Chart.js (vendor/chart.umd.js).
 *
 * The page passes the charts with Django's json_script as <script id="analytics-charts" type="application/json">:
 * a list of {id, title, kind ("line" or "bar"), unit, labels, datasets: [{label, data}], stacked}. Values come as
 * strings of exact decimals (a rate already x 100, null for a day without facts); they become numbers only to be
 * drawn, and tooltips show the exact string. Each chart goes on the <canvas id="{id}"> of the page.
 */
(function () {
  "use strict";

  var PALETTE = ["#2f6fb0", "#d9822b", "#3a9a5b", "#b33a3a", "#7e57c2", "#00838f", "#8d6e63", "#c2185b",
                 "#546e7a", "#9e9d24"];

  function money(value) {
    return Number(value).toLocaleString(undefined, {minimumFractionDigits: 2, maximumFractionDigits: 2});
  }

  function exact(value, unit) {
    if (value === null || value === undefined) { return "—"; }
    if (unit === "percent") { return value + " %"; }
    if (unit === "money") {
      var parts = String(value).split(".");
      return parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (parts.length > 1 ? "." + parts[1] : "");
    }
    if (unit === "days") { return value + " days"; }
    return String(value);
  }

  function tick(value, unit) {
    if (unit === "percent") { return value + " %"; }
    if (unit === "money") { return money(value); }
    return Number(value).toLocaleString();
  }

  function draw(spec) {
    var canvas = document.getElementById(spec.id);
    if (!canvas) { return; }
    var line = spec.kind === "line";
    var datasets = spec.datasets.map(function (set, i) {
      var colour = PALETTE[i % PALETTE.length];
      return {
        label: set.label,
        data: set.data.map(function (v) { return v === null ? null : Number(v); }),
        exact: set.data,
        borderColor: colour,
        backgroundColor: line ? colour : colour + "cc",
        borderWidth: line ? 2 : 1,
        pointRadius: line ? 3 : 0,
        tension: 0.15,
        spanGaps: false
      };
    });
    var y = {beginAtZero: true, stacked: spec.stacked, ticks: {callback: function (v) { return tick(v, spec.unit); }}};
    if (spec.unit === "percent") { y.suggestedMax = 100; }
    return new Chart(canvas, {
      type: spec.kind,
      data: {labels: spec.labels, datasets: datasets},
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: {mode: "index", intersect: false},
        scales: {x: {stacked: spec.stacked}, y: y},
        plugins: {
          legend: {display: datasets.length > 1, position: "bottom"},
          tooltip: {callbacks: {label: function (ctx) {
            return ctx.dataset.label + ": " + exact(ctx.dataset.exact[ctx.dataIndex], spec.unit);
          }}}
        }
      }
    });
  }

  function start() {
    var source = document.getElementById("analytics-charts");
    if (!source || typeof Chart === "undefined") { return; }
    JSON.parse(source.textContent).forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
