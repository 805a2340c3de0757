import Database from "better-sqlite3"
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "vitest"
import { buildIfStale } from "./buildIfStale.js"

// End to end through the built binary (`npm run build` first, done here), as a user runs it.
const ROOT = fileURLToPath(new URL("../../", import.meta.url))
const MAIN = join(ROOT, "dist/cli/main.js")
const GOLDEN = join(ROOT, "test/golden/small.summary.json")

const moska = (args: string[]) => {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}
const tmpDb = () => join(mkdtempSync(join(tmpdir(), "moska-cli-")), "t.db")
/** Runs recorded in a trace file so far; 0 while it is missing or still being created. */
const runCount = (file: string): number => {
  if (!existsSync(file)) return 0
  try {
    const d = new Database(file, { readonly: true, fileMustExist: true })
    try {
      return d.prepare("SELECT COUNT(*) FROM runs").pluck().get() as number
    } finally {
      d.close()
    }
  } catch {
    return 0
  }
}
const withoutWall = (j: Record<string, unknown>) => {
  const { runId: _r, wallS: _w, ...rest } = j
  return rest
}

beforeAll(() => buildIfStale(ROOT), 300_000) // a no-op after test/globalSetup.ts built dist/

describe("bad input", () => {
  it("a bad scenario exits 2 with one line per problem and writes no database", () => {
    const db = tmpDb()
    const r = moska(["sim", "test/cli/fixtures/bad-scenario.yaml", "--db", db])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr.trim().split("\n")).toEqual([
      "moska: test/cli/fixtures/bad-scenario.yaml: corpus.chunkTokens: must be a positive multiple of 16 (got 0)",
      "moska: test/cli/fixtures/bad-scenario.yaml: workload.burst: is not a known field (allowed: kind, ratePerS, requests, uniqueTokens, outputTokens)",
      "moska: test/cli/fixtures/bad-scenario.yaml: workload.ratePerS: must be a positive finite number (got -2)",
    ])
    expect(existsSync(db)).toBe(false)
  })

  it("a malformed trace exits 2 naming the file and line, and writes no database", () => {
    const db = tmpDb()
    const r = moska(["replay", "test/cli/fixtures/bad-trace.jsonl", "--sim", "--db", db])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^moska: .*bad-trace\.jsonl:3: input_length must be a non-negative integer \(got "many"\)\n$/)
    expect(existsSync(db)).toBe(false)
  })

  it("a corpus that cannot fit exits 2 before the database is opened", () => {
    const db = tmpDb()
    const r = moska(["sim", "scenarios/default.yaml", "--set", "corpus.sharedTokens=16777216", "--db", db])
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toMatch(/needs \d+ bytes but only \d+ are available/)
    expect(existsSync(db)).toBe(false)
  })

  it("bad --set, --seed and contradictory replay modes are one-line usage errors", () => {
    expect(moska(["sim", "scenarios/default.yaml", "--set", "workload.ratePerS=fast"]).stderr).toBe(
      'moska: scenarios/default.yaml: workload.ratePerS: must be a positive finite number (got "fast")\n',
    )
    const seed = moska(["sim", "scenarios/default.yaml", "--seed", "-3"])
    expect([seed.code, seed.stderr]).toEqual([2, 'moska: --seed must be a non-negative integer (got "-3")\n'])
    const both = moska(["replay", "data/traces/azure_llm_2023_code.csv", "--live", "--sim"])
    expect([both.code, both.stderr]).toEqual([2, "moska: replay takes --sim or --live, not both\n"])
    // the default scenario is disaggregated MoSKA: the WebGPU decoder runs colocated on one device
    const live = moska(["replay", "data/traces/azure_llm_2023_code.csv", "--live"])
    expect([live.code, live.stderr]).toEqual([2, "moska: live --executor webgpu runs MoSKA colocated on one device: set policy.disaggregated=false (or use --executor priced, or --bind with webgpu workers)\n"])
  })
})

