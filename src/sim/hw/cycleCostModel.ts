import type { BoundBy, CostModel, KernelCost } from "../../core/costModel.js"
import type { GpuSpec, KernelEfficiency } from "../../core/hardware.js"
import type { KernelKind, KernelSpec, TransferSpec } from "../../core/kernels.js"
import { ns } from "../../core/units.js"
import { efficiencyFor } from "./efficiency.js"
import type { Tiling } from "./launch.js"
import { decodeWavePricer } from "./decodeWavePrice.js"
import { DEFAULT_MODEL_PARAMS, type ModelParams } from "./modelParams.js"
import { tileKernel } from "./tiling.js"
import { scheduleCycles } from "./tileScheduler.js"
import { waveCycles, type LaunchCycles } from "./waveModel.js"

/** `wave`: closed-form wave model; `event`: event-driven per-SM tile scheduler. */
export type CycleLevel = "wave" | "event"

export interface CycleOptions {
  readonly level?: CycleLevel
  /** Tiling per kernel kind (see `tileKernel`); unset kinds use `default`. */
  readonly impl?: Partial<Record<KernelKind, string>>
  readonly params?: Partial<ModelParams>
}

/** A priced tiling: total cycles, seconds and the facts reports quote. */
export interface TilingPrice {
  readonly cycles: number
  readonly seconds: number
  readonly tiles: number
  readonly waves: number
  readonly launches: number
  readonly hbmBytes: number
  readonly boundBy: BoundBy
  readonly computeCycles: number
  readonly memoryCycles: number
  readonly launchCycles: number
}

/**
 * Prices a tiling with given efficiency factors (calibration calls this in its inner loop, so the
 * tiling is computed once per measurement).
 * @example priceTiling(tileKernel(spec, gpu), gpu, efficiencyFor(gpu, "gemm.cublas.bf16"), "wave", DEFAULT_MODEL_PARAMS)
 */
export const priceTiling = (tiling: Tiling, gpu: GpuSpec, eff: KernelEfficiency, level: CycleLevel, p: ModelParams): TilingPrice => {
  let cycles = 0, tiles = 0, waves = 0, launches = 0, hbm = 0, comp = 0, mem = 0
  const launchCycles = (eff.launchNs * gpu.clockHz) / 1e9
  for (const l of tiling.launches) {
    const c: LaunchCycles = level === "event" ? scheduleCycles(l, gpu, eff, p) : waveCycles(l, gpu, eff, p)
    cycles += l.repeat * (c.cycles + launchCycles)
    tiles += l.repeat * c.tiles
    waves += l.repeat * c.waves
    launches += l.repeat
    comp += l.repeat * c.computeCycles
    mem += l.repeat * c.memoryCycles
    hbm += l.repeat * l.groups.reduce((s, g) => s + g.tiles * g.bytes, 0)
  }
  const lat = launches * launchCycles
  const boundBy: BoundBy = lat >= Math.max(comp, mem) ? "latency" : comp >= mem ? "compute" : "memory"
  return { cycles, seconds: cycles / gpu.clockHz, tiles, waves, launches, hbmBytes: hbm, boundBy, computeCycles: comp, memoryCycles: mem, launchCycles: lat }
}

/** A link transfer: bytes at link bandwidth plus per-message latency. */
export const priceTransfer = (spec: TransferSpec): { seconds: number } => ({
  seconds: spec.bytes / spec.link.bandwidthBps + (spec.messages * spec.link.latencyNs) / 1e9,
})

/**
 * The `cycle` cost model: kernels priced in cycles at thread-block-tile granularity (waves over
 * SMs, occupancy, wave quantisation, per-SM bandwidth cap, L2 reuse among concurrent tiles,
 * pipeline fill, per-launch overhead), scaled by the device's calibrated efficiency per kernel
 * class when it has them. Transfers are priced by the link (bandwidth + latency per message).
 * @example makeCycleCostModel(GPU_PRESETS.H200).price({ kind: "gemm", m: 64, n: 4096, k: 4096, dtype: "bf16", count: 32 }).ns
 */
export const makeCycleCostModel = (gpu: GpuSpec, opts: CycleOptions = {}): CostModel => {
  const level = opts.level ?? "wave"
  const p: ModelParams = { ...DEFAULT_MODEL_PARAMS, ...opts.params }
  // Decode attention is priced every decode iteration: at the wave level, straight from the spec (same figures, no Tiling).
  const decodeWave = level === "wave" ? decodeWavePricer(gpu, opts.impl?.decodeAttention ?? "default", p) : undefined
  return {
    name: level === "event" ? "cycle-event" : "cycle",
    gpu,
    price(spec: KernelSpec): KernelCost {
      if (spec.kind === "transfer") {
        const { seconds } = priceTransfer(spec)
        return { ns: ns(seconds * 1e9), flops: 0, bytes: spec.bytes, boundBy: "link", detail: { link: spec.link.name, messages: spec.messages } }
      }
      if (spec.kind === "decodeAttention" && decodeWave !== undefined) return decodeWave(spec)
      const tiling = tileKernel(spec, gpu, opts.impl?.[spec.kind] ?? "default", p)
      const r = priceTiling(tiling, gpu, efficiencyFor(gpu, tiling.klass), level, p)
      return {
        ns: ns(r.seconds * 1e9),
        flops: tiling.usefulFlops,
        bytes: r.hbmBytes,
        boundBy: r.boundBy,
        detail: {
          cycles: Math.round(r.cycles), tiles: r.tiles, waves: r.waves, launches: r.launches, klass: tiling.klass, impl: tiling.impl, level,
          computeCycles: Math.round(r.computeCycles), memoryCycles: Math.round(r.memoryCycles), launchCycles: Math.round(r.launchCycles),
        },
      }
    },
  }
}
