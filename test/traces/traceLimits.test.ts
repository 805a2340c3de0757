import { describe, expect, it } from "vitest"
import { InputFileInvalid } from "../../src/core/errors.js"
import { parseTrace } from "../../src/traces/parseTrace.js"

const invalid = (f: () => unknown): InputFileInvalid => {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(InputFileInvalid)
    return e as InputFileInvalid
  }
  throw new Error("expected InputFileInvalid, nothing was thrown")
}
const AZ = "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,10,2\n"
const BG = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n0,ChatGPT,10,2,12,x\n"
const MC = '{"timestamp": 0, "input_length": 10, "output_length": 2}\n'

describe("Azure timestamps that roll over are refused on their line", () => {
  it.each(["2023-13-01 00:00:00", "2023-00-15 00:00:00", "0000-01-01 00:00:00", "2023-02-29 00:00:00", "2023-11-16 18:17:03+99:99", "2023-11-16 18:17:03-15:00", "2023-11-16 18:17:03+05:60"])("%s", (stamp) => {
    const e = invalid(() => parseTrace(`${AZ}${stamp},1,1\n`, { file: "a.csv" }))
    expect([e.file, e.line]).toEqual(["a.csv", 3])
    expect(e.message).toBe(`TIMESTAMP must be a real date and time like 2023-11-16 18:17:03.9799600, optionally with a zone from -12:00 to +14:00 (got "${stamp}")`)
  })

  it("still reads leap days, zones at the edges and dates of any century", () => {
    for (const stamp of ["2024-02-29 00:00:00", "2023-11-16 18:17:03+14:00", "2023-11-16 18:17:03-12:00", "2023-11-16T18:17:03Z"]) {
      expect(parseTrace(`TIMESTAMP,ContextTokens,GeneratedTokens\n${stamp},1,1\n`, { file: "a.csv" }).requests).toHaveLength(1)
    }
  })

  it("refuses rows more than 104 days apart (their ns would not be exact)", () => {
    const e = invalid(() => parseTrace(`${AZ}2024-11-16 18:17:03,1,1\n`, { file: "a.csv" }))
    expect([e.line, e.message]).toEqual([3, 'TIMESTAMP is more than 104 days from the first row\'s (got "2024-11-16 18:17:03"); a trace may span at most 2^53 ns of simulated time'])
    // each row within 104 days of the first, but 200 days between the two extremes
    const e2 = invalid(() => parseTrace(`${AZ}2023-08-08 00:00:00,1,1\n2024-02-24 00:00:00,1,1\n`, { file: "a.csv" }))
    expect(e2.line).toBe(4)
    expect(e2.message).toMatch(/^TIMESTAMP is 2\d\d days after the earliest row; a trace may span at most 104 days/)
  })
})

describe("Mooncake timestamps whose ns overflow are refused on their line", () => {
  it.each([["1e303", "1e+303"], ["1e13", "10000000000000"], ["9007199255", "9007199255"]])("timestamp %s", (ts, shown) => {
    const e = invalid(() => parseTrace(`${MC}{"timestamp": ${ts}, "input_length": 10, "output_length": 2}\n`, { file: "m.jsonl" }))
    expect([e.file, e.line]).toEqual(["m.jsonl", 2])
    expect(e.message).toBe(`timestamp is more than 9007199254 ms (about 104 days) from the first row's (got ${shown}); a trace may span at most 2^53 ns of simulated time`)
  })

  it("rebases epoch timestamps on the earliest row, exactly", () => {
    const t = parseTrace('{"timestamp": 1733100000123, "input_length": 10, "output_length": 2}\n{"timestamp": 1733100000000, "input_length": 10, "output_length": 2}\n', { file: "m.jsonl" })
    expect(t.requests.map((r) => r.arrivalNs)).toEqual([0, 123_000_000])
  })

  it("reads the largest timestamp as exact integer ns", () => {
    const t = parseTrace(`${MC}{"timestamp": 9007199254, "input_length": 10, "output_length": 2}\n`, { file: "m.jsonl" })
    expect(t.requests[1]!.arrivalNs).toBe(9_007_199_254_000_000)
    expect(Number.isSafeInteger(t.requests[1]!.arrivalNs)).toBe(true)
  })

  it.each(["timestamp", "input_length", "output_length"])("a row without %s says the field is missing, not 'got undefined'", (field) => {
    const row = { timestamp: 1, input_length: 10, output_length: 2 } as Record<string, unknown>
    delete row[field]
    const e = invalid(() => parseTrace(`${MC}${JSON.stringify(row)}\n`, { file: "m.jsonl" }))
    expect(e.line).toBe(2)
    expect(e.message).toBe(`${field} is missing (each line needs timestamp, input_length and output_length)`)
  })
})

describe("BurstGPT", () => {
  it("refuses a timestamp that is not decimal seconds, and rows more than 104 days from the first", () => {
    const e = invalid(() => parseTrace(`${BG}1e20,ChatGPT,10,2,12,x\n99999999999,ChatGPT,10,2,12,x\n`, { file: "b.csv" }))
    expect(e.line).toBe(3)
    expect(e.message).toBe('Timestamp must be non-negative decimal seconds, whole part below 2^53 (got "1e20")')
    const far = invalid(() => parseTrace(`${BG}99999999999,ChatGPT,10,2,12,x\n`, { file: "b.csv" }))
    expect([far.line, far.message]).toEqual([3, 'Timestamp is more than 104 days from the first row\'s (got "99999999999"); a trace may span at most 2^53 ns of simulated time'])
  })

  it("reads a slice from past day 104 exactly, rebased on its earliest row", () => {
    // day 120 of the trace: 10,368,000 s, whose ns (1.04e16) are past 2^53 and not exact as doubles
    const t = parseTrace(`Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n10368000.000000001,ChatGPT,10,2,12,x\n10368000,ChatGPT,10,2,12,x\n10368007.5,ChatGPT,10,2,12,x\n`, { file: "b.csv" })
    expect(t.requests.map((r) => r.arrivalNs)).toEqual([0, 1, 7_500_000_000])
  })

  it("quotes a field with control characters on one line and shortens a long one", () => {
    const e = invalid(() => parseTrace(`${BG}1,ChatGPT,1\u000b0,2,12,x\n`, { file: "b.csv" }))
    expect(e.message).toBe('Request tokens must be a non-negative integer (got "1\\u000b0")')
    const long = invalid(() => parseTrace(`${BG}1,ChatGPT,${"9".repeat(500)}x,2,12,x\n`, { file: "b.csv" }))
    expect(long.message.length).toBeLessThan(140)
  })
})
