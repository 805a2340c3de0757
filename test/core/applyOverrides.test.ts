import { describe, expect, it } from "vitest"
import { applyOverrides } from "../../src/core/applyOverrides.js"
import { ScenarioInvalid } from "../../src/core/errors.js"

const issuesOf = (raw: unknown, overrides: string[]): Array<{ path: string; message: string }> => {
  try {
    applyOverrides(raw, overrides)
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioInvalid)
    return [...(e as ScenarioInvalid).issues]
  }
  throw new Error("expected ScenarioInvalid, nothing was thrown")
}

describe("applyOverrides", () => {
  it.each([
    ["__proto__.seed=5", "__proto__.seed"],
    ["__proto__.x=1", "__proto__.x"],
    ["workload.__proto__.x=1", "workload.__proto__.x"],
    ["constructor.prototype.x=1", "constructor.prototype.x"],
    ["workload.constructor=1", "workload.constructor"],
  ])("refuses %s, naming the path, and leaves Object.prototype alone", (override, path) => {
    const issues = issuesOf({ workload: { kind: "poisson" } }, [override])
    expect(issues).toHaveLength(1)
    expect(issues[0]!.path).toBe(path)
    expect(issues[0]!.message).toMatch(/is not a scenario field/)
    expect(Object.hasOwn(Object.prototype, "seed")).toBe(false)
    expect(Object.hasOwn(Object.prototype, "x")).toBe(false)
    expect(({} as Record<string, unknown>).seed).toBeUndefined()
  })

  it("refuses a __proto__ key inside a mapping value", () => {
    const issues = issuesOf({}, ["corpus={routing: {__proto__: {polluted: 1}}}"])
    expect(issues).toEqual([{ path: "corpus.routing.__proto__", message: '"__proto__" is not a scenario field (see moska scenario docs for the fields)' }])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it("still creates missing mappings and sets ordinary fields", () => {
    expect(applyOverrides({ workload: { kind: "poisson" } }, ["workload.ratePerS=5", "corpus.routing.kind=zipf"])).toEqual({
      workload: { kind: "poisson", ratePerS: 5 },
      corpus: { routing: { kind: "zipf" } },
    })
  })
})
