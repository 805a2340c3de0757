import type { DecoderDims } from "./decoderDims.js"
import { decoderHash } from "./decoderHash.js"

/** Per-layer shared corpus K and V, each [tokens, kvHeads, headDim] row-major. */
export interface CorpusKv {
  readonly k: readonly Float32Array[]
  readonly v: readonly Float32Array[]
}

/** Seeds of layer `l`'s corpus tensors (shared by the GPU fill and the host generator). */
export const corpusSeeds = (seed: number, l: number): { k: number; v: number; bias: number } => ({
  k: decoderHash.tensorSeed(seed, `corpus.${l}.k`),
  v: decoderHash.tensorSeed(seed, `corpus.${l}.v`),
  bias: decoderHash.tensorSeed(seed, `corpus.${l}.bias`),
})

/**
 * The synthetic shared corpus the GPU fills for `seed`, generated on the host: keys cluster per
 * chunk of `chunkTokens` (see decoderHash.corpus), values are noise. For the float64 reference.
 * @example const { k, v } = syntheticCorpus(dims, 256, 64, 7)
 */
export const syntheticCorpus = (dims: DecoderDims, tokens: number, chunkTokens: number, seed: number): CorpusKv => {
  const row = dims.kvHeads * dims.headDim
  const k: Float32Array[] = []
  const v: Float32Array[] = []
  for (let l = 0; l < dims.layers; l++) {
    const s = corpusSeeds(seed, l)
    const kl = new Float32Array(tokens * row)
    const vl = new Float32Array(tokens * row)
    for (let t = 0; t < tokens; t++)
      for (let j = 0; j < row; j++) {
        const i = t * row + j
        const bi = Math.floor(t / chunkTokens) * row + j
        kl[i] = decoderHash.corpus(s.k, s.bias, i, bi)
        vl[i] = decoderHash.corpus(s.v, undefined, i, 0)
      }
    k.push(kl)
    v.push(vl)
  }
  return { k, v }
}
