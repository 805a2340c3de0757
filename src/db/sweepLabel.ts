/** One override of a sweep point: a scenario path and the value text given for it (read as YAML). */
export interface SweepAssignment {
  readonly path: string
  readonly value: string
}

const PREFIX = "sweep:"

/**
 * Splits `text` at commas outside brackets, braces and quotes, so a YAML flow value such as
 * `{kind: zipf, exponent: 1.2}` stays one item; items are trimmed.
 */
const splitList = (text: string): string[] => {
  const out: string[] = []
  let depth = 0
  let quote: string | null = null
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string
    if (quote !== null) {
      if (ch === quote) quote = null
      else if (ch === "\\" && quote === '"') i++
    } else if (ch === '"' || ch === "'") quote = ch
    else if (ch === "{" || ch === "[") depth++
    else if (ch === "}" || ch === "]") depth = Math.max(0, depth - 1)
    else if (ch === "," && depth === 0) {
      out.push(text.slice(start, i).trim())
      start = i + 1
    }
  }
  out.push(text.slice(start).trim())
  return out
}

/**
 * The run label of a sweep point, `sweep:<name>:path=value,path=value`, and its inverse: the label
 * is what ties the runs of one sweep together in the database (`moska report` draws serving curves
 * from it), so both sides read it through here. `splitList` is the comma rule of `--vary` values.
 * @example sweepLabel.format("golden-small", [{ path: "workload.ratePerS", value: "8" }]) // "sweep:golden-small:workload.ratePerS=8"
 * @example sweepLabel.parse("sweep:g:system=moska,workload.ratePerS=8")?.assignments[1] // { path: "workload.ratePerS", value: "8" }
 */
export const sweepLabel = {
  format(name: string, assignments: readonly SweepAssignment[]): string {
    // a colon in the name would move where parse finds the assignments
    return `${PREFIX}${name.replace(/:/g, "_")}:${assignments.map((a) => `${a.path}=${a.value}`).join(",")}`
  },

  parse(label: string | null): { readonly name: string; readonly assignments: readonly SweepAssignment[] } | null {
    if (label === null || !label.startsWith(PREFIX)) return null
    const rest = label.slice(PREFIX.length)
    const colon = rest.indexOf(":")
    if (colon < 0) return null
    const assignments: SweepAssignment[] = []
    for (const item of splitList(rest.slice(colon + 1))) {
      const eq = item.indexOf("=")
      if (eq <= 0) return null
      assignments.push({ path: item.slice(0, eq), value: item.slice(eq + 1) })
    }
    return { name: rest.slice(0, colon), assignments }
  },

  splitList,
}
