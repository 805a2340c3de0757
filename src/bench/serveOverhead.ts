/**
 * `npm run bench:serve-overhead`: what the HTTP server adds. One trace (the first `--limit` rows'
 * lengths of the shipped Azure code trace, with seeded Poisson arrivals at each `--rates` value,
 * written as Mooncake JSONL) goes, at each rate and in one process run, through
 *   1. `moska replay TRACE --live --executor priced` (the engine on the wall clock, no HTTP), and
 *   2. `moska serve --executor priced` driven by `moska bench serve --use-trace-arrivals` (HTTP,
 *      SSE, JSON per token), measured by the client and, from the server's trace database, by the
 *      engine behind it,
 * under the same scenario (`--scenario`, default scenarios/live/h200-8b.yaml: Llama-3.1-8B on the
 * calibrated H200 model, 8K context). Prints a table of TTFT/TPOT p50/p99 per path and rate and the
 * client's p50 TPOT over replay's, and writes JSON (`--out`, default `.bench/serve-overhead.json`).
 * Options: `--limit N` (default 120), `--rates a,b,...` (req/s, default 4), `--seed S`, `--set
 * path=value` (repeatable, passed to both). Needs `npm run build` first.
 */
import { spawn, spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { cpus, loadavg, tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import Database from "better-sqlite3"
import { makeRng } from "../core/rng.js"
import { summarizeRun } from "../db/summarizeRun.js"
import { spawnServer } from "../live/server/spawnServer.js"
import { exponential } from "../sim/random/distributions.js"
import { parseTrace } from "../traces/parseTrace.js"

const ROOT = fileURLToPath(new URL("../../", import.meta.url))
const CLI = join(ROOT, "dist/cli/main.js")

const args = process.argv.slice(2)
const opt = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
const sets = args.flatMap((a, i) => (a === "--set" && args[i + 1] !== undefined ? ["--set", args[i + 1] as string] : []))
const limit = Number(opt("--limit") ?? 120)
const rates = (opt("--rates") ?? "4").split(",").map(Number)
const seed = Number(opt("--seed") ?? 1)
const scenario = join(ROOT, opt("--scenario") ?? "scenarios/live/h200-8b.yaml")
const out = opt("--out") ?? ".bench/serve-overhead.json"
const source = join(ROOT, "data/traces/azure_llm_2023_code.csv")

interface Figures {
  readonly completed: number
  readonly ttftP50: number
  readonly ttftP99: number
  readonly tpotP50: number
  readonly tpotP99: number
}

const scratch = mkdtempSync(join(tmpdir(), "moska-bench-serve-overhead-"))
const rows = parseTrace(readFileSync(source, "utf8"), { file: source }).requests.slice(0, limit)

const traceAt = (rate: number): string => {
  const rng = makeRng(seed).split(`arrivals@${rate}`)
  let t = 0
  const file = join(scratch, `trace-${rate}.jsonl`)
  writeFileSync(file, rows.map((r, i) => {
    if (i > 0) t += exponential(rng, 1000 / rate)
    return JSON.stringify({ timestamp: Math.round(t * 1000) / 1000, input_length: r.uniqueTokens, output_length: r.outputTokens })
  }).join("\n") + "\n")
  return file
}

const run = (argv: readonly string[]): string => {
  const r = spawnSync(process.execPath, [CLI, ...argv], { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 28 })
  if (r.status !== 0) throw new Error(`moska ${argv.join(" ")} exited ${r.status}:\n${r.stderr}`)
  return r.stdout
}

const replayLive = (trace: string): Figures => {
  const j = JSON.parse(run(["replay", trace, "--live", "--executor", "priced", "--scenario", scenario, ...sets, "--db", join(scratch, `replay-${Date.now()}.db`), "--json"])) as {
    requests: { completed: number }; latencyMs: Record<"ttft" | "tpot", { p50: number; p99: number }>
  }
  return { completed: j.requests.completed, ttftP50: j.latencyMs.ttft.p50, ttftP99: j.latencyMs.ttft.p99, tpotP50: j.latencyMs.tpot.p50, tpotP99: j.latencyMs.tpot.p99 }
}

const served = async (trace: string): Promise<{ readonly client: Figures; readonly engine: Figures; readonly result: Record<string, number> }> => {
  const db = join(scratch, `serve-${Date.now()}.db`)
  const { url, child, exit, stderr } = await spawnServer(CLI, [scenario, "--executor", "priced", "--port", "0", "--db", db, "--max-queued", "100000", ...sets], ROOT)
  const resultFile = join(scratch, `bench-${Date.now()}.json`)
  // spawned, not spawnSync: this process must not block while the server it started runs
  const bench = spawn(process.execPath, [CLI, "bench", "serve", "--url", url, "--trace", trace, "--use-trace-arrivals", "--ignore-eos",
    "--percentile-metrics", "ttft,tpot,itl,e2el", "--metric-percentiles", "50,99", "--save-result", resultFile], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] })
  let benchErr = ""
  bench.stderr.on("data", (d: Buffer) => (benchErr += d.toString()))
  const code = await new Promise<number | null>((resolve) => bench.on("exit", resolve))
  child.kill("SIGTERM")
  if ((await exit) !== 0) throw new Error(`moska serve did not exit 0:\n${stderr()}`)
  if (code !== 0) throw new Error(`moska bench serve exited ${code}:\n${benchErr}`)
  const r = JSON.parse(readFileSync(resultFile, "utf8")) as Record<string, number>
  const d = new Database(db, { readonly: true })
  try {
    const runId = d.prepare("SELECT max(run_id) FROM runs").pluck().get() as number
    const s = summarizeRun(d, runId)
    return {
      result: r,
      client: { completed: r.completed as number, ttftP50: r.p50_ttft_ms as number, ttftP99: r.p99_ttft_ms as number, tpotP50: r.p50_tpot_ms as number, tpotP99: r.p99_tpot_ms as number },
      engine: { completed: s.requests.completed, ttftP50: s.latencyMs.ttft.p50 ?? Number.NaN, ttftP99: s.latencyMs.ttft.p99 ?? Number.NaN, tpotP50: s.latencyMs.tpot.p50 ?? Number.NaN, tpotP99: s.latencyMs.tpot.p99 ?? Number.NaN },
    }
  } finally {
    d.close()
  }
}

