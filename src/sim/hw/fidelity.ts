import type { GpuSpec } from "../../core/hardware.js"
import { calibratedDevice, fitCalibration, type ClassFit } from "./calibration.js"
import { priceTiling, type CycleLevel } from "./cycleCostModel.js"
import { efficiencyFor } from "./efficiency.js"
import type { Measurement } from "./measurementFile.js"
import { DEFAULT_MODEL_PARAMS, type ModelParams } from "./modelParams.js"
import { tileKernel } from "./tiling.js"

export interface FidelityRow {
  readonly id: string
  readonly klass: string
  readonly set: "fit" | "holdout"
  readonly measuredS: number
  /** Datasheet rates, no calibration. */
  readonly uncalibratedS: number
  /** Calibrated on the fit set only, closed-form wave model. */
  readonly calibratedS: number
  /** Calibrated on the fit set only, event-driven tile scheduler. */
  readonly calibratedEventS: number
  readonly boundBy: string
  readonly tiles: number
  readonly waves: number
}

export interface ErrorStats { readonly n: number; readonly median: number; readonly p90: number }

export interface FidelityReport {
  readonly gpu: string
  readonly rows: readonly FidelityRow[]
  readonly fits: readonly ClassFit[]
  readonly summary: {
    readonly uncalibratedAll: ErrorStats
    readonly calibratedFit: ErrorStats
    readonly calibratedHoldout: ErrorStats
    readonly calibratedHoldoutEvent: ErrorStats
    readonly holdoutByClass: Readonly<Record<string, ErrorStats>>
  }
}

/** |predicted / measured − 1| statistics. */
export const errorStats = (pairs: ReadonlyArray<readonly [number, number]>): ErrorStats => {
  const errs = pairs.map(([pred, meas]) => Math.abs(pred / meas - 1)).sort((a, b) => a - b)
  const q = (f: number) => (errs.length === 0 ? NaN : errs[Math.min(errs.length - 1, Math.ceil(f * errs.length) - 1)]!)
  return { n: errs.length, median: errs.length === 0 ? NaN : median(errs), p90: q(0.9) }
}
const median = (sorted: readonly number[]): number => {
  const m = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2
}

/**
 * Held-out split: within each kernel class, measurements sorted by id; every third one (the 2nd,
 * 5th, …) is held out of the fit. Deterministic, and every class with ≥ 2 shapes has one held out.
 */
export const holdoutSplit = (gpu: GpuSpec, ms: readonly Measurement[], p: ModelParams = DEFAULT_MODEL_PARAMS) => {
  const byClass = new Map<string, Measurement[]>()
  for (const m of ms) {
    if (m.spec.kind === "transfer") continue
    const k = tileKernel(m.spec, gpu, m.impl, p).klass
    byClass.set(k, [...(byClass.get(k) ?? []), m])
  }
  const holdout = new Set<string>()
  for (const list of byClass.values()) {
    list.sort((a, b) => a.id.localeCompare(b.id)).forEach((m, i) => { if (i % 3 === 1) holdout.add(m.id) })
  }
  return { fit: ms.filter((m) => !holdout.has(m.id)), holdout }
}

/**
 * Predicted vs measured for every shape: uncalibrated, and calibrated on the fit set (wave and
 * event levels), with |error| medians and p90s on the fit set and on the held-out shapes.
 * @example fidelityReport(GPU_PRESETS.H200, file.measurements).summary.calibratedHoldout.median
 */
export const fidelityReport = (base: GpuSpec, ms: readonly Measurement[], p: ModelParams = DEFAULT_MODEL_PARAMS): FidelityReport => {
  const { fit, holdout } = holdoutSplit(base, ms, p)
  const fits = fitCalibration(base, fit, p)
  const cal = calibratedDevice(base, `${base.name}-fit`, fits, ["fit subset"])
  const rows: FidelityRow[] = []
  for (const m of ms) {
    if (m.spec.kind === "transfer") continue
    const price = (gpu: GpuSpec, level: CycleLevel) => {
      const t = tileKernel(m.spec, gpu, m.impl, p)
      return priceTiling(t, gpu, efficiencyFor(gpu, t.klass), level, p)
    }
    const u = price(base, "wave")
    const c = price(cal, "wave")
    const ce = price(cal, "event")
    rows.push({
      id: m.id, klass: tileKernel(m.spec, base, m.impl, p).klass, set: holdout.has(m.id) ? "holdout" : "fit", measuredS: m.seconds,
      uncalibratedS: u.seconds, calibratedS: c.seconds, calibratedEventS: ce.seconds, boundBy: c.boundBy, tiles: c.tiles, waves: c.waves,
    })
  }
  const pairs = (rs: readonly FidelityRow[], f: (r: FidelityRow) => number) => rs.map((r) => [f(r), r.measuredS] as const)
  const ho = rows.filter((r) => r.set === "holdout")
  const holdoutByClass: Record<string, ErrorStats> = {}
  for (const k of [...new Set(ho.map((r) => r.klass))].sort()) holdoutByClass[k] = errorStats(pairs(ho.filter((r) => r.klass === k), (r) => r.calibratedS))
  return {
    gpu: base.name, rows, fits,
    summary: {
      uncalibratedAll: errorStats(pairs(rows, (r) => r.uncalibratedS)),
      calibratedFit: errorStats(pairs(rows.filter((r) => r.set === "fit"), (r) => r.calibratedS)),
      calibratedHoldout: errorStats(pairs(ho, (r) => r.calibratedS)),
      calibratedHoldoutEvent: errorStats(pairs(ho, (r) => r.calibratedEventS)),
      holdoutByClass,
    },
  }
}
