import { describe, expect, it } from "vitest"
import type { KernelsBenchResult } from "../../src/bench/kernelsBench.js"
import { measureCeilings } from "../../src/bench/kernelsCeilings.js"
import { kernelsTable } from "../../src/bench/kernelsTable.js"
import { useGpu } from "./gpuFixture.js"

const gpu = useGpu()

describe("the bench's ceilings", () => {
  // measureCeilings checks each read variant's first workgroup sums against the host (exact small integers) and
  // throws on a mismatch, so this also tests that the reduction reads every byte it is timed for.
  it("measure a read-only reduction next to the copy, best of the sweep, sums checked", async () => {
    const c = await measureCeilings(gpu(), true)
    expect(c.readSweep.map((r) => [r.wg, r.unroll])).toEqual([[256, 4], [256, 16]])
    for (const r of c.readSweep) expect(r.GBps).toBeGreaterThan(0)
    expect(c.readGBps).toBe(Math.max(...c.readSweep.map((r) => r.GBps)))
    expect(c.copyGBps).toBeGreaterThan(0)
    expect(c.gemmF32TFLOPs).toBeGreaterThan(0)
  }, 120_000)
})

describe("kernelsTable", () => {
  it("adds a % read column after % copy and quotes unique decode against the read ceiling and the anchor", () => {
    const row = { kv: "f16" as const, bytes: 4e9, flops: 0, TFLOPs: 0, err: 1e-7, errNote: "" }
    const r: KernelsBenchResult = {
      device: "test",
      ceilings: { copyGBps: 4000, gemmF32TFLOPs: 25, readGBps: 4400, readSweep: [{ wg: 256, unroll: 8, GBps: 4400 }] },
      shape: { Hq: 32, Hkv: 8, D: 128, U: 65536, S: 1 << 20, chunkTokens: 4096 },
      rows: [
        { ...row, key: "unique U=65536 B=16", ms: 1, GBps: 4000, anchorMs: 0.9 },
        { ...row, key: "shared dense S=1048576 B=16", ms: 2, GBps: 2000 },
      ],
    }
    const t = kernelsTable(r).split("\n")
    expect(t[2]).toBe("| kernel / shape | kv | ms | GB/s | % copy | % read | TFLOP/s | % f32 GEMM | err | anchor ms | ours/anchor |")
    expect(t[4]).toBe("| unique U=65536 B=16 | f16 | 1.000 | 4000 | 100 | 91 | 0.00 | 0 | 1.0e-7 | 0.900 | 1.11 |")
    expect(t[5]).toBe("| shared dense S=1048576 B=16 | f16 | 2.000 | 2000 | 50 | 45 | 0.00 | 0 | 1.0e-7 | - | - |")
    expect(t.slice(-1)[0]).toBe("unique U=65536 B=16 [f16]: 4000 GB/s = 91% of the read ceiling, 90% of the anchor's bandwidth")
    expect(t.some((l) => l.startsWith("shared dense") && !l.startsWith("|"))).toBe(false)
  })
})
