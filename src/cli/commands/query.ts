import type { Command } from "commander"
import { collect } from "../collect.js"
// namedQueries.js is plain data: the help text lists its queries at no start-up cost
import { NAMED_QUERIES } from "../../db/namedQueries.js"

const cellText = (v: unknown): string =>
  v === null || v === undefined ? "" : typeof v === "number" && !Number.isInteger(v) ? String(Number(v.toPrecision(6))) : String(v)

/** Rows as an aligned text table (numbers right-aligned). */
const table = (rows: ReadonlyArray<Record<string, unknown>>): string => {
  if (rows.length === 0) return "(no rows)"
  const cols = Object.keys(rows[0] as object)
  const cells = rows.map((r) => cols.map((c) => cellText(r[c])))
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] as string).length)))
  const numeric = cols.map((c) => rows.every((r) => r[c] === null || typeof r[c] === "number"))
  const line = (vals: readonly string[]) =>
    vals.map((v, i) => (numeric[i] ? v.padStart(widths[i] as number) : v.padEnd(widths[i] as number))).join("  ").trimEnd()
  return [line(cols), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n")
}

/** `--param name=value` pairs; a value that reads as a number binds as one. `usage` makes the error for a bad pair. */
const parseParams = (pairs: readonly string[], usage: (message: string) => Error): Record<string, string | number> => {
  const out: Record<string, string | number> = {}
  for (const p of pairs) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(p)
    if (m === null) throw usage(`--param must be name=value (got "${p}")`)
    const [, name = "", value = ""] = m
    if (name === "run") throw usage("use --run to choose the run, not --param run=…")
    out[name] = value.trim() !== "" && Number.isFinite(Number(value)) ? Number(value) : value
  }
  return out
}

/**
 * Why a query over a run found nothing when the run's trace level keeps no rows of the kind it reads
 * (kernel rows need `kernels` or `tokens`, window sums `totals`, token rows need `tokens`); null when the level is not why.
 */
const emptyBecause = (sql: string, level: string | null): string | null => {
  const reads = (re: RegExp) => re.test(sql)
  if (level === "requests" && reads(/\bkernels?_?\w*\b|utilization/i)) {
    return "was traced at level 'requests', which keeps no kernel rows (run it with --set trace=totals or trace=kernels)"
  }
  if (level === "totals" && reads(/\bkernels\b/i) && !reads(/\bkernel_totals\b/i)) {
    return "was traced at level 'totals', which keeps kernel batches summed per window in kernel_totals, not one row each (run it with --set trace=kernels)"
  }
  if ((level === "kernels" || level === "tokens") && reads(/\bkernel_totals\b/i) && !reads(/\bFROM kernels\b/i)) {
    return `was traced at level '${level}', which keeps every batch in kernels, not the sums in kernel_totals (run it with --set trace=totals)`
  }
  if (level !== null && level !== "tokens" && reads(/\btokens\b|\bitl\w*\b|inter_token/i)) {
    return `was traced at level '${level}', which keeps no token rows (run it with --set trace=tokens)`
  }
  return null
}

/**
 * `moska query NAME|SQL [--run ID] [--db FILE] [--param name=value ...] [--json]`: a named query (ttft, tpot, e2e,
 * latency, throughput, utilization, summary, kernels, requests, status, runs) or raw read-only
 * SQL (which may use `:run`) against the trace database. The run defaults to the latest.
 * @example moska query ttft --run 3 --json
 */
