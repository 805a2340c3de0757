import type { Partial } from "./partial.js"

/**
 * Float64 reference of softmax attention of one query row over a set of KV rows:
 * `s_j = scale · q·k_j`, `o = Σ softmax(s)_j v_j`, `lse = ln Σ e^{s_j}` (natural log).
 * `k`, `v` hold rows of `dim` values; `rows` lists which rows to attend. No rows: the empty partial.
 * @example attendRef(q, k, v, [0, 1, 2], 128, 1 / Math.sqrt(128))
 */
export const attendRef = (q: ArrayLike<number>, qOffset: number, k: ArrayLike<number>, v: ArrayLike<number>, rows: ArrayLike<number>, dim: number, scale: number): Partial => {
  const n = rows.length
  const o = new Float64Array(dim)
  if (n === 0) return { o, lse: -Infinity }
  const s = new Float64Array(n)
  let m = -Infinity
  for (let j = 0; j < n; j++) {
    const base = rows[j]! * dim
    let acc = 0
    for (let d = 0; d < dim; d++) acc += q[qOffset + d]! * k[base + d]!
    s[j] = acc * scale
    if (s[j]! > m) m = s[j]!
  }
  let sum = 0
  for (let j = 0; j < n; j++) {
    const w = Math.exp(s[j]! - m)
    sum += w
    const base = rows[j]! * dim
    for (let d = 0; d < dim; d++) o[d]! += w * v[base + d]!
  }
  for (let d = 0; d < dim; d++) o[d]! /= sum
  return { o, lse: m + Math.log(sum) }
}
