import { decodeKv, encodeKv } from "../kvFormat.js"
import { mergeRef } from "../merge/mergeRef.js"
import type { Partial } from "../merge/partial.js"
import { chunkCentroids } from "../router/centroids.js"
import { routerRef } from "../router/routerRef.js"
import { sharedAttentionRef } from "../shared/sharedAttentionRef.js"
import { uniqueAttentionRef } from "../unique/uniqueAttentionRef.js"
import { chunkCount, type MoskaProblem, type MoskaResult } from "./moskaProblem.js"
import { routedUnits } from "./routedUnits.js"

/**
 * The whole MoSKA layer on the float64 references (router, shared, unique, merge), on the K/V
 * values the chosen format stores (quantized and decoded), results cast to f32.
 * @example const { out, lse, chunks } = moskaAttentionCpu(problem)
 */
export const moskaAttentionCpu = (p: MoskaProblem): MoskaResult => {
  const { B, Hq, Hkv, D, S, U, topK: K } = p
  const N = chunkCount(p)
  const stored = (x: Float32Array): Float64Array => (p.format === "f32" ? Float64Array.from(x) : decodeKv(encodeKv(p.format, x, D)))
  const centroids = chunkCentroids(p.sharedK, S, Hkv, D, p.chunkTokens)
  const chunks = routerRef({ q: p.q, centroids, requests: B, qHeads: Hq, kvHeads: Hkv, dim: D, chunks: N, topK: K })
  const { units, where } = routedUnits(chunks, B, Hq, Hkv, K)
  const shared = sharedAttentionRef({ q: p.q, k: stored(p.sharedK), v: stored(p.sharedV), tokens: S, kvHeads: Hkv, dim: D, chunkTokens: p.chunkTokens, units })
  const unique = uniqueAttentionRef({ q: p.q, k: stored(p.uniqueK), v: stored(p.uniqueV), lens: p.uniqueLen, requests: B, tokens: U, qHeads: Hq, kvHeads: Hkv, dim: D })
  const out = new Float32Array(B * Hq * D)
  const lse = new Float32Array(B * Hq)
  const G = Hq / Hkv
  for (let b = 0; b < B; b++)
    for (let hq = 0; hq < Hq; hq++) {
      const h = Math.floor(hq / G)
      const parts: Partial[] = [unique[b * Hq + hq]!]
      for (let k = 0; k < K; k++) {
        const w = where[(b * Hkv + h) * K + k]!
        parts.push(shared[w.unit]![w.row + (hq % G)]!)
      }
      const m = mergeRef(parts, D)
      out.set(m.o, (b * Hq + hq) * D)
      lse[b * Hq + hq] = m.lse
    }
  return { out, lse, chunks }
}
