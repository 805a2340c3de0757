import type { Partial } from "./partial.js"

/**
 * Float64 reference of the exact n-way log-sum-exp merge. Empty partials (lse = -inf) carry no
 * weight; merging nothing (or only empties) gives the identity `o = 0, lse = -inf`, never NaN.
 * @example mergeRef([a, b], 128) // attention over a's keys ∪ b's keys
 */
export const mergeRef = (parts: readonly Partial[], dim: number): Partial => {
  let m = -Infinity
  for (const p of parts) if (p.lse > m) m = p.lse
  const o = new Float64Array(dim)
  if (m === -Infinity) return { o, lse: -Infinity }
  let sum = 0
  for (const p of parts) {
    if (p.lse === -Infinity) continue
    const w = Math.exp(p.lse - m)
    sum += w
    for (let d = 0; d < dim; d++) o[d]! += w * p.o[d]!
  }
  for (let d = 0; d < dim; d++) o[d]! /= sum
  return { o, lse: m + Math.log(sum) }
}
