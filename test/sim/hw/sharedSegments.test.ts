import { describe, expect, it } from "vitest"
import { GPU_PRESETS } from "../../../src/core/hardware.js"
import type { SharedAttentionSpec } from "../../../src/core/kernels.js"
import { tileKernel } from "../../../src/sim/hw/tiling.js"

const H200 = GPU_PRESETS.H200
// the measured f32 WebGPU shapes (data/measurements/h200-webgpu-f32*.json): S tokens in 4096-token chunks, 8 KV heads
const dense = (S: number, b: number): SharedAttentionSpec => ({
  kind: "sharedAttention", chunkTokens: 4096, histogram: [{ queries: b, units: (S / 4096) * 8 }], kvHeads: 8, groupSize: 4, headDim: 128,
  layers: 1, kvDtype: "fp32", mathDtype: "fp32",
})
const attention = (spec: SharedAttentionSpec, impl = "default") => tileKernel(spec, H200, impl).launches.filter((l) => l.label.startsWith("shared.attention"))

describe("moska's shared attention dispatches", () => {
  it("runs one dispatch per 2 GiB KV binding of whole chunks: 127 + 127 + 2 chunks of 16 MiB at 1M f32 tokens", () => {
    expect(attention(dense(1 << 20, 16)).map((l) => l.groups[0]!.tiles)).toEqual([1016, 1016, 16])
    expect(attention(dense(1 << 19, 16)).map((l) => l.groups[0]!.tiles)).toEqual([1016, 8])
    expect(attention(dense(1 << 18, 64)).map((l) => l.groups[0]!.tiles)).toEqual([2048])
  })

  it("uses 64-row workgroups like the WGSL kernel (b = 128: 512 rows a unit, 8 workgroups) and the host's key split (2 at 512 workgroups)", () => {
    expect(attention(dense(1 << 18, 128))[0]!.groups[0]!.tiles).toBe(512 * 8)
    const split = tileKernel(dense(1 << 18, 16), H200, "default").launches
    expect(split[0]!.groups[0]!.tiles).toBe(1024)
    expect(split.at(-1)!.label).toBe("shared.reduce")
  })

  it("keeps one launch for the library kernels, which bind the whole cache", () => {
    expect(attention(dense(1 << 20, 16), "sdpa-cudnn")).toHaveLength(1)
  })
})
