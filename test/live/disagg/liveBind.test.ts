import Database from "better-sqlite3"
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "vitest"
import { buildIfStale } from "../../cli/buildIfStale.js"
import { processes } from "./processes.js"

// A disaggregated deployment as real processes on ipc://: `moska live --bind` (the coordinator) and
// one `moska worker` per pool, priced executors on each process's own wall clock.
const ROOT = fileURLToPath(new URL("../../../", import.meta.url))
const MAIN = join(ROOT, "dist/cli/main.js")
const SCENARIO = "scenarios/live/tiny-disagg.yaml"
// Long enough that a worker can be killed while work is in flight.
const LONG = ["--set", "workload.requests=40", "--set", "workload.outputTokens={kind: fixed, value: 200}"]

const { start, tmp } = processes()


const until = async (cond: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 6_000; i++) {
    if (cond()) return
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`gave up waiting for ${what}`)
}

/** Kernel rows per worker in start order, as (kind, queries, chunk): the batch decisions of a run. */
const decisions = (db: string): Record<string, string[]> => {
  const d = new Database(db, { readonly: true })
  const rows = d.prepare("SELECT worker_id w, kind, queries q, chunk_id c FROM kernels ORDER BY worker_id, start_ns, seq").all() as Array<{ w: string; kind: string; q: number; c: number | null }>
  d.close()
  const by: Record<string, string[]> = {}
  for (const r of rows) (by[r.w] ??= []).push(`${r.kind}:${r.q}:${r.c ?? "-"}`)
  return by
}

const kernelCount = (db: string): number => {
  if (!existsSync(db)) return 0
  const d = new Database(db, { readonly: true })
  try {
    return d.prepare("SELECT count(*) FROM kernels").pluck().get() as number
  } catch {
    return 0 // the schema is not there yet
  } finally {
    d.close()
  }
}

beforeAll(() => buildIfStale(ROOT), 300_000)

describe("disaggregated commands refuse bad input with one line and exit 2", () => {
  const run = (args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 })
  it.each([
    [["worker", "--role", "dense", "--connect", "ipc:///tmp/x.sock"], "--role must be unique or shared (got \"dense\")"],
    [["worker", "--role", "shared", "--connect", "http://x"], "--connect must be ipc://PATH or tcp://HOST:PORT with a port from 1 to 65535 (got \"http://x\")"],
    [["worker", "--role", "shared", "--connect", "ipc:///tmp/x.sock", "--executor", "cuda"], "--executor must be priced or webgpu (got \"cuda\")"],
    [["worker", "--role", "shared", "--connect", "ipc:///tmp/x.sock", "--executor", "webgpu", "--tokens-out", "/tmp/t.json"], "--tokens-out is for webgpu unique workers"],
    [["live", SCENARIO, "--bind", "tcp://127.0.0.1:0"], "--bind must be ipc://PATH or tcp://HOST:PORT with a port from 1 to 65535"],
    [["live", "scenarios/live/tiny.yaml", "--bind", "ipc:///tmp/moska-never.sock"], "live --bind with webgpu workers runs MoSKA disaggregated: set policy.disaggregated=true"],
    [["live", "scenarios/live/tiny-webgpu-disagg.yaml", "--bind", "ipc:///tmp/moska-never.sock"], "live --bind with webgpu workers moves real query rows and partials between them: add --links real"],
  ])("moska %j", (args, message) => {
    const r = run(args)
    expect(r.status).toBe(2)
    expect(r.stderr).toContain(message)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
  })
})

