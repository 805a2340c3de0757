import Database from "better-sqlite3"
import { spawnSync } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { executeRun } from "../../src/cli/executeRun.js"
import { loadScenarioFile } from "../../src/cli/loadScenarioFile.js"
import { NAMED_QUERIES } from "../../src/db/namedQueries.js"

const ROOT = fileURLToPath(new URL("../../", import.meta.url))
const SMALL = join(ROOT, "test/golden/small.yaml")
const hasCli = spawnSync("sqlite3", ["--version"]).status === 0

const produce = (overrides: readonly string[]) => {
  const dbFile = join(mkdtempSync(join(tmpdir(), "moska-chunks-")), "t.db")
  const report = executeRun({ scenario: loadScenarioFile(SMALL, overrides), dbFile, codeVersion: "test", clock: () => 0 })
  return { dbFile, runId: report.runId }
}

describe("chunk_stats and chunk_gemm_sizes in the trace database", () => {
  it("a fast-mode run answers hot_chunks (hottest first) and chunk_gemm_rows (shares summing to 1) at trace level requests", () => {
    const { dbFile, runId } = produce(["trace=requests"])
    const db = new Database(dbFile, { readonly: true })
    const hot = db.prepare(NAMED_QUERIES.hot_chunks!.sql).all({ run: runId }) as Array<{ chunk_id: number; rows: number; gemms: number; rows_per_gemm: number; share_of_rows: number; basis: string }>
    expect(hot.length).toBeGreaterThan(1)
    for (let i = 1; i < hot.length; i++) expect(hot[i]!.rows).toBeLessThanOrEqual(hot[i - 1]!.rows)
    expect(hot.every((h) => h.basis === "expected")).toBe(true) // the golden scenario routes by a zipf law
    expect(hot.reduce((a, h) => a + h.share_of_rows, 0)).toBeCloseTo(1, 9)
    const sizes = db.prepare(NAMED_QUERIES.chunk_gemm_rows!.sql).all({ run: runId }) as Array<{ rows: number; gemms: number; cumulative_share: number }>
    expect(sizes.length).toBeGreaterThan(0)
    expect(sizes[sizes.length - 1]!.cumulative_share).toBeCloseTo(1, 9)
    // the sizes account for every row the shared pool stacked (kernel rows kept at the default level)
    db.close()
    const withKernels = produce([])
    const k = new Database(withKernels.dbFile, { readonly: true })
    const stacked = k.prepare("SELECT SUM(queries) FROM kernels WHERE run_id = ? AND kind = 'shared.iteration'").pluck().get(withKernels.runId)
    const sized = k.prepare("SELECT SUM(rows * gemms) FROM chunk_gemm_sizes WHERE run_id = ?").pluck().get(withKernels.runId)
    expect(sized).toBe(stacked)
    k.close()
  })

  it.skipIf(!hasCli)("opens in the system sqlite3 (Debian 12's 3.40)", () => {
    const { dbFile, runId } = produce(["trace=requests"])
    const r = spawnSync("sqlite3", ["-bail", "-json", dbFile, `SELECT COUNT(*) AS n, SUM(rows) > 0 AS any FROM chunk_stats WHERE run_id = ${runId}; SELECT COUNT(*) AS n FROM chunk_gemm_sizes WHERE run_id = ${runId};`], { encoding: "utf8" })
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/"any":1/)
  })
})
