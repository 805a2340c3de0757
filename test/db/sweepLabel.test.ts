import { describe, expect, it } from "vitest"
import { sweepLabel } from "../../src/db/sweepLabel.js"

describe("sweepLabel", () => {
  it("formats a point as sweep:<name>:path=value,... and parses it back, YAML flow values with commas included", () => {
    const assignments = [{ path: "corpus.routing", value: "{kind: zipf, exponent: 1.2}" }, { path: "workload.ratePerS", value: "8" }, { path: "system", value: "moska" }]
    const label = sweepLabel.format("golden-small", assignments)
    expect(label).toBe("sweep:golden-small:corpus.routing={kind: zipf, exponent: 1.2},workload.ratePerS=8,system=moska")
    expect(sweepLabel.parse(label)).toEqual({ name: "golden-small", assignments })
  })

  it("keeps a colon in the scenario name from moving the assignments", () => {
    const label = sweepLabel.format("a:b", [{ path: "seed", value: "1" }])
    expect(sweepLabel.parse(label)).toEqual({ name: "a_b", assignments: [{ path: "seed", value: "1" }] })
  })

  it("is null for labels that are not a sweep's", () => {
    expect(sweepLabel.parse(null)).toBeNull()
    expect(sweepLabel.parse("rate=8")).toBeNull()
    expect(sweepLabel.parse("sweep:no-assignments")).toBeNull()
    expect(sweepLabel.parse("sweep:x:novalue")).toBeNull()
  })

  it("splits lists at top-level commas only: brackets, braces and quotes hold theirs", () => {
    expect(sweepLabel.splitList(`1, [2, 3],{a: 4, b: 5}, "x, y", 'p,q' ,z`)).toEqual(["1", "[2, 3]", "{a: 4, b: 5}", `"x, y"`, "'p,q'", "z"])
  })
})
