import { describe, expect, it } from "vitest"
import { LagHistogram } from "../../src/live/lagHistogram.js"

describe("LagHistogram", () => {
  it("reports exact count, mean and max, and nearest-rank percentiles within 1/64", () => {
    const h = new LagHistogram()
    // 1..20,000 ns shuffled by a fixed stride, so insertion order is not sorted
    const n = 20_000
    for (let i = 0; i < n; i++) h.record(((i * 7_919) % n) + 1)
    const s = h.stats()
    expect(s.n).toBe(n)
    expect(s.meanNs).toBeCloseTo((n + 1) / 2, 6)
    expect(s.maxNs).toBe(n)
    expect(Math.abs(s.p50Ns - 10_000) / 10_000).toBeLessThan(1 / 64)
    expect(Math.abs(s.p99Ns - 19_800) / 19_800).toBeLessThan(1 / 64)
  })

  it("keeps small values exact and large ones (hours of ns) in range", () => {
    const h = new LagHistogram()
    for (const v of [3, 3, 3, 40]) h.record(v)
    expect(h.stats()).toEqual({ n: 4, meanNs: 12.25, p50Ns: 3, p99Ns: 40, maxNs: 40 })
    const big = new LagHistogram()
    big.record(3_600e9)
    big.record(-5) // "ran early" cannot happen; it is clamped rather than corrupting the buckets
    const b = big.stats()
    expect(b.maxNs).toBe(3_600e9)
    expect(b.p50Ns).toBe(0)
    expect(Math.abs(b.p99Ns - 3_600e9) / 3_600e9).toBeLessThan(1 / 64)
  })

  it("matches its documented example", () => {
    const h = new LagHistogram()
    h.record(1_200)
    h.record(80_000)
    expect(h.stats()).toEqual({ n: 2, meanNs: 40_600, p50Ns: 1_207, p99Ns: 80_000, maxNs: 80_000 })
  })

  it("is empty-safe", () => {
    expect(new LagHistogram().stats()).toEqual({ n: 0, meanNs: 0, p50Ns: 0, p99Ns: 0, maxNs: 0 })
  })
})
