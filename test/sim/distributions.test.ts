import { describe, expect, it } from "vitest"
import { makeRng } from "../../src/core/rng.js"
import { binomial, gamma, logFactorial, logGamma, standardNormal } from "../../src/sim/random/distributions.js"

const moments = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length
  const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)
  return { m, v }
}

describe("samplers", () => {
  it("draw binomials with the right mean and variance in every regime", () => {
    for (const [n, p] of [[10, 0.3], [1024, 0.25], [1024, 0.9], [50, 0.02], [100_000, 0.4]] as const) {
      const rng = makeRng(n)
      const xs = Array.from({ length: 20_000 }, () => binomial(rng, n, p))
      const { m, v } = moments(xs)
      expect(Math.abs(m - n * p) / Math.sqrt(n * p * (1 - p) / 20_000)).toBeLessThan(4.5)
      expect(v / (n * p * (1 - p))).toBeGreaterThan(0.94)
      expect(v / (n * p * (1 - p))).toBeLessThan(1.06)
      expect(xs.every((x) => Number.isInteger(x) && x >= 0 && x <= n)).toBe(true)
    }
  })

  it("draws gammas with mean shape and variance shape (both below and above 1)", () => {
    for (const shape of [0.25, 1, 16]) {
      const rng = makeRng(7)
      const { m, v } = moments(Array.from({ length: 40_000 }, () => gamma(rng, shape)))
      expect(m / shape).toBeCloseTo(1, 1)
      expect(v / shape).toBeGreaterThan(0.9)
      expect(v / shape).toBeLessThan(1.1)
    }
  })

  it("draws standard normals and computes log-gamma and log-factorial", () => {
    const rng = makeRng(3)
    const { m, v } = moments(Array.from({ length: 40_000 }, () => standardNormal(rng)))
    expect(Math.abs(m)).toBeLessThan(0.02)
    expect(v).toBeCloseTo(1, 1)
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12)
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12)
    expect(logFactorial(170)).toBeCloseTo(logGamma(171), 8)
  })
})
