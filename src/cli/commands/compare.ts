import type { Command } from "commander"
import type { Database } from "better-sqlite3"
import { resolve } from "node:path"
import type { ComparedMetric, ComparedRun, KernelFidelity, RunComparison } from "../../db/compareRuns.js"

const ms = (v: number | null | undefined): string => (v === null || v === undefined ? "—" : v.toFixed(2))
const pct = (v: number | null | undefined, signed = true): string =>
  v === null || v === undefined ? "—" : `${signed && v >= 0 ? "+" : ""}${(v * 100).toFixed(1)}%`
const pad = (cells: readonly string[], widths: readonly number[]): string =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join("  ").trimEnd()

const who = (r: ComparedRun, db: string): string =>
  `run ${r.runId}${r.label !== null ? ` (${r.label})` : ""}: ${r.scenarioName}, system ${r.system}, ${r.mode}, seed ${r.seed}, ${r.status} [${db}]`

const kernelLines = (side: string, k: KernelFidelity): string[] => {
  if (k.source === "sim") return [`kernels ${side}: sim (durations are the cost model's; nothing measured)`]
  if (k.source === "unmeasured") return [`kernels ${side}: no measured GPU times (a live run without timestamps, e.g. --executor priced)`]
  const head = ["kind", "n", "measured ms", "predicted ms", "|err| p50", "|err| p90", "wall ms", "wall |err| p50", "wall |err| p90"]
  const rows = k.kinds.map((x) => [
    x.kind, String(x.n), ms(x.measuredMs), ms(x.predictedMs), pct(x.gpu.medianAbsRelErr, false), pct(x.gpu.p90AbsRelErr, false),
    ms(x.wall.wallMs), pct(x.wall.medianAbsRelErr, false), pct(x.wall.p90AbsRelErr, false),
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)))
  return [`kernels ${side}: predicted vs measured (gpu_ns) and vs wall duration (end − start), per kind`, `  ${pad(head, widths)}`, ...rows.map((r) => `  ${pad(r, widths)}`)]
}

const value = (v: unknown): string => (v === undefined ? "(absent)" : JSON.stringify(v))

/** The human comparison: who, latency table (`metrics`: COMPARED_METRICS), request MAPE, throughput, kernels, configuration diff. */
const human = (c: RunComparison, dbA: string, dbB: string, metrics: readonly ComparedMetric[]): string => {
  const head = ["latency ms", "A p50", "B p50", "err", "A p90", "B p90", "err", "A p99", "B p99", "err", "n A", "n B"]
  const rows = metrics.map((m) => {
    const { a, b, relErr } = c.latencyMs[m]
    return [m.toUpperCase(), ms(a?.p50), ms(b?.p50), pct(relErr.p50), ms(a?.p90), ms(b?.p90), pct(relErr.p90), ms(a?.p99), ms(b?.p99), pct(relErr.p99),
      String(a?.n ?? 0), String(b?.n ?? 0)]
  })
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)))
  const mape = (["ttft", "tpot", "e2e"] as const).map((m) => `${m.toUpperCase()} ${pct(c.requestMape[m].mape, false)} (n=${c.requestMape[m].n})`).join(", ")
  const tps = (v: number | null) => (v === null ? "—" : v.toLocaleString("en-US", { maximumFractionDigits: 1 }))
  return [
    `A: ${who(c.a, dbA)}`,
    `B: ${who(c.b, dbB)}`,
    "errors are (B − A) / A; percentiles nearest-rank",
    "",
    pad(head, widths),
    ...rows.map((r) => pad(r, widths)),
    "",
    `request-level MAPE (requests completed in both, by request_id): ${mape}`,
    `throughput: A ${tps(c.throughput.a)}, B ${tps(c.throughput.b)} output tokens/s, error ${pct(c.throughput.relErr)}`,
    "",
    ...kernelLines("A", c.kernels.a),
    ...kernelLines("B", c.kernels.b),
    "",
    c.configDiff.length === 0
      ? "configuration: identical scenarios"
      : `configuration: ${c.configDiff.length} ${c.configDiff.length > 1 ? "paths differ" : "path differs"} (A → B)`,
    ...c.configDiff.map((d) => `  ${d.path}: ${value(d.a)} → ${value(d.b)}`),
  ].join("\n")
}

/**
 * `moska compare RUN_A RUN_B [--db FILE] [--db-b FILE] [--json]`: run B checked against run A
 * (errors (B − A) / A): latency percentiles, request-level MAPE, throughput, kernel-level
 * predicted vs measured error of live runs, and the scenario fields that differ. `--db-b` reads
 * run B from a second database (e.g. a live run on the GPU host against a local sim replay).
 * @example moska compare 1 2 --db live.db --db-b sim.db --json
 */
export const registerCompare = (program: Command): void => {
  program
    .command("compare")
    .description("compare run B against run A: latency percentiles and errors, request MAPE, throughput, kernel fidelity, configuration diff")
    .argument("<runA>", "reference run id")
    .argument("<runB>", "run id checked against A")
    .option("--db <file>", "trace database of run A (and of B without --db-b)", "moska.db")
    .option("--db-b <file>", "trace database of run B (default: --db)")
    .option("--json", "print one JSON object on stdout")
    .action(async (a: string, b: string, opts: { db: string; dbB?: string; json?: boolean }) => {
      // loaded here, not at start-up
      const [{ UsageError }, { COMPARED_METRICS, compareRuns }, { openTraceDb }, { runRecords }, { checkDbPath }] = await Promise.all([
        import("../../core/errors.js"), import("../../db/compareRuns.js"), import("../../db/openTraceDb.js"), import("../../db/runRecords.js"), import("../checkDbPath.js"),
      ])
      const runId = (text: string, db: Database, file: string): number => {
        if (!/^\d+$/.test(text)) throw new UsageError({ message: `runs must be run ids (got "${text}")` })
        const id = Number(text)
        if (!runRecords.exists(db, id)) throw new UsageError({ message: `no run ${id} in ${file} (see: moska query runs --db ${file})` })
        return id
      }
      const fileB = opts.dbB ?? opts.db
      checkDbPath(opts.db, { mustExist: true })
      checkDbPath(fileB, { mustExist: true })
      const dbA = openTraceDb(opts.db, { readonly: true })
      // one connection when both name the same file, so the runs are read from one snapshot of it
      const dbB = resolve(fileB) === resolve(opts.db) ? dbA : openTraceDb(fileB, { readonly: true })
      try {
        const c = compareRuns({ db: dbA, runId: runId(a, dbA, opts.db) }, { db: dbB, runId: runId(b, dbB, fileB) })
        if (opts.json === true) process.stdout.write(`${JSON.stringify({ dbA: opts.db, dbB: fileB, ...c })}\n`)
        else process.stdout.write(`${human(c, opts.db, fileB, COMPARED_METRICS)}\n`)
      } finally {
        if (dbB !== dbA) dbB.close()
        dbA.close()
      }
    })
}
