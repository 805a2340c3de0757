import { spawnSync } from "node:child_process"
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { readProblem } from "../../src/cli/readAttentionProblem.js"
import { formatNpy, parseNpy } from "../../src/gpu/npy/npy.js"

const write = (dir: string, name: string, shape: number[], data: Float32Array | Int32Array, dtype: "<f4" | "<i4" = "<f4"): void => writeFileSync(join(dir, name), formatNpy(dtype, shape, data))

const inputs = (over: Partial<Record<string, [number[], Float32Array | Int32Array, ("<f4" | "<i4")?]>> = {}): string => {
  const dir = mkdtempSync(join(tmpdir(), "moska-npy-"))
  const B = 2, Hq = 4, Hkv = 2, D = 16, S = 40, U = 8
  const f = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i))
  const files: Record<string, [number[], Float32Array | Int32Array, ("<f4" | "<i4")?]> = {
    "q.npy": [[B, Hq, D], f(B * Hq * D)],
    "shared_k.npy": [[S, Hkv, D], f(S * Hkv * D)],
    "shared_v.npy": [[S, Hkv, D], f(S * Hkv * D)],
    "unique_k.npy": [[B, U, Hkv, D], f(B * U * Hkv * D)],
    "unique_v.npy": [[B, U, Hkv, D], f(B * U * Hkv * D)],
    "unique_len.npy": [[B], Int32Array.from([8, 0]), "<i4"],
    ...over,
  }
  for (const [name, [shape, data, dt]] of Object.entries(files)) if (shape.length > 0) write(dir, name, shape, data, dt ?? "<f4")
  return dir
}
const opts = (dir: string, extra: Record<string, string> = {}) => ({ in: dir, out: join(dir, "out"), backend: "cpu", kv: "f32", topK: "all", chunkTokens: "16", ...extra })

describe(".npy reader/writer", () => {
  it("round-trips f32 and i32 arrays, including 1-d and empty shapes", () => {
    const a = Float32Array.from([1.5, -2, 3])
    expect([...parseNpy(formatNpy("<f4", [3], a), "x", "<f4").data]).toEqual([1.5, -2, 3])
    const b = Int32Array.from([1, 2, 3, 4, 5, 6])
    const back = parseNpy(formatNpy("<i4", [2, 3], b), "x", "<i4")
    expect(back.shape).toEqual([2, 3])
    expect([...back.data]).toEqual([1, 2, 3, 4, 5, 6])
    expect(parseNpy(formatNpy("<f4", [0, 4], new Float32Array(0)), "x", "<f4").shape).toEqual([0, 4])
  })
  it("rejects a wrong dtype, a truncated file, trailing bytes and bad magic with a message naming the file", () => {
    const bytes = formatNpy("<f4", [4], new Float32Array(4))
    expect(() => parseNpy(bytes, "q.npy", "<i4")).toThrow(/dtype is '<f4', expected '<i4'/)
    expect(() => parseNpy(bytes.subarray(0, bytes.length - 3), "q.npy", "<f4")).toThrow(/truncated/)
    expect(() => parseNpy(new Uint8Array([...bytes, 0, 0, 0, 0]), "q.npy", "<f4")).toThrow(/beyond shape/)
    expect(() => parseNpy(new Uint8Array(20), "q.npy", "<f4")).toThrow(/bad magic/)
  })
})

describe("moska attention inputs", () => {
  it("reads a well-formed folder", () => {
    const p = readProblem(opts(inputs()))
    expect([p.B, p.Hq, p.Hkv, p.D, p.S, p.U, p.topK]).toEqual([2, 4, 2, 16, 40, 8, 3])
  })
  it("rejects a shape mismatch, an out-of-range length, a wrong dtype and K above the chunk count", () => {
    expect(() => readProblem(opts(inputs({ "shared_v.npy": [[40, 2, 8], new Float32Array(640)] })))).toThrow(/shape \(40, 2, 8\) does not match \(40, 2, 16\)/)
    expect(() => readProblem(opts(inputs({ "unique_len.npy": [[2], Int32Array.from([9, 0]), "<i4"] })))).toThrow(/outside \[0, 8\]/)
    expect(() => readProblem(opts(inputs({ "unique_len.npy": [[2], Float32Array.from([1, 0])] })))).toThrow(/dtype is '<f4'/)
    expect(() => readProblem(opts(inputs(), { topK: "4" }))).toThrow(/larger than the chunk count 3/)
  })
  it("the CLI answers malformed input with one line and exit code 2, and writes out/lse/chunks on good input", () => {
    const tsx = join(process.cwd(), "node_modules/.bin/tsx")
    const bad = inputs()
    writeFileSync(join(bad, "q.npy"), readFileSync(join(bad, "q.npy")).subarray(0, 100))
    const r = spawnSync(tsx, ["src/cli/main.ts", "attention", "--in", bad, "--out", join(bad, "o"), "--backend", "cpu"], { encoding: "utf8" })
    expect(r.status).toBe(2)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toMatch(/q.npy: truncated/)
    const good = inputs()
    const ok = spawnSync(tsx, ["src/cli/main.ts", "attention", "--in", good, "--out", join(good, "o"), "--backend", "cpu", "--top-k", "2", "--chunk-tokens", "16"], { encoding: "utf8" })
    expect(ok.status).toBe(0)
    expect(parseNpy(readFileSync(join(good, "o", "chunks.npy")), "chunks.npy", "<i4").shape).toEqual([2, 2, 2])
    expect(parseNpy(readFileSync(join(good, "o", "out.npy")), "out.npy", "<f4").shape).toEqual([2, 4, 16])
  })
})
