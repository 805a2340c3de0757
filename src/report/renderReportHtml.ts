import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import type { RunReportData } from "./loadReportData.js"
import { REPORT_CLIENT_JS } from "./reportClient.js"
import { servingCurves, sloCapacity, type ServingCurves, type ServingSlo } from "./servingCurves.js"

const esc = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

// JSON inside <script>: no "</script>" or "<!--" can close it early
const scriptJson = (v: unknown): string => JSON.stringify(v).replace(/</g, "\\u003c")

const num = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined ? "—" : v.toFixed(digits))

const uplotAssets = (): { js: string; css: string } => {
  const require = createRequire(import.meta.url)
  const js = readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8")
  const css = readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8")
  return { js, css }
}

/** The panels, in page order: id, title, and what to say when no run has the data. */
const PANELS: ReadonlyArray<{ id: string; title: string; has: (r: RunReportData) => boolean; missing: string }> = [
  { id: "cdf-ttft", title: "TTFT CDF", has: (r) => r.cdf.ttft !== null, missing: "no completed requests" },
  { id: "cdf-tpot", title: "TPOT CDF", has: (r) => r.cdf.tpot !== null, missing: "no request with two or more output tokens" },
  { id: "cdf-itl", title: "ITL CDF", has: (r) => r.cdf.itl !== null, missing: "no token rows: run the scenario with `--set trace=tokens` for inter-token latency" },
  { id: "cdf-e2e", title: "E2E CDF", has: (r) => r.cdf.e2e !== null, missing: "no completed requests" },
  { id: "time-ttft", title: "TTFT over time", has: (r) => r.timeline.ttftP50Ms.some((v) => v !== null), missing: "no completed requests" },
  { id: "time-tpot", title: "TPOT over time", has: (r) => r.timeline.tpotP50Ms.some((v) => v !== null), missing: "no request with two or more output tokens" },
  { id: "time-tokens", title: "Throughput over time", has: (r) => r.timeline.tokensPerS.some((v) => v > 0), missing: "no output tokens" },
  { id: "time-completed", title: "Completions over time", has: (r) => r.timeline.completedPerS.some((v) => v > 0), missing: "no completed requests" },
  { id: "time-queue", title: "Queue length over time", has: (r) => r.timeline.queueMax.length > 0, missing: "no requests" },
  { id: "time-util", title: "Worker utilization over time", has: (r) => r.timeline.utilization.length > 0, missing: "no kernel rows (scenario trace level `requests`)" },
  { id: "chunk-rows", title: "Stacked rows per chunk GEMM", has: (r) => r.rowsPerChunkGemm !== null, missing: "no kernel rows with chunk ids: per-chunk GEMMs are recorded with `--set policy.routingMode=exact` (fast mode prices whole iterations)" },
  { id: "kernel-kinds", title: "Kernel time by kind", has: (r) => r.kernelsByKind.length > 0, missing: "no kernel rows (scenario trace level `requests`)" },
]

const summaryTable = (runs: readonly RunReportData[]): string => {
  const p = (r: RunReportData, m: string, q: "p50" | "p99") => num(r.percentilesMs[m]?.[q])
  const head = ["run", "label", "system", "scenario", "mode", "seed", "status", "requests (completed / total)", "rejected", "output tokens / s",
    "TTFT p50 / p99 (ms)", "TPOT p50 / p99 (ms)", "ITL p50 / p99 (ms)", "E2E p50 / p99 (ms)", "span (s)", "wall (s)"]
  const rows = runs.map((r) => [
    String(r.runId), r.label ?? "", r.system, r.scenarioName, r.mode, String(r.seed), r.status,
    `${r.requests.completed} / ${r.requests.total}`, String(r.requests.rejected), num(r.outputTokensPerS, 1),
    `${p(r, "ttft", "p50")} / ${p(r, "ttft", "p99")}`, `${p(r, "tpot", "p50")} / ${p(r, "tpot", "p99")}`,
    `${p(r, "itl", "p50")} / ${p(r, "itl", "p99")}`, `${p(r, "e2e", "p50")} / ${p(r, "e2e", "p99")}`,
    num(r.spanS, 3), num(r.wallS, 2),
  ])
  return `<table class="summary"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("")}</tbody></table>`
}

/** What the SLO lines say in words: the bounds, and per curve the largest x that meets them all. */
const sloNote = (serving: ServingCurves): string => {
  const slo = serving.slo
  if (slo === undefined) return ""
  const bounds = [slo.ttftP99Ms === undefined ? null : `TTFT p99 ≤ ${slo.ttftP99Ms} ms`, slo.tpotP99Ms === undefined ? null : `TPOT p99 ≤ ${slo.tpotP99Ms} ms`].filter((b) => b !== null).join(" and ")
  const per = serving.series.map((s) => {
    const x = sloCapacity(s, slo)
    return `${s.name}: ${x === null ? "none of its points" : `up to ${serving.xPath} = ${x}`}`
  }).join("; ")
  return `\n<p class="note" id="slo-note">SLO ${esc(bounds)} (dashed lines). Within it, ${esc(per)}.</p>`
}

