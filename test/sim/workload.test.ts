import { Schema as S } from "effect"
import { describe, expect, it } from "vitest"
import { makeRng } from "../../src/core/rng.js"
import { Workload } from "../../src/core/scenario.js"
import type { Ns } from "../../src/core/units.js"
import type { RequestSpec } from "../../src/core/workload.js"
import { drawLength, meanLength } from "../../src/sim/workload/lengthDist.js"
import { makeWorkload } from "../../src/sim/workload/makeWorkload.js"

const drain = (src: ReturnType<typeof makeWorkload>): RequestSpec[] => {
  const out: RequestSpec[] = []
  if (src.kind !== "open") throw new Error("open loop expected")
  for (let r = src.next(); r !== undefined; r = src.next()) out.push(r)
  return out
}
const gaps = (rs: RequestSpec[]) => rs.slice(1).map((r, i) => (r.arrivalNs - (rs[i] as RequestSpec).arrivalNs) / 1e9)
const cv = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length) / m
}

describe("workload generators", () => {
  it("Poisson arrivals have the asked rate and exponential gaps (cv 1), in order", () => {
    const w = S.decodeUnknownSync(Workload)({ kind: "poisson", ratePerS: 50, requests: 20_000 })
    const rs = drain(makeWorkload(w, makeRng(1)))
    expect(rs).toHaveLength(20_000)
    const g = gaps(rs)
    expect(g.every((x) => x >= 0)).toBe(true)
    expect(20_000 / ((rs[19_999] as RequestSpec).arrivalNs / 1e9)).toBeCloseTo(50, -0.5)
    expect(cv(g)).toBeCloseTo(1, 1)
  })

  it("gamma arrivals keep the mean rate and reach the asked coefficient of variation", () => {
    const w = S.decodeUnknownSync(Workload)({ kind: "gamma", ratePerS: 50, cv: 3, requests: 40_000 })
    const g = gaps(drain(makeWorkload(w, makeRng(2))))
    expect(g.reduce((a, b) => a + b, 0) / g.length).toBeCloseTo(0.02, 2)
    expect(cv(g)).toBeGreaterThan(2.7)
    expect(cv(g)).toBeLessThan(3.3)
  })

  it("a closed loop hands out requests on demand up to its total", () => {
    const w = S.decodeUnknownSync(Workload)({ kind: "closed", concurrency: 4, requests: 6 })
    const src = makeWorkload(w, makeRng(3))
    expect(src.kind).toBe("closed")
    if (src.kind !== "closed") return
    expect(src.concurrency).toBe(4)
    const got = Array.from({ length: 8 }, (_, i) => src.next((i * 10) as Ns))
    expect(got.filter((r) => r !== undefined)).toHaveLength(6)
    expect(got[5]?.arrivalNs).toBe(50)
  })

  it("draws lengths from fixed, uniform and clamped lognormal distributions", () => {
    const rng = makeRng(4)
    expect(drawLength({ kind: "fixed", value: 9 }, rng)).toBe(9)
    const u = Array.from({ length: 2000 }, () => drawLength({ kind: "uniform", min: 3, max: 5 }, rng))
    expect(new Set(u)).toEqual(new Set([3, 4, 5]))
    const l = Array.from({ length: 4000 }, () => drawLength({ kind: "lognormal", median: 100, sigma: 1, max: 400 }, rng))
    expect(Math.max(...l)).toBe(400)
    expect(Math.min(...l)).toBeGreaterThanOrEqual(1)
    const sorted = [...l].sort((a, b) => a - b)
    expect(sorted[2000]).toBeGreaterThan(90)
    expect(sorted[2000]).toBeLessThan(110)
    expect(meanLength({ kind: "uniform", min: 2, max: 4 })).toBe(3)
  })

  it("changing the output lengths leaves the arrival times alone (separate streams)", () => {
    const a = S.decodeUnknownSync(Workload)({ kind: "poisson", ratePerS: 10, requests: 50, outputTokens: { kind: "fixed", value: 3 } })
    const b = S.decodeUnknownSync(Workload)({ kind: "poisson", ratePerS: 10, requests: 50, outputTokens: { kind: "uniform", min: 1, max: 100 } })
    expect(drain(makeWorkload(a, makeRng(5))).map((r) => r.arrivalNs)).toEqual(drain(makeWorkload(b, makeRng(5))).map((r) => r.arrivalNs))
  })
})
