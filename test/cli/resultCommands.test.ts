import Database from "better-sqlite3"
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "vitest"
import { buildIfStale } from "./buildIfStale.js"

// compare, sweep and export end to end through the built binary, as a user runs them.
const ROOT = fileURLToPath(new URL("../../", import.meta.url))
const MAIN = join(ROOT, "dist/cli/main.js")
const moska = (args: string[]) => {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}
const dir = mkdtempSync(join(tmpdir(), "moska-results-"))
const DB = join(dir, "two-seeds.db")

beforeAll(() => {
  buildIfStale(ROOT)
  for (const seed of ["42", "7"]) {
    const r = moska(["sim", "test/golden/small.yaml", "--seed", seed, "--db", DB, "--json"])
    if (r.code !== 0) throw new Error(r.stderr)
  }
}, 300_000)

describe("moska compare", () => {
  it("compares two sim runs of one scenario with different seeds: seed is the only config difference, kernels say sim", () => {
    const r = moska(["compare", "1", "2", "--db", DB, "--json"])
    expect(r.code, r.stderr).toBe(0)
    const c = JSON.parse(r.stdout) as Record<string, any>
    expect(c.configDiff).toEqual([{ path: "seed", a: 42, b: 7 }])
    expect(c.kernels).toEqual({ a: { source: "sim" }, b: { source: "sim" } })
    expect(c.latencyMs.ttft.a.n).toBe(40)
    // the table's errors are the JSON's figures
    const { a, b, relErr } = c.latencyMs.tpot
    expect(relErr.p99).toBeCloseTo((b.p99 - a.p99) / a.p99, 12)
    expect(c.requestMape.e2e.n).toBe(40)
    expect(c.requestMape.e2e.mape).toBeGreaterThan(0)
    const human = moska(["compare", "1", "2", "--db", DB])
    expect(human.stdout).toMatch(/^A: run 1: golden-small, system moska, sim, seed 42/)
    expect(human.stdout).toMatch(/\nTPOT +[\d.]+ +[\d.]+ +[+-][\d.]+%/)
    expect(human.stdout).toContain("kernels B: sim")
    expect(human.stdout).toContain("  seed: 42 → 7")
  })

  it("reads run B from a second database with --db-b, and a missing run or file is one line and exit 2", () => {
    const other = join(dir, "other.db")
    expect(moska(["sim", "test/golden/small.yaml", "--db", other, "--json"]).code).toBe(0)
    const r = moska(["compare", "1", "1", "--db", DB, "--db-b", other, "--json"])
    expect(r.code, r.stderr).toBe(0)
    const c = JSON.parse(r.stdout) as Record<string, any>
    // same scenario and seed in two files: identical figures
    expect(c.configDiff).toEqual([])
    expect(c.throughput.relErr).toBe(0)
    expect(c.requestMape.ttft.mape).toBe(0)
    const noRun = moska(["compare", "1", "9", "--db", DB])
    expect([noRun.code, noRun.stderr]).toEqual([2, `moska: no run 9 in ${DB} (see: moska query runs --db ${DB})\n`])
    const missing = moska(["compare", "1", "2", "--db", DB, "--db-b", join(dir, "nope.db")])
    expect([missing.code, missing.stderr]).toEqual([2, `moska: ${join(dir, "nope.db")}: no trace database here (run \`moska sim\` first, or pass --db)\n`])
  })
})

