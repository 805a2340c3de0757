import type { GpuSpec } from "../../core/hardware.js"
import { roofline, workOf } from "../roofline.js"
import { calibratedDevice, classTables, fitClass, FIT_PARAMS, type ClassFit } from "./calibration.js"
import { priceTiling, type CycleLevel } from "./cycleCostModel.js"
import { efficiencyFor } from "./efficiency.js"
import type { Measurement } from "./measurementFile.js"
import { DEFAULT_MODEL_PARAMS, type ModelParams } from "./modelParams.js"
import { tileKernel } from "./tiling.js"

export interface FidelityRow {
  readonly id: string
  readonly klass: string
  /** Twin group: the smallest id among the shapes of its class it cannot be told apart from (see `twinGroups`). */
  readonly group: string
  readonly set: "fit" | "holdout"
  readonly measuredS: number
  /** Datasheet rates, no calibration. */
  readonly uncalibratedS: number
  /** The roofline cost model on the same device (what scenarios use by default). */
  readonly rooflineS: number
  /** Calibrated on the fit set only, closed-form wave model (datasheet rates where the class was not fitted). */
  readonly calibratedS: number
  /** Calibrated on the fit set only, event-driven tile scheduler. */
  readonly calibratedEventS: number
  /** Leave-one-group-out: calibrated on the rest of its class, without its twin group; null when nothing else is left. */
  readonly looS: number | null
  /** Whether its class was fitted in the split (else `calibratedS` is the uncalibrated price) and in its leave-one-out fold. */
  readonly splitFitted: boolean
  readonly looFitted: boolean
  readonly boundBy: string
  readonly tiles: number
  readonly waves: number
}

export interface ErrorStats { readonly n: number; readonly median: number; readonly p90: number }

/** One kernel class: its shapes, twin groups, parameters, and whether each evaluation could fit it. */
export interface ClassInfo {
  readonly klass: string
  readonly shapes: number
  readonly groups: number
  readonly params: number
  /** Shapes in the split's fit set, and whether that is enough to fit (≥ `MIN_FIT_POINTS`). */
  readonly splitFitPoints: number
  readonly splitFitted: boolean
  /** Leave-one-group-out folds, and how many of them had enough shapes left to fit. */
  readonly looFolds: number
  readonly looFitted: number
  readonly heldOut: ErrorStats
  readonly loo: ErrorStats
}

export interface FidelityReport {
  readonly gpu: string
  readonly rows: readonly FidelityRow[]
  /** Fits on the split's fit set (classes with enough shapes only). */
  readonly fits: readonly ClassFit[]
  readonly classes: readonly ClassInfo[]
  readonly summary: {
    readonly uncalibratedAll: ErrorStats
    readonly rooflineAll: ErrorStats
    readonly calibratedFit: ErrorStats
    readonly calibratedHoldout: ErrorStats
    readonly calibratedHoldoutEvent: ErrorStats
    /** Held-out shapes of fitted classes only (the others are priced at datasheet rates). */
    readonly calibratedHoldoutFitted: ErrorStats
    readonly looAll: ErrorStats
    readonly looFitted: ErrorStats
    /**
     * The split this report replaced (every third shape by id within a class): held-out shapes of
     * it that had a fit-set twin, by bytes alone and by bytes and FLOPs both.
     */
    readonly idSplitTwins: { readonly holdout: number; readonly byBytes: number; readonly byBytesAndFlops: number }
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

const TWIN_TOLERANCE = 0.01
const near = (a: number, b: number): boolean => Math.abs(a - b) <= TWIN_TOLERANCE * Math.max(Math.abs(a), Math.abs(b))

/**
 * Twin groups: within a kernel class, shapes whose bytes (`workOf`, the traffic the kernel must
 * move) agree within 1% are joined, transitively. Shapes with equal FLOPs and bytes are twins by
 * any reading; joining on bytes alone also groups shapes that differ only in FLOPs the tiles pad
 * away (stacked queries that fit one 128-row tile), which the model cannot tell apart either. A
 * superset, so a split that keeps groups whole is twin-free under either rule.
 * Returns each shape's group, named by the smallest id in it.
 * @example twinGroups(GPU_PRESETS.H200, ms).get("decode-b32-u16384") // "decode-b16-u32768"
 */
export const twinGroups = (gpu: GpuSpec, ms: readonly Measurement[], p: ModelParams = DEFAULT_MODEL_PARAMS): Map<string, string> => {
  const kernels = ms.filter((m) => m.spec.kind !== "transfer")
  const info = kernels.map((m) => ({ id: m.id, klass: tileKernel(m.spec, gpu, m.impl, p).klass, bytes: workOf(m.spec).bytes }))
  const parent = info.map((_, i) => i)
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)))
  for (let i = 0; i < info.length; i++) {
    for (let j = i + 1; j < info.length; j++) {
      if (info[i]!.klass === info[j]!.klass && near(info[i]!.bytes, info[j]!.bytes)) parent[find(i)] = find(j)
    }
  }
  const name = new Map<number, string>()
  info.forEach((x, i) => {
    const r = find(i)
    const cur = name.get(r)
    if (cur === undefined || x.id.localeCompare(cur) < 0) name.set(r, x.id)
  })
  return new Map(info.map((x, i) => [x.id, name.get(find(i))!]))
}

