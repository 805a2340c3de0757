import Database from "better-sqlite3"
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { migrate, MIGRATIONS_DIR } from "../../src/db/migrate.js"
import { lcg, rowInserts } from "./syntheticRows.js"

// db/024 rewrote the percentile views to sort each group once, db/025 the two latency ones to rank
// each metric on its own; these tests hold each to the values, types and row order of the
// definitions it replaced (db/005 and db/006, then db/024), on a file whose groups are awkward for ranks: runs
// of one and two requests, ties, fractional tpot values, requests with one token (no tpot), a run
// without token rows.
const VIEWS = ["latency_percentiles", "latency_percentiles_linear", "itl_percentiles", "itl_percentiles_linear"] as const

/** Migrations below `version` only, in a scratch folder. */
const migrationsBefore = (version: number): string => {
  const dir = join(mkdtempSync(join(tmpdir(), "moska-pviews-")), "db")
  mkdirSync(dir)
  for (const f of readdirSync(MIGRATIONS_DIR)) {
    const m = /^(\d+)_.*\.sql$/.exec(f)
    if (m !== null && Number(m[1]) < version) copyFileSync(join(MIGRATIONS_DIR, f), join(dir, f))
  }
  return dir
}

/** Deterministic rows (lcg, no Math.random): three runs of 1, 2 and 700 requests; runs 2 and 3 with tokens. */
const fill = (db: Database.Database): void => {
  const next = lcg(12345)
  const { run, request: req } = rowInserts(db)
  const tok = db.prepare("INSERT INTO tokens (run_id, request_id, idx, at_ns) VALUES (?, ?, ?, ?)")
  const sizes = [1, 2, 700]
  db.transaction(() => {
    sizes.forEach((n, r) => {
      const runId = r + 1
      run.run(runId)
      for (let i = 0; i < n; i++) {
        const arrival = next(1000) * 1000
        // coarse steps make ties; 1 in 10 requests has a single token (no tpot)
        const queue = next(50) * 100
        const ttft = queue + 1 + next(20) * 1000
        const out = next(10) === 0 ? 1 : 2 + next(40)
        const finished = arrival + ttft + (out - 1) * (1 + next(7) * 333)
        const status = next(25) === 0 ? "cancelled" : "completed"
        req.run(runId, i, arrival, arrival + queue, arrival + ttft, finished, out, out, status)
        if (runId === 1) continue
        let at = arrival + ttft
        for (let k = 0; k < out; k++) {
          tok.run(runId, i, k, at)
          at += 1 + next(5) * 250
        }
      }
    })
  })()
}

// every column with its SQLite type, in the order the view returns its rows (no ORDER BY: callers
// such as `SELECT * FROM latency_percentiles` see that order)
const readViews = (db: Database.Database, where: string): unknown[][] =>
  VIEWS.map((v) => {
    const cols = (db.prepare(`SELECT * FROM ${v} LIMIT 0`).columns()).map((c) => c.name)
    return db.prepare(`SELECT *, ${cols.map((c) => `typeof(${c})`).join(" || ',' || ")} AS types FROM ${v} ${where}`).all()
  })

describe.each([24, 25])("the percentile views of db/0%i", (version) => {
  it("give the values, types and row order of the views they replace, per run and over the whole file", () => {
    const db = new Database(":memory:")
    migrate(db, migrationsBefore(version))
    fill(db)
    const wheres = ["", "WHERE run_id = 1", "WHERE run_id = 2", "WHERE run_id = 3"]
    const before = wheres.map((w) => readViews(db, w))
    expect(migrate(db)).toContain(version)
    const after = wheres.map((w) => readViews(db, w))
    expect(after).toEqual(before)
    // not vacuous: every view answers for the runs it covers
    expect((after[0] as unknown[][]).map((rows) => rows.length)).toEqual([12, 12, 2, 2])
  })
})

describe("the percentile views", () => {

  it("reach the primary keys when a query names its run", () => {
    const db = new Database(":memory:")
    migrate(db)
    for (const v of VIEWS) {
      const plan = (db.prepare(`EXPLAIN QUERY PLAN SELECT * FROM ${v} WHERE run_id = 1`).all() as Array<{ detail: string }>).map((r) => r.detail)
      // every read of requests (q) or tokens (t, p) is a search on its key, none a full scan
      expect(plan.filter((d) => /^SCAN (q|t|p|requests|tokens)\b/.test(d)), `${v}: ${plan.join(" | ")}`).toEqual([])
      expect(plan.some((d) => /^SEARCH (q|t) USING PRIMARY KEY \(run_id=\?/.test(d)), v).toBe(true)
    }
  })
})
