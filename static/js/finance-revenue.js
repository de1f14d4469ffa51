// The finance desk's revenue chart (templates/billing/finance/revenue.html), drawn by Chart.js
// from <script id="revenue-data" type="application/json">. Money arrives as exact decimal
// strings; it becomes a number here only to be drawn (the table below has the exact amounts).
(function () {
  "use strict";
  const source = document.getElementById("revenue-data");
  if (!source || typeof window.Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const money = function (values) { return values.map(Number); };
  const dollars = function (value) {
    return "$" + Number(value).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  };
  new window.Chart(document.getElementById("chart-revenue"), {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [
        { label: "Charged (ledger)", data: money(data.charged), backgroundColor: "#0a6ebd" },
        { label: "Invoiced", data: money(data.invoiced), backgroundColor: "#ff9900" },
        { label: "Credited", data: money(data.credited), backgroundColor: "#c62828" },
        { label: "Collected", data: money(data.collected), backgroundColor: "#2e7d32" },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { position: "bottom", labels: { boxWidth: 12 } },
        tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + ": " + dollars(ctx.parsed.y); } } },
      },
      scales: { y: { ticks: { callback: dollars } } },
    },
  });
})();
