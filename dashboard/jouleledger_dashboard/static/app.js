// JouleLedger dashboard: live updates and charts. Every number comes from the JSON API.
(function () {
  "use strict";
  var POLL_MS = 700;  // a new block shows within about a second (the target is two)
  var charts = [];

  function shownHead() { return Number(document.body.dataset.head || "-1"); }

  function reloadLive(block) {
    var live = document.getElementById("live");
    document.body.dataset.head = String(block);
    var label = document.getElementById("head-block");
    if (label) { label.textContent = String(block); }
    if (!live || !window.htmx) { return; }
    window.htmx.ajax("GET", window.location.pathname + window.location.search,
      { target: "#live", select: "#live", swap: "outerHTML" });
  }

  function poll() {
    fetch("/api/head", { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (head) {
        if (head && head.block > shownHead()) { reloadLive(head.block); }
      })
      .catch(function () { /* the server is restarting: try again next tick */ })
      .finally(function () { window.setTimeout(poll, POLL_MS); });
  }

  // settlements within one second still get a readable time axis (two minutes wide)
  function xScale(times) {
    var lo = Math.min.apply(null, times), hi = Math.max.apply(null, times);
    return hi - lo < 60 ? { time: true, auto: false, range: [lo - 60, hi + 60] } : { time: true };
  }

  function drawCharts() {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    var boxes = document.querySelectorAll("[data-series-url]");
    boxes.forEach(function (box) {
      fetch(box.dataset.seriesUrl, { cache: "no-store" })
        .then(function (r) { return r.json(); })
        .then(function (series) {
          var ys = series[box.dataset.field] || [];
          box.textContent = "";
          if (!ys.length) { box.textContent = "No settlements yet."; return; }
          var opts = {
            width: Math.max(box.clientWidth, 320), height: 220,
            scales: { x: xScale(series.timestamps) },
            series: [{}, { label: box.dataset.label, stroke: box.dataset.color || "#1f6feb",
                           width: 2, points: { show: ys.length < 60 } }],
            axes: [{}, { size: 70 }],
          };
          charts.push(new window.uPlot(opts, [series.timestamps, ys], box));
          box.dataset.points = String(ys.length);
        });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    window.setTimeout(poll, POLL_MS);
  });
  document.addEventListener("htmx:afterSettle", drawCharts);
})();
