/**
 * The report page's own script (plain browser JavaScript, run after the inlined uPlot): reads the
 * runs' data from `#moska-data`, draws one uPlot chart per `.plot` element, one series per run
 * (and per worker for utilization), and sets `window.__moskaReady` with the charts in
 * `window.__moskaPlots` for the browser test. Runs of different spans share a chart through
 * `uPlot.join`, which aligns their x values.
 */
export const REPORT_CLIENT_JS = String.raw`
(function () {
  "use strict";
  var runs = JSON.parse(document.getElementById("moska-data").textContent);
  var COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
  var plots = [];
  window.__moskaPlots = plots;
  var name = function (r) { return "run " + r.runId + (r.label ? " (" + r.label + ")" : "") + " " + r.system; };
  var width = function (el) { return Math.max(320, Math.min(1100, el.clientWidth || 900)); };

  function draw(id, opts, data) {
    var el = document.getElementById(id);
    if (!el) return;
    opts.width = width(el);
    opts.height = opts.height || 300;
    var u = new uPlot(opts, data, el);
    plots.push({ id: id, plot: u });
  }

  // series per run over x values that differ per run: join them on one x axis
  function overlay(id, title, xLabel, yLabel, tables, labels, extra) {
    var present = [];
    var kept = [];
    tables.forEach(function (t, i) { if (t) { present.push(t); kept.push(i); } });
    if (present.length === 0) return;
    var data = uPlot.join(present.map(function (t) { return [t.x, t.y]; }));
    var series = [{ label: xLabel }].concat(kept.map(function (i) {
      var s = { label: labels[i], stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true, points: { show: false } };
      // an objective line (SLO): dashed black, no points
      if (tables[i].dash) return { label: labels[i], stroke: "#000", width: 1.5, dash: [8, 5], spanGaps: true, points: { show: false } };
      if (extra && extra.paths) s.paths = extra.paths();
      if (extra && extra.fill) s.fill = COLORS[i % COLORS.length] + "55";
      if (extra && extra.points) s.points = { show: true, size: 7 };
      return s;
    }));
    draw(id, {
      title: title,
      scales: { x: { time: false } },
      axes: [{ label: xLabel }, { label: yLabel, size: 60 }],
      series: series,
    }, data);
  }

  var runLabels = runs.map(name);
  ["ttft", "tpot", "itl", "e2e"].forEach(function (m) {
    overlay("cdf-" + m, m.toUpperCase() + " CDF", m.toUpperCase() + " (ms)", "fraction of samples ≤ x",
      runs.map(function (r) { return r.cdf[m]; }), runLabels, { paths: function () { return uPlot.paths.stepped({ align: 1 }); } });
  });
  var timeTable = function (key) {
    return runs.map(function (r) { return { x: r.timeline.t, y: r.timeline[key] }; });
  };
  overlay("time-ttft", "TTFT over time (median of the requests arriving in each bin)", "time since first arrival (s)", "TTFT p50 (ms)", timeTable("ttftP50Ms"), runLabels);
  overlay("time-tpot", "TPOT over time (median of the requests arriving in each bin)", "time since first arrival (s)", "TPOT p50 (ms)", timeTable("tpotP50Ms"), runLabels);
  overlay("time-tokens", "Throughput over time", "time since first arrival (s)", "output tokens / s", timeTable("tokensPerS"), runLabels);
  overlay("time-completed", "Completions over time", "time since first arrival (s)", "requests completed / s", timeTable("completedPerS"), runLabels);
  overlay("time-queue", "Queue length over time (most requests waiting for admission in each bin)", "time since first arrival (s)", "requests waiting", timeTable("queueMax"), runLabels,
    { paths: function () { return uPlot.paths.stepped({ align: 1 }); } });

  var utilTables = [];
  var utilLabels = [];
  runs.forEach(function (r) {
    r.timeline.utilization.forEach(function (w) {
      utilTables.push({ x: r.timeline.t, y: w.busy });
      utilLabels.push("run " + r.runId + " " + w.workerId);
    });
  });
  overlay("time-util", "Worker utilization over time (busy fraction per bin)", "time since first arrival (s)", "busy fraction", utilTables, utilLabels);

  overlay("chunk-rows", "Stacked rows per chunk GEMM", "rows stacked in one chunk GEMM", "chunk GEMMs",
    runs.map(function (r) { return r.rowsPerChunkGemm ? { x: r.rowsPerChunkGemm.rows, y: r.rowsPerChunkGemm.gemms } : null; }), runLabels,
    { paths: function () { return uPlot.paths.bars({ size: [0.9, 40] }); }, fill: true });

  // kernel time by kind: grouped bars, x = kind index * runs + run index
  (function () {
    var kinds = [];
    runs.forEach(function (r) { r.kernelsByKind.forEach(function (k) { if (kinds.indexOf(k.kind) < 0) kinds.push(k.kind); }); });
    kinds.sort();
    if (kinds.length === 0) return;
    var R = runs.length;
    var xs = [];
    for (var i = 0; i < kinds.length * R; i++) xs.push(i);
    var data = [xs];
    var series = [{ label: "kind" }];
    runs.forEach(function (r, ri) {
      var ys = xs.map(function () { return null; });
      r.kernelsByKind.forEach(function (k) { ys[kinds.indexOf(k.kind) * R + ri] = k.totalMs; });
      data.push(ys);
      series.push({ label: runLabels[ri], stroke: COLORS[ri % COLORS.length], fill: COLORS[ri % COLORS.length] + "aa",
        paths: uPlot.paths.bars({ size: [0.9, 60] }), points: { show: false } });
    });
    var centers = kinds.map(function (_, k) { return k * R + (R - 1) / 2; });
    draw("kernel-kinds", {
      title: "Kernel time by kind",
      scales: { x: { time: false, range: [-0.6, kinds.length * R - 0.4] } },
      axes: [
        { label: "kernel kind", splits: function () { return centers; }, values: function () { return kinds; }, gap: 8 },
        { label: "total time (ms)", size: 70 },
      ],
      series: series,
    }, data);
  })();

  // serving curves of sweep runs (moska sweep): one series per system and other fixed values, x = the varied number
  var servingEl = document.getElementById("moska-serving");
  var serving = servingEl ? JSON.parse(servingEl.textContent) : null;
  if (serving) {
    var servingLabels = serving.series.map(function (s) { return s.name; });
    var servingTable = function (key) { return serving.series.map(function (s) { return { x: s.x, y: s[key] }; }); };
    overlay("serving-throughput", "Throughput vs " + serving.xPath, serving.xPath, "output tokens / s", servingTable("outputTokensPerS"), servingLabels, { points: true });
    // an SLO bound is a dashed line across the swept range
    var allX = [].concat.apply([], serving.series.map(function (s) { return s.x; }));
    var sloLine = function (bound, what) {
      if (serving.slo === undefined || serving.slo[bound] === undefined) return { tables: [], labels: [] };
      var v = serving.slo[bound];
      return { tables: [{ x: [Math.min.apply(null, allX), Math.max.apply(null, allX)], y: [v, v], dash: true }], labels: ["SLO " + what + " ≤ " + v + " ms"] };
    };
    var ttftSlo = sloLine("ttftP99Ms", "TTFT p99");
    var tpotSlo = sloLine("tpotP99Ms", "TPOT p99");
    overlay("serving-ttft", "TTFT p99 vs " + serving.xPath, serving.xPath, "TTFT p99 (ms)", servingTable("ttftP99Ms").concat(ttftSlo.tables), servingLabels.concat(ttftSlo.labels), { points: true });
    overlay("serving-tpot", "TPOT p99 vs " + serving.xPath, serving.xPath, "TPOT p99 (ms)", servingTable("tpotP99Ms").concat(tpotSlo.tables), servingLabels.concat(tpotSlo.labels), { points: true });
  }

  window.__moskaReady = true;
})();
`
