import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { GPU_PRESETS } from "../../../src/core/hardware.js"
import { tileKernel } from "../../../src/sim/hw/tiling.js"

const H200 = GPU_PRESETS.H200
interface File {
  meta: { gemmKernels?: Record<string, Array<[string, number]> | string> }
  measurements: Array<{ id: string; spec: { kind: string; m: number; n: number; k: number } }>
}
const read = (f: string) => JSON.parse(readFileSync(`data/measurements/${f}`, "utf8")) as File
const file = read("h200-torch-fidelity2.json")
// the kernel list covers the shapes of both torch files
const specs = [...read("h200-torch-2026.json").measurements, ...file.measurements]

describe("cuBLAS bf16 tiles at M > 64", () => {
  it("picks the output tile area nvjet ran for at least 34 of the 40 measured shapes (the kernel names give the tile)", () => {
    let shapes = 0
    let same = 0
    for (const [id, kernels] of Object.entries(file.meta.gemmKernels ?? {})) {
      if (!id.startsWith("gemm-bf16-") || typeof kernels === "string") continue
      const spec = specs.find((m) => m.id === id)?.spec
      const name = kernels.map(([n]) => n).find((n) => n.startsWith("nvjet"))
      if (spec === undefined || name === undefined || spec.m <= 64) continue
      const [, a, b] = /_tst_(\d+)x(\d+)_/.exec(name)!
      const launches = tileKernel({ kind: "gemm", m: spec.m, n: spec.n, k: spec.k, dtype: "bf16", count: 1 }, H200, "cublas").launches
      // a tile's FLOPs are 2 · area · K when K is not split
      const area = launches[0]!.groups[0]!.flops / (2 * spec.k)
      shapes++
      if (launches.length === 1 && area === Number(a) * Number(b)) same++
    }
    expect(shapes).toBe(40)
    expect(same).toBeGreaterThanOrEqual(34)
  })
})

describe("cuBLAS bf16 tiles at M <= 64", () => {
  it("halves the row tile to 32 where that fills the SMs without split-K, as nvjet did for o M=64 (64x32, no splitKreduce)", () => {
    const launches = (m: number, n: number, k: number) => tileKernel({ kind: "gemm", m, n, k, dtype: "bf16", count: 1 }, H200, "cublas").launches
    const o64 = launches(64, 4096, 4096)
    expect(o64).toHaveLength(1)
    expect(o64[0]!.groups[0]!.tiles).toBe(128)
    // kv M=64 (32 tiles of 64 rows, 64 of 32: both under half the SMs) keeps 64 rows and splits K, as nvjet did
    expect(launches(64, 2048, 4096)).toHaveLength(2)
    // qkv M=64 fills the SMs with 64-row tiles already: 96 of them, no split
    expect(launches(64, 6144, 4096)[0]!.groups[0]!.tiles).toBe(96)
  })
})
