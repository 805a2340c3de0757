import { sweepLabel } from "../db/sweepLabel.js"
import type { RunReportData } from "./loadReportData.js"

/** One curve of a sweep: the runs that differ only in the x value, in ascending x. */
export interface ServingSeries {
  /** The system and any other varied values that hold along the curve, e.g. "moska" or "moska, policy.windowNs=2e6". */
  readonly name: string
  readonly runIds: number[]
  readonly x: number[]
  readonly outputTokensPerS: Array<number | null>
  readonly ttftP99Ms: Array<number | null>
  readonly tpotP99Ms: Array<number | null>
}

/** Latency objectives drawn on the serving curves (`moska report --slo ttft:MS,tpot:MS`), p99 ms. */
export interface ServingSlo {
  readonly ttftP99Ms?: number
  readonly tpotP99Ms?: number
}

/** Serving curves of the sweep runs among a report's runs: the x axis is the varied numeric path. */
export interface ServingCurves {
  readonly xPath: string
  readonly series: ServingSeries[]
  /** The objectives to draw, if any were given. */
  readonly slo?: ServingSlo
}

/**
 * Per curve, the largest x at which every given objective holds (p99 at or under the bound), or
 * null when none does: "the highest load this system serves within its SLO".
 * @example sloCapacity(curves.series[0], { ttftP99Ms: 200 }) // 8
 */
export const sloCapacity = (s: ServingSeries, slo: ServingSlo): number | null => {
  let best: number | null = null
  s.x.forEach((x, i) => {
    const ttft = s.ttftP99Ms[i] ?? null
    const tpot = s.tpotP99Ms[i] ?? null
    const ok = (slo.ttftP99Ms === undefined || (ttft !== null && ttft <= slo.ttftP99Ms)) &&
      (slo.tpotP99Ms === undefined || (tpot !== null && tpot <= slo.tpotP99Ms))
    if (ok && (best === null || x > best)) best = x
  })
  return best
}

/**
 * The serving curves of a report: among the runs labelled by `moska sweep`, the first varied path
 * whose values are all numbers and that takes two or more of them becomes the x axis (offered load
 * when it is `workload.ratePerS`); runs that agree on everything else (system, the other varied
 * values, the sweep) form one curve. Null when no such path exists, so the page draws no empty panel.
 * @example servingCurves(runs)?.series[0]?.x // [2, 4, 8]
 */
export const servingCurves = (runs: readonly RunReportData[]): ServingCurves | null => {
  const swept = runs.flatMap((r) => {
    const s = sweepLabel.parse(r.label)
    return s === null ? [] : [{ run: r, name: s.name, values: new Map(s.assignments.map((a) => [a.path, a.value])) }]
  })
  const paths = [...new Set(swept.flatMap((s) => [...s.values.keys()]))]
  const xPath = paths.find((p) => {
    const xs = swept.filter((s) => s.values.has(p)).map((s) => Number(s.values.get(p)))
    return xs.every((x) => Number.isFinite(x)) && new Set(xs).size >= 2
  })
  if (xPath === undefined) return null
  const sweeps = new Set(swept.map((s) => s.name))
  const groups = new Map<string, Array<{ x: number; run: RunReportData }>>()
  for (const s of swept) {
    if (!s.values.has(xPath)) continue
    const rest = [...s.values].filter(([p]) => p !== xPath && p !== "system").map(([p, v]) => `${p}=${v}`)
    const name = [...(sweeps.size > 1 ? [s.name] : []), s.run.system, ...rest].join(", ")
    let g = groups.get(name)
    if (g === undefined) groups.set(name, (g = []))
    g.push({ x: Number(s.values.get(xPath)), run: s.run })
  }
  const series = [...groups].map(([name, g]): ServingSeries => {
    g.sort((a, b) => a.x - b.x || a.run.runId - b.run.runId)
    return {
      name,
      runIds: g.map((p) => p.run.runId),
      x: g.map((p) => p.x),
      outputTokensPerS: g.map((p) => p.run.outputTokensPerS),
      ttftP99Ms: g.map((p) => p.run.percentilesMs.ttft?.p99 ?? null),
      tpotP99Ms: g.map((p) => p.run.percentilesMs.tpot?.p99 ?? null),
    }
  })
  return { xPath, series }
}
