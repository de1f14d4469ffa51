// A campaign's results over time (templates/campaigns/_results.html): four Chart.js charts
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

  // A day's spend (tens of dollars) and the running total against the budget (thousands) are
  // two charts: on one axis the days' bars were a flat line under a $15,000 budget.
  const moneyTooltip = Object.assign({}, common.plugins, {
    tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + ": " + dollars(ctx.parsed.y); } } },
  });
  new window.Chart(document.getElementById("chart-spend"), {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [{ label: "Spend per day", data: money(data.spend), backgroundColor: "#0a6ebd" }],
    },
    options: Object.assign({}, common, {
      scales: { y: { beginAtZero: true, ticks: { callback: wholeDollars } } },
      plugins: moneyTooltip,
    }),
  });

  const cumulativeSets = [
    { label: "Cumulative spend", data: money(data.cumulative), borderColor: "#ff9900", backgroundColor: "rgba(255, 153, 0, .15)", fill: "origin", pointRadius: 0, tension: 0 },
  ];
  if (data.budget !== null) {
    cumulativeSets.push({
      label: "Total budget", data: data.labels.map(function () { return Number(data.budget); }),
      borderColor: "#c62828", backgroundColor: "#c62828", borderDash: [6, 4], pointRadius: 0,
    });
  }
  new window.Chart(document.getElementById("chart-cumulative"), {
    type: "line",
    data: { labels: data.labels, datasets: cumulativeSets },
    options: Object.assign({}, common, {
      scales: { y: { beginAtZero: true, ticks: { callback: wholeDollars } } },
      plugins: moneyTooltip,
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