describe("moska sim --json", () => {
  it("prints exactly one JSON object with the contract's fields, equal to the golden summary apart from runId and wallS", () => {
    const db = tmpDb()
    const r = moska(["sim", "test/golden/small.yaml", "--db", db, "--json"])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.trim().split("\n")).toHaveLength(1)
    const j = JSON.parse(r.stdout) as Record<string, any>
    expect(j.runId).toBe(1)
    expect(j.system).toBe("moska")
    for (const k of ["completed", "rejected"]) expect(typeof j.requests[k]).toBe("number")
    expect(typeof j.throughput.outputTokensPerS).toBe("number")
    for (const m of ["ttft", "tpot", "e2e"]) for (const p of ["p50", "p90", "p99"]) expect(typeof j.latencyMs[m][p], `${m}.${p}`).toBe("number")
    for (const k of ["simulatedS", "wallS", "events"]) expect(typeof j[k]).toBe("number")
    expect(j.requests.completed).toBe(40)
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(GOLDEN, `${JSON.stringify(withoutWall(j), null, 2)}\n`)
    expect(withoutWall(j)).toEqual(JSON.parse(readFileSync(GOLDEN, "utf8")))
  })

  it("same scenario and seed give identical JSON (apart from runId, wallS) and byte-identical trace rows; another seed differs", () => {
    const db = tmpDb()
    const a = moska(["sim", "test/golden/small.yaml", "--db", db, "--json"])
    const b = moska(["sim", "test/golden/small.yaml", "--db", db, "--json"])
    const c = moska(["sim", "test/golden/small.yaml", "--db", db, "--json", "--seed", "7"])
    const [ja, jb, jc] = [a, b, c].map((r) => JSON.parse(r.stdout) as Record<string, unknown>)
    expect([ja!.runId, jb!.runId, jc!.runId]).toEqual([1, 2, 3])
    expect(withoutWall(jb!)).toEqual(withoutWall(ja!))
    expect(withoutWall(jc!)).not.toEqual(withoutWall(ja!))
    const d = new Database(db, { readonly: true })
    const rows = (table: string, order: string, run: number) =>
      JSON.stringify(d.prepare(`SELECT * FROM ${table} WHERE run_id = ? ORDER BY ${order}`).raw().all(run).map((r) => (r as unknown[]).slice(1)))
    expect(rows("requests", "request_id", 2)).toBe(rows("requests", "request_id", 1))
    expect(rows("kernels", "seq", 2)).toBe(rows("kernels", "seq", 1))
    expect(rows("requests", "request_id", 1).length).toBeGreaterThan(1000)
    const runs = d.prepare("SELECT run_id, status, seed, code_version FROM runs ORDER BY run_id").all() as Array<Record<string, unknown>>
    expect(runs.map((x) => [x.status, x.seed])).toEqual([["finished", 42], ["finished", 42], ["finished", 7]])
    d.close()
  })

  it("prints a human summary on stderr and nothing on stdout without --json", () => {
    const r = moska(["sim", "test/golden/small.yaml", "--db", tmpDb()])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe("")
    expect(r.stderr).toMatch(/^run 1: golden-small \(system moska, seed 42\)/)
    expect(r.stderr).toContain("TTFT")
  })
})

describe("moska replay --sim", () => {
  it.each([
    ["data/traces/mooncake_conversation_trace.jsonl", ["--set", "corpus.routing={kind: trace}"]],
    ["data/traces/azure_llm_2023_code.csv", []],
  ])("replays the first requests of %s", (trace, extra) => {
    const db = tmpDb()
    const r = moska(["replay", trace, "--sim", "--set", "workload.limit=60", ...extra, "--db", db, "--json"])
    expect(r.code, r.stderr).toBe(0)
    const j = JSON.parse(r.stdout) as { requests: { total: number; completed: number }; latencyMs: { ttft: { n: number } } }
    expect(j.requests.total).toBe(60)
    expect(j.requests.completed).toBe(60)
    expect(j.latencyMs.ttft.n).toBe(60)
    const d = new Database(db, { readonly: true })
    const scenario = JSON.parse(d.prepare("SELECT scenario_json FROM runs").pluck().get() as string) as { workload: { kind: string; path: string } }
    expect(scenario.workload.kind).toBe("trace")
    expect(scenario.workload.path).toBe(join(ROOT, trace))
    d.close()
  })
})

