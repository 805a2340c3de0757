// summarizeRun and `SELECT * FROM latency_percentiles` of two builds on one trace (issue 12), CPU ms
// in this process, each build on its own copy of DB (a newer build migrates the file); checks that
// both give the same JSON (3 calls each; 1 with --x10). With --x10 the copies first gain run 2: run 1's requests ten times over,
// times shifted (a 1M-request run from a 100k one, without a 100 s simulation).
//   node bench/summarize-run-speed.mjs OLD_ROOT NEW_ROOT DB [--x10]   (ROOT: a checkout with dist/ built)
import Database from "better-sqlite3"
import { copyFileSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

const [oldRoot, newRoot, dbFile] = process.argv.slice(2).map((a) => resolve(a))
if (dbFile === undefined) throw new Error("usage: node bench/summarize-run-speed.mjs OLD_ROOT NEW_ROOT DB [--x10]")
const x10 = process.argv.includes("--x10")
const tmp = mkdtempSync(join(tmpdir(), "moska-summarize-speed-"))
const X10 = `INSERT INTO runs (run_id, mode, system, scenario_name, scenario_json, seed, started_at, code_version, hardware, status)
  SELECT 2, mode, system, scenario_name || '-x10', scenario_json, seed, started_at, code_version, hardware, status FROM runs WHERE run_id = 1;
WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 9)
INSERT INTO requests SELECT 2, k.i * 100000 + request_id, arrival_ns + k.i * 7919, admitted_ns + k.i * 7920, first_token_ns + k.i * 7922,
  finished_ns + k.i * 7924, unique_tokens, requested_tokens, output_tokens + k.i, status, reason FROM requests, k WHERE run_id = 1 ORDER BY 2;`
const open = async (root, name) => {
  const file = join(tmp, `${name}.db`)
  copyFileSync(dbFile, file)
  const db = new Database(file)
  if (x10) db.exec(X10)
  ;(await import(join(root, "dist/db/migrate.js"))).migrate(db)
  return { db, summarizeRun: (await import(join(root, "dist/db/summarizeRun.js"))).summarizeRun }
}
const builds = { old: await open(oldRoot, "old"), new: await open(newRoot, "new") }
const cpu = (f) => { const c0 = process.cpuUsage(); const r = f(); const c = process.cpuUsage(c0); return [r, Math.round((c.user + c.system) / 1e3)] }
const run = x10 ? 2 : 1
const n = builds.new.db.prepare("SELECT COUNT(*) FROM requests WHERE run_id = ?").pluck().get(run)
for (const [what, f] of [["summarizeRun", (b) => b.summarizeRun(b.db, run)], ["latency_percentiles", (b) => b.db.prepare("SELECT * FROM latency_percentiles WHERE run_id = ?").all(run)]]) {
  const ms = { old: [], new: [] }; const out = {}
  for (let i = 0; i < (x10 ? 1 : 3); i++) for (const k of ["old", "new"]) { const [r, t] = cpu(() => f(builds[k])); ms[k].push(t); out[k] = JSON.stringify(r) }
  console.log(`${what} (run ${run}, ${n} requests): old ${ms.old.join(" ")} ms cpu, new ${ms.new.join(" ")} ms cpu, ${out.old === out.new ? "identical" : "DIFFERENT"}`)
}
rmSync(tmp, { recursive: true, force: true })
