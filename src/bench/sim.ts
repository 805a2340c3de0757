/**
 * `npm run bench:sim`: the simulator's speed as users meet it. Each case is one `moska sim` process
 * (`node dist/bundle/main.js sim FILE --db TMP --json`: package.json's bin, start-up, the worker
 * thread and the SQLite sink included; `--unbundled` times `dist/cli/main.js` instead) on a shipped scenario as shipped, plus synthetic Poisson runs of 100k and 1M
 * requests (trace level `requests`) whose peak RSS shows whether memory grows per finished
 * request. Prints a table of medians and writes JSON (`--out`, default `.bench/sim.json`).
 * Options: `--only TEXT` (substring of a case name), `--repeat N` (runs per case and build, default
 * 1), `--compare PATH` (another build's `dist/bundle/main.js` or `dist/cli/main.js`, run interleaved with this one, case by
 * case, so a shared machine's load falls on both alike), `--requests N` (the large synthetic run's
 * size, default 1,000,000), `--no-large` (skip it). "x vs compare" is the other build's median over
 * this one's (above 1: this build is faster); on a loaded machine CPU seconds are the steadier figure.
 */
import Database from "better-sqlite3"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { cpus, loadavg, tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { benchOption, ROOT, THIS_BIN, THIS_CLI } from "./benchArgs.js"
import { markdownTable } from "./markdownTable.js"
import { median, sampleBuilds, sampleKey } from "./sampleBuilds.js"
import { timeNode } from "./timeNode.js"

const opt = benchOption
const only = opt("--only")
const repeat = Math.max(1, Number(opt("--repeat") ?? 1))
const compare = opt("--compare")
const largeRequests = Number(opt("--requests") ?? 1_000_000)
const out = opt("--out") ?? ".bench/sim.json"

interface Case {
  readonly name: string
  /** Scenario file, absolute. */
  readonly file: string
  /** `--set` overrides. */
  readonly sets?: readonly string[]
}

const scratch = mkdtempSync(join(tmpdir(), "moska-bench-sim-"))
/** A synthetic Poisson scenario of `requests` requests (the 100k case of issue 12), written to a scratch file. */
const poisson = (requests: number): string => {
  const file = join(scratch, `poisson-${requests}.json`)
  writeFileSync(file, JSON.stringify({
    name: `bench-poisson-${requests}`, seed: 1, system: "moska", trace: "requests",
    corpus: { sharedTokens: 1_048_576, chunkTokens: 16_384, routing: { kind: "zipf", exponent: 1 } },
    workload: {
      kind: "poisson", ratePerS: 15, requests,
      uniqueTokens: { kind: "lognormal", median: 4096, sigma: 0.8, max: 65_536 },
      outputTokens: { kind: "lognormal", median: 128, sigma: 0.8, max: 2048 },
    },
  }))
  return file
}

const shipped = ["default", "mooncake-replay", "azure-replay", "compare/private", "compare/prefix", "compare/cascade", "compare/moska"]
const CASES: Case[] = [
  ...shipped.map((s) => ({ name: `scenarios/${s}.yaml`, file: join(ROOT, "scenarios", `${s}.yaml`) })),
  // token rows in SQLite (issue 12: ~4.7 µs each when written in time order)
  { name: "scenarios/default.yaml trace=tokens requests=3000", file: join(ROOT, "scenarios/default.yaml"), sets: ["trace=tokens", "workload.requests=3000"] },
  { name: "poisson 100k (synthetic)", file: poisson(100_000) },
  ...(process.argv.includes("--no-large") ? [] : [{ name: `poisson ${largeRequests.toLocaleString("en-US")} (synthetic)`, file: poisson(largeRequests) }]),
].filter((c) => only === undefined || c.name.includes(only))

const thisCli = process.argv.includes("--unbundled") ? THIS_CLI : THIS_BIN
const builds = [{ label: "this", cli: thisCli }, ...(compare === undefined ? [] : [{ label: "compare", cli: resolve(compare) }])]

interface Sample {
  readonly wallS: number
  readonly cpuS: number
  readonly maxRssMiB: number
  readonly requests: number
  readonly iterations: number
  readonly events: number
  readonly kernelRows: number
  readonly tokenRows: number
}

/** One `moska sim` process (peak RSS, CPU, wall, start-up included) and what it simulated. */
const runOnce = (cli: string, c: Case): Sample => {
  const db = join(scratch, "bench.db")
  for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true })
  const sets = (c.sets ?? []).flatMap((v) => ["--set", v])
  const t = timeNode([cli, "sim", c.file, ...sets, "--db", db, "--json"], dirname(dirname(dirname(cli))))
  const summary = JSON.parse(t.stdout) as { requests: { total: number }; iterations: number; events: number }
  const file = new Database(db, { readonly: true })
  const count = (table: string): number => file.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number
  const rows = { kernelRows: count("kernels"), tokenRows: count("tokens") }
  file.close()
  return {
    wallS: t.wallS, cpuS: t.cpuS, maxRssMiB: t.maxRssMiB,
    requests: summary.requests.total, iterations: summary.iterations, events: summary.events, ...rows,
  }
}

