import { decoderHash } from "./decoderHash.js"

/**
 * Float64 twin of the sampling kernel on given logits: greedy argmax when temperature ≤ 0, else
 * Gumbel-max with the request's seed and counter (the KV index of the token it samples after).
 * Ties go to the lower id. Returns the token and every candidate's score, so a test can allow for
 * f32 rounding between two near-equal scores.
 * @example sampleRef(logits, 0.8, 42, 17).token
 */
export const sampleRef = (logits: ArrayLike<number>, temperature: number, seed: number, counter: number): { token: number; scores: Float64Array } => {
  const scores = new Float64Array(logits.length)
  let best = -Infinity
  let token = -1
  for (let v = 0; v < logits.length; v++) {
    const s = temperature > 0 ? logits[v]! / temperature + decoderHash.gumbel(seed, counter, v) : logits[v]!
    scores[v] = s
    if (s > best) {
      best = s
      token = v
    }
  }
  return { token, scores }
}
