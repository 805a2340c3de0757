import type { Command } from "commander"
import { existsSync, writeFileSync } from "node:fs"
import { InputFileInvalid, UsageError } from "../../core/errors.js"
import { openTraceDb } from "../../db/openTraceDb.js"
import { runRecords } from "../../db/runRecords.js"
import { loadReportData } from "../../report/loadReportData.js"
import { renderReportHtml } from "../../report/renderReportHtml.js"

/**
 * `moska report [RUN...] [--db FILE] [--out report.html]`: one self-contained HTML page (uPlot
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
    .action((runArgs: string[], opts: { db: string; out: string }) => {
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
        const html = renderReportHtml(ids.map((id) => loadReportData(db, id)), { source: opts.db })
        writeFileSync(opts.out, html)
        process.stderr.write(`report of run${ids.length > 1 ? "s" : ""} ${ids.join(", ")}: ${opts.out} (${Math.round(html.length / 1024)} kB)\n`)
      } finally {
        db.close()
      }
    })
}