interface Row {
  readonly case: string
  readonly build: string
  readonly cli: string
  readonly runs: number
  readonly requests: number
  readonly iterations: number
  readonly events: number
  readonly kernelRows: number
  readonly tokenRows: number
  /** Medians over the runs. */
  readonly wallS: number
  readonly cpuS: number
  readonly maxRssMiB: number
  readonly usPerRequest: number
  readonly usPerIteration: number
  readonly samples: readonly Sample[]
}

const samples = sampleBuilds(CASES, builds, repeat, runOnce, (s) => `${s.wallS.toFixed(2)} s wall, ${s.cpuS.toFixed(2)} s cpu, ${s.maxRssMiB.toFixed(0)} MiB`)

const rows: Row[] = []
for (const c of CASES) {
  for (const b of builds) {
    const ss = samples.get(sampleKey(c.name, b.label)) ?? []
    const first = ss[0] as Sample
    const wallS = median(ss.map((s) => s.wallS))
    rows.push({
      case: c.name, build: b.label, cli: b.cli, runs: ss.length, requests: first.requests, iterations: first.iterations, events: first.events,
      kernelRows: first.kernelRows, tokenRows: first.tokenRows,
      wallS, cpuS: median(ss.map((s) => s.cpuS)), maxRssMiB: median(ss.map((s) => s.maxRssMiB)),
      usPerRequest: (wallS * 1e6) / first.requests, usPerIteration: first.iterations > 0 ? (wallS * 1e6) / first.iterations : 0, samples: ss,
    })
  }
}

const fmt = (n: number, d = 0): string => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d })
const header = ["case", "build", "requests", "iterations", "events", "kernel rows", "token rows", "wall s", "cpu s", "µs/request", "µs/iteration", "peak RSS MiB", ...(compare === undefined ? [] : ["wall vs compare", "cpu vs compare"])]
const table = rows.map((r) => {
  const other = rows.find((o) => o.case === r.case && o.build === "compare")
  return [
    r.case, r.build, fmt(r.requests), fmt(r.iterations), fmt(r.events), fmt(r.kernelRows), fmt(r.tokenRows), fmt(r.wallS, 2), fmt(r.cpuS, 2), fmt(r.usPerRequest, 1), fmt(r.usPerIteration, 2), fmt(r.maxRssMiB),
    ...(compare === undefined ? [] : r.build === "this" && other !== undefined ? [`${fmt(other.wallS / r.wallS, 2)}x`, `${fmt(other.cpuS / r.cpuS, 2)}x`] : ["", ""]),
  ]
})
console.log(markdownTable(header, table))

// Memory per finished request: the large run's peak RSS against the 100k run's, per extra request.
const growth = builds.flatMap((b) => {
  const small = rows.find((r) => r.build === b.label && r.case.startsWith("poisson 100k"))
  const large = rows.find((r) => r.build === b.label && r.case.startsWith("poisson") && r !== small)
  if (small === undefined || large === undefined || large.requests <= small.requests) return []
  return [{ build: b.label, bytesPerRequest: ((large.maxRssMiB - small.maxRssMiB) * 2 ** 20) / (large.requests - small.requests) }]
})
for (const g of growth) console.log(`\npeak RSS growth (${g.build}): ${fmt(g.bytesPerRequest, 1)} bytes per request beyond 100k`)

mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, JSON.stringify({ node: process.version, cpus: cpus().length, loadAverage: loadavg(), repeat, rows, rssGrowth: growth }, null, 2) + "\n")
console.log(`\n${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")} at the end (a shared machine inflates wall time); wrote ${out}`)
rmSync(scratch, { recursive: true, force: true })
