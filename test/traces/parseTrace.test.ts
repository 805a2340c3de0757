import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { InputFileInvalid } from "../../src/core/errors.js"
import { parseTrace } from "../../src/traces/parseTrace.js"

const read = (p: string) => readFileSync(new URL(p, import.meta.url), "utf8")

/** Runs `f` and returns the InputFileInvalid it throws (fails the test if it throws anything else or nothing). */
const invalid = (f: () => unknown): InputFileInvalid => {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(InputFileInvalid)
    return e as InputFileInvalid
  }
  throw new Error("expected InputFileInvalid, nothing was thrown")
}

describe("parseTrace on the shipped samples", () => {
  it("reads all 12,031 Mooncake requests with their hash_ids as blocks", () => {
    const t = parseTrace(read("../../data/traces/mooncake_conversation_trace.jsonl"), { file: "m.jsonl" })
    expect(t.format).toBe("mooncake")
    expect(t.requests).toHaveLength(12_031)
    expect(t.skipped).toBe(0)
    expect(t.requests[0]).toEqual({ id: 0, arrivalNs: 0, uniqueTokens: 6758, outputTokens: 500, blocks: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13] })
    const last = t.requests[t.requests.length - 1]!
    expect(last.id).toBe(12_030)
    expect(last.arrivalNs).toBe(3_536_999 * 1_000_000)
    // the sample's documented invariant: one block per 512 prompt tokens
    for (const r of t.requests) expect(r.blocks!.length).toBe(Math.ceil(r.uniqueTokens / 512))
  })

  it("reads all 8,819 Azure requests with exact 100-ns arrivals relative to the first row", () => {
    const t = parseTrace(read("../../data/traces/azure_llm_2023_code.csv"), { file: "a.csv" })
    expect(t.format).toBe("azure")
    expect(t.requests).toHaveLength(8_819)
    expect(t.requests[0]).toEqual({ id: 0, arrivalNs: 0, uniqueTokens: 4808, outputTokens: 10 })
    // 18:17:04.0319600 - 18:17:03.9799600
    expect(t.requests[1]).toMatchObject({ arrivalNs: 52_000_000, uniqueTokens: 3180, outputTokens: 8 })
    for (const r of t.requests) {
      expect(Number.isSafeInteger(r.arrivalNs)).toBe(true)
      expect(r.arrivalNs % 100).toBe(0)
    }
    for (let i = 1; i < t.requests.length; i++) expect(t.requests[i]!.arrivalNs).toBeGreaterThanOrEqual(t.requests[i - 1]!.arrivalNs)
  })
})

describe("parseTrace on BurstGPT", () => {
  it("skips failed rows (0 response tokens), ignores v3 columns and converts seconds to ns exactly", () => {
    const t = parseTrace(read("fixtures/burstgpt_v3_sample.csv"), { file: "b.csv" })
    expect(t.format).toBe("burstgpt")
    expect(t.skipped).toBe(1)
    expect(t.requests).toEqual([
      { id: 0, arrivalNs: 0, uniqueTokens: 472, outputTokens: 18 },
      { id: 1, arrivalNs: 113_000_000_000, uniqueTokens: 417, outputTokens: 217 },
      { id: 2, arrivalNs: 113_250_000_000, uniqueTokens: 1360, outputTokens: 1 },
      { id: 3, arrivalNs: 195_500_000_000, uniqueTokens: 0, outputTokens: 63 },
    ])
  })

  it("accepts the v1 header without session columns", () => {
    const text = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n0,ChatGPT,10,2,12,Conversation log\n1.5,ChatGPT,11,3,14,Conversation log\n"
    expect(parseTrace(text, { file: "b.csv" }).requests.map((r) => r.arrivalNs)).toEqual([0, 1_500_000_000])
  })
})

describe("parseTrace ordering and time zones", () => {
  it("replays out-of-order rows in time order, rebased on the earliest, with ids in that order", () => {
    const text = "TIMESTAMP,ContextTokens,GeneratedTokens\n2024-05-10 00:00:01.5,100,5\n2024-05-10 00:00:00.5,200,6\n2024-05-10 00:00:01.5,300,7\n"
    const t = parseTrace(text, { file: "a.csv" })
    expect(t.requests).toEqual([
      { id: 0, arrivalNs: 0, uniqueTokens: 200, outputTokens: 6 },
      { id: 1, arrivalNs: 1_000_000_000, uniqueTokens: 100, outputTokens: 5 },
      { id: 2, arrivalNs: 1_000_000_000, uniqueTokens: 300, outputTokens: 7 },
    ])
  })

  it("honours time zones on Azure 2024 style timestamps", () => {
    const text = "TIMESTAMP,ContextTokens,GeneratedTokens\n2024-05-10 00:00:00.000000+00:00,1,1\n2024-05-10 01:00:00.000000+01:00,1,1\n2024-05-10T00:00:02Z,1,1\n"
    expect(parseTrace(text, { file: "a.csv" }).requests.map((r) => r.arrivalNs)).toEqual([0, 0, 2_000_000_000])
  })
})

describe("parseTrace on malformed files", () => {
  it("names the line of a non-integer Azure token count", () => {
    const e = invalid(() => parseTrace("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,4808,10\n2023-11-16 18:17:04.0319600,abc,8\n", { file: "a.csv" }))
    expect(e.line).toBe(3)
    expect(e.file).toBe("a.csv")
    expect(e.message).toContain('ContextTokens must be a non-negative integer (got "abc")')
  })

  it("names the line of a bad Azure timestamp, counting blank lines", () => {
    const e = invalid(() => parseTrace("TIMESTAMP,ContextTokens,GeneratedTokens\n\n2023-02-30 18:17:03,1,1\n", { file: "a.csv" }))
    expect(e.line).toBe(3)
    expect(e.message).toContain("TIMESTAMP must be a real date and time like")
  })

  it("names the line of a short CSV row", () => {
    const e = invalid(() => parseTrace("Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n1,ChatGPT,10,2,12,x\n2,ChatGPT,10\n", { file: "b.csv" }))
    expect(e.line).toBe(3)
    expect(e.message).toBe("expected 6 fields like the header, got 3")
  })

  it("names the line of invalid JSON and of a missing Mooncake field", () => {
    const good = '{"timestamp": 0, "input_length": 10, "output_length": 2, "hash_ids": [0]}'
    expect(invalid(() => parseTrace(`${good}\n${good}\n{"timestamp": 3, "input_length": 1,\n`, { file: "m.jsonl" })).line).toBe(3)
    const e = invalid(() => parseTrace(`${good}\n{"timestamp": 1, "input_length": 10}\n`, { file: "m.jsonl" }))
    expect(e.line).toBe(2)
    expect(e.message).toBe("output_length is missing (each line needs timestamp, input_length and output_length)")
    expect(invalid(() => parseTrace(`${good}\n{"timestamp": 1, "input_length": 1, "output_length": 1, "hash_ids": [-1]}\n`, { file: "m.jsonl" })).line).toBe(2)
  })

  it("rejects an unknown header and an empty file, and a header lacking a forced format's column", () => {
    expect(invalid(() => parseTrace("a,b,c\n1,2,3\n", { file: "x.csv" })).message).toContain("unknown trace format")
    expect(invalid(() => parseTrace("\n\n", { file: "x.csv" })).message).toBe("the trace file is empty")
    const e = invalid(() => parseTrace("Timestamp,Model,Request tokens,Response tokens\n", { file: "x.csv", format: "azure" }))
    expect(e.line).toBe(1)
    expect(e.message).toContain('header lacks column "ContextTokens"')
  })
})
