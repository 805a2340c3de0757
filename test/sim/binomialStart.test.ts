import { describe, expect, it } from "vitest"
import { makeRng } from "../../src/core/rng.js"
import { binomial, binomialFrom, binomialStart } from "../../src/sim/random/distributions.js"

// Fast routing keeps a prepared Bin(B, π) per hot chunk; the trace rows stay byte-identical only if
// a prepared draw is the plain draw: the same value from the same stream position, every regime.
describe("a prepared binomial", () => {
  it("draws what binomial draws and consumes the same random numbers, in every regime and edge", () => {
    const params = makeRng(99)
    const a = makeRng(7)
    const b = makeRng(7)
    const edges = [0, 1, 1e-12, 1 - 1e-12, 0.5, 0.5000001, 12 / 40, -0.1, 1.2]
    let drawn = 0
    for (let i = 0; i < 20_000; i++) {
      const n = Math.floor(params.float() * 600) - 2
      const p = i % 3 === 0 ? (edges[i % edges.length] as number) : params.float()
      const x = binomial(a, n, p)
      const y = binomialFrom(b, binomialStart(n, p))
      expect(y, `n=${n} p=${p}`).toBe(x)
      if (x > 0) drawn++
    }
    expect(a.float()).toBe(b.float())
    expect(drawn).toBeGreaterThan(10_000)
  })

  it("can be reused: many draws from one start match as many plain draws", () => {
    for (const [n, p] of [[8, 0.3], [256, 0.25], [256, 0.9], [40, 0.3]] as const) {
      const a = makeRng(n)
      const b = makeRng(n)
      const s = binomialStart(n, p)
      for (let i = 0; i < 2000; i++) expect(binomialFrom(b, s)).toBe(binomial(a, n, p))
    }
  })
})
