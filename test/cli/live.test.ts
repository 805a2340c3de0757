import Database from "better-sqlite3"
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "vitest"
import { buildIfStale } from "./buildIfStale.js"

// Live mode end to end through the built binary: the priced executor (no GPU) and the real
// decoder on WebGPU (lavapipe here), on the tiny shipped scenario.
const ROOT = fileURLToPath(new URL("../../", import.meta.url))
const MAIN = join(ROOT, "dist/cli/main.js")
const TINY = "scenarios/live/tiny.yaml"
const moska = (args: string[]) => {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: "utf8", timeout: 600_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}
const tmp = () => mkdtempSync(join(tmpdir(), "moska-live-"))

beforeAll(() => buildIfStale(ROOT), 300_000) // a no-op after test/globalSetup.ts built dist/

/** A safetensors file: 8-byte header length, JSON header, f32 data. */
const writeSafetensors = (file: string, tensors: Record<string, number[]>) => {
  const header: Record<string, unknown> = {}
  let off = 0
  for (const [name, shape] of Object.entries(tensors)) {
    const n = shape.reduce((a, b) => a * b, 1) * 4
    header[name] = { dtype: "F32", shape, data_offsets: [off, off + n] }
    off += n
  }
  const json = Buffer.from(JSON.stringify(header))
  const len = Buffer.alloc(8)
  len.writeBigUInt64LE(BigInt(json.length))
  writeFileSync(file, Buffer.concat([len, json, Buffer.alloc(off)]))
}

describe("moska live --executor priced", () => {
  it("runs the tiny scenario on the wall clock and records a live run in the same schema as sim", () => {
    const db = join(tmp(), "t.db")
    const r = moska(["live", TINY, "--executor", "priced", "--db", db, "--json"])
    expect(r.code, r.stderr).toBe(0)
    const j = JSON.parse(r.stdout) as Record<string, any>
    expect(j.mode).toBe("live")
    expect(j.requests).toEqual({ total: 24, completed: 24, rejected: 0, cancelled: 0, failed: 0 })
    expect(j.live.executor).toBe("priced")
    expect(j.latencyMs.ttft.n).toBe(24)
    const d = new Database(db, { readonly: true })
    expect(d.prepare("SELECT mode, status FROM runs").get()).toEqual({ mode: "live", status: "finished" })
    const tokens = d.prepare("SELECT count(*) FROM tokens").pluck().get()
    expect(tokens).toBe(j.outputTokens)
    d.close()
  })

  it("replays a shipped trace live", () => {
    const db = join(tmp(), "t.db")
    const r = moska(["replay", "data/traces/azure_llm_2023_code.csv", "--live", "--executor", "priced", "--scenario", TINY,
      "--set", "workload.limit=10", "--set", "workload.timeScale=0.01", "--db", db, "--json"])
    expect(r.code, r.stderr).toBe(0)
    const j = JSON.parse(r.stdout) as Record<string, any>
    expect(j.requests.total).toBe(10)
    expect(j.requests.completed + j.requests.rejected).toBe(10)
  })
})

describe("moska live on WebGPU", () => {
  it("decodes every request for real: tokens as asked, kernel rows with measured GPU and predicted times", () => {
    const db = join(tmp(), "t.db")
    const r = moska(["live", TINY, "--set", "workload.requests=8", "--db", db, "--json"])
    expect(r.code, r.stderr).toBe(0)
    const j = JSON.parse(r.stdout) as Record<string, any>
    expect(j.requests).toEqual({ total: 8, completed: 8, rejected: 0, cancelled: 0, failed: 0 })
    const d = new Database(db, { readonly: true })
    const rows = d.prepare("SELECT request_id, requested_tokens, output_tokens FROM requests").all() as Array<{ request_id: number; requested_tokens: number; output_tokens: number }>
    expect(new Set(rows.map((x) => x.request_id)).size).toBe(8)
    for (const x of rows) expect(x.output_tokens).toBe(x.requested_tokens)
    const k = d.prepare("SELECT count(*) n, sum(gpu_ns IS NULL) nogpu, sum(predicted_ns IS NULL) nopred, sum(gpu_ns > 0) timed FROM kernels").get() as Record<string, number>
    expect(k.n).toBeGreaterThan(0)
    expect(k.nogpu).toBe(0)
    expect(k.nopred).toBe(0)
    expect(k.timed).toBe(k.n)
    d.close()
  }, 600_000)
})

describe("bad input to the live path", () => {
  it("an unknown executor, a disaggregated scenario and a too-small slot are one-line exit 2 with nothing written", () => {
    const db = join(tmp(), "t.db")
    const ex = moska(["live", TINY, "--executor", "cuda", "--db", db])
    expect([ex.code, ex.stderr]).toEqual([2, 'moska: --executor must be webgpu or priced (got "cuda")\n'])
    const dis = moska(["live", TINY, "--set", "policy.disaggregated=true", "--set", "hardware.shared={gpu: H200, count: 1}", "--db", db])
    expect(dis.code).toBe(2)
    expect(dis.stderr).toMatch(/^moska: live --executor webgpu runs MoSKA colocated on one device/)
    expect(dis.stderr.trim().split("\n")).toHaveLength(1)
    const ctx = moska(["live", TINY, "--set", "live.maxContextTokens=100", "--db", db])
    expect([ctx.code, ctx.stderr]).toEqual([2, "moska: live.maxContextTokens must be a multiple of 16 (got 100)\n"])
    expect(existsSync(db)).toBe(false)
  })

  it("a weights file of the wrong shape names the tensor, exits non-zero and writes nothing", () => {
    const dir = tmp()
    const weights = join(dir, "w.safetensors")
    writeSafetensors(weights, { "model.embed_tokens.weight": [256, 64] })
    const db = join(dir, "t.db")
    const r = moska(["live", TINY, "--set", `live.weights=${weights}`, "--db", db])
    expect(r.code).not.toBe(0)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toMatch(/model\.embed_tokens\.weight/)
    expect(existsSync(db)).toBe(false)
  }, 120_000)

  it("a corpus too large for the device is CapacityExceeded, exit 2, before anything is written", () => {
    const db = join(tmp(), "t.db")
    const r = moska(["live", TINY, "--set", "corpus.sharedTokens=268435456", "--set", "corpus.chunkTokens=1048576", "--db", db])
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toMatch(/needs \d+ bytes but only \d+ are available/)
    expect(existsSync(db)).toBe(false)
  }, 120_000)
})

describe("signals during a live run", () => {
  it("SIGTERM mid-run keeps the rows so far, marks the run interrupted and exits 143", async () => {
    const { spawn } = await import("node:child_process")
    const db = join(tmp(), "t.db")
    const child = spawn(process.execPath, [MAIN, "live", TINY, "--set", "workload.requests=400", "--set", "workload.ratePerS=20", "--db", db], { cwd: ROOT })
    let stderr = ""
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()))
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
    // the run row appears once the decoder is built and warm; then let it serve for a moment
    for (let i = 0; i < 600 && !existsSync(db); i++) await new Promise((r) => setTimeout(r, 100))
    await new Promise((r) => setTimeout(r, 3000))
    child.kill("SIGTERM")
    expect(await exited, stderr).toBe(143)
    const d = new Database(db, { readonly: true })
    expect(d.prepare("SELECT status FROM runs").pluck().get()).toBe("interrupted")
    expect(d.prepare("SELECT count(*) FROM requests").pluck().get()).toBeGreaterThan(0)
    d.close()
  }, 120_000)
})
