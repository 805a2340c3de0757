import Database from "better-sqlite3"
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "vitest"
import { buildIfStale } from "../../cli/buildIfStale.js"
import { processes } from "./processes.js"

// A disaggregated deployment on real devices (lavapipe here): the coordinator and one unique and
// one shared `moska worker --executor webgpu` as processes on ipc://, each layer's shared attention
// computed by the shared worker on the rows the unique worker's decoder sends it.
const ROOT = fileURLToPath(new URL("../../../", import.meta.url))
const MAIN = join(ROOT, "dist/cli/main.js")
const SCENARIO = "scenarios/live/tiny-webgpu-disagg.yaml"
// Cold lavapipe shader compiles can stall a process for a while: nobody is declared lost meanwhile.
const PATIENT = ["--lost-after-ms", "600000"]

const { start, tmp } = processes()

beforeAll(() => buildIfStale(ROOT), 300_000)

describe("moska live --bind --links real with webgpu workers", () => {
  it("generates the same token ids as the single-process webgpu run of the same requests", async () => {
    const dir = tmp()
    const single = spawnSync(process.execPath, [MAIN, "live", SCENARIO, "--set", "policy.disaggregated=false", "--db", join(dir, "one.db"), "--tokens-out", join(dir, "one.json"), "--json"], { cwd: ROOT, encoding: "utf8", timeout: 600_000 })
    expect(single.status, single.stderr).toBe(0)
    const address = `ipc://${join(dir, "c.sock")}`
    const coordinator = start(["live", SCENARIO, "--db", join(dir, "two.db"), "--json", "--bind", address, "--links", "real", "--workers-timeout-s", "600", ...PATIENT])
    const unique = start(["worker", "--role", "unique", "--connect", address, "--executor", "webgpu", "--tokens-out", join(dir, "two.json"), ...PATIENT])
    const shared = start(["worker", "--role", "shared", "--connect", address, "--executor", "webgpu", ...PATIENT])
    expect(await coordinator.exited, coordinator.out.stderr).toBe(0)
    expect(await unique.exited, unique.out.stderr).toBe(0)
    expect(await shared.exited, shared.out.stderr).toBe(0)
    expect(unique.out.stderr).toContain("shared attention on shared-0")
    expect(coordinator.out.stderr).toContain("unique-0 is ready")
    const one = JSON.parse(single.stdout) as Record<string, any>
    const two = JSON.parse(coordinator.out.stdout) as Record<string, any>
    expect(two.requests).toEqual({ total: 8, completed: 8, rejected: 0, cancelled: 0, failed: 0 })
    expect(two.outputTokens).toBe(one.outputTokens)
    expect(two.engine.config["disagg.shared-0.host"]).toMatch(/ pid \d+ \(webgpu\)$/)
    const a = JSON.parse(readFileSync(join(dir, "one.json"), "utf8")) as Record<string, number[]>
    const b = JSON.parse(readFileSync(join(dir, "two.json"), "utf8")) as Record<string, number[]>
    expect(Object.keys(a)).toHaveLength(8)
    expect(Object.values(a).reduce((n, t) => n + t.length, 0)).toBe(one.outputTokens)
    expect(b).toEqual(a)
    // the link rows carry the bytes the decoder really moved: rows and partials, both ways
    const d = new Database(join(dir, "two.db"), { readonly: true })
    const link = d.prepare("SELECT kind, sum(bytes) b FROM kernels WHERE worker_id = 'link-0' GROUP BY kind ORDER BY kind").all() as Array<{ kind: string; b: number }>
    d.close()
    expect(link.length).toBeGreaterThan(0)
    for (const l of link) expect(l.b).toBeGreaterThan(0)
  }, 1_200_000)
})
