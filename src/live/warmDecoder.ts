import type { LlamaDecoder } from "../gpu/decoder/llamaDecoder.js"

/**
 * Runs one throw-away prefill and one decode step over every slot before the clock starts, so
 * shader compilation and first-use costs (minutes on lavapipe, seconds on a real GPU) do not land
 * on the first requests' TTFT. Every slot is released afterwards (its KV forgotten). Returns the
 * wall ns it took.
 * @example const ns = await warmDecoder(decoder, 8)
 */
export const warmDecoder = async (decoder: LlamaDecoder, slots: number): Promise<number> => {
  const t0 = process.hrtime.bigint()
  const prompt = Int32Array.from({ length: 16 }, (_, i) => (i * 7 + 1) % 256)
  await decoder.prefill([{ slot: 0, tokens: prompt, start: 0, sample: true, temperature: 0, seed: 0 }])
  const reqs = Array.from({ length: slots }, (_, slot) => ({ slot, token: 1, position: slot === 0 ? 16 : 0, temperature: 0, seed: slot }))
  await decoder.decode(reqs)
  // the same again with temperature sampling, whose path differs from greedy
  await decoder.decode(reqs.map((r) => ({ ...r, position: r.position + 1, temperature: 1 })))
  for (let s = 0; s < slots; s++) decoder.release(s)
  return Number(process.hrtime.bigint() - t0)
}