const fmt = (x: number): string => x.toFixed(2).padStart(9)
const lines: string[] = []
const cases: Array<Record<string, unknown>> = []
const head = `${"rate".padStart(5)}  ${"path".padEnd(30)} ${"done".padStart(5)} ${"TTFT p50".padStart(9)} ${"TTFT p99".padStart(9)} ${"TPOT p50".padStart(9)} ${"TPOT p99".padStart(9)}`
process.stderr.write(`serve overhead: ${rows.length} requests (Azure code trace lengths), Poisson arrivals, rates ${rates.join(", ")} req/s; ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(1)).join(" ")}\n`)
try {
  for (const rate of rates) {
    const trace = traceAt(rate)
    const replay = replayLive(trace)
    const serve = await served(trace)
    const overheadP50 = serve.client.tpotP50 / replay.tpotP50 - 1
    for (const [path, f] of [["replay --live (no HTTP)", replay], ["serve: engine (trace DB)", serve.engine], ["serve: client (bench serve)", serve.client]] as const) {
      lines.push(`${String(rate).padStart(5)}  ${path.padEnd(30)} ${String(f.completed).padStart(5)} ${fmt(f.ttftP50)} ${fmt(f.ttftP99)} ${fmt(f.tpotP50)} ${fmt(f.tpotP99)}`)
    }
    lines.push(`${"".padStart(5)}  client p50 TPOT over replay's: ${(overheadP50 * 100).toFixed(1)}%`)
    cases.push({ rate, requests: rows.length, replay, serveEngine: serve.engine, serveClient: serve.client, tpotP50Overhead: overheadP50, benchResult: { duration: serve.result.duration, request_throughput: serve.result.request_throughput, output_throughput: serve.result.output_throughput } })
    process.stderr.write(`rate ${rate}: done\n`)
  }
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
const table = [head, ...lines].join("\n")
process.stdout.write(`latency ms; ${rows.length} requests per rate\n${table}\n`)
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, `${JSON.stringify({ scenario, limit: rows.length, seed, sets, cores: cpus().length, loadavg: loadavg(), cases }, null, 1)}\n`)
process.stderr.write(`wrote ${out}\n`)
