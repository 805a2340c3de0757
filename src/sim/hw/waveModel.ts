import type { GpuSpec, KernelEfficiency } from "../../core/hardware.js"
import { hbmBytesPerCycle, smFlopsPerCycle } from "./catalog.js"
import { tileCount, type Launch } from "./launch.js"
import type { ModelParams } from "./modelParams.js"

/** Cycles of one launch (one repeat, launch overhead excluded) and what set them. */
export interface LaunchCycles {
  readonly cycles: number
  readonly tiles: number
  readonly waves: number
  /** Cycles if only math counted (all SMs busy). */
  readonly computeCycles: number
  /** Cycles if only HBM traffic counted (full bandwidth). */
  readonly memoryCycles: number
}

/** Rates one launch's tiles see on a device, after efficiency factors. */
export const launchRates = (launch: Launch, gpu: GpuSpec, eff: KernelEfficiency, p: ModelParams) => {
  const rate = smFlopsPerCycle(gpu, launch.dtype, launch.unit) * eff.compute // FLOP/cycle per SM
  const bw = hbmBytesPerCycle(gpu) * eff.memory // bytes/cycle, whole device
  const cap = (bw / gpu.sms) * p.perSmBandwidthFactor // bytes/cycle one SM can pull
  return { rate, bw, cap }
}

/**
 * Closed-form wave model. Tiles go round-robin over SMs: every SM runs ⌊T/SMs⌋ tiles with all SMs
 * sharing HBM, then the T mod SMs leftover tiles run one per SM on fewer SMs, each of which may pull
 * up to the per-SM bandwidth cap (the tail). A phase of n tiles per SM costs max(math, memory) for
 * its tiles; pipeline fills are paid once per round of co-resident tiles on the busiest SM. Heterogeneous groups are averaged, and
 * the longest single tile bounds the result from below (the event-driven scheduler does better there).
 * @example waveCycles(launch, GPU_PRESETS.H200, efficiencyFor(gpu, launch.klass), DEFAULT_MODEL_PARAMS)
 */
export const waveCycles = (launch: Launch, gpu: GpuSpec, eff: KernelEfficiency, p: ModelParams): LaunchCycles => {
  const T = tileCount(launch)
  const { rate, bw, cap } = launchRates(launch, gpu, eff, p)
  const F = launch.groups.reduce((s, g) => s + g.tiles * g.flops, 0)
  const B = launch.groups.reduce((s, g) => s + g.tiles * g.bytes, 0)
  const computeCycles = F / (rate * gpu.sms)
  const memoryCycles = B / bw
  if (T === 0) return { cycles: 0, tiles: 0, waves: 0, computeCycles: 0, memoryCycles: 0 }
  const f = F / T
  const b = B / T
  const k = launch.tilesPerSm
  const phase = (n: number, activeSms: number): number => Math.max((n * f) / rate, (n * b) / Math.min(bw / activeSms, cap))
  const q = Math.floor(T / gpu.sms)
  const r = T % gpu.sms
  // one fill per round of co-resident tiles on the busiest SM (a tail tile that fits beside the
  // others shares their round)
  const fills = launch.fillCycles * Math.ceil(Math.ceil(T / gpu.sms) / k)
  let cycles = fills + (q > 0 ? phase(q, gpu.sms) : 0) + (r > 0 ? phase(1, r) : 0)
  for (const g of launch.groups) {
    if (g.tiles > 0) cycles = Math.max(cycles, launch.fillCycles + Math.max(g.flops / rate, g.bytes / cap))
  }
  return { cycles, tiles: T, waves: Math.ceil(T / (gpu.sms * k)), computeCycles, memoryCycles }
}