export const registerQuery = (program: Command): void => {
  program
    .command("query")
    .description(`query the trace database: a name (${Object.keys(NAMED_QUERIES).join(", ")}) or SQL (may use :run)`)
    .argument("<nameOrSql>", "named query or SQL")
    .option("--run <id>", "run id (default: the latest run)")
    .option("--db <file>", "trace database", "moska.db")
    .option("--json", "print the rows as one JSON array")
    .option("--param <name=value>", "bind :name in the query (repeatable; goodput needs ttft_ms and tpot_ms)", collect, [])
    .addHelpText("after", `\nNamed queries:\n${Object.entries(NAMED_QUERIES).map(([n, q]) => `  ${n.padEnd(14)} ${q.description}${Object.entries(q.params ?? {}).map(([p, d]) => `\n  ${"".padEnd(14)}   --param ${p}=…  ${d}`).join("")}`).join("\n")}\n`)
    .action(async (nameOrSql: string, opts: { run?: string; db: string; json?: boolean; param: string[] }) => {
      // loaded here, not at start-up
      const [{ UsageError }, { checkDbPath }, { openTraceDb }, { runState }, { runRecords }] = await Promise.all([
        import("../../core/errors.js"), import("../checkDbPath.js"), import("../../db/openTraceDb.js"), import("../../db/runLiveness.js"), import("../../db/runRecords.js"),
      ])
      checkDbPath(opts.db, { mustExist: true })
      const named = NAMED_QUERIES[nameOrSql]
      if (named === undefined && /^[a-z0-9_-]+$/i.test(nameOrSql)) {
        throw new UsageError({ message: `unknown query "${nameOrSql}" (named queries: ${Object.keys(NAMED_QUERIES).join(", ")}; or give SQL)` })
      }
      const params = parseParams(opts.param, (message) => new UsageError({ message }))
      const missing = Object.keys(named?.params ?? {}).filter((p) => !(p in params))
      if (missing.length > 0) {
        throw new UsageError({ message: `query ${nameOrSql} needs ${missing.map((p) => `--param ${p}=<number>`).join(" ")}` })
      }
      const db = openTraceDb(opts.db, { readonly: true })
      try {
        let runId: number | null
        if (opts.run !== undefined) {
          if (!/^\d+$/.test(opts.run)) throw new UsageError({ message: `--run must be a run id (got "${opts.run}")` })
          runId = Number(opts.run)
          if (!runRecords.exists(db, runId)) throw new UsageError({ message: `no run ${runId} in ${opts.db} (see: moska query runs --db ${opts.db})` })
        } else {
          runId = runRecords.latestRunId(db)
        }
        const sql = named?.sql ?? nameOrSql
        // SQLite answers a PRAGMA that would change a read-only file with "disk I/O error"
        if (/^\s*pragma\s+[\w.]+\s*(=|\()/i.test(sql) && /=/.test(sql)) {
          throw new UsageError({ message: "moska query opens the database read-only, so PRAGMA assignments are refused (change the file with the sqlite3 CLI)" })
        }
        let stmt
        try {
          stmt = db.prepare(sql)
        } catch (e) {
          throw new UsageError({ message: `SQL error: ${(e as Error).message}` })
        }
        if (!stmt.reader) throw new UsageError({ message: "only queries that return rows are allowed (the database is opened read-only)" })
        const usesRun = /[:@$]run\b/.test(sql)
        if (usesRun && runId === null) throw new UsageError({ message: `${opts.db} has no runs yet` })
        let rows: Array<Record<string, unknown>>
        try {
          const bound = usesRun ? { ...params, run: runId } : params
          rows = (Object.keys(bound).length > 0 ? stmt.all(bound) : stmt.all()) as Array<Record<string, unknown>>
        } catch (e) {
          throw new UsageError({ message: `SQL error: ${(e as Error).message}` })
        }
        // a run that is not finished (running, crashed, interrupted, failed) says so beside its figures
        if (usesRun) {
          const { note } = runState(runRecords.liveness(db, runId as number), Date.now())
          if (note !== null) process.stderr.write(`moska: note: run ${runId}: ${note}\n`)
        }
        if (rows.length === 0 && usesRun) {
          const why = emptyBecause(sql, runRecords.traceLevel(db, runId as number))
          if (why !== null) process.stderr.write(`moska: note: no rows: run ${runId} ${why}\n`)
        }
        if (nameOrSql === "runs") rows = rows.map((r) => (r.status === "running" ? { ...r, status: runState(runRecords.liveness(db, r.run_id as number), Date.now()).state } : r))
        if (opts.json === true) process.stdout.write(`${JSON.stringify(rows)}\n`)
        else process.stdout.write(`${usesRun ? `run ${runId}\n` : ""}${table(rows)}\n`)
      } finally {
        db.close()
      }
    })
}
