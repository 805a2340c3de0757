import type { GpuSpec } from "../../../core/hardware.js"
import { hbmBytesPerCycle, smFlopsPerCycle } from "../catalog.js"
import { makeCycleCostModel } from "../cycleCostModel.js"
import { efficiencyFor } from "../efficiency.js"

/**
 * The smallest per-chunk query count at which stacked shared attention (FP8, 16K-token chunks,
 * Llama-3.1-8B GQA group of 4, all 8 KV heads of 64 chunks) turns compute-bound on a device.
 * @example crossoverQueries(GPU_PRESETS.H200) // ≈ 52 on datasheet rates
 */
export const crossoverQueries = (gpu: GpuSpec): number => {
  const m = makeCycleCostModel(gpu)
  for (let q = 1; q <= 4096; q++) {
    const c = m.price({ kind: "sharedAttention", chunkTokens: 16_384, histogram: [{ queries: q, units: 64 * 8 }], kvHeads: 8, groupSize: 4, headDim: 128, layers: 32, kvDtype: "fp8", mathDtype: "fp8" })
    if (c.boundBy === "compute") return q
  }
  return Infinity
}

/**
 * The same crossover from useful FLOPs alone (no tile padding): the device's FP8 ridge point
 * (FLOP/byte, after efficiency) over the 8 FLOP/byte one stacked query adds (2·G, FP8 KV).
 */
export const ridgeQueries = (gpu: GpuSpec): number => {
  const e = efficiencyFor(gpu, "sharedAttention.default")
  const ridge = (smFlopsPerCycle(gpu, "fp8", "tensor") * gpu.sms * e.compute) / (hbmBytesPerCycle(gpu) * e.memory)
  return Math.round(ridge / 8)
}
