import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { KernelCost } from "../../../src/core/costModel.js"
import { DTYPES } from "../../../src/core/dtype.js"
import { GPU_PRESETS, type GpuSpec } from "../../../src/core/hardware.js"
import type { DecodeAttentionSpec } from "../../../src/core/kernels.js"
import { shardGpu } from "../../../src/sim/costModels.js"
import { makeCycleCostModel, priceTiling } from "../../../src/sim/hw/cycleCostModel.js"
import { decodeWavePricer } from "../../../src/sim/hw/decodeWavePrice.js"
import { efficiencyFor } from "../../../src/sim/hw/efficiency.js"
import { DEFAULT_MODEL_PARAMS, type ModelParams } from "../../../src/sim/hw/modelParams.js"
import { tileKernel } from "../../../src/sim/hw/tiling.js"

// The generic path: decodeTiling's Tiling priced launch by launch (what makeCycleCostModel did for every kind).
const generic = (spec: DecodeAttentionSpec, gpu: GpuSpec, impl: string, p: ModelParams): KernelCost => {
  const tiling = tileKernel(spec, gpu, impl, p)
  const r = priceTiling(tiling, gpu, efficiencyFor(gpu, tiling.klass), "wave", p)
  return {
    ns: Math.round(r.seconds * 1e9) as KernelCost["ns"],
    flops: tiling.usefulFlops,
    bytes: r.hbmBytes,
    boundBy: r.boundBy,
    detail: {
      cycles: Math.round(r.cycles), tiles: r.tiles, waves: r.waves, launches: r.launches, klass: tiling.klass, impl: tiling.impl, level: "wave",
      computeCycles: Math.round(r.computeCycles), memoryCycles: Math.round(r.memoryCycles), launchCycles: Math.round(r.launchCycles),
    },
  }
}

const H200: GpuSpec = GPU_PRESETS.H200
// a calibrated class (factors and launch latency of its own) next to the presets' datasheet rates
const calibrated: GpuSpec = {
  ...H200, name: "H200-cal",
  efficiency: { ...H200.efficiency, "decodeAttention.default": { compute: 0.61, memory: 0.83, launchNs: 4100 }, "decodeAttention.sdpa": { compute: 0.4, memory: 0.9, launchNs: 2900 } },
}
const GPUS: readonly GpuSpec[] = [...(Object.values(GPU_PRESETS) as GpuSpec[]), shardGpu(H200, 16), calibrated]

const decodeSpec = fc
  .record({
    requests: fc.integer({ min: 1, max: 600 }),
    maxTokens: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 400_000 })),
    restPerRequest: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
    heads: fc.constantFrom([32, 8], [32, 32], [64, 8], [28, 4], [8, 8]),
    headDim: fc.constantFrom(64, 96, 128, 256),
    layers: fc.integer({ min: 1, max: 126 }),
    kvDtype: fc.constantFrom(...DTYPES),
    mathDtype: fc.constantFrom(...DTYPES),
  })
  .map((r): DecodeAttentionSpec => ({
    kind: "decodeAttention", requests: r.requests, maxTokens: r.maxTokens,
    // the others hold up to maxTokens each (sometimes fractional means)
    totalTokens: r.maxTokens + Math.floor((r.requests - 1) * r.maxTokens * r.restPerRequest),
    qHeads: r.heads[0] as number, kvHeads: r.heads[1] as number, headDim: r.headDim, layers: r.layers, kvDtype: r.kvDtype, mathDtype: r.mathDtype,
  }))

describe("decodeWavePricer", () => {
  it("gives every figure of the generic tiling price, to the bit, on random decode shapes, devices, impls and params", () => {
    const params = fc.record({
      fillCycles: fc.constantFrom(DEFAULT_MODEL_PARAMS.fillCycles, 0, 2345),
      perSmBandwidthFactor: fc.constantFrom(DEFAULT_MODEL_PARAMS.perSmBandwidthFactor, 1.7),
      splitTargetTilesPerSm: fc.constantFrom(DEFAULT_MODEL_PARAMS.splitTargetTilesPerSm, 1, 5),
      minSplitTokens: fc.constantFrom(DEFAULT_MODEL_PARAMS.minSplitTokens, 1000),
    })
    fc.assert(
      fc.property(decodeSpec, fc.constantFrom(...GPUS), fc.constantFrom("default", "sdpa"), params, (spec, gpu, impl, over) => {
        const p: ModelParams = { ...DEFAULT_MODEL_PARAMS, ...over }
        const fast = decodeWavePricer(gpu, impl, p)(spec)
        const ref = generic(spec, gpu, impl, p)
        expect(fast).toStrictEqual(ref)
        for (const k of ["ns", "flops", "bytes"] as const) expect(Object.is(fast[k], ref[k])).toBe(true)
      }),
      { seed: 12, numRuns: 5000 },
    )
  })

  it("is what the wave-level cycle model prices decode attention with (the event level keeps its tile scheduler)", () => {
    const spec: DecodeAttentionSpec = { kind: "decodeAttention", requests: 93, totalTokens: 93 * 4211 + 17, maxTokens: 18_004, qHeads: 32, kvHeads: 8, headDim: 128, layers: 32, kvDtype: "fp8", mathDtype: "fp8" }
    expect(makeCycleCostModel(H200).price(spec)).toStrictEqual(generic(spec, H200, "default", DEFAULT_MODEL_PARAMS))
    expect(makeCycleCostModel(H200, { impl: { decodeAttention: "sdpa" } }).price(spec)).toStrictEqual(generic(spec, H200, "sdpa", DEFAULT_MODEL_PARAMS))
    expect(makeCycleCostModel(H200, { level: "event" }).price(spec).detail?.level).toBe("event")
  })
})