/** The three serving-curve panels of a sweep (throughput, TTFT p99, TPOT p99 against the varied value), or nothing. */
const servingPanels = (serving: ServingCurves | null): string =>
  serving === null
    ? ""
    : `<section class="panel"><h2>Serving curves</h2><p class="note">Sweep runs (labels sweep:…) by ${esc(serving.xPath)}; one curve per ${esc(serving.series.map((s) => s.name).join(" / "))}; runs ${esc(serving.series.map((s) => s.runIds.join(", ")).join("; "))}. Percentiles nearest-rank.</p>${sloNote(serving)}
${["serving-throughput", "serving-ttft", "serving-tpot"].map((id) => `<div class="plot" id="${id}"></div>`).join("\n")}</section>`

const configBlocks = (runs: readonly RunReportData[]): string =>
  runs.map((r) => `<details><summary>run ${r.runId}${r.label ? ` (${esc(r.label)})` : ""}: resolved configuration</summary>
<h3>scenario (runs.scenario_json, defaults applied)</h3><pre>${esc(JSON.stringify(r.scenario, null, 2))}</pre>
<h3>engine configuration (summary_json.engine.config)</h3><pre>${esc(JSON.stringify(r.engineConfig, null, 2))}</pre></details>`).join("\n")

/**
 * One self-contained HTML page for the given runs: uPlot (MIT, ~50 kB) and its CSS inlined, the
 * data as JSON, no network access. Panels no run has data for say why instead of drawing. With
 * `slo`, the serving curves of a sweep get dashed objective lines and a note of the largest load
 * each curve serves within them.
 * @example writeFileSync("report.html", renderReportHtml([loadReportData(db, 1)], { source: "moska.db" }))
 */
export const renderReportHtml = (runs: readonly RunReportData[], meta: { readonly source: string; readonly slo?: ServingSlo }): string => {
  const { js, css } = uplotAssets()
  const curves = servingCurves(runs)
  const serving = curves === null || meta.slo === undefined ? curves : { ...curves, slo: meta.slo }
  const panels = PANELS.map((p) => {
    const any = runs.some(p.has)
    const lacking = runs.filter((r) => !p.has(r)).map((r) => r.runId)
    const note = lacking.length > 0 ? `<p class="note">run${lacking.length > 1 ? "s" : ""} ${lacking.join(", ")}: ${esc(p.missing)}</p>` : ""
    // a drawn chart carries its own title
    return `<section class="panel">${any ? `<div class="plot" id="${p.id}"></div>` : `<h2>${esc(p.title)}</h2>`}${note}</section>`
  }).join("\n")
  const title = `moska report: ${runs.map((r) => `run ${r.runId}${r.label ? ` (${r.label})` : ""}`).join(", ")}`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${css}
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #222; background: #fff; }
main { max-width: 1140px; margin: 0 auto; padding: 16px; }
table.summary { border-collapse: collapse; font-size: 12px; margin: 8px 0 16px; }
table.summary th, table.summary td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; }
table.summary th { background: #f3f3f3; }
.panel { margin: 18px 0; } .panel h2 { font-size: 16px; margin: 0 0 4px; }
.note { color: #666; font-size: 12px; margin: 2px 0; }
pre { background: #f7f7f7; padding: 8px; overflow: auto; max-height: 400px; font-size: 11px; }
</style></head>
<body><main>
<h1>${esc(title)}</h1>
<p class="note">From ${esc(meta.source)}. Percentiles in the table are nearest-rank (rank ⌈p/100 · n⌉); times on the time axes are each run's own clock from its first arrival, in ${runs[0]?.timeline.t.length ?? 0} bins. Throughput per bin counts ${esc([...new Set(runs.map((r) => r.timeline.tokensFrom))].join(" / "))}${runs.some((r) => r.timeline.tokensFrom === "request rows") ? " (request rows: a request's tokens spread evenly from its first to its last token)" : ""}.</p>
${summaryTable(runs)}
${configBlocks(runs)}
${servingPanels(serving)}
${panels}
</main>
<script type="application/json" id="moska-data">${scriptJson(runs)}</script>
${serving === null ? "" : `<script type="application/json" id="moska-serving">${scriptJson(serving)}</script>\n`}<script>${js}</script>
<script>${REPORT_CLIENT_JS}</script>
</body></html>
`
}
