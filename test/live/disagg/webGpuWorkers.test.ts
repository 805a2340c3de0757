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
  it("generates the same token ids as the single-process webgpu run of the same requests, with prefill on the unique worker's corpus replica, f16 on the wire and two micro-batches per decode step (the defaults), with one micro-batch (the same bytes), and with every step's shared attention remote in f32; the first moves fewer bytes", async () => {
    const dir = tmp()
    const single = spawnSync(process.execPath, [MAIN, "live", SCENARIO, "--set", "policy.disaggregated=false", "--db", join(dir, "one.db"), "--tokens-out", join(dir, "one.json"), "--json"], { cwd: ROOT, encoding: "utf8", timeout: 600_000 })
    expect(single.status, single.stderr).toBe(0)
    const one = JSON.parse(single.stdout) as Record<string, any>
    const a = JSON.parse(readFileSync(join(dir, "one.json"), "utf8")) as Record<string, number[]>
    expect(Object.keys(a)).toHaveLength(8)
    expect(Object.values(a).reduce((n, t) => n + t.length, 0)).toBe(one.outputTokens)
    const linkBytes: Record<string, Record<string, number>> = {}
    for (const mode of [
      { name: "local-f16-mb1", sets: ["--set", "live.disaggregatedMicroBatches=1"], says: "decode steps' shared attention on shared-0, prefill's on the local corpus replica; f16 on the wire" },
      { name: "local-f16-mb2", sets: [], says: "prefill's on the local corpus replica, 2 micro-batches per decode step; f16 on the wire" },
      { name: "remote-f32", sets: ["--set", "live.disaggregatedPrefill=remote", "--set", "live.disaggregatedWire=f32", "--set", "live.disaggregatedMicroBatches=1"], says: "shared attention on shared-0; f32 on the wire" },
    ]) {
      const address = `ipc://${join(dir, `${mode.name}.sock`)}`
      const db = join(dir, `${mode.name}.db`)
      const coordinator = start(["live", SCENARIO, ...mode.sets, "--db", db, "--json", "--bind", address, "--links", "real", "--workers-timeout-s", "600", ...PATIENT])
      const unique = start(["worker", "--role", "unique", "--connect", address, "--executor", "webgpu", "--tokens-out", join(dir, `${mode.name}.json`), ...PATIENT])
      const shared = start(["worker", "--role", "shared", "--connect", address, "--executor", "webgpu", ...PATIENT])
      expect(await coordinator.exited, coordinator.out.stderr).toBe(0)
      expect(await unique.exited, unique.out.stderr).toBe(0)
      expect(await shared.exited, shared.out.stderr).toBe(0)
      expect(unique.out.stderr).toContain(mode.says)
      // pipelined: the shared worker held both micro-batches' layer requests at once
      expect(shared.out.stderr).toContain(mode.name.endsWith("-mb2") ? "at most 2 in flight" : "at most 1 in flight")
      expect(coordinator.out.stderr).toContain("unique-0 is ready")
      const two = JSON.parse(coordinator.out.stdout) as Record<string, any>
      expect(two.requests, mode.name).toEqual({ total: 8, completed: 8, rejected: 0, cancelled: 0, failed: 0 })
      expect(two.outputTokens, mode.name).toBe(one.outputTokens)
      expect(two.engine.config["disagg.shared-0.host"]).toMatch(/ pid \d+ \(webgpu\)$/)
      const b = JSON.parse(readFileSync(join(dir, `${mode.name}.json`), "utf8")) as Record<string, number[]>
      expect(b, mode.name).toEqual(a)
      // the link rows carry the bytes the decoder really moved: rows and partials, both ways
      const d = new Database(db, { readonly: true })
      const link = d.prepare("SELECT kind, sum(bytes) b FROM kernels WHERE worker_id = 'link-0' GROUP BY kind ORDER BY kind").all() as Array<{ kind: string; b: number }>
      d.close()
      expect(link.length).toBeGreaterThan(0)
      for (const l of link) expect(l.b).toBeGreaterThan(0)
      linkBytes[mode.name] = Object.fromEntries(link.map((l) => [l.kind, l.b]))
    }
    // two micro-batches move the same rows and merged partials as one batch, so the same bytes
    expect(linkBytes["local-f16-mb2"]).toEqual(linkBytes["local-f16-mb1"])
    // no prefill rows on the wire and half the bytes per element: well under half, both ways
    for (const kind of Object.keys(linkBytes["remote-f32"]!)) expect(linkBytes["local-f16-mb1"]![kind]!, kind).toBeLessThan(linkBytes["remote-f32"]![kind]! / 2)
  }, 1_200_000)
})
