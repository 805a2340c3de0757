/**
 * `npm run bench:sim`: wall-clock speed of the simulator. Replays the Mooncake conversation trace
 * (12,031 requests) under `moska` with a 16M-token shared corpus, and a 100k-request synthetic
 * Poisson scenario; prints a table (stderr-free, stdout) and writes `.bench/sim.json`.
 * Options: `--only NAME` (substring of a case name), `--sqlite` (also run each case with the
 * SQLite sink into a temporary database).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { cpus, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import * as S from "effect/Schema"
import { Scenario, type ScenarioInput } from "../core/scenario.js"
import type { TraceSink } from "../core/trace.js"
import type { RequestSpec } from "../core/workload.js"
import { openTraceDb } from "../db/openTraceDb.js"
import { runRecords } from "../db/runRecords.js"
import { SqliteTraceSink } from "../db/SqliteTraceSink.js"
import { MemorySink } from "../sim/memorySink.js"
import { runSimulation } from "../sim/runSimulation.js"
import { parseTrace } from "../traces/parseTrace.js"

const TRACE = "data/traces/mooncake_conversation_trace.jsonl"
const CORPUS_16M = 16_777_216

// 16M shared tokens in FP8 = 1 TiB: a sharded Shared-KV pool of 16 H200s holds it.
const moskaHardware = { unique: { gpu: "H200", count: 1 }, shared: { gpu: "H200", count: 16, parallel: "sharded" } } as const

interface Case {
  readonly name: string
  readonly scenario: ScenarioInput
  readonly trace: boolean
}

const CASES: readonly Case[] = [
  {
    name: "mooncake · moska · 16M · uniform",
    trace: true,
    scenario: {
      name: "bench-mooncake-uniform", system: "moska", hardware: moskaHardware,
      corpus: { sharedTokens: CORPUS_16M, chunkTokens: 16_384, sparsity: 0.75, routing: { kind: "uniform" } },
      workload: { kind: "trace", path: TRACE, format: "mooncake" },
    },
  },
  {
    name: "mooncake · moska · 16M · trace blocks",
    trace: true,
    scenario: {
      name: "bench-mooncake-trace", system: "moska", hardware: moskaHardware,
      corpus: { sharedTokens: CORPUS_16M, chunkTokens: 16_384, sparsity: 0.75, routing: { kind: "trace" } },
      workload: { kind: "trace", path: TRACE, format: "mooncake" },
    },
  },
  {
    name: "poisson 100k · moska · 1M · zipf",
    trace: false,
    scenario: {
      name: "bench-poisson-100k", system: "moska",
      corpus: { sharedTokens: 1_048_576, chunkTokens: 16_384, routing: { kind: "zipf", exponent: 1 } },
      workload: {
        kind: "poisson", ratePerS: 15, requests: 100_000,
        uniqueTokens: { kind: "lognormal", median: 4096, sigma: 0.8, max: 65_536 },
        outputTokens: { kind: "lognormal", median: 128, sigma: 0.8, max: 2048 },
      },
    },
  },
]

interface Row {
  readonly case: string
  readonly sink: string
  readonly requests: number
  readonly completed: number
  readonly outputTokens: number
  readonly iterations: number
  readonly events: number
  readonly simulatedS: number
  readonly wallS: number
  /** CPU seconds of this process during the run (the machine may be shared; wall can exceed it). */
  readonly cpuS: number
  readonly eventsPerS: number
  readonly simSPerWallS: number
  readonly kernelRows: number
}

const args = process.argv.slice(2)
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined
const withSqlite = args.includes("--sqlite")

let traceCache: readonly RequestSpec[] | undefined
const traceRequests = (): readonly RequestSpec[] =>
  (traceCache ??= parseTrace(readFileSync(TRACE, "utf8"), { file: TRACE, format: "mooncake" }).requests)

const runCase = (c: Case, sinkKind: "memory" | "sqlite"): Row => {
  const scenario = S.decodeUnknownSync(Scenario)(c.scenario)
  const requests = c.trace ? traceRequests() : undefined
  let sink: TraceSink
  let close = (): void => undefined
  let kernelCount = (): number => 0
  if (sinkKind === "memory") {
    const m = new MemorySink(false)
    sink = m
    kernelCount = () => m.counts.kernels
  } else {
    const dir = join(tmpdir(), `moska-bench-${process.pid}`)
    mkdirSync(dir, { recursive: true })
    const file = join(dir, "bench.db")
    rmSync(file, { force: true })
    const db = openTraceDb(file)
    const runId = runRecords.insertRun(db, {
      mode: "sim", system: scenario.system, scenarioName: scenario.name, scenarioJson: JSON.stringify(c.scenario),
      seed: scenario.seed, startedAt: new Date().toISOString(), codeVersion: "bench", hardware: "{}",
    })
    const s = new SqliteTraceSink({ open: () => ({ db, runId }), level: scenario.trace })
    sink = s
    kernelCount = () => s.written.kernels
    close = () => {
      db.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  const r = runSimulation({ scenario, sink, ...(requests === undefined ? {} : { traceRequests: requests }) })
  const wallS = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(c0)
  const cpuS = (cpu.user + cpu.system) / 1e6
  const kernelRows = kernelCount()
  close()
  const simulatedS = r.simulatedNs / 1e9
  return {
    case: c.name, sink: sinkKind, requests: r.requests.total, completed: r.requests.completed, outputTokens: r.outputTokens,
    iterations: r.iterations, events: r.events, simulatedS, wallS, cpuS, eventsPerS: r.events / wallS, simSPerWallS: simulatedS / wallS, kernelRows,
  }
}

const rows: Row[] = []
for (const c of CASES) {
  if (only !== undefined && !c.name.includes(only)) continue
  rows.push(runCase(c, "memory"))
  if (withSqlite) rows.push(runCase(c, "sqlite"))
}

const fmt = (n: number, d = 0): string => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d })
const header = ["case", "sink", "requests", "completed", "out tokens", "iterations", "events", "sim s", "wall s", "cpu s", "events/s", "sim s / wall s"]
const table = rows.map((r) => [
  r.case, r.sink, fmt(r.requests), fmt(r.completed), fmt(r.outputTokens), fmt(r.iterations), fmt(r.events),
  fmt(r.simulatedS, 1), fmt(r.wallS, 2), fmt(r.cpuS, 2), fmt(r.eventsPerS), fmt(r.simSPerWallS, 1),
])
const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => (t[i] as string).length)))
const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(" | ")} |`
console.log(line(header))
console.log(`|${widths.map((w, i) => (i < 2 ? `:${"-".repeat(w + 1)}` : `${"-".repeat(w + 1)}:`)).join("|")}|`)
for (const t of table) console.log(line(t))
mkdirSync(".bench", { recursive: true })
writeFileSync(
  ".bench/sim.json",
  JSON.stringify({ node: process.version, cpus: cpus().length, loadAverage: loadavg(), rows }, null, 2) + "\n",
)
console.log(`\n${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")} at the end; wrote .bench/sim.json`)