/**
 * Held-out split without twins: within each kernel class, twin groups sorted by name; every third
 * group (the 2nd, 5th, …) is held out whole. Deterministic; a class with ≥ 2 groups has one held out.
 */
export const holdoutSplit = (gpu: GpuSpec, ms: readonly Measurement[], p: ModelParams = DEFAULT_MODEL_PARAMS) => {
  const groups = twinGroups(gpu, ms, p)
  const byClass = new Map<string, Set<string>>()
  for (const m of ms) {
    if (m.spec.kind === "transfer") continue
    const k = tileKernel(m.spec, gpu, m.impl, p).klass
    byClass.set(k, (byClass.get(k) ?? new Set()).add(groups.get(m.id)!))
  }
  const heldGroups = new Set<string>()
  for (const set of byClass.values()) [...set].sort((a, b) => a.localeCompare(b)).forEach((g, i) => { if (i % 3 === 1) heldGroups.add(g) })
  const holdout = new Set(ms.filter((m) => heldGroups.has(groups.get(m.id) ?? "")).map((m) => m.id))
  return { fit: ms.filter((m) => !holdout.has(m.id)), holdout, groups }
}

/** How many held-out shapes of the old split (every third by id within a class) had a fit-set twin. */
const idSplitTwins = (gpu: GpuSpec, ms: readonly Measurement[], p: ModelParams) => {
  const kernels = ms.filter((m) => m.spec.kind !== "transfer")
  const info = new Map(kernels.map((m) => [m.id, { klass: tileKernel(m.spec, gpu, m.impl, p).klass, ...workOf(m.spec) }]))
  const byClass = new Map<string, Measurement[]>()
  for (const m of kernels) byClass.set(info.get(m.id)!.klass, [...(byClass.get(info.get(m.id)!.klass) ?? []), m])
  const held = new Set<string>()
  for (const list of byClass.values()) [...list].sort((a, b) => a.id.localeCompare(b.id)).forEach((m, i) => { if (i % 3 === 1) held.add(m.id) })
  let byBytes = 0, byBoth = 0
  for (const h of held) {
    const a = info.get(h)!
    const twins = kernels.filter((m) => !held.has(m.id) && info.get(m.id)!.klass === a.klass && near(info.get(m.id)!.bytes, a.bytes))
    if (twins.length > 0) byBytes++
    if (twins.some((m) => near(info.get(m.id)!.flops, a.flops))) byBoth++
  }
  return { holdout: held.size, byBytes, byBytesAndFlops: byBoth }
}

/**
 * Predicted vs measured for every shape: uncalibrated, roofline, calibrated on the twin-free fit set
 * (wave and event levels), and leave-one-group-out (each twin group predicted by a fit on the rest of
 * its class). Classes with fewer than `MIN_FIT_POINTS` shapes to fit on are not fitted and are priced
 * at datasheet rates; the report says which.
 * @example fidelityReport(GPU_PRESETS.H200, file.measurements).summary.calibratedHoldout.median
 */
