import { describe, expect, it } from "vitest"
import { halfFloat } from "../../../src/live/disagg/halfFloat.js"

const round = (xs: number[]): number[] => [...halfFloat.decode(halfFloat.encode(Float32Array.from(xs)))]

describe("halfFloat (f16 on the disaggregated data link)", () => {
  it("encodes exact values, specials and the largest/smallest halves to their IEEE binary16 bits", () => {
    const bits = [...halfFloat.encode(Float32Array.of(0, -0, 1, -2, 0.5, 65504, 2 ** -14, 2 ** -24, Infinity, -Infinity, Number.NaN, 1e6, 2 ** -26))]
    expect(bits).toEqual([0x0000, 0x8000, 0x3c00, 0xc000, 0x3800, 0x7bff, 0x0400, 0x0001, 0x7c00, 0xfc00, 0x7e00, 0x7c00, 0x0000])
  })

  it("rounds ties to even, in the normal and the subnormal range", () => {
    // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: even is 1; 1 + 3·2^-11 goes up to 1 + 2^-9
    expect(round([1 + 2 ** -11, 1 + 3 * 2 ** -11])).toEqual([1, 1 + 2 ** -9])
    // 1.5·2^-24 is halfway between subnormals 1 and 2 (·2^-24): even is 2; 2.5·2^-24: even is 2
    expect(round([1.5 * 2 ** -24, 2.5 * 2 ** -24, 2 ** -25])).toEqual([2 * 2 ** -24, 2 * 2 ** -24, 0])
    // just below the overflow threshold 65520 stays 65504, at it becomes ∞
    expect(round([65519, 65520])).toEqual([65504, Infinity])
  })

  it("decode(encode(x)) is the nearest half for 20,000 values over ±2^-20..2^15 (against a float64 search of the neighbours)", () => {
    let s = 12345
    const next = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0), s / 2 ** 32)
    const xs = Float32Array.from({ length: 20_000 }, () => (next() < 0.5 ? -1 : 1) * 2 ** (next() * 35 - 20))
    const back = halfFloat.decode(halfFloat.encode(xs))
    let worst = 0
    xs.forEach((x, i) => {
      const a = Math.abs(x)
      // the halves around |x|: spacing 2^(e-10) at exponent e (subnormal spacing 2^-24 below 2^-14)
      const e = Math.max(-14, Math.floor(Math.log2(a)))
      const ulp = 2 ** (e - 10)
      const lo = Math.floor(a / ulp) * ulp
      const nearest = a - lo < lo + ulp - a ? lo : a - lo > lo + ulp - a ? lo + ulp : (lo / ulp) % 2 === 0 ? lo : lo + ulp
      expect(Math.abs(back[i]!)).toBe(nearest)
      expect(Math.sign(back[i]!)).toBe(Math.sign(x))
      if (a >= 2 ** -14) worst = Math.max(worst, Math.abs(back[i]! - x) / a)
    })
    expect(worst).toBeLessThanOrEqual(2 ** -11)
  })
})
