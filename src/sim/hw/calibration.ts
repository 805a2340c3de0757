import type { GpuSpec, KernelEfficiency } from "../../core/hardware.js"
import { priceTiling } from "./cycleCostModel.js"
import type { Tiling } from "./launch.js"
import type { Measurement } from "./measurementFile.js"
import { DEFAULT_MODEL_PARAMS, type ModelParams } from "./modelParams.js"
import { tileKernel } from "./tiling.js"

/** Fit of one kernel class. */
export interface ClassFit {
  readonly klass: string
  readonly efficiency: KernelEfficiency
  /** Root-mean-square of ln(predicted / measured) over the class's fitting shapes. */
  readonly rmsLogError: number
}

const COMPUTE_GRID = logGrid(0.05, 1.2, 40)
const MEMORY_GRID = logGrid(0.3, 1.2, 30)
const MAX_LAUNCH_NS = 60_000
// a weak pull toward datasheet rates: a class whose shapes never touch one roof keeps it near 1
const PRIOR_WEIGHT = 0.002

function logGrid(lo: number, hi: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => lo * (hi / lo) ** (i / (n - 1)))
}

/**
 * Fits per-kernel-class efficiency factors (compute, memory, launch overhead) to measured times by
 * least squares on ln(predicted / measured): a grid over the two efficiencies and, inside it, a
 * golden-section search over the launch overhead (the loss is unimodal in it). Tilings are computed
 * once per measurement; each class is fitted on its own measurements only.
 * @example fitCalibration(GPU_PRESETS.H200, file.measurements).map(f => f.klass)
 */
export const fitCalibration = (gpu: GpuSpec, ms: readonly Measurement[], p: ModelParams = DEFAULT_MODEL_PARAMS): ClassFit[] => {
  const byClass = new Map<string, Array<{ m: Measurement; tiling: Tiling }>>()
  for (const m of ms) {
    if (m.spec.kind === "transfer") continue
    const tiling = tileKernel(m.spec, gpu, m.impl, p)
    const list = byClass.get(tiling.klass) ?? []
    list.push({ m, tiling })
    byClass.set(tiling.klass, list)
  }
  const fits: ClassFit[] = []
  for (const [klass, items] of [...byClass.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    let best: { loss: number; eff: KernelEfficiency } | undefined
    for (const compute of COMPUTE_GRID) {
      for (const memory of MEMORY_GRID) {
        // time without launch overhead, and launch count, per measurement
        const parts = items.map(({ m, tiling }) => {
          const r = priceTiling(tiling, gpu, { compute, memory, launchNs: 0 }, "wave", p)
          return { base: r.seconds, launches: r.launches, meas: m.seconds }
        })
        const loss = (L: number): number => {
          let s = 0
          for (const x of parts) s += Math.log((x.base + (x.launches * L) / 1e9) / x.meas) ** 2
          return s / parts.length + PRIOR_WEIGHT * (Math.log(compute) ** 2 + Math.log(memory) ** 2)
        }
        const L = goldenMin(loss, 0, MAX_LAUNCH_NS)
        const l = loss(L)
        if (best === undefined || l < best.loss) best = { loss: l, eff: { compute, memory, launchNs: Math.round(L), fittedOn: items.length } }
      }
    }
    if (best === undefined) continue
    const rms = Math.sqrt(Math.max(0, best.loss - PRIOR_WEIGHT * (Math.log(best.eff.compute) ** 2 + Math.log(best.eff.memory) ** 2)))
    fits.push({ klass, efficiency: roundEff(best.eff), rmsLogError: rms })
  }
  return fits
}

const roundEff = (e: KernelEfficiency): KernelEfficiency => ({
  compute: Math.round(e.compute * 1000) / 1000, memory: Math.round(e.memory * 1000) / 1000, launchNs: e.launchNs, fittedOn: e.fittedOn,
})

const goldenMin = (f: (x: number) => number, lo: number, hi: number): number => {
  const g = (Math.sqrt(5) - 1) / 2
  let a = lo, b = hi
  let c = b - g * (b - a), d = a + g * (b - a)
  let fc = f(c), fd = f(d)
  for (let i = 0; i < 40; i++) {
    if (fc < fd) { b = d; d = c; fd = fc; c = b - g * (b - a); fc = f(c) } else { a = c; c = d; fc = fd; d = a + g * (b - a); fd = f(d) }
  }
  return (a + b) / 2
}

/**
 * The efficiency table a calibrated device carries: every fitted class, plus a `<kind>.default`
 * (and `gemm.default.<dtype>`) entry so moska's own kernels run at the best library kernel's
 * efficiency for that kind — an assumption (a kernel of ours is at least as good), stated in the file.
 */
export const efficiencyTable = (fits: readonly ClassFit[]): Record<string, KernelEfficiency> => {
  const table: Record<string, KernelEfficiency> = {}
  for (const f of fits) table[f.klass] = f.efficiency
  const score = (e: KernelEfficiency) => e.compute * e.memory
  for (const f of fits) {
    const [kind, impl, dtype] = f.klass.split(".")
    if (impl === "default") continue
    const key = dtype === undefined ? `${kind}.default` : `${kind}.default.${dtype}`
    const cur = table[key]
    if (fits.some((x) => x.klass === key)) continue
    if (cur === undefined || score(f.efficiency) > score(cur)) table[key] = f.efficiency
  }
  return table
}

/** A calibrated device: the base spec with the efficiency table, under a new name. */
export const calibratedDevice = (base: GpuSpec, name: string, fits: readonly ClassFit[], sources: readonly string[]): GpuSpec => ({
  ...base,
  name,
  efficiency: efficiencyTable(fits),
  derivedFrom: base.name,
  source: `${base.source}; efficiency per kernel class fitted by moska calibrate on ${sources.join(", ")} (a <kind>.default class copies the most efficient measured class of that kind)`,
})