export const fidelityReport = (base: GpuSpec, ms: readonly Measurement[], p: ModelParams = DEFAULT_MODEL_PARAMS): FidelityReport => {
  const { holdout, groups } = holdoutSplit(base, ms, p)
  const tables = classTables(base, ms, p)
  const fits: ClassFit[] = []
  const splitFitted = new Set<string>()
  const splitPoints = new Map<string, number>()
  for (const t of tables) {
    const use = t.ids.flatMap((id, i) => (holdout.has(id) ? [] : [i]))
    splitPoints.set(t.klass, use.length)
    const f = fitClass(t, use)
    if (f !== undefined) { fits.push(f); splitFitted.add(t.klass) }
  }
  const cal = calibratedDevice(base, `${base.name}-fit`, fits, ["fit subset"])
  // leave-one-group-out: one fit per twin group, on the rest of its class
  const loo = new Map<string, { device: GpuSpec | undefined }>()
  for (const t of tables) {
    const gs = [...new Set(t.ids.map((id) => groups.get(id)!))].sort()
    if (gs.length < 2) continue
    for (const g of gs) {
      const f = fitClass(t, t.ids.flatMap((id, i) => (groups.get(id) === g ? [] : [i])))
      loo.set(`${t.klass}\u0000${g}`, { device: f === undefined ? undefined : calibratedDevice(base, `${base.name}-loo`, [f], ["fold"]) })
    }
  }
  const roof = roofline(base)
  const rows: FidelityRow[] = []
  for (const m of ms) {
    if (m.spec.kind === "transfer") continue
    const klass = tileKernel(m.spec, base, m.impl, p).klass
    const price = (gpu: GpuSpec, level: CycleLevel) => {
      const t = tileKernel(m.spec, gpu, m.impl, p)
      return priceTiling(t, gpu, efficiencyFor(gpu, t.klass), level, p)
    }
    const u = price(base, "wave")
    const c = price(cal, "wave")
    const ce = price(cal, "event")
    const group = groups.get(m.id)!
    const fold = loo.get(`${klass}\u0000${group}`)
    rows.push({
      id: m.id, klass, group, set: holdout.has(m.id) ? "holdout" : "fit", measuredS: m.seconds,
      uncalibratedS: u.seconds, rooflineS: roof.price(m.spec).ns / 1e9, calibratedS: c.seconds, calibratedEventS: ce.seconds,
      looS: fold === undefined ? null : price(fold.device ?? base, "wave").seconds,
      splitFitted: splitFitted.has(klass), looFitted: fold?.device !== undefined,
      boundBy: c.boundBy, tiles: c.tiles, waves: c.waves,
    })
  }
  const pairs = (rs: readonly FidelityRow[], f: (r: FidelityRow) => number) => rs.map((r) => [f(r), r.measuredS] as const)
  const ho = rows.filter((r) => r.set === "holdout")
  const looRows = rows.filter((r) => r.looS !== null)
  const classes: ClassInfo[] = tables.map((t) => {
    const mine = rows.filter((r) => r.klass === t.klass)
    const folds = [...loo.entries()].filter(([k]) => k.startsWith(`${t.klass}\u0000`))
    return {
      klass: t.klass, shapes: t.ids.length, groups: new Set(mine.map((r) => r.group)).size, params: FIT_PARAMS,
      splitFitPoints: splitPoints.get(t.klass) ?? 0, splitFitted: splitFitted.has(t.klass),
      looFolds: folds.length, looFitted: folds.filter(([, v]) => v.device !== undefined).length,
      heldOut: errorStats(pairs(mine.filter((r) => r.set === "holdout"), (r) => r.calibratedS)),
      loo: errorStats(pairs(mine.filter((r) => r.looS !== null), (r) => r.looS!)),
    }
  })
  return {
    gpu: base.name, rows, fits, classes,
    summary: {
      uncalibratedAll: errorStats(pairs(rows, (r) => r.uncalibratedS)),
      rooflineAll: errorStats(pairs(rows, (r) => r.rooflineS)),
      calibratedFit: errorStats(pairs(rows.filter((r) => r.set === "fit"), (r) => r.calibratedS)),
      calibratedHoldout: errorStats(pairs(ho, (r) => r.calibratedS)),
      calibratedHoldoutEvent: errorStats(pairs(ho, (r) => r.calibratedEventS)),
      calibratedHoldoutFitted: errorStats(pairs(ho.filter((r) => r.splitFitted), (r) => r.calibratedS)),
      looAll: errorStats(pairs(looRows, (r) => r.looS!)),
      looFitted: errorStats(pairs(looRows.filter((r) => r.looFitted), (r) => r.looS!)),
      idSplitTwins: idSplitTwins(base, ms, p),
    },
  }
}