describe("moska query", () => {
  let db = ""
  let sim: { latencyMs: { ttft: { p50: number } } }
  beforeAll(() => {
    db = tmpDb()
    sim = JSON.parse(moska(["sim", "test/golden/small.yaml", "--db", db, "--json"]).stdout) as typeof sim
  }, 120_000)

  it("answers named queries and raw SQL on the latest run, as a table or JSON", () => {
    const json = moska(["query", "ttft", "--db", db, "--json"])
    expect(json.code).toBe(0)
    const [row] = JSON.parse(json.stdout) as Array<{ n: number; p50_ms: number }>
    expect(row!.n).toBe(40)
    expect(row!.p50_ms).toBeCloseTo(sim.latencyMs.ttft.p50, 6)
    const table = moska(["query", "utilization", "--db", db, "--run", "1"])
    expect(table.stdout).toMatch(/^run 1\nworker_id\s+batches/)
    expect(table.stdout).toContain("unique-0")
    const raw = moska(["query", "SELECT COUNT(*) AS n FROM requests WHERE run_id = :run", "--db", db, "--json"])
    expect(JSON.parse(raw.stdout)).toEqual([{ n: 40 }])
  })

  it("refuses unknown names, missing runs, writes and a missing database with exit 2", () => {
    for (const args of [["query", "p42"], ["query", "ttft", "--run", "9"], ["query", "DELETE FROM runs"]]) {
      const r = moska([...args, "--db", db])
      expect(r.code, args.join(" ")).toBe(2)
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1)
    }
    expect(moska(["query", "runs", "--db", join(tmpdir(), "nope-moska.db")]).code).toBe(2)
  })
})

describe("--db paths that cannot be a trace database", () => {
  it("sim and query refuse a missing folder, a folder and a non-database file with exit 2 naming the file, writing nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "moska-dbpath-"))
    writeFileSync(join(dir, "notes.txt"), "keep me\n")
    for (const [args, file] of [
      [["sim", "test/golden/small.yaml", "--db", join(dir, "missing", "x.db")], join(dir, "missing", "x.db")],
      [["sim", "test/golden/small.yaml", "--db", dir], dir],
      [["sim", "test/golden/small.yaml", "--db", join(dir, "notes.txt")], join(dir, "notes.txt")],
      [["query", "runs", "--db", dir], dir],
      [["query", "runs", "--db", join(dir, "notes.txt")], join(dir, "notes.txt")],
    ] as const) {
      const r = moska([...args])
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr.trim().split("\n")).toHaveLength(1)
      expect(r.stderr.startsWith(`moska: ${file}: `), r.stderr).toBe(true)
    }
    expect(readFileSync(join(dir, "notes.txt"), "utf8")).toBe("keep me\n")
    expect(existsSync(join(dir, "missing"))).toBe(false)
  })
})

describe("moska scenario", () => {
  it("check prints the resolved scenario with defaults and overrides applied", () => {
    const r = moska(["scenario", "check", "test/golden/small.yaml", "--set", "policy.maxBatch=8", "--json"])
    expect(r.code).toBe(0)
    const s = JSON.parse(r.stdout) as { policy: { maxBatch: number; batcher: unknown }; hardware: { unique: { gpu: string } } }
    expect(s.policy.maxBatch).toBe(8)
    expect(s.policy.batcher).toEqual({ kind: "barrier" })
    expect(s.hardware.unique.gpu).toBe("H200")
  })

  it("schema is JSON Schema with descriptions, and docs/scenario-reference.md is what `scenario docs` generates", () => {
    const schema = JSON.parse(moska(["scenario", "schema"]).stdout) as { properties: Record<string, { description?: string }> }
    expect(schema.properties.corpus!.description).toMatch(/Default:/)
    expect(moska(["scenario", "docs"]).stdout).toBe(readFileSync(join(ROOT, "docs/scenario-reference.md"), "utf8"))
  })
})

