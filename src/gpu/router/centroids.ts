/**
 * Chunk centroids, computed once when the shared corpus is loaded: for chunk c and KV head h, the
 * mean of the chunk's keys (float64 sum, stored f32). `keys` is [S, Hkv, D]; result [N, Hkv, D]
 * with N = ceil(S / chunkTokens) (the last chunk may be short).
 * @example const cent = chunkCentroids(sharedK, S, 8, 128, 4096)
 */
export const chunkCentroids = (keys: ArrayLike<number>, tokens: number, kvHeads: number, dim: number, chunkTokens: number): Float32Array => {
  const N = Math.ceil(tokens / chunkTokens)
  const out = new Float32Array(N * kvHeads * dim)
  const acc = new Float64Array(kvHeads * dim)
  for (let c = 0; c < N; c++) {
    acc.fill(0)
    const start = c * chunkTokens
    const end = Math.min(tokens, start + chunkTokens)
    for (let t = start; t < end; t++) {
      const base = t * kvHeads * dim
      for (let i = 0; i < kvHeads * dim; i++) acc[i]! += keys[base + i]!
    }
    for (let i = 0; i < kvHeads * dim; i++) out[c * kvHeads * dim + i] = acc[i]! / (end - start)
  }
  return out
}
