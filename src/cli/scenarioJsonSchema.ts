import * as JSONSchema from "effect/JSONSchema"
import { Scenario } from "../core/scenario.js"

// Effect names each built-in filter in `title` ("positive", "int"); editors would show those as field titles.
const dropTitles = (x: unknown): unknown => {
  if (Array.isArray(x)) return x.map(dropTitles)
  if (typeof x !== "object" || x === null) return x
  return Object.fromEntries(Object.entries(x).filter(([k]) => k !== "title").map(([k, v]) => [k, dropTitles(v)]))
}

/**
 * JSON Schema (draft-07) of the scenario file, from the Effect Schema in src/core/scenario.ts:
 * the input side (optional fields, descriptions with their defaults), for editors' YAML support.
 * @example JSON.stringify(scenarioJsonSchema(), null, 2)
 */
export const scenarioJsonSchema = (): Record<string, unknown> => ({
  ...(dropTitles(JSONSchema.make(Scenario)) as Record<string, unknown>),
  title: "moska scenario",
})