describe("moska sweep", () => {
  const sweep = (db: string, jobs: string) =>
    moska(["sweep", "test/golden/small.yaml", "--vary", "workload.ratePerS=4,16", "--vary", "system=moska,cascade",
      "--set", "workload.requests=8", "--db", db, "--jobs", jobs, "--json"])
  /** Each run's request rows keyed by its label, so runs compare whatever ids they got. */
  const rowsByLabel = (file: string) => {
    const db = new Database(file, { readonly: true })
    const out = Object.fromEntries((db.prepare("SELECT run_id, label FROM runs").all() as Array<{ run_id: number; label: string }>)
      .map((r) => [r.label, (db.prepare("SELECT * FROM requests WHERE run_id = ? ORDER BY request_id").raw().all(r.run_id) as unknown[][]).map((row) => row.slice(1))]))
    db.close()
    return out
  }

  it("runs a 2×2 sweep as four labelled runs in one database, the same figures and rows with 2 jobs as with 1", () => {
    const two = sweep(join(dir, "sweep2.db"), "2")
    expect(two.code, two.stderr).toBe(0)
    const j = JSON.parse(two.stdout) as { jobs: number; vary: unknown; points: Array<Record<string, any>> }
    expect(j.jobs).toBe(2)
    expect(j.vary).toEqual([{ path: "workload.ratePerS", values: ["4", "16"] }, { path: "system", values: ["moska", "cascade"] }])
    expect(j.points.map((p) => [p.label, p.system, p.requests.completed])).toEqual([
      ["sweep:golden-small:workload.ratePerS=4,system=moska", "moska", 8],
      ["sweep:golden-small:workload.ratePerS=4,system=cascade", "cascade", 8],
      ["sweep:golden-small:workload.ratePerS=16,system=moska", "moska", 8],
      ["sweep:golden-small:workload.ratePerS=16,system=cascade", "cascade", 8],
    ])
    expect(new Set(j.points.map((p) => p.runId))).toEqual(new Set([1, 2, 3, 4]))
    // the table goes to stderr with --json, one row per point
    expect(two.stderr).toMatch(/\n1 +\d +4 +moska +8\/8 /)
    const one = sweep(join(dir, "sweep1.db"), "1")
    expect(one.code, one.stderr).toBe(0)
    const strip = (p: Record<string, any>) => ({ ...p, runId: undefined, wallS: undefined })
    expect((JSON.parse(one.stdout) as typeof j).points.map(strip)).toEqual(j.points.map(strip))
    expect(rowsByLabel(join(dir, "sweep1.db"))).toEqual(rowsByLabel(join(dir, "sweep2.db")))
  })

  it("checks every point before running any: a bad value is one line, exit 2, and no database", () => {
    const db = join(dir, "bad-sweep.db")
    const r = moska(["sweep", "test/golden/small.yaml", "--vary", "workload.ratePerS=4,fast", "--db", db])
    expect([r.code, r.stderr]).toEqual([2, 'moska: test/golden/small.yaml: workload.ratePerS: must be a positive finite number (got "fast")\n'])
    expect(existsSync(db)).toBe(false)
    const jobs = moska(["sweep", "test/golden/small.yaml", "--vary", "seed=1,2", "--jobs", "0", "--db", db])
    expect([jobs.code, jobs.stderr]).toEqual([2, 'moska: --jobs must be a positive integer (got "0")\n'])
  })
})

describe("moska export", () => {
  it("writes requests as CSV and JSONL on stdout, one line per request of the run", () => {
    const csv = moska(["export", "1", "--format", "csv", "--db", DB])
    expect(csv.code, csv.stderr).toBe(0)
    const lines = csv.stdout.trimEnd().split("\n")
    expect(lines[0]).toBe("run_id,request_id,arrival_ns,admitted_ns,first_token_ns,finished_ns,unique_tokens,requested_tokens,output_tokens,status,reason")
    expect(lines).toHaveLength(41)
    const jsonl = moska(["export", "2", "--format", "jsonl", "--table", "kernels", "--db", DB])
    const kernels = jsonl.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
    const db = new Database(DB, { readonly: true })
    expect(kernels.length).toBe(db.prepare("SELECT COUNT(*) FROM kernels WHERE run_id = 2").pluck().get())
    db.close()
    expect(new Set(kernels.map((k) => k.run_id))).toEqual(new Set([2]))
  })

  it("writes the kernel timeline as trace-event JSON and a table as Parquet with --out, and refuses bad choices with one line", () => {
    const trace = join(dir, "run1.trace.json")
    const r = moska(["export", "1", "--format", "perfetto", "--db", DB, "--out", trace])
    expect(r.code, r.stderr).toBe(0)
    const t = JSON.parse(readFileSync(trace, "utf8")) as { traceEvents: Array<Record<string, any>> }
    const tracks = t.traceEvents.filter((e) => e.name === "thread_name").map((e) => e.args.name as string).sort()
    expect(tracks).toEqual(["link-0", "shared-0", "unique-0"])
    expect(r.stderr).toBe(`run 1: ${t.traceEvents.filter((e) => e.ph === "X").length} kernels rows as perfetto: ${trace}\n`)
    const pq = join(dir, "run1.parquet")
    expect(moska(["export", "1", "--format", "parquet", "--table", "requests", "--db", DB, "--out", pq]).stderr).toBe(`run 1: 40 requests rows as parquet: ${pq}\n`)
    expect(readFileSync(pq).subarray(0, 4).toString()).toBe("PAR1")
    for (const [args, message] of [
      [["export", "1", "--format", "xml"], 'moska: --format must be one of csv, jsonl, perfetto, parquet (got "xml")'],
      [["export", "1", "--format", "parquet"], "moska: --format parquet writes a binary file: give --out FILE.parquet"],
      [["export", "1", "--format", "perfetto", "--table", "tokens"], "moska: --format perfetto draws the kernel timeline; leave out --table (or give --table kernels)"],
      [["export", "5", "--format", "csv", "--db", DB], `moska: no run 5 in ${DB} (see: moska query runs --db ${DB})`],
    ] as const) {
      const bad = moska([...args])
      expect([bad.code, bad.stderr]).toEqual([2, `${message}\n`])
    }
  })
})

describe("moska --version", () => {
  it("prints the package version and the code version, exit 0", () => {
    const r = moska(["--version"])
    expect([r.code, r.stdout]).toEqual([0, expect.stringMatching(/^moska \d+\.\d+\.\d+ \(.+\)\n$/)])
  })
})
