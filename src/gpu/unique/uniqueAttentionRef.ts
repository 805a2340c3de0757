import { attendRef } from "../merge/attendRef.js"
import type { Partial } from "../merge/partial.js"

export interface UniqueRefInput {
  /** Queries [B, Hq, D]. */
  readonly q: ArrayLike<number>
  /** Unique K/V as the GPU sees them, rows [B, U, Hkv] of D values. */
  readonly k: ArrayLike<number>
  readonly v: ArrayLike<number>
  /** Valid prefix per request. */
  readonly lens: ArrayLike<number>
  readonly requests: number
  readonly tokens: number
  readonly qHeads: number
  readonly kvHeads: number
  readonly dim: number
  /** Only attend keys in [from, to) of each request's prefix (for split tests); default all. */
  readonly from?: number
  readonly to?: number
}

/**
 * Float64 reference of unique (per-request decode) attention: for each (b, hq), attention over
 * tokens [0, lens[b]) of the request's KV head hq / G. Returns partials indexed b·Hq + hq.
 * @example uniqueAttentionRef({ q, k, v, lens, requests: 2, tokens: 64, qHeads: 8, kvHeads: 2, dim: 16 })
 */
export const uniqueAttentionRef = (x: UniqueRefInput): Partial[] => {
  const { requests: B, tokens: U, qHeads: Hq, kvHeads: Hkv, dim: D } = x
  const G = Hq / Hkv
  const out: Partial[] = []
  for (let b = 0; b < B; b++) {
    const len = Math.min(U, Math.max(0, x.lens[b]!))
    const lo = Math.min(len, x.from ?? 0)
    const hi = Math.min(len, x.to ?? len)
    for (let hq = 0; hq < Hq; hq++) {
      const h = Math.floor(hq / G)
      const rows: number[] = []
      for (let t = lo; t < hi; t++) rows.push((b * U + t) * Hkv + h)
      out.push(attendRef(x.q, (b * Hq + hq) * D, x.k, x.v, rows, D, 1 / Math.sqrt(D)))
    }
  }
  return out
}
