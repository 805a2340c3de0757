import { attendRef } from "../merge/attendRef.js"
import type { Partial } from "../merge/partial.js"
import type { SharedUnit } from "./sharedAttention.js"

export interface SharedRefInput {
  /** Queries [B·Hq, D]. */
  readonly q: ArrayLike<number>
  /** Shared K/V as the GPU sees them, rows [S, Hkv] of D values. */
  readonly k: ArrayLike<number>
  readonly v: ArrayLike<number>
  readonly tokens: number
  readonly kvHeads: number
  readonly dim: number
  readonly chunkTokens: number
  readonly units: readonly SharedUnit[]
}

/**
 * Float64 reference of shared attention: for every unit and stacked row, attention of that query
 * over the unit's whole chunk (KV head of the unit). Result [unit][row].
 * @example sharedAttentionRef({ q, k, v, tokens: 1000, kvHeads: 2, dim: 16, chunkTokens: 256, units })
 */
export const sharedAttentionRef = (x: SharedRefInput): Partial[][] =>
  x.units.map((u) => {
    const start = u.chunk * x.chunkTokens
    const end = Math.min(x.tokens, start + x.chunkTokens)
    const keyRows: number[] = []
    for (let t = start; t < end; t++) keyRows.push(t * x.kvHeads + u.kvHead)
    return u.rows.map((r) => attendRef(x.q, r * x.dim, x.k, x.v, keyRows, x.dim, 1 / Math.sqrt(x.dim)))
  })
