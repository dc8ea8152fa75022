// Charts, drawn from the data the page carries (borrowdesk/charts.py, templates/_chart.html): each
// <canvas data-chart="ID"> reads the JSON of <script type="application/json" id="ID"> (json_script:
// data, never run) and draws it with the vendored Chart.js. The Content-Security-Policy runs no inline
// script or style, so everything is here; Chart.js sizes its canvas through the CSSOM, which it allows.
// The library (200 KB) is fetched from this origin only on a page that has a chart. Every chart's
// figures are also in the table under it, so a page without script still says everything.
(function () {
  "use strict";

  // The desk's colours (borrowdesk.css): series in order, and reference lines by the state they mark.
  var SERIES = ["#2f6fed", "#0e7490", "#6f42c1", "#d97706", "#15803d", "#475569", "#b91c1c", "#a16207"];
  var TONES = { ok: "#15803d", warning: "#d97706", call: "#b91c1c", critical: "#7f1d1d" };
  var waiting = null; // what to draw once the library has loaded
  var styled = false;

  function number(value) {
    return value === null || value === undefined ? null : Number(value);
  }

  // Figures as the desk reads them: $1,234.56 and 152.3% in tooltips, $1.2M and 150% on the axis.
  function formatter(unit, compact) {
    if (unit === "usd") {
      return new Intl.NumberFormat(
        "en-US",
        compact
          ? { style: "currency", currency: "USD", notation: "compact", maximumFractionDigits: 1 }
          : { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 2 }
      );
    }
    if (unit === "ratio") {
      var digits = compact ? 0 : 1;
      var percent = new Intl.NumberFormat("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
      return { format: function (value) { return percent.format(value) + "%"; } };
    }
    return new Intl.NumberFormat("en-US", compact ? { notation: "compact", maximumFractionDigits: 2 } : { maximumFractionDigits: 8 });
  }

  function config(spec) {
    var full = formatter(spec.unit, false);
    var short = formatter(spec.unit, true);
    var round = spec.kind === "doughnut";
    var datasets = spec.datasets.map(function (set, i) {
      var colour = SERIES[i % SERIES.length];
      var dataset = {
        label: set.label,
        data: set.data.map(number),
        borderColor: colour,
        backgroundColor: colour,
        pointStyle: spec.kind === "line" ? "circle" : "rect"
      };
      if (spec.kind === "line") {
        dataset.tension = 0;
        dataset.borderWidth = 2;
        dataset.pointRadius = spec.labels.length > 40 ? 0 : 2;
        dataset.spanGaps = false; // a day without exposure has no coverage: a gap, not a line through it
      }
      if (round) {
        dataset.backgroundColor = spec.labels.map(function (_, j) { return SERIES[j % SERIES.length]; });
        dataset.borderColor = "#fff";
      }
      return dataset;
    });
    if (!round) {
      spec.levels.forEach(function (level) {
        var colour = TONES[level.tone] || "#6b7280";
        datasets.push({
          type: "line",
          label: level.label,
          data: spec.labels.map(function () { return number(level.value); }),
          borderColor: colour,
          backgroundColor: colour,
          borderDash: [6, 4],
          borderWidth: 1.5,
          pointStyle: "line", // the legend shows a line, not a filled box
          pointRadius: 0,
          pointHitRadius: 0,
          fill: false
        });
      });
    }
    var options = {
      animation: false,
      responsive: true,
      maintainAspectRatio: false, // the box's height is set in borrowdesk.css (.chart-box)
      plugins: {
        legend: { position: "bottom", labels: { usePointStyle: true, pointStyleWidth: 14, boxHeight: 6 } },
        tooltip: {
          callbacks: {
            label: function (context) {
              var value = round ? context.parsed : context.parsed.y;
              return (context.dataset.label || "") + ": " + (value === null ? "—" : full.format(value));
            }
          }
        }
      }
    };
    if (!round) {
      options.interaction = { mode: "index", intersect: false };
      options.scales = {
        x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true } },
        y: { beginAtZero: true, ticks: { callback: function (value) { return short.format(value); } } }
      };
      if (spec.unit === "count") options.scales.y.ticks.precision = 0; // whole ticks: 1, 2, 3 cases

    }
    return { type: spec.kind, data: { labels: spec.labels, datasets: datasets }, options: options };
  }

  function useDeskStyle() {
    if (styled) return;
    styled = true;
    var body = window.getComputedStyle(document.body);
    window.Chart.defaults.font.family = body.fontFamily;
    window.Chart.defaults.font.size = 12;
    window.Chart.defaults.color = "#4a5568";
  }

  function draw(canvas) {
    if (canvas.hasAttribute("data-drawn")) return;
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source) return;
    useDeskStyle();
    new window.Chart(canvas, config(JSON.parse(source.textContent)));
    canvas.setAttribute("data-drawn", "true");
  }

  function withLibrary(src, then) {
    if (window.Chart) {
      then();
      return;
    }
    if (waiting) {
      waiting.push(then);
      return;
    }
    waiting = [then];
    var script = document.createElement("script");
    script.src = src;
    script.onload = function () {
      var calls = waiting;
      waiting = null;
      calls.forEach(function (call) { call(); });
    };
    script.onerror = function () {
      waiting = null;
      console.warn("The chart library did not load; the tables under the charts hold the same figures.");
    };
    document.head.appendChild(script);
  }

  function drawAll(root) {
    var canvases = root.querySelectorAll("canvas[data-chart]");
    if (!canvases.length) return;
    withLibrary(canvases[0].getAttribute("data-chart-library"), function () {
      canvases.forEach(draw);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawAll(document);
  });
  document.addEventListener("htmx:load", function (event) {
    drawAll(event.target);
  });
})();
