import { describe, expect, it } from "vitest"
import { GPU_PRESETS, LINK_PRESETS } from "../../src/core/hardware.js"
import { roofline, peakFlops } from "../../src/sim/roofline.js"
import { COST_MODELS, shardGpu, defaultCostModelResolver } from "../../src/sim/costModels.js"

const H200 = GPU_PRESETS.H200

describe("roofline cost model", () => {
  it("prices a memory-bound decode attention at its KV bytes over bandwidth plus launch", () => {
    const m = roofline(H200)
    const c = m.price({ kind: "decodeAttention", requests: 1, totalTokens: 65_536, maxTokens: 65_536, qHeads: 32, kvHeads: 8, headDim: 128, layers: 32, kvDtype: "fp8", mathDtype: "fp8" })
    const kvBytes = 65_536 * 65_536 // 64K tokens × 64 KiB per token (FP8, all layers)
    expect(c.boundBy).toBe("memory")
    expect(c.flops).toBe(65_536 * 524_288)
    expect(c.bytes).toBeGreaterThanOrEqual(kvBytes)
    expect(c.ns).toBe(Math.round((c.bytes / 4.8e12) * 1e9 + 4000))
  })

  it("turns stacked shared attention compute-bound past the ridge (B_c ≈ 52 on H200 FP8)", () => {
    const m = roofline({ ...H200, launchNs: 0 })
    const at = (q: number) =>
      m.price({ kind: "sharedAttention", chunkTokens: 16_384, histogram: [{ queries: q, units: 8 }], kvHeads: 8, groupSize: 4, headDim: 128, layers: 32, kvDtype: "fp8", mathDtype: "fp8" })
    expect(at(16).boundBy).toBe("memory")
    expect(at(128).boundBy).toBe("compute")
    // Below the ridge the time barely moves with queries; above it, it grows linearly.
    expect(at(32).ns / at(16).ns).toBeLessThan(1.05)
    expect(at(256).ns / at(128).ns).toBeCloseTo(2, 1)
  })

  it("prices transfers by link latency per message plus bytes over link bandwidth, without a launch", () => {
    const c = roofline(H200).price({ kind: "transfer", bytes: 450e6, messages: 32, link: LINK_PRESETS.nvlink4 })
    expect(c.ns).toBe(32 * 2000 + 1_000_000)
    expect(c.boundBy).toBe("link")
  })

  it("falls back to the next tensor rate when a format has none (FP8 on A100 runs at FP16)", () => {
    expect(peakFlops(GPU_PRESETS.A100, "fp8")).toBe(312e12)
    expect(peakFlops(GPU_PRESETS.H200, "fp8")).toBe(1979e12)
  })

  it("shards a pool into one device with summed rates and capacity", () => {
    const g = shardGpu(H200, 4)
    expect(g.hbmBytes).toBe(4 * 141e9)
    expect(g.hbmBandwidthBps).toBe(4 * 4.8e12)
    expect(g.tensorFlops.fp8).toBe(4 * 1979e12)
    expect(g.launchNs).toBe(H200.launchNs)
    const m = defaultCostModelResolver("roofline")("shared", { gpu: "H200", count: 4, memoryFraction: 0.9 })
    expect(m.gpu.name).toBe("H200x4")
    const u = defaultCostModelResolver("roofline")("unique", { gpu: "H200", count: 4, memoryFraction: 0.9 })
    expect(u.gpu.name).toBe("H200") // unique pools default to replicas
    expect(Object.keys(COST_MODELS)).toContain("roofline")
  })
})
