import { bytesPer, type DType } from "../../core/dtype.js"
import type { KernelCost, BoundBy } from "../../core/costModel.js"
import type { GpuSpec, KernelEfficiency } from "../../core/hardware.js"
import type { DecodeAttentionSpec } from "../../core/kernels.js"
import { ns } from "../../core/units.js"
import { hbmBytesPerCycle, smFlopsPerCycle } from "./catalog.js"
import type { ModelParams } from "./modelParams.js"

/**
 * The wave-level price of a decode-attention kernel, the number `priceTiling(tileKernel(spec, …), …, "wave", p)`
 * gives, without building its Tiling, launches, groups and per-launch results. Decode attention is priced every
 * decode iteration (its token counts change each step: 1.6M of the 1.76M prices of the Mooncake replay) and those
 * objects were a quarter of that run's allocation. It repeats decodeTiling (tiling.ts), waveCycles (waveModel.ts)
 * and priceTiling's sums term for term in the same order, so every figure is the generic path's to the bit;
 * test/sim/hw/decodeWavePrice.test.ts holds the two equal on random shapes, and fails when one changes alone.
 * @example decodeWavePricer(gpu, "default", DEFAULT_MODEL_PARAMS)(spec).ns === makeCycleCostModel(gpu).price(spec).ns
 */
export const decodeWavePricer = (gpu: GpuSpec, impl: string, p: ModelParams): ((spec: DecodeAttentionSpec) => KernelCost) => {
  const klass = `decodeAttention.${impl}`
  const uncalibrated: KernelEfficiency = { compute: 1, memory: 1, launchNs: gpu.launchNs }
  const sms = gpu.sms
  const hbmPerCycle = hbmBytesPerCycle(gpu)
  // per-SM math rates: a pure function of the device, read once per math type (attention runs fp32 on SIMT, the rest on tensor cores)
  const rates: Partial<Record<DType, number>> = {}
  const attentionRate = (math: DType): number => rates[math] ??= smFlopsPerCycle(gpu, math, math === "fp32" ? "simt" : "tensor")
  const simtFp32 = smFlopsPerCycle(gpu, "fp32", "simt")
  const fill = p.fillCycles
  return (spec) => {
    const eff = gpu.efficiency?.[klass] ?? uncalibrated
    const G = spec.qHeads / spec.kvHeads
    const e = bytesPer[spec.kvDtype]
    const hd = spec.headDim
    const layers = spec.layers
    const units = spec.requests * spec.kvHeads
    const nsplit = Math.max(1, Math.min(Math.max(1, Math.ceil(spec.maxTokens / p.minSplitTokens)), Math.ceil((p.splitTargetTilesPerSm * sms) / units)))
    const splitTokens = Math.ceil(spec.maxTokens / nsplit)
    const rowsPad = Math.max(16, G)
    const tail = nsplit > 1 ? G * (hd + 1) * 4 : G * hd * 2
    // decodeTiling's two groups: the longest request alone, then the others at their mean length
    let t1 = 0, f1 = 0, b1 = 0
    if (spec.maxTokens > 0) {
      const perReq = Math.ceil(spec.maxTokens / splitTokens)
      const t = spec.maxTokens / perReq
      t1 = spec.kvHeads * perReq
      f1 = 4 * rowsPad * hd * t
      b1 = t * hd * 2 * e + G * hd * 2 + tail
    }
    const restTokens = spec.requests > 1 ? (spec.totalTokens - spec.maxTokens) / (spec.requests - 1) : 0
    let t2 = 0, f2 = 0, b2 = 0
    if (spec.requests - 1 > 0 && restTokens > 0) {
      const perReq = Math.ceil(restTokens / splitTokens)
      const t = restTokens / perReq
      t2 = (spec.requests - 1) * spec.kvHeads * perReq
      f2 = 4 * rowsPad * hd * t
      b2 = t * hd * 2 * e + G * hd * 2 + tail
    }
    const launchCycles = (eff.launchNs * gpu.clockHz) / 1e9
    const bw = hbmPerCycle * eff.memory
    const cap = (bw / sms) * p.perSmBandwidthFactor
    let cycles = 0, tiles = 0, waves = 0, launches = 0, hbm = 0, comp = 0, mem = 0
    // the attention launch (tilesPerSm 4)
    {
      const rate = attentionRate(spec.mathDtype) * eff.compute
      const T = 0 + t1 + t2
      const F = 0 + t1 * f1 + t2 * f2
      const B = 0 + t1 * b1 + t2 * b2
      let c = 0, w = 0, cc = 0, mc = 0
      if (T !== 0) {
        cc = F / (rate * sms)
        mc = B / bw
        c = waveSum(T, F / T, B / T, 4, rate, bw, cap, sms, fill)
        if (t1 > 0) c = Math.max(c, fill + Math.max(f1 / rate, b1 / cap))
        if (t2 > 0) c = Math.max(c, fill + Math.max(f2 / rate, b2 / cap))
        w = Math.ceil(T / (sms * 4))
      }
      cycles += layers * (c + launchCycles)
      tiles += layers * T
      waves += layers * w
      launches += layers
      comp += layers * cc
      mem += layers * mc
      hbm += layers * (0 + t1 * b1 + t2 * b2)
    }
    // the split-K reduce (mergePass → simtPass: rows of 16, fp32 SIMT, tilesPerSm 8)
    if (nsplit > 1) {
      const rows = spec.requests * spec.qHeads
      const T = Math.max(1, Math.ceil(rows / 16))
      const r = rows / T
      const f = r * (nsplit * (3 * hd + 4))
      const b = r * (nsplit * (hd + 1) * 4 + hd * 2)
      const rate = simtFp32 * eff.compute
      const F = 0 + T * f
      const B = 0 + T * b
      const cc = F / (rate * sms)
      const mc = B / bw
      let c = waveSum(T, F / T, B / T, 8, rate, bw, cap, sms, fill)
      c = Math.max(c, fill + Math.max(f / rate, b / cap))
      cycles += layers * (c + launchCycles)
      tiles += layers * T
      waves += layers * Math.ceil(T / (sms * 8))
      launches += layers
      comp += layers * cc
      mem += layers * mc
      hbm += layers * (0 + T * b)
    }
    const lat = launches * launchCycles
    const boundBy: BoundBy = lat >= Math.max(comp, mem) ? "latency" : comp >= mem ? "compute" : "memory"
    return {
      ns: ns((cycles / gpu.clockHz) * 1e9),
      flops: 4 * spec.qHeads * hd * spec.totalTokens * layers,
      bytes: hbm,
      boundBy,
      detail: {
        cycles: Math.round(cycles), tiles, waves, launches, klass, impl, level: "wave",
        computeCycles: Math.round(comp), memoryCycles: Math.round(mem), launchCycles: Math.round(lat),
      },
    }
  }
}

// waveCycles' phases for T tiles of mean f FLOPs and b bytes: fills, the full rounds over every SM, the tail.
const waveSum = (T: number, f: number, b: number, k: number, rate: number, bw: number, cap: number, sms: number, fill: number): number => {
  const q = Math.floor(T / sms)
  const r = T % sms
  const fills = fill * Math.ceil(Math.ceil(T / sms) / k)
  const full = q > 0 ? Math.max((q * f) / rate, (q * b) / Math.min(bw / sms, cap)) : 0
  const rest = r > 0 ? Math.max((1 * f) / rate, (1 * b) / Math.min(bw / r, cap)) : 0
  return fills + full + rest
}
