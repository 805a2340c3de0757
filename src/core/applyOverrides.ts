import { parse as parseYaml } from "yaml"
import { ScenarioInvalid } from "./errors.js"

/**
 * Keys that would reach an object's prototype instead of a field (`__proto__.seed=5` would set
 * `seed` on every object in the process). No scenario field has these names.
 */
const FORBIDDEN_KEYS = new Set(["__proto__", "prototype", "constructor"])

const isMapping = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x)

/** A forbidden key anywhere inside a parsed `--set` value (`{__proto__: {x: 1}}`), as a dotted path. */
const forbiddenInside = (value: unknown, at: string): string | undefined => {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = forbiddenInside(value[i], `${at}[${i}]`)
      if (hit !== undefined) return hit
    }
  } else if (isMapping(value)) {
    for (const k of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(k)) return `${at}.${k}`
      const hit = forbiddenInside(value[k], `${at}.${k}`)
      if (hit !== undefined) return hit
    }
  }
  return undefined
}

/**
 * Applies `--set path=value` overrides to a raw (not yet decoded) scenario object, returning a
 * copy. `path` is dotted (`corpus.sharedTokens`, `workload.ratePerS`); `value` is read as YAML, so
 * `5` is a number, `true` a boolean, `cascade` a string and `{kind: zipf}` a mapping. Missing
 * intermediate mappings are created. Throws ScenarioInvalid (source `--set`) naming each bad
 * override, including paths through `__proto__`, `prototype` or `constructor`, which are never
 * followed (they would change every object of the process, not the scenario).
 * @example applyOverrides({ workload: { kind: "poisson" } }, ["workload.ratePerS=5"]) // { workload: { kind: "poisson", ratePerS: 5 } }
 */
export const applyOverrides = (raw: unknown, overrides: readonly string[]): unknown => {
  if (overrides.length === 0) return raw
  const root: Record<string, unknown> = structuredClone(isMapping(raw) ? raw : {})
  const issues: Array<{ path: string; message: string }> = []
  for (const o of overrides) {
    const eq = o.indexOf("=")
    const path = eq === -1 ? o : o.slice(0, eq)
    const keys = path.split(".")
    if (eq === -1 || keys.some((k) => k.trim() === "")) {
      issues.push({ path: o, message: "expected path=value, e.g. workload.ratePerS=5 or corpus.routing.kind=zipf" })
      continue
    }
    const forbidden = keys.find((k) => FORBIDDEN_KEYS.has(k))
    if (forbidden !== undefined) {
      issues.push({ path, message: `"${forbidden}" is not a scenario field (see moska scenario docs for the fields)` })
      continue
    }
    let value: unknown
    try {
      value = parseYaml(o.slice(eq + 1), { logLevel: "error" })
    } catch (e) {
      issues.push({ path, message: `value is not valid YAML (${(e as Error).message.split("\n")[0]})` })
      continue
    }
    const inside = forbiddenInside(value, path)
    if (inside !== undefined) {
      issues.push({ path: inside, message: `"${inside.slice(inside.lastIndexOf(".") + 1)}" is not a scenario field (see moska scenario docs for the fields)` })
      continue
    }
    let node: Record<string, unknown> = root
    let ok = true
    for (let i = 0; i < keys.length - 1; i++) {
      const k = keys[i] as string
      const next = Object.hasOwn(node, k) ? node[k] : undefined
      if (next === undefined || next === null) {
        node[k] = {}
      } else if (!isMapping(next)) {
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
