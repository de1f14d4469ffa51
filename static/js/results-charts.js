// A campaign's results over time (templates/campaigns/_results.html): three Chart.js charts
// drawn from the page's <script id="results-data" type="application/json">. Money arrives as
// exact decimal strings; it is turned into numbers here only to be drawn.
(function () {
  "use strict";
  const source = document.getElementById("results-data");
  if (!source || typeof window.Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const palette = ["#0a6ebd", "#ff9900", "#2e7d32", "#8e24aa", "#c62828", "#00838f", "#6d4c41", "#546e7a"];
  const money = function (values) { return values.map(Number); };
  const dollars = function (value) {
    return "$" + Number(value).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  };
  // Axis ticks without cents where a tick is a whole dollar ("$15,000"): cents on every tick
  // crowd a small chart.
  const wholeDollars = function (value) {
    const digits = Number.isInteger(Number(value)) ? 0 : 2;
    return "$" + Number(value).toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  };
  const common = {
    responsive: true,
    maintainAspectRatio: false,
    interaction: { mode: "index", intersect: false },
    plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
  };

  new window.Chart(document.getElementById("chart-actions"), {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: data.moments.map(function (moment, i) {
        return { label: moment.id, data: moment.actions, backgroundColor: palette[i % palette.length], stack: "actions" };
      }),
    },
    options: Object.assign({}, common, {
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
    }),
  });

  // Two axes: a day's spend (tens of dollars) is drawn against the left one, the running total
  // and the budget (thousands) against the right one; on one axis the days' bars were flat
  // lines under a $15,000 budget.
  const spendSets = [
    { type: "bar", label: "Spend per day", data: money(data.spend), backgroundColor: "#0a6ebd", yAxisID: "y", order: 2 },
    { type: "line", label: "Cumulative spend", data: money(data.cumulative), borderColor: "#ff9900", backgroundColor: "#ff9900", pointRadius: 0, tension: 0, yAxisID: "y1", order: 1 },
  ];
  if (data.budget !== null) {
    spendSets.push({
      type: "line", label: "Total budget", data: data.labels.map(function () { return Number(data.budget); }),
      borderColor: "#c62828", backgroundColor: "#c62828", borderDash: [6, 4], pointRadius: 0, yAxisID: "y1", order: 0,
    });
  }
  const axisTitle = function (text, color) { return { display: true, text: text, color: color, font: { size: 11 } }; };
  new window.Chart(document.getElementById("chart-spend"), {
    data: { labels: data.labels, datasets: spendSets },
    options: Object.assign({}, common, {
      scales: {
        y: { position: "left", beginAtZero: true, ticks: { callback: wholeDollars, color: "#0a6ebd" }, title: axisTitle("Per day", "#0a6ebd") },
        y1: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { callback: wholeDollars }, title: axisTitle("Cumulative and budget", "#6c757d") },
      },
      plugins: Object.assign({}, common.plugins, {
        tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + ": " + dollars(ctx.parsed.y); } } },
      }),
    }),
  });

  new window.Chart(document.getElementById("chart-rewards"), {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [
        { label: "Claimed", data: data.claimed, backgroundColor: "#2e7d32" },
        { label: "Expired", data: data.expired, backgroundColor: "#9e9e9e" },
      ],
    },
    options: Object.assign({}, common, { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }),
  });
})();
