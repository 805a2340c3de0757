import Database from "better-sqlite3"
import { spawnSync } from "node:child_process"
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { executeRun } from "../../src/cli/executeRun.js"
import { loadScenarioFile } from "../../src/cli/loadScenarioFile.js"
import { migrate, MIGRATIONS_DIR } from "../../src/db/migrate.js"
import { openTraceDb } from "../../src/db/openTraceDb.js"

// A trace file must open in the SQLite that Debian 12 and Python 3.11 ship (3.40), not only in the
// newer one bundled with better-sqlite3. CI installs Debian's sqlite3 CLI (.ci/run).
const ROOT = fileURLToPath(new URL("../../", import.meta.url))
const SMALL = join(ROOT, "test/golden/small.yaml")
const tmp = () => mkdtempSync(join(tmpdir(), "moska-sqlite340-"))

const cliVersion = (() => {
  const r = spawnSync("sqlite3", ["--version"], { encoding: "utf8" })
  return r.status === 0 ? (r.stdout.split(" ")[0] ?? null) : null
})()
const pythonSqlite = (() => {
  const r = spawnSync("python3", ["-c", "import sqlite3; print(sqlite3.sqlite_version)"], { encoding: "utf8" })
  return r.status === 0 ? r.stdout.trim() : null
})()
const older = (v: string, than: [number, number]) => {
  const [a = 0, b = 0] = v.split(".").map(Number)
  return a < than[0] || (a === than[0] && b < than[1])
}

const sqlite3 = (file: string, sql: string) => spawnSync("sqlite3", ["-bail", "-json", file, sql], { encoding: "utf8" })

/** Runs the golden small scenario into `dbFile` (the path `moska sim` takes, in this thread). */
const produceRun = (dbFile: string, overrides: readonly string[] = []) =>
  executeRun({ scenario: loadScenarioFile(SMALL, overrides), dbFile, codeVersion: "test", clock: () => 0 })

/** A copy of `src` as a moska before db/005 wrote it: migrations 001-004 only, then the same rows. */
const asBefore005 = (src: string, dest: string) => {
  const dir = join(tmp(), "db")
  mkdirSync(dir)
  for (const f of readdirSync(MIGRATIONS_DIR).filter((n) => /^00[1-4]_.*\.sql$/.test(n))) copyFileSync(join(MIGRATIONS_DIR, f), join(dir, f))
  const db = new Database(dest)
  db.pragma("journal_mode = WAL")
  expect(migrate(db, dir)).toEqual([1, 2, 3, 4])
  db.exec(`ATTACH '${src}' AS src`)
  for (const t of ["runs", "requests", "kernels", "tokens"]) {
    const cols = (db.prepare(`SELECT name FROM pragma_table_info('${t}')`).pluck().all() as string[]).join(", ")
    db.exec(`INSERT INTO ${t} (${cols}) SELECT ${cols} FROM src.${t}`)
  }
  db.exec("DETACH src")
  return db
}

const PERCENTILES = "SELECT * FROM latency_percentiles ORDER BY run_id, metric"
const views = (file: string) => {
  const db = new Database(file, { readonly: true })
  try {
    return db.prepare("SELECT name FROM sqlite_schema WHERE type = 'view' ORDER BY name").pluck().all() as string[]
  } finally {
    db.close()
  }
}

describe("a trace database in SQLite 3.40", () => {
  it("a file written before db/005 migrates forward on a read-only open, keeping every latency_percentiles value", () => {
    const dir = tmp()
    produceRun(join(dir, "new.db"))
    const old = asBefore005(join(dir, "new.db"), join(dir, "old.db"))
    const before = old.prepare(PERCENTILES).all()
    old.close()
    expect(before.map((r) => (r as { metric: string }).metric)).toEqual(["e2e", "queue", "tpot", "ttft"])
    if (cliVersion !== null && older(cliVersion, [3, 44])) {
      // the failure this migration exists for
      const r = sqlite3(join(dir, "old.db"), "SELECT count(*) FROM requests")
      expect(r.status).not.toBe(0)
      expect(r.stderr).toMatch(/malformed database schema \(latency_percentiles\)/)
    }
    const db = openTraceDb(join(dir, "old.db"), { readonly: true })
    expect(db.prepare("SELECT MAX(version) FROM schema_version").pluck().get()).toBeGreaterThanOrEqual(5)
    expect(db.prepare(PERCENTILES).all()).toEqual(before)
    db.close()
  })

  it.skipIf(cliVersion === null)("the system sqlite3 CLI opens a produced file and answers from every table and view", () => {
    const file = join(tmp(), "t.db")
    const report = produceRun(file, ["trace=tokens"])
    const r = sqlite3(file, "SELECT count(*) AS n FROM requests; SELECT metric, n, p50_ns, p99_ns FROM latency_percentiles WHERE run_id = 1 ORDER BY metric")
    expect(r.status, r.stderr).toBe(0)
    // -json prints one array per statement
    const [counts, pct] = r.stdout.trim().split(/\n(?=\[)/).map((s) => JSON.parse(s) as Array<Record<string, number | string>>)
    expect(counts).toEqual([{ n: report.requests.total }])
    const ttft = pct?.find((p) => p.metric === "ttft")
    expect(ttft?.n).toBe(report.latencyMs.ttft.n)
    expect(Number(ttft?.p50_ns) / 1e6).toBeCloseTo(report.latencyMs.ttft.p50 as number, 6)
    expect(Number(pct?.find((p) => p.metric === "tpot")?.p99_ns) / 1e6).toBeCloseTo(report.latencyMs.tpot.p99 as number, 6)
    for (const name of ["runs", "requests", "kernels", "tokens", ...views(file)]) {
      const q = sqlite3(file, `SELECT count(*) AS n FROM ${name}`)
      expect(q.status, `${name}: ${q.stderr}`).toBe(0)
      expect((JSON.parse(q.stdout) as Array<{ n: number }>)[0]?.n, name).toBeGreaterThan(0)
    }
  })

  it.skipIf(pythonSqlite === null)("Python's sqlite3 opens a produced file and reads every view", () => {
    const file = join(tmp(), "t.db")
    produceRun(file, ["trace=tokens"])
    const script = [
      "import sqlite3, sys, json",
      "con = sqlite3.connect(sys.argv[1])",
      "names = [r[0] for r in con.execute(\"SELECT name FROM sqlite_schema WHERE type = 'view' ORDER BY name\")]",
      "print(json.dumps({n: con.execute(f'SELECT count(*) FROM {n}').fetchone()[0] for n in names}))",
    ].join("\n")
    const r = spawnSync("python3", ["-c", script, file], { encoding: "utf8" })
    expect(r.status, r.stderr).toBe(0)
    const counts = JSON.parse(r.stdout) as Record<string, number>
    expect(Object.keys(counts)).toEqual(views(file))
    for (const [name, n] of Object.entries(counts)) expect(n, name).toBeGreaterThan(0)
  })
})