describe("signals", () => {
  it("a SIGTERM while the engine is being built (4,096 replicas) ends the process promptly (under 15 s, a margin for busy hosts), leaving no run marked running", async () => {
    const args = [MAIN, "sim", "scenarios/default.yaml", "--set", "hardware.unique.count=4096", "--set", "workload.requests=5"]
    const start = (db: string) => {
      const child = spawn(process.execPath, [...args, "--db", db], { cwd: ROOT })
      let stderr = ""
      child.stderr.on("data", (b: Buffer) => (stderr += b.toString()))
      // listen from the start: a child that ends before the kill must not leave the test waiting for an exit already seen
      const exit = new Promise<[number | null, string | null]>((r) => child.on("exit", (c, s) => r([c, s])))
      return { child, exit, stderr: () => stderr }
    }
    // The same run uninterrupted, timed on this host: building 4,096 replicas is nearly all of it (5 requests
    // simulate in milliseconds), so a kill at a third of its time lands in set-up however fast the host is.
    const t0 = Date.now()
    const whole = start(tmpDb())
    expect((await whole.exit)[0], whole.stderr()).toBe(0)
    const wallMs = Date.now() - t0
    const db = tmpDb()
    const run = start(db)
    let ended = false
    void run.exit.then(() => (ended = true))
    await new Promise((r) => setTimeout(r, Math.round(wallMs / 3)))
    expect(ended, `the run ended before the kill at ${Math.round(wallMs / 3)} ms (uninterrupted: ${wallMs} ms)`).toBe(false)
    const sent = Date.now()
    run.child.kill("SIGTERM")
    const [code, signal] = await run.exit
    expect(Date.now() - sent, run.stderr()).toBeLessThan(15_000)
    expect(code === 143 || signal === "SIGTERM", `${code} ${signal} ${run.stderr()}`).toBe(true)
    if (existsSync(db)) {
      const d = new Database(db, { readonly: true })
      const statuses = d.prepare("SELECT status FROM runs").pluck().all()
      d.close()
      expect(statuses).not.toContain("running")
    }
  }, 120_000)

  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)("%s stops a long run, flushes its rows, marks it interrupted and exits %i", async (signal, exitCode) => {
    const db = tmpDb()
    const child = spawn(process.execPath, [MAIN, "sim", "scenarios/default.yaml", "--set", "workload.requests=200000", "--set", "workload.ratePerS=50", "--db", db], { cwd: ROOT })
    let stderr = ""
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()))
    // wait until the first rows are committed (the database appears, within about a second of the first rows), then interrupt
    for (let i = 0; i < 600 && !existsSync(db); i++) await new Promise((r) => setTimeout(r, 100))
    expect(existsSync(db)).toBe(true)
    child.kill(signal)
    const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)))
    expect(code, stderr).toBe(exitCode)
    expect(stderr).toContain(`interrupted by ${signal}; run 1 is marked interrupted`)
    const d = new Database(db, { readonly: true })
    expect(d.prepare("SELECT status FROM runs").pluck().get()).toBe("interrupted")
    expect(d.prepare("SELECT COUNT(*) FROM kernels").pluck().get()).toBeGreaterThan(0)
    // every request that arrived has its row (ids arrive in order), those in flight as cancelled by the signal
    const ids = d.prepare("SELECT COUNT(*) AS n, MAX(request_id) AS top FROM requests").get() as { n: number; top: number }
    expect(ids.n).toBe(ids.top + 1)
    expect(d.prepare("SELECT COUNT(*) FROM requests WHERE status = 'cancelled' AND reason = ?").pluck().get(`interrupted by ${signal}`)).toBeGreaterThan(0)
    d.close()
  }, 120_000)

  it("two SIGTERMs 0.1 s apart stop the run at once and leave it marked interrupted, not running", async () => {
    const db = tmpDb()
    const child = spawn(process.execPath, [MAIN, "sim", "scenarios/default.yaml", "--set", "workload.requests=200000", "--set", "workload.ratePerS=50", "--db", db], { cwd: ROOT })
    let stderr = ""
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()))
    // the run row exists once its first rows are committed
    for (let i = 0; i < 600 && runCount(db) === 0; i++) await new Promise((r) => setTimeout(r, 100))
    expect(runCount(db)).toBe(1)
    // listen before signalling: the child may well be gone before the second signal is sent
    const exited = new Promise<[number | null, string | null]>((r) => child.on("exit", (c, s) => r([c, s])))
    child.kill("SIGTERM")
    await new Promise((r) => setTimeout(r, 100))
    child.kill("SIGTERM")
    const [code, signal] = await exited
    expect({ code, signal }, stderr).toEqual({ code: 143, signal: null })
    const d = new Database(db, { readonly: true })
    const run = d.prepare("SELECT status, error FROM runs").get() as { status: string; error: string }
    d.close()
    expect(run.status).toBe("interrupted")
    expect(run.error).toMatch(/SIGTERM/)
  }, 120_000)
})

