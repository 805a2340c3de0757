import { describe, expect, it } from "vitest"
import { GPU_PRESETS } from "../../../src/core/hardware.js"
import type { SharedAttentionSpec } from "../../../src/core/kernels.js"
import { tileKernel } from "../../../src/sim/hw/tiling.js"

const H200 = GPU_PRESETS.H200
// the shapes of bench/measure_torch.py shared_attention(): n chunks x 8 KV heads, b queries x 4 GQA rows, bf16
const spec = (chunks: number, chunkTokens: number, queries: number): SharedAttentionSpec => ({
  kind: "sharedAttention", chunkTokens, histogram: [{ queries, units: chunks * 8 }], kvHeads: 8, groupSize: 4, headDim: 128,
  layers: 1, kvDtype: "bf16", mathDtype: "bf16",
})

describe("sdpa-flash split-KV (FlashAttention-2's num_splits heuristic in ATen mha_fwd)", () => {
  it("splits 128 query blocks over 264 CTA slots in two: 64-row tiles over half the chunk each, then a combine launch", () => {
    const t = tileKernel(spec(16, 16384, 16), H200, "sdpa-flash")
    expect(t.launches.map((l) => l.label)).toEqual(["shared.attention", "shared.reduce"])
    const main = t.launches[0]!
    expect(main.groups[0]!.tiles).toBe(256)
    expect(main.tilesPerSm).toBe(2)
    expect(main.groups[0]!.flops).toBe(4 * 64 * 128 * 8192) // no padding of the 64 real rows
  })

  it("keeps one 128-row launch once the query blocks fill 80% of the slots (512 blocks; 256 rows x 16 chunks)", () => {
    for (const s of [spec(64, 4096, 16), spec(16, 16384, 64)]) {
      const t = tileKernel(s, H200, "sdpa-flash")
      expect(t.launches).toHaveLength(1)
      expect(t.launches[0]!.groups[0]!.flops).toBe(4 * 128 * 128 * s.chunkTokens) // one 128-row tile over the whole chunk
      expect(t.launches[0]!.tilesPerSm).toBe(1)
    }
  })

  it("leaves sdpa-cudnn unsplit on the shape flash splits", () => {
    expect(tileKernel(spec(16, 16384, 16), H200, "sdpa-cudnn").launches).toHaveLength(1)
  })
})
