import { parse as parseYaml } from "yaml"
import { ScenarioInvalid } from "./errors.js"

/**
 * Applies `--set path=value` overrides to a raw (not yet decoded) scenario object, returning a
 * copy. `path` is dotted (`corpus.sharedTokens`, `workload.ratePerS`); `value` is read as YAML, so
 * `5` is a number, `true` a boolean, `cascade` a string and `{kind: zipf}` a mapping. Missing
 * intermediate mappings are created. Throws ScenarioInvalid (source `--set`) naming each bad override.
 * @example applyOverrides({ workload: { kind: "poisson" } }, ["workload.ratePerS=5"]) // { workload: { kind: "poisson", ratePerS: 5 } }
 */
export const applyOverrides = (raw: unknown, overrides: readonly string[]): unknown => {
  if (overrides.length === 0) return raw
  const root: Record<string, unknown> = structuredClone(
    typeof raw === "object" && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {},
  )
  const issues: Array<{ path: string; message: string }> = []
  for (const o of overrides) {
    const eq = o.indexOf("=")
    const path = eq === -1 ? o : o.slice(0, eq)
    const keys = path.split(".")
    if (eq === -1 || keys.some((k) => k.trim() === "")) {
      issues.push({ path: o, message: "expected path=value, e.g. workload.ratePerS=5 or corpus.routing.kind=zipf" })
      continue
    }
    let value: unknown
    try {
      value = parseYaml(o.slice(eq + 1))
    } catch (e) {
      issues.push({ path, message: `value is not valid YAML (${(e as Error).message.split("\n")[0]})` })
      continue
    }
    let node: Record<string, unknown> = root
    let ok = true
    for (let i = 0; i < keys.length - 1; i++) {
      const k = keys[i] as string
      const next = node[k]
      if (next === undefined || next === null) {
        node[k] = {}
      } else if (typeof next !== "object" || Array.isArray(next)) {
        issues.push({ path, message: `cannot set a field inside ${keys.slice(0, i + 1).join(".")}, which is ${JSON.stringify(next)}` })
        ok = false
        break
      }
      node = node[k] as Record<string, unknown>
    }
    if (ok) node[keys[keys.length - 1] as string] = value
  }
  if (issues.length > 0) throw new ScenarioInvalid({ source: "--set", issues })
  return root
}
