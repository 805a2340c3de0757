import { execFile, spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import Database from "better-sqlite3"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { buildIfStale } from "./buildIfStale.js"

// `moska` (package.json's bin) is the bundle scripts/bundle.mjs makes of dist/ (CommonJS chunks and
// a V8 code cache, for start-up time); these check that it behaves as tsc's dist/cli/main.js does,
// output for output. Its start-up time is a benchmark (npm run bench:startup times it beside dist/), not a test.
const ROOT = fileURLToPath(new URL("../../", import.meta.url))
const DIST = join(ROOT, "dist/cli/main.js")
const BUNDLE = join(ROOT, "dist/bundle/main.js")
const run = promisify(execFile)

interface Result { readonly code: number; readonly stdout: string; readonly stderr: string }

const moska = async (cli: string, args: readonly string[], cwd = ROOT): Promise<Result> => {
  try {
    const r = await run(process.execPath, [cli, ...args], { cwd, encoding: "utf8", timeout: 120_000, maxBuffer: 1 << 26 })
    return { code: 0, stdout: r.stdout, stderr: r.stderr }
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof x.code === "number" ? x.code : -1, stdout: x.stdout ?? "", stderr: x.stderr ?? "" }
  }
}

/** Both CLIs on the same arguments, one after the other (a sim's database is written by each in turn). */
const both = async (args: (cli: "dist" | "bundle") => readonly string[]): Promise<{ dist: Result; bundle: Result }> =>
  ({ dist: await moska(DIST, args("dist")), bundle: await moska(BUNDLE, args("bundle")) })

/** Every row of a table (sorted: some tables have no rowid), without the columns that record when and how fast. */
const rows = (file: string, table: string, drop: readonly string[] = []): string[] => {
  const db = new Database(file, { readonly: true })
  try {
    return (db.prepare(`SELECT * FROM ${table}`).all() as Array<Record<string, unknown>>)
      .map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => !drop.includes(k)))))
      .sort()
  } finally {
    db.close()
  }
}

let scratch = ""

beforeAll(() => {
  buildIfStale(ROOT) // a no-op after test/globalSetup.ts built dist/
  // always from the dist/ just built: the bundle is that code, so a stale one would test nothing
  const r = spawnSync(process.execPath, [join(ROOT, "scripts/bundle.mjs")], { cwd: ROOT, encoding: "utf8" })
  if (r.status !== 0) throw new Error(`bundle failed:\n${r.stdout}${r.stderr}`)
  scratch = mkdtempSync(join(tmpdir(), "moska-bundle-test-"))
}, 300_000)

afterAll(() => rmSync(scratch, { recursive: true, force: true }))

