import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { decimalSecondsParts, decimalSecondsToNs } from "../../src/traces/decimalToNs.js"

/** The same conversion in exact BigInt arithmetic: ns of a decimal, the tenth fractional digit rounding half up. */
const bigNs = (text: string): bigint => {
  const [whole = "0", frac = ""] = text.split(".")
  let ns = BigInt(whole) * 1_000_000_000n + BigInt((frac.slice(0, 9) || "0").padEnd(9, "0"))
  if (frac.length > 9 && Number(frac[9]) >= 5) ns += 1n
  return ns
}

describe("decimalSecondsToNs against BigInt", () => {
  const decimal = fc.tuple(fc.bigInt({ min: 0n, max: 20_000_000n }), fc.option(fc.stringMatching(/^[0-9]{0,14}$/), { nil: undefined }))
    .map(([w, f]) => (f === undefined ? `${w}` : `${w}.${f}`))

  it("is exact wherever the result is a safe integer, and null where it is not", () => {
    fc.assert(fc.property(decimal, (text) => {
      const exact = bigNs(text)
      expect(decimalSecondsToNs(text)).toBe(exact <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(exact) : null)
    }), { seed: 20_261_202, numRuns: 2000 })
  })

  it("relative to an origin, is exact for any two stamps within 2^53 ns, however late (BurstGPT past day 104)", () => {
    fc.assert(fc.property(decimal, fc.bigInt({ min: 0n, max: 9_000_000n }), (text, back) => {
      const parts = decimalSecondsParts(text)
      expect(parts).not.toBeNull()
      const origin = Math.max(0, (parts as { wholeS: number }).wholeS - Number(back))
      const exact = bigNs(text) - BigInt(origin) * 1_000_000_000n
      expect(decimalSecondsToNs(text, origin)).toBe(exact <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(exact) : null)
    }), { seed: 20_261_203, numRuns: 2000 })
  })
})
