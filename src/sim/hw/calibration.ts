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
  /** Shapes the fit used, and the free parameters it fitted on them (`FIT_PARAMS`). */
  readonly points: number
  readonly params: number
  /**
   * Factors that landed on the edge of their search range: there the model's structure, not the
   * data, set the value (a fudge factor, not an efficiency), and the fit says so instead of hiding it.
   */
  readonly atBound: readonly string[]
}

/** A class the calibration left at datasheet rates, and why. */
export interface UnfittedClass {
  readonly klass: string
  readonly points: number
  readonly params: number
  readonly reason: string
}

export interface Calibration {
  readonly fits: readonly ClassFit[]
  readonly unfitted: readonly UnfittedClass[]
}

/** Free parameters per class: compute efficiency, memory efficiency, launch overhead. */
export const FIT_PARAMS = 3
/**
 * Fewest shapes a class needs to be fitted: one more than its parameters, so at least one degree of
 * freedom is left and the residual says something (3 parameters on 3 shapes interpolate them).
 */
export const MIN_FIT_POINTS = FIT_PARAMS + 1

const COMPUTE_GRID = logGrid(0.05, 1.2, 40)
const MEMORY_GRID = logGrid(0.3, 1.2, 30)
const MAX_LAUNCH_NS = 60_000
// a weak pull toward datasheet rates: a class whose shapes never touch one roof keeps it near 1
const PRIOR_WEIGHT = 0.002

function logGrid(lo: number, hi: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => lo * (hi / lo) ** (i / (n - 1)))
}

/**
 * A class's shapes priced once at every (compute, memory) grid point without launch overhead, so a
 * fit on any subset of them (a held-out split, each leave-one-out fold) only sums.
 */
export interface ClassTable {
  readonly klass: string
  readonly ids: readonly string[]
  readonly measured: readonly number[]
  readonly launches: readonly number[]
  /** base[grid point][shape]: seconds without launch overhead. */
  readonly base: readonly Float64Array[]
}

