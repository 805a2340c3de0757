import { UsageError } from "../core/errors.js"
import { sweepLabel, type SweepAssignment } from "../db/sweepLabel.js"

/** One axis of a sweep: a scenario path and the values it takes, in the order given. */
export interface SweepAxis {
  readonly path: string
  readonly values: readonly string[]
}

/**
 * Parses `--vary path=v1,v2,...` options (commas inside `{...}`, `[...]` or quotes do not split, so
 * YAML flow values work) and returns the axes and their cartesian product, the first axis
 * outermost: `--vary a=1,2 --vary b=x,y` gives a=1 b=x, a=1 b=y, a=2 b=x, a=2 b=y.
 * @example sweepPoints(["workload.ratePerS=4,8", "system=moska,cascade"]).points.length // 4
 */
export const sweepPoints = (varies: readonly string[]): { axes: SweepAxis[]; points: SweepAssignment[][] } => {
  if (varies.length === 0) throw new UsageError({ message: "sweep needs at least one --vary path=v1,v2,..." })
  const axes = varies.map((v): SweepAxis => {
    const m = /^\s*([A-Za-z_][\w.]*)\s*=(.*)$/s.exec(v)
    if (m === null) throw new UsageError({ message: `--vary must be path=v1,v2,... (got "${v}")` })
    const [, path = "", list = ""] = m
    const values = sweepLabel.splitList(list)
    if (values.some((x) => x === "")) throw new UsageError({ message: `--vary ${path}: empty value in "${list}" (values are separated by commas)` })
    if (new Set(values).size !== values.length) throw new UsageError({ message: `--vary ${path}: a value is listed twice in "${list}"` })
    return { path, values }
  })
  const seen = new Set<string>()
  for (const a of axes) {
    if (seen.has(a.path)) throw new UsageError({ message: `--vary ${a.path} is given twice (list all its values in one --vary)` })
    seen.add(a.path)
  }
  let points: SweepAssignment[][] = [[]]
  for (const a of axes) points = points.flatMap((p) => a.values.map((value) => [...p, { path: a.path, value }]))
  return { axes, points }
}
