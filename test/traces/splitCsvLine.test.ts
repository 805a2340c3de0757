import { describe, expect, it } from "vitest"
import { decimalSecondsToNs } from "../../src/traces/decimalToNs.js"
import { splitCsvLine } from "../../src/traces/splitCsvLine.js"

describe("splitCsvLine", () => {
  it("splits plain and quoted fields, unescaping doubled quotes", () => {
    expect(splitCsvLine('1.5, "GPT-4, large" ,"say ""hi""",')).toEqual(["1.5", "GPT-4, large", 'say "hi"', ""])
  })
  it("returns null on an unterminated quote or text after a closing quote", () => {
    expect(splitCsvLine('1,"abc')).toBeNull()
    expect(splitCsvLine('1,"a"b,2')).toBeNull()
  })
})

describe("decimalSecondsToNs", () => {
  it("converts decimal seconds exactly, rounding the tenth fractional digit", () => {
    expect(decimalSecondsToNs("3.9799600")).toBe(3_979_960_000)
    expect(decimalSecondsToNs("0.1")).toBe(100_000_000)
    expect(decimalSecondsToNs("7.")).toBe(7_000_000_000)
    expect(decimalSecondsToNs("1.0000000005")).toBe(1_000_000_001)
    expect(decimalSecondsToNs("-1")).toBeNull()
    expect(decimalSecondsToNs("1e3")).toBeNull()
  })
})