/** Prices every measurement of every class on the grid (transfers are not kernels and are skipped). */
export const classTables = (gpu: GpuSpec, ms: readonly Measurement[], p: ModelParams = DEFAULT_MODEL_PARAMS): ClassTable[] => {
  const byClass = new Map<string, Array<{ m: Measurement; tiling: Tiling }>>()
  for (const m of ms) {
    if (m.spec.kind === "transfer") continue
    const tiling = tileKernel(m.spec, gpu, m.impl, p)
    const list = byClass.get(tiling.klass) ?? []
    list.push({ m, tiling })
    byClass.set(tiling.klass, list)
  }
  const tables: ClassTable[] = []
  for (const [klass, items] of [...byClass.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const base: Float64Array[] = []
    let launches: number[] = []
    for (const compute of COMPUTE_GRID) {
      for (const memory of MEMORY_GRID) {
        const row = new Float64Array(items.length)
        const l: number[] = []
        items.forEach(({ tiling }, i) => {
          const r = priceTiling(tiling, gpu, { compute, memory, launchNs: 0 }, "wave", p)
          row[i] = r.seconds
          l.push(r.launches)
        })
        base.push(row)
        launches = l
      }
    }
    tables.push({ klass, ids: items.map((x) => x.m.id), measured: items.map((x) => x.m.seconds), launches, base })
  }
  return tables
}

/**
 * Fits one class on the shapes `use` (indices into the table) by least squares on
 * ln(predicted / measured): a grid over the two efficiencies and, inside it, a golden-section search
 * over the launch overhead (the loss is unimodal in it). Undefined when `use` has fewer than
 * `MIN_FIT_POINTS` shapes.
 */
export const fitClass = (t: ClassTable, use: readonly number[]): ClassFit | undefined => {
  if (use.length < MIN_FIT_POINTS) return undefined
  let best: { loss: number; eff: KernelEfficiency; ci: number; mi: number } | undefined
  for (let ci = 0; ci < COMPUTE_GRID.length; ci++) {
    const compute = COMPUTE_GRID[ci]!
    for (let mi = 0; mi < MEMORY_GRID.length; mi++) {
      const memory = MEMORY_GRID[mi]!
      const row = t.base[ci * MEMORY_GRID.length + mi]!
      const prior = PRIOR_WEIGHT * (Math.log(compute) ** 2 + Math.log(memory) ** 2)
      const loss = (L: number): number => {
        let s = 0
        for (const i of use) s += Math.log((row[i]! + (t.launches[i]! * L) / 1e9) / t.measured[i]!) ** 2
        return s / use.length + prior
      }
      const L = goldenMin(loss, 0, MAX_LAUNCH_NS)
      const l = loss(L)
      if (best === undefined || l < best.loss) best = { loss: l, eff: { compute, memory, launchNs: Math.round(L), fittedOn: use.length }, ci, mi }
    }
  }
  const b = best!
  const rms = Math.sqrt(Math.max(0, b.loss - PRIOR_WEIGHT * (Math.log(b.eff.compute) ** 2 + Math.log(b.eff.memory) ** 2)))
  const atBound: string[] = []
  if (b.ci === 0 || b.ci === COMPUTE_GRID.length - 1) atBound.push(`compute ${b.ci === 0 ? "floor" : "ceiling"} ${COMPUTE_GRID[b.ci]!.toFixed(2)}`)
  if (b.mi === 0 || b.mi === MEMORY_GRID.length - 1) atBound.push(`memory ${b.mi === 0 ? "floor" : "ceiling"} ${MEMORY_GRID[b.mi]!.toFixed(2)}`)
  if (b.eff.launchNs <= 0.001 * MAX_LAUNCH_NS) atBound.push("launch floor 0")
  if (b.eff.launchNs >= 0.999 * MAX_LAUNCH_NS) atBound.push(`launch ceiling ${MAX_LAUNCH_NS / 1e3} µs`)
  return { klass: t.klass, efficiency: roundEff(b.eff), rmsLogError: rms, points: use.length, params: FIT_PARAMS, atBound }
}

/**
 * Fits per-kernel-class efficiency factors (compute, memory, launch overhead) to measured times,
 * each class on its own measurements only. Classes with fewer than `MIN_FIT_POINTS` shapes are not
 * fitted: they stay at datasheet rates and are listed in `unfitted`.
 * @example fitCalibration(GPU_PRESETS.H200, file.measurements).fits.map(f => f.klass)
 */
export const fitCalibration = (gpu: GpuSpec, ms: readonly Measurement[], p: ModelParams = DEFAULT_MODEL_PARAMS): Calibration => {
  const fits: ClassFit[] = []
  const unfitted: UnfittedClass[] = []
  for (const t of classTables(gpu, ms, p)) {
    const f = fitClass(t, t.ids.map((_, i) => i))
    if (f !== undefined) fits.push(f)
    else unfitted.push(tooFew(t.klass, t.ids.length))
  }
  return { fits, unfitted }
}

/** The entry of a class left at datasheet rates for want of shapes. */
export const tooFew = (klass: string, points: number): UnfittedClass => ({
  klass, points, params: FIT_PARAMS,
  reason: `${points} shape${points === 1 ? "" : "s"} for ${FIT_PARAMS} parameters (a fit needs ≥ ${MIN_FIT_POINTS}): left at datasheet rates`,
})

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
export const calibratedDevice = (base: GpuSpec, name: string, fits: readonly ClassFit[], sources: readonly string[]): GpuSpec => {
  const bound = fits.filter((f) => f.atBound.length > 0).map((f) => `${f.klass} (${f.atBound.join(", ")})`)
  return {
    ...base,
    name,
    efficiency: efficiencyTable(fits),
    derivedFrom: base.name,
    source: `${base.source}; efficiency per kernel class fitted by moska calibrate on ${sources.join(", ")} (a <kind>.default class copies the most efficient measured class of that kind)${bound.length > 0 ? `; factors at a search bound, set by the model's structure rather than the data: ${bound.join("; ")}` : ""}`,
  }
}
