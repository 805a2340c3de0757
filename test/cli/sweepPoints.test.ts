import { describe, expect, it } from "vitest"
import { sweepPoints } from "../../src/cli/sweepPoints.js"

describe("sweepPoints", () => {
  it("is the cartesian product with the first --vary outermost", () => {
    const { axes, points } = sweepPoints(["workload.ratePerS=4,8", "system=moska,cascade,prefix"])
    expect(axes).toEqual([{ path: "workload.ratePerS", values: ["4", "8"] }, { path: "system", values: ["moska", "cascade", "prefix"] }])
    expect(points.map((p) => p.map((a) => `${a.path}=${a.value}`).join(" "))).toEqual([
      "workload.ratePerS=4 system=moska", "workload.ratePerS=4 system=cascade", "workload.ratePerS=4 system=prefix",
      "workload.ratePerS=8 system=moska", "workload.ratePerS=8 system=cascade", "workload.ratePerS=8 system=prefix",
    ])
  })

  it("keeps YAML flow values whole", () => {
    expect(sweepPoints(["corpus.routing={kind: zipf, exponent: 1.2},{kind: uniform}"]).points.map((p) => p[0]?.value))
      .toEqual(["{kind: zipf, exponent: 1.2}", "{kind: uniform}"])
  })

  it("refuses no --vary, a malformed one, empty or repeated values and a path given twice, saying what to write", () => {
    expect(() => sweepPoints([])).toThrow("sweep needs at least one --vary path=v1,v2,...")
    expect(() => sweepPoints(["ratePerS"])).toThrow('--vary must be path=v1,v2,... (got "ratePerS")')
    expect(() => sweepPoints(["seed=1,,2"])).toThrow('--vary seed: empty value in "1,,2" (values are separated by commas)')
    expect(() => sweepPoints(["seed=1,1"])).toThrow('--vary seed: a value is listed twice in "1,1"')
    expect(() => sweepPoints(["seed=1", "seed=2"])).toThrow("--vary seed is given twice (list all its values in one --vary)")
  })
})
