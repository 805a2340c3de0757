import { describe, expect, it } from "vitest"
import { LlamaDecoder } from "../../src/gpu/decoder/llamaDecoder.js"
import { sampleRef } from "../../src/gpu/decoder/sampleRef.js"
import { tinyConfig } from "./decoderTiny.js"
import { useGpu } from "./gpuFixture.js"

const gpu = useGpu()
const PROMPT = Int32Array.of(17, 3, 250, 99, 42, 7, 130)
const STEPS = 6

/**
 * Generates STEPS tokens for each (slot, temperature, seed) in one batch after a shared prompt, and
 * checks every sampled token against the host twin of the sampler on the GPU's own logits: greedy is
 * their argmax; Gumbel-max picks a token whose float64 score is within f32 rounding of the best.
 */
const generate = async (weightSeed: number, reqs: ReadonlyArray<{ slot: number; temperature: number; seed: number }>): Promise<number[][]> => {
  const dec = await LlamaDecoder.create(gpu(), tinyConfig("moska", { seed: weightSeed }))
  try {
    const out: number[][] = reqs.map(() => [])
    const check = async (tokens: Int32Array, counters: number[]): Promise<void> => {
      const logits = await dec.readLogits()
      reqs.forEach((q, i) => {
        const row = logits.subarray(i * 256, (i + 1) * 256)
        const ref = sampleRef(row, q.temperature, q.seed, counters[i]!)
        const best = Math.max(...ref.scores)
        expect(ref.scores[tokens[i]!]!).toBeGreaterThanOrEqual(best - 1e-4)
        if (q.temperature <= 0) expect(tokens[i]).toBe(ref.token)
        out[i]!.push(tokens[i]!)
      })
    }
    const first = await dec.prefill(reqs.map((q) => ({ slot: q.slot, tokens: PROMPT, start: 0, sample: true, temperature: q.temperature, seed: q.seed })))
    await check(first.tokens, reqs.map(() => PROMPT.length - 1))
    let toks = [...first.tokens]
    for (let s = 0; s < STEPS - 1; s++) {
      const pos = PROMPT.length + s
      const r = await dec.decode(reqs.map((q, i) => ({ slot: q.slot, token: toks[i]!, position: pos, temperature: q.temperature, seed: q.seed })))
      await check(r.tokens, reqs.map(() => pos))
      toks = [...r.tokens]
    }
    return out
  } finally {
    dec.destroy()
  }
}

describe("LlamaDecoder sampling", () => {
  it("greedy sequences are the argmax of the logits, identical across slots for one weight seed and different for another", async () => {
    const [a, b] = await generate(11, [
      { slot: 0, temperature: 0, seed: 1 },
      { slot: 2, temperature: 0, seed: 2 },
    ])
    const [c] = await generate(12, [{ slot: 1, temperature: 0, seed: 1 }])
    expect(a).toEqual(b)
    expect(c).not.toEqual(a)
  })

  it("temperature sequences are Gumbel-max draws reproducible from the request seed and different for another seed", async () => {
    const [a, b, c] = await generate(11, [
      { slot: 3, temperature: 1, seed: 7 },
      { slot: 0, temperature: 1, seed: 7 },
      { slot: 1, temperature: 1, seed: 8 },
    ])
    const [again] = await generate(11, [{ slot: 2, temperature: 1, seed: 7 }])
    expect(a).toEqual(b)
    expect(again).toEqual(a)
    expect(c).not.toEqual(a)
  })
})