describe("the bundled CLI (package.json bin)", () => {
  it("is the package's bin, starts with a hashbang, and is what npm run build makes", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { bin: Record<string, string>; scripts: Record<string, string> }
    expect(pkg.bin.moska).toBe("dist/bundle/main.js")
    expect(pkg.scripts.build).toContain("scripts/bundle.mjs")
    expect(readFileSync(BUNDLE, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true)
    // the chunks the build's runs loaded carry a code cache (scripts/codeCache.cjs)
    expect(readdirSync(join(ROOT, "dist/bundle")).filter((f) => f.endsWith(".v8cache")).length).toBeGreaterThan(10)
  })

  it("prints what dist/ prints for --help, --version, -V, sim --help, help sim and a typo, with the same exit codes", async () => {
    for (const args of [["--help"], ["--version"], ["-V"], ["sim", "--help"], ["help", "sim"], ["simm"], []]) {
      const r = await both(() => args)
      expect(r.bundle, args.join(" ")).toEqual(r.dist)
    }
    const help = await moska(BUNDLE, ["--help"])
    expect([help.code, help.stdout]).toEqual([0, expect.stringContaining("Commands:")])
  })

  it("fails as dist/ fails: a missing scenario file, a bad --set (exit 2, the same message)", async () => {
    for (const args of [["sim", "/nonexistent/moska.yaml"], ["sim", "scenarios/default.yaml", "--set", "workload.requests=many"]]) {
      const r = await both(() => args)
      expect(r.bundle, args.join(" ")).toEqual(r.dist)
      expect(r.bundle.code).toBe(2)
    }
  })

  it("runs a 1-request sim in its worker thread: the same --json report (but wall time) and the same trace rows", async () => {
    const db = (cli: string) => join(scratch, `sim-${cli}.db`)
    const r = await both((cli) => ["sim", "scenarios/default.yaml", "--set", "workload.requests=1", "--db", db(cli), "--json"])
    expect([r.dist.code, r.bundle.code, r.bundle.stderr]).toEqual([0, 0, r.dist.stderr])
    const report = (s: string) => ({ ...(JSON.parse(s) as Record<string, unknown>), wallS: "(wall time)" })
    expect(report(r.bundle.stdout)).toEqual(report(r.dist.stdout))
    for (const table of ["requests", "kernels", "chunk_stats", "chunk_gemm_sizes"]) {
      const d = rows(db("dist"), table)
      expect(rows(db("bundle"), table), table).toEqual(d)
      if (table !== "chunk_gemm_sizes") expect(d.length, table).toBeGreaterThan(0)
    }
    // runs: the same configuration and code version; started_at and wall_s say when and how fast
    expect(rows(db("bundle"), "runs", ["started_at", "wall_s", "finished_at", "pid", "host", "heartbeat_at"]))
      .toEqual(rows(db("dist"), "runs", ["started_at", "wall_s", "finished_at", "pid", "host", "heartbeat_at"]))
    // the migrations came from db/ (found from dist/bundle/ through import.meta.url)
    expect(rows(db("bundle"), "schema_version", ["applied_at"])).toEqual(rows(db("dist"), "schema_version", ["applied_at"]))
  })

  it("writes the same report (uPlot inlined from node_modules) and repro files (the package's data/) as dist/", async () => {
    const db = join(scratch, "report.db")
    expect((await moska(DIST, ["sim", "scenarios/default.yaml", "--set", "workload.requests=3", "--db", db])).code).toBe(0)
    const out = (cli: string) => join(scratch, `report-${cli}.html`)
    const r = await both((cli) => ["report", "--db", db, "--out", out(cli)])
    expect([r.dist.code, r.bundle.code], r.bundle.stderr).toEqual([0, 0])
    expect(readFileSync(out("bundle"), "utf8")).toBe(readFileSync(out("dist"), "utf8"))
    expect(readFileSync(out("bundle"), "utf8")).toContain("uPlot")
    // from another folder: repro's default device file is found from the package, not the working directory
    const prefix = (cli: string) => join(scratch, `repro-${cli}`)
    const p = { dist: await moska(DIST, ["repro", "paper", "--out", prefix("dist")], scratch), bundle: await moska(BUNDLE, ["repro", "paper", "--out", prefix("bundle")], scratch) }
    expect([p.dist.code, p.bundle.code, p.bundle.stderr]).toEqual([0, 0, p.dist.stderr])
    expect(p.bundle.stdout.replaceAll(prefix("bundle"), "OUT")).toBe(p.dist.stdout.replaceAll(prefix("dist"), "OUT"))
    expect(readFileSync(`${prefix("bundle")}.json`, "utf8")).toBe(readFileSync(`${prefix("dist")}.json`, "utf8"))
  })

  it("every source that computes a path from import.meta is one whose path was checked from dist/bundle/", () => {
    // The bundle's chunks lie in dist/bundle/, two levels below the package root like dist/cli/*.js:
    // "../../" from import.meta.url still reaches the root, and "./simWorker.js" and
    // "./traceWriterWorker.js" are entries of the bundle. A path of any other shape (or a new
    // worker file) would resolve elsewhere in the bundle: check it there, then add the file here.
    const checked = ["cli/codeVersion.ts", "cli/runInWorker.ts", "db/migrate.ts", "live/threadedTraceSink.ts", "report/renderReportHtml.ts"]
    const sources = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
      const p = join(dir, f)
      return statSync(p).isDirectory() ? sources(p) : p.endsWith(".ts") ? [p] : []
    })
    const src = join(ROOT, "src")
    const using = sources(src).filter((f) => !f.startsWith(join(src, "bench")) && /import\.meta\.(url|resolve|dirname|filename)/.test(readFileSync(f, "utf8")))
    expect(using.map((f) => relative(src, f)).sort()).toEqual(checked)
  })
})