describe("summaries and queries say why", () => {
  it("a run whose every request is rejected prints the reason in its summary", () => {
    const db = tmpDb()
    const r = moska(["sim", "scenarios/default.yaml", "--set", "workload.requests=4", "--set", "workload.uniqueTokens={kind: fixed, value: 50000000}", "--db", db])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/\n {2}rejected {3}4 × AdmissionRejected: request 0 needs \d+ bytes of KV but one unique worker has \d+ after weights \(or alike\)\n/)
  })

  it("an empty kernel or token query on a run traced at level requests says that the level is why", () => {
    const db = tmpDb()
    expect(moska(["sim", "scenarios/default.yaml", "--set", "workload.requests=3", "--set", "trace=requests", "--db", db]).code).toBe(0)
    const util = moska(["query", "utilization", "--db", db])
    expect(util.code).toBe(0)
    expect(util.stderr).toBe("moska: note: no rows: run 1 was traced at level 'requests', which keeps no kernel rows (run it with --set trace=totals or trace=kernels)\n")
    expect(moska(["query", "itl", "--db", db]).stderr).toMatch(/which keeps no token rows \(run it with --set trace=tokens\)/)
  })

  it("a run traced at level totals answers kernels, utilization and timeline from kernel_totals, and a query of the kernels table says why it is empty", () => {
    const db = tmpDb()
    expect(moska(["sim", "scenarios/default.yaml", "--set", "workload.requests=3", "--set", "trace=totals", "--set", "traceWindowMs=100", "--db", db]).code).toBe(0)
    for (const q of ["kernels", "utilization", "timeline"]) {
      const r = moska(["query", q, "--db", db, "--json"])
      expect(r.code, r.stderr).toBe(0)
      expect((JSON.parse(r.stdout) as unknown[]).length, q).toBeGreaterThan(0)
    }
    expect(moska(["query", "SELECT * FROM kernels WHERE run_id = :run", "--db", db]).stderr).toMatch(/traced at level 'totals', which keeps kernel batches summed per window in kernel_totals/)
  })

  it("- reads the scenario or the trace from standard input, and messages name <stdin>", () => {
    const piped = (args: string[], input: string) => spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: "utf8", input, timeout: 120_000 })
    const db = tmpDb()
    const fromFile = moska(["sim", "scenarios/default.yaml", "--set", "workload.requests=3", "--json", "--db", tmpDb()])
    const fromStdin = piped(["sim", "-", "--set", "workload.requests=3", "--json", "--db", db], readFileSync(join(ROOT, "scenarios/default.yaml"), "utf8"))
    expect(fromStdin.status, fromStdin.stderr).toBe(0)
    expect(withoutWall(JSON.parse(fromStdin.stdout) as Record<string, unknown>)).toEqual(withoutWall(JSON.parse(fromFile.stdout) as Record<string, unknown>))
    const trace = readFileSync(join(ROOT, "data/traces/mooncake_conversation_trace.jsonl"), "utf8").split("\n").slice(0, 20).join("\n")
    const replay = piped(["replay", "-", "--sim", "--json", "--db", tmpDb()], `${trace}\n`)
    expect(replay.status, replay.stderr).toBe(0)
    expect((JSON.parse(replay.stdout) as { requests: { total: number } }).requests.total).toBe(20)
    const bad = piped(["replay", "-", "--sim", "--db", tmpDb()], '{"timestamp": 0, "input_length": 5}\n')
    expect([bad.status, bad.stderr]).toEqual([2, "moska: <stdin>:1: output_length is missing (each line needs timestamp, input_length and output_length)\n"])
  })

  it("repro paper works from any folder: its default device file is the package's", () => {
    const dir = mkdtempSync(join(tmpdir(), "moska-repro-"))
    const r = spawnSync(process.execPath, [MAIN, "repro", "paper", "--out", join(dir, "p")], { cwd: dir, encoding: "utf8", timeout: 120_000 })
    expect(r.status, r.stderr).toBe(0)
    expect(readFileSync(join(dir, "p.md"), "utf8")).toBe(readFileSync(join(ROOT, "docs/repro-paper.md"), "utf8"))
  })

  it("report --slo takes ttft:MS and tpot:MS and refuses anything else in one line", () => {
    const r = moska(["report", "--slo", "ttft:200,p99:5"])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('moska: --slo: expected ttft:MS and/or tpot:MS with positive ms, comma-separated (got "p99:5")\n')
  })

  it("a PRAGMA assignment through query is refused in one line, not a disk I/O error", () => {
    const db = tmpDb()
    expect(moska(["sim", "scenarios/default.yaml", "--set", "workload.requests=3", "--db", db]).code).toBe(0)
    const r = moska(["query", "PRAGMA journal_mode=DELETE", "--db", db])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe("moska: moska query opens the database read-only, so PRAGMA assignments are refused (change the file with the sqlite3 CLI)\n")
    expect(moska(["query", "PRAGMA journal_mode", "--db", db, "--json"]).stdout).toBe('[{"journal_mode":"wal"}]\n')
  })
})
