import type { Command } from "commander"
import { existsSync, writeFileSync } from "node:fs"
import { InputFileInvalid, UsageError } from "../../core/errors.js"
import type { ServingSlo } from "../../report/servingCurves.js"

/** `ttft:200,tpot:50` → { ttftP99Ms: 200, tpotP99Ms: 50 }; anything else is a one-line usage error. */
const parseSlo = (text: string): ServingSlo => {
  const out: { ttftP99Ms?: number; tpotP99Ms?: number } = {}
  for (const part of text.split(",")) {
    const m = /^\s*(ttft|tpot):([0-9]+(?:\.[0-9]+)?)\s*$/.exec(part)
    if (m === null || !(Number(m[2]) > 0)) throw new UsageError({ message: `--slo: expected ttft:MS and/or tpot:MS with positive ms, comma-separated (got "${part}")` })
    if (m[1] === "ttft") out.ttftP99Ms = Number(m[2])
    else out.tpotP99Ms = Number(m[2])
  }
  return out
}

/**
 * `moska report [RUN...] [--db FILE] [--out report.html] [--slo ttft:MS,tpot:MS]`: one self-contained HTML page (uPlot
 * inlined, no network) with latency CDFs, series over time, the rows-per-chunk histogram, kernel
 * time by kind and each run's resolved configuration; several runs overlay. Default: the latest run.
 * @example moska report 1 2 --db moska.db --out compare.html
 */
export const registerReport = (program: Command): void => {
  program
    .command("report")
    .description("write one self-contained HTML report (plots and configuration) of one or more runs; several runs overlay")
    .argument("[runs...]", "run ids (default: the latest run)")
    .option("--db <file>", "trace database", "moska.db")
    .option("--out <file>", "HTML file to write", "report.html")
    .option("--slo <bounds>", "latency objectives drawn on a sweep's serving curves, p99 ms: ttft:MS,tpot:MS (either or both)")
    .action(async (runArgs: string[], opts: { db: string; out: string; slo?: string }) => {
      const slo = opts.slo === undefined ? undefined : parseSlo(opts.slo)
      // the database driver and the report code load only when a report is made (start-up time)
      const [{ openTraceDb }, { runRecords }, { loadReportData }, { renderReportHtml }] = await Promise.all([
        import("../../db/openTraceDb.js"), import("../../db/runRecords.js"), import("../../report/loadReportData.js"), import("../../report/renderReportHtml.js"),
      ])
      if (!existsSync(opts.db)) throw new InputFileInvalid({ file: opts.db, message: "no trace database here (run `moska sim` first, or pass --db)" })
      const db = openTraceDb(opts.db, { readonly: true })
      try {
        const ids = runArgs.map((a) => {
          if (!/^\d+$/.test(a)) throw new UsageError({ message: `runs must be run ids (got "${a}")` })
          const id = Number(a)
          if (!runRecords.exists(db, id)) throw new UsageError({ message: `no run ${id} in ${opts.db} (see: moska query runs --db ${opts.db})` })
          return id
        })
        if (ids.length === 0) {
          const latest = runRecords.latestRunId(db)
          if (latest === null) throw new UsageError({ message: `${opts.db} has no runs yet` })
          ids.push(latest)
        }
        const html = renderReportHtml(ids.map((id) => loadReportData(db, id)), { source: opts.db, ...(slo === undefined ? {} : { slo }) })
        writeFileSync(opts.out, html)
        process.stderr.write(`report of run${ids.length > 1 ? "s" : ""} ${ids.join(", ")}: ${opts.out} (${Math.round(html.length / 1024)} kB)\n`)
      } finally {
        db.close()
      }
    })
}