describe("moska live --bind with moska worker processes", () => {
  it("completes the run and makes the same batch decisions as the single-process run", async () => {
    const dir = tmp()
    const single = spawnSync(process.execPath, [MAIN, "live", SCENARIO, "--db", join(dir, "one.db"), "--json"], { cwd: ROOT, encoding: "utf8", timeout: 300_000 })
    expect(single.status, single.stderr).toBe(0)
    const address = `ipc://${join(dir, "c.sock")}`
    const coordinator = start(["live", SCENARIO, "--db", join(dir, "disagg.db"), "--json", "--bind", address])
    const unique = start(["worker", "--role", "unique", "--connect", address])
    const shared = start(["worker", "--role", "shared", "--connect", address])
    expect(await coordinator.exited, coordinator.out.stderr).toBe(0)
    expect(await unique.exited, unique.out.stderr).toBe(0)
    expect(await shared.exited, shared.out.stderr).toBe(0)
    expect(shared.out.stderr).toContain("the coordinator ended the run (run finished)")
    const one = JSON.parse(single.stdout) as Record<string, any>
    const two = JSON.parse(coordinator.out.stdout) as Record<string, any>
    expect(two.requests).toEqual(one.requests)
    expect(two.outputTokens).toBe(one.outputTokens)
    expect(two.engine.config["disagg.shared-0.host"]).toMatch(/ pid \d+ \(priced\)$/)
    const a = decisions(join(dir, "one.db"))
    const b = decisions(join(dir, "disagg.db"))
    expect(Object.keys(b).sort()).toEqual(["link-0", "shared-0", "unique-0"])
    expect(b).toEqual(a)
  })

  it("with --links real, moves query rows and partials between the worker processes and still batches as the single-process run", async () => {
    const dir = tmp()
    const single = spawnSync(process.execPath, [MAIN, "live", SCENARIO, "--db", join(dir, "one.db")], { cwd: ROOT, encoding: "utf8", timeout: 300_000 })
    expect(single.status, single.stderr).toBe(0)
    const address = `ipc://${join(dir, "c.sock")}`
    const coordinator = start(["live", SCENARIO, "--db", join(dir, "real.db"), "--json", "--bind", address, "--links", "real"])
    start(["worker", "--role", "unique", "--connect", address])
    start(["worker", "--role", "shared", "--connect", address])
    expect(await coordinator.exited, coordinator.out.stderr).toBe(0)
    const j = JSON.parse(coordinator.out.stdout) as Record<string, any>
    expect(j.engine.config["disagg.links"]).toMatch(/^real: /)
    expect(decisions(join(dir, "real.db"))).toEqual(decisions(join(dir, "one.db")))
    const bytes = (db: string): number[] => {
      const d = new Database(db, { readonly: true })
      const b = d.prepare("SELECT bytes FROM kernels WHERE worker_id = 'link-0' ORDER BY start_ns, seq").pluck().all() as number[]
      d.close()
      return b
    }
    expect(bytes(join(dir, "real.db"))).toEqual(bytes(join(dir, "one.db")))
  })

  it("fails the run and the requests the lost worker held with its name when the shared worker is killed mid-run, cancels the rest with the same reason, keeping the rows committed before", async () => {
    const dir = tmp()
    const db = join(dir, "t.db")
    const address = `ipc://${join(dir, "c.sock")}`
    // 6 requests in flight and at most 4 in a decode set (policy.maxBatch): 2 or more wait for admission on the coordinator
    const coordinator = start(["live", SCENARIO, ...LONG, "--set", "workload.concurrency=6", "--db", db, "--bind", address, "--heartbeat-ms", "50", "--lost-after-ms", "500"])
    start(["worker", "--role", "unique", "--connect", address])
    const shared = start(["worker", "--role", "shared", "--connect", address])
    await until(() => kernelCount(db) > 0, "the first committed kernel rows")
    const before = decisions(db)
    shared.child.kill("SIGKILL")
    expect(await coordinator.exited).toBe(1)
    expect(coordinator.out.stderr).toMatch(/moska coordinator: lost shared-0 \(.+ pid \d+\) sent nothing for \d+ ms \(heartbeat timeout 500 ms\) \(degraded\)/)
    expect(coordinator.out.stderr).toMatch(/^moska: shared-0 .*no worker took its place within 0 ms, so \d+ work items? of the run did not complete$/m)
    const d = new Database(db, { readonly: true })
    const run = d.prepare("SELECT status, error FROM runs").get() as { status: string; error: string }
    expect(run.status).toBe("failed")
    expect(run.error).toContain("shared-0")
    const counts = d.prepare("SELECT status, count(*) n FROM requests GROUP BY status ORDER BY status").all() as Array<{ status: string; n: number }>
    const reasons = d.prepare("SELECT DISTINCT reason FROM requests WHERE status IN ('failed', 'cancelled')").pluck().all() as string[]
    d.close()
    // the decoding requests (their steps' shared attention was on shared-0) failed, with the reason: which worker was lost
    const failed = counts.find((c) => c.status === "failed")?.n ?? 0
    expect(failed).toBeGreaterThan(0)
    expect(failed).toBeLessThanOrEqual(4)
    // those waiting for admission (or a prefill, on unique-0) did not depend on it: cancelled, the run ended under them, with the same reason
    const cancelled = counts.find((c) => c.status === "cancelled")?.n ?? 0
    expect(cancelled).toBeGreaterThanOrEqual(2)
    expect(failed + cancelled).toBe(6)
    expect(reasons.length).toBe(1)
    expect(reasons[0]).toMatch(/^WorkerLost: shared-0 /)
    const after = decisions(db)
    for (const [w, rows] of Object.entries(before)) expect(after[w]?.slice(0, rows.length)).toEqual(rows)
  })

  it("holds the lost worker's work until a restarted worker takes its id, then completes the run", async () => {
    const dir = tmp()
    const db = join(dir, "t.db")
    const address = `ipc://${join(dir, "c.sock")}`
    const coordinator = start(["live", SCENARIO, ...LONG, "--db", db, "--json", "--bind", address, "--heartbeat-ms", "50", "--lost-after-ms", "500", "--rejoin-s", "120"])
    start(["worker", "--role", "unique", "--connect", address])
    const shared = start(["worker", "--role", "shared", "--connect", address])
    await until(() => kernelCount(db) > 0, "the first committed kernel rows")
    shared.child.kill("SIGKILL")
    await until(() => coordinator.out.stderr.includes("lost shared-0"), "the coordinator to notice the loss")
    const again = start(["worker", "--role", "shared", "--connect", address])
    expect(await coordinator.exited, coordinator.out.stderr).toBe(0)
    expect(await again.exited, again.out.stderr).toBe(0)
    expect(coordinator.out.stderr).toContain("shared-0 rejoined")
    const j = JSON.parse(coordinator.out.stdout) as Record<string, any>
    expect(j.requests).toEqual({ total: 40, completed: 40, rejected: 0, cancelled: 0, failed: 0 })
    expect(j.engine.config["disagg.shared-0.joins"]).toBe(2)
    expect(j.engine.config["disagg.shared-0.losses"]).toBe(1)
  })
})
