import { describe, expect, it } from "vitest"
import { DecoderRef } from "../../src/gpu/decoder/decoderRef.js"
import { LlamaDecoder, type DecoderConfig, type DecoderSystem } from "../../src/gpu/decoder/llamaDecoder.js"
import { tinyConfig } from "./decoderTiny.js"
import { relErr, useGpu } from "./gpuFixture.js"

const gpu = useGpu()

const config = (system: DecoderSystem, topK = 2): DecoderConfig => tinyConfig(system, { corpus: { tokens: 256, chunkTokens: 64, topK } })

// f32 matmuls over K ≤ 256, f32 attention and f32 cos/sin against float64: errors are ~1e-6; 1e-4 leaves room without hiding a wrong term (a dropped key or norm weight moves logits by >1e-2).
const TOL = 1e-4

/**
 * Two requests in slots 3 and 1: request A is prefilled in two chunks (9 then 4 tokens), B in one
 * (6 tokens) in the same call as A's second chunk; then three decode steps of both. Every step's
 * logits are compared with the float64 reference (GPU scratch poisoned with NaN before each step).
 */
const runScenario = async (system: DecoderSystem, topK = 2): Promise<{ errs: number[]; routing: Array<[Map<number, number> | undefined, Map<number, number>]> }> => {
  const cfg = config(system, topK)
  const dec = await LlamaDecoder.create(gpu(), cfg)
  const ref = DecoderRef.synthetic(cfg)
  const errs: number[] = []
  const routing: Array<[Map<number, number> | undefined, Map<number, number>]> = []
  try {
    const a = Int32Array.from({ length: 13 }, (_, i) => (i * 37 + 5) % 256)
    const b = Int32Array.from({ length: 6 }, (_, i) => (i * 91 + 200) % 256)
    const r1 = await dec.prefill([{ slot: 3, tokens: a.subarray(0, 9), start: 0, sample: false, temperature: 0, seed: 0 }])
    const ref1 = ref.forward(3, a.subarray(0, 9), 0)
    expect([...r1.tokens]).toEqual([-1])
    routing.push([r1.routing?.rowsPerChunk, ref1.rowsPerChunk])
    const r2 = await dec.prefill([
      { slot: 1, tokens: b, start: 0, sample: true, temperature: 0, seed: 0 },
      { slot: 3, tokens: a.subarray(9), start: 9, sample: true, temperature: 0, seed: 0 },
    ])
    const refB = ref.forward(1, b, 0)
    const refA = ref.forward(3, a.subarray(9), 9)
    const rc = new Map(refB.rowsPerChunk)
    for (const [c, n] of refA.rowsPerChunk) rc.set(c, (rc.get(c) ?? 0) + n)
    routing.push([r2.routing?.rowsPerChunk, rc])
    errs.push(relErr([...(await dec.readLogits())], [...refB.logits.at(-1)!, ...refA.logits.at(-1)!]))
    let toks = [r2.tokens[0]!, r2.tokens[1]!]
    let pos = [6, 13]
    for (let step = 0; step < 3; step++) {
      const r = await dec.decode([
        { slot: 1, token: toks[0]!, position: pos[0]!, temperature: 0, seed: 0 },
        { slot: 3, token: toks[1]!, position: pos[1]!, temperature: 0, seed: 0 },
      ])
      const rb = ref.forward(1, [toks[0]!], pos[0]!)
      const ra = ref.forward(3, [toks[1]!], pos[1]!)
      const m = new Map(rb.rowsPerChunk)
      for (const [c, n] of ra.rowsPerChunk) m.set(c, (m.get(c) ?? 0) + n)
      routing.push([r.routing?.rowsPerChunk, m])
      errs.push(relErr([...(await dec.readLogits())], [...rb.logits[0]!, ...ra.logits[0]!]))
      expect(r.tokens.every((t) => t >= 0 && t < 256)).toBe(true)
      toks = [r.tokens[0]!, r.tokens[1]!]
      pos = [pos[0]! + 1, pos[1]! + 1]
    }
  } finally {
    dec.destroy()
  }
  return { errs, routing }
}

describe("LlamaDecoder against the float64 reference (tiny dims: 2 layers, hidden 128, 4/2 heads, corpus 256 in chunks of 64)", () => {
  it("moska: prefill (chunked) + 3 decode steps give the reference logits, and the router stacks the reference's rows per chunk", async () => {
    const { errs, routing } = await runScenario("moska")
    for (const e of errs) expect(e).toBeLessThan(TOL)
    for (const [g, want] of routing) expect(new Map([...(g ?? new Map())].sort((x, y) => x[0] - y[0]))).toEqual(new Map([...want].sort((x, y) => x[0] - y[0])))
  })

  for (const system of ["prefix", "private"] as const)
    it(`${system}: prefill (chunked) + 3 decode steps give the reference logits (whole corpus attended)`, async () => {
      const { errs, routing } = await runScenario(system)
      for (const e of errs) expect(e).toBeLessThan(TOL)
      expect(routing.every(([g]) => g === undefined)).toBe(true)
    })
})
