import Database from "better-sqlite3"
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import fc from "fast-check"
import { beforeAll, describe, expect, it } from "vitest"
import { buildIfStale } from "./buildIfStale.js"

// SIGKILL at seeded random points of a long run: nothing can run in the dying process, so what is
// on disk must be consistent on its own (WAL + one transaction per commit), and the run's state is
// told from its pid and heartbeat (db/022, src/db/runLiveness.ts).
const ROOT = fileURLToPath(new URL("../../", import.meta.url))
const MAIN = join(ROOT, "dist/cli/main.js")
const RUN = ["sim", "scenarios/default.yaml", "--set", "workload.requests=12000", "--set", "workload.ratePerS=50"]
const tmpDb = () => join(mkdtempSync(join(tmpdir(), "moska-crash-")), "t.db")
const moska = (args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: "utf8", timeout: 300_000 })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

type Row = Record<string, unknown>
const rowsOf = (file: string, sql: string): Row[] => {
  const d = new Database(file, { readonly: true })
  try {
    return d.prepare(sql).all() as Row[]
  } finally {
    d.close()
  }
}
/** Runs recorded so far; 0 while the file is missing or its schema is still being created. */
const runCount = (file: string): number => {
  if (!existsSync(file)) return 0
  try {
    return Number(rowsOf(file, "SELECT COUNT(*) AS n FROM runs")[0]?.n ?? 0)
  } catch {
    return 0
  }
}
const KERNELS = "SELECT seq, worker_id, kind, chunk_id, queries, start_ns, end_ns, flops, bytes FROM kernels ORDER BY seq"
const REQUESTS = "SELECT request_id, arrival_ns, admitted_ns, first_token_ns, finished_ns, unique_tokens, requested_tokens, output_tokens, status, reason FROM requests ORDER BY request_id"

beforeAll(() => buildIfStale(ROOT), 300_000)

describe("crash (SIGKILL)", () => {
  it("at seeded random points: the file passes integrity_check, every committed row equals the uninterrupted run's, and the run is reported crashed, then marked failed", async () => {
    const full = tmpDb()
    const t0 = performance.now()
    expect(moska([...RUN, "--db", full]).status).toBe(0)
    // the kill lands within the first 40% of the uninterrupted run's wall time (start-up included), so
    // it falls inside the run on a fast host as on a slow one: fixed delays outlived a 0.8 s run
    const fullMs = performance.now() - t0
    const fullKernels = rowsOf(full, KERNELS)
    const fullRequests = new Map(rowsOf(full, REQUESTS).map((r) => [r.request_id, r]))

    // ms after the run row appears (its first commit): fractions of the full run drawn from a pinned seed
    const delays = fc.sample(fc.double({ min: 0, max: 0.4, noNaN: true }), { seed: 20_261_202, numRuns: 3 }).map((f) => Math.round(f * fullMs))
    for (const delay of delays) {
      const db = tmpDb()
      const child = spawn(process.execPath, [MAIN, ...RUN, "--db", db], { cwd: ROOT })
      const exited = new Promise<NodeJS.Signals | null>((r) => child.on("exit", (_c, s) => r(s)))
      for (let i = 0; i < 1200 && runCount(db) === 0; i++) await sleep(50)
      expect(runCount(db), `no run row after 60 s (delay ${delay})`).toBe(1)
      await sleep(delay)
      child.kill("SIGKILL")
      expect(await exited, `the run ended before the kill at +${delay} ms`).toBe("SIGKILL")

      expect(rowsOf(db, "PRAGMA integrity_check")).toEqual([{ integrity_check: "ok" }])
      // committed rows are a prefix of the kernel sequence and equal the full run's, field by field
      const kernels = rowsOf(db, KERNELS)
      kernels.forEach((k, i) => expect(k, `kernel seq ${i} (kill at +${delay} ms)`).toEqual(fullKernels[i]))
      for (const r of rowsOf(db, REQUESTS)) expect(r).toEqual(fullRequests.get(r.request_id))

      // a reader says the run crashed (its process is gone) and warns beside its figures
      const runs = moska(["query", "runs", "--db", db, "--json"])
      expect((JSON.parse(runs.stdout) as Row[])[0]?.status).toBe("crashed")
      const summary = moska(["query", "summary", "--db", db])
      expect(summary.stderr).toMatch(/^moska: note: run 1: its process \d+ is gone \(crashed or killed\)/)
      // the next writer on this host marks it failed, with the reason
      expect(moska(["sim", "scenarios/default.yaml", "--set", "workload.requests=3", "--db", db]).status).toBe(0)
      const after = rowsOf(db, "SELECT run_id, status, error FROM runs ORDER BY run_id")
      expect(after[0]?.status).toBe("failed")
      expect(String(after[0]?.error)).toMatch(/^crashed: process \d+ on .+ ended without closing the run \(last sign of life 20\d\d-/)
      expect(after[1]?.status).toBe("finished")
    }
  }, 600_000)
})
