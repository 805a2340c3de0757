/** A router problem with its data in `T` (host arrays here, GPU buffers for the kernel's host `routerPass`). */
export interface RouterProblem<T> {
  /** Queries [B, Hq, D]. */
  readonly q: T
  /** Centroids [N, Hkv, D]. */
  readonly centroids: T
  readonly requests: number
  readonly qHeads: number
  readonly kvHeads: number
  readonly dim: number
  readonly chunks: number
  readonly topK: number
}

export type RouterRefInput = RouterProblem<ArrayLike<number>>

/** Float64 router scores [B, Hkv, N]: mean over the GQA group of q · centroid. */
export const routerScoresRef = (x: RouterRefInput): Float64Array => {
  const { requests: B, qHeads: Hq, kvHeads: Hkv, dim: D, chunks: N } = x
  const G = Hq / Hkv
  const out = new Float64Array(B * Hkv * N)
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hkv; h++)
      for (let c = 0; c < N; c++) {
        let s = 0
        for (let g = 0; g < G; g++) for (let d = 0; d < D; d++) s += x.q[(b * Hq + h * G + g) * D + d]! * x.centroids[(c * Hkv + h) * D + d]!
        out[(b * Hkv + h) * N + c] = s / G
      }
  return out
}

/**
 * Float64 reference of the router: top-K chunks per (request, KV head) by score, highest first,
 * ties to the lower chunk id. Result [B, Hkv, K].
 * @example routerRef({ q, centroids, requests: 2, qHeads: 8, kvHeads: 2, dim: 16, chunks: 10, topK: 3 })
 */
export const routerRef = (x: RouterRefInput): Int32Array => {
  const { requests: B, kvHeads: Hkv, chunks: N, topK: K } = x
  const scores = routerScoresRef(x)
  const out = new Int32Array(B * Hkv * K)
  for (let u = 0; u < B * Hkv; u++) {
    const ids = Array.from({ length: N }, (_, c) => c)
    ids.sort((a, b) => scores[u * N + b]! - scores[u * N + a]! || a - b)
    for (let k = 0; k < K; k++) out[u * K + k] = ids[k]!
  }
  return out
}
