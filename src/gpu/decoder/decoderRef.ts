import type { DecoderDims } from "./decoderDims.js"
import type { DecoderSystem } from "./llamaDecoder.js"
import { syntheticCorpus } from "./syntheticCorpus.js"
import { syntheticWeights } from "./syntheticWeights.js"

export interface DecoderRefConfig {
  readonly dims: DecoderDims
  readonly maxContext: number
  readonly system: DecoderSystem
  /** Hugging Face tensor name → values (f32 as the GPU holds them); no lm_head.weight means tied to the embedding. */
  readonly weights: ReadonlyMap<string, Float32Array>
  /** Per-layer corpus K/V [tokens, kvHeads, headDim]; null: own tokens only. */
  readonly corpus: { readonly k: readonly Float32Array[]; readonly v: readonly Float32Array[]; readonly tokens: number; readonly chunkTokens: number; readonly topK: number } | null
}

/** The logits of each token given to `forward`, and (MoSKA) stacked rows per chunk as the GPU counts them. */
export interface RefOutput {
  readonly logits: Float64Array[]
  readonly rowsPerChunk: Map<number, number>
}

const matvec = (w: Float32Array, x: Float64Array, rows: number, cols: number): Float64Array => {
  const y = new Float64Array(rows)
  for (let j = 0; j < rows; j++) {
    let s = 0
    const o = j * cols
    for (let k = 0; k < cols; k++) s += w[o + k]! * x[k]!
    y[j] = s
  }
  return y
}

const rmsNorm = (x: Float64Array, w: Float32Array, eps: number): Float64Array => {
  let s = 0
  for (const v of x) s += v * v
  const inv = 1 / Math.sqrt(s / x.length + eps)
  return x.map((v, i) => v * inv * w[i]!)
}

/**
 * Float64 reference of LlamaDecoder, one token at a time (requests are independent, so batching
 * does not change the math): RMSNorm, QKV, rotate-half RoPE at position corpus tokens + KV index,
 * attention of each query head over its own keys [0, p] and the corpus (MoSKA: the top-k chunks of
 * the group-mean query · chunk centroid, higher score first, ties to the lower chunk id, as the
 * router kernel ranks them; other systems: the whole corpus), o_proj + residual, SwiGLU MLP +
 * residual, final norm, LM head. Centroids are float64 means of the corpus keys.
 * @example const ref = DecoderRef.synthetic(cfg); const { logits } = ref.forward(0, [1, 2, 3], 0)
 */
export class DecoderRef {
  private readonly kv = new Map<number, { k: Float64Array[]; v: Float64Array[] }>()
  private readonly centroids: Float64Array[]
  private readonly invFreq: Float64Array

  constructor(readonly cfg: DecoderRefConfig) {
    const { dims } = cfg
    const D = dims.headDim
    const row = dims.kvHeads * D
    this.invFreq = Float64Array.from({ length: D / 2 }, (_, i) => dims.ropeTheta ** ((-2 * i) / D))
    const c = cfg.corpus
    this.centroids = []
    if (c !== null) {
      const N = Math.ceil(c.tokens / c.chunkTokens)
      for (let l = 0; l < dims.layers; l++) {
        const cent = new Float64Array(N * row)
        for (let n = 0; n < N; n++) {
          const t0 = n * c.chunkTokens
          const t1 = Math.min(c.tokens, t0 + c.chunkTokens)
          for (let t = t0; t < t1; t++) for (let j = 0; j < row; j++) cent[n * row + j]! += c.k[l]![t * row + j]!
          for (let j = 0; j < row; j++) cent[n * row + j]! /= t1 - t0
        }
        this.centroids.push(cent)
      }
    }
  }

  /** The reference of a decoder with synthetic weights and corpus (same seed, same values as the GPU fills). */
  static synthetic(x: { dims: DecoderDims; maxContext: number; system: DecoderSystem; seed: number; corpus: { tokens: number; chunkTokens: number; topK: number } | null }): DecoderRef {
    const corpus = x.corpus === null ? null : { ...syntheticCorpus(x.dims, x.corpus.tokens, x.corpus.chunkTokens, x.seed), ...x.corpus }
    return new DecoderRef({ dims: x.dims, maxContext: x.maxContext, system: x.system, weights: syntheticWeights(x.dims, x.seed), corpus })
  }

  release(slot: number): void {
    this.kv.delete(slot)
  }

  private w(name: string): Float32Array {
    const a = this.cfg.weights.get(name)
    if (a === undefined) throw new Error(`DecoderRef: weight ${name} missing`)
    return a
  }

  /** Runs `tokens` at KV indices [start, start + n) of `slot`; returns each token's next-token logits. */
  forward(slot: number, tokens: ArrayLike<number>, start: number): RefOutput {
    const { dims, corpus } = this.cfg
    const { hidden: H, qHeads: Hq, kvHeads: Hkv, headDim: D, intermediate: I, vocab: V } = dims
    const G = Hq / Hkv
    const row = Hkv * D
    let cache = this.kv.get(slot)
    if (cache === undefined) {
      cache = { k: [], v: [] }
      for (let l = 0; l < dims.layers; l++) {
        cache.k.push(new Float64Array(this.cfg.maxContext * row))
        cache.v.push(new Float64Array(this.cfg.maxContext * row))
      }
      this.kv.set(slot, cache)
    }
    const S = corpus?.tokens ?? 0
    const N = corpus === null ? 0 : Math.ceil(S / corpus.chunkTokens)
    const rowsPerChunk = new Map<number, number>()
    const logits: Float64Array[] = []
    const lm = this.cfg.weights.get("lm_head.weight") ?? this.w("model.embed_tokens.weight")
    for (let i = 0; i < tokens.length; i++) {
      const p = start + i
      const pos = S + p
      const emb = this.w("model.embed_tokens.weight")
      let x = Float64Array.from(emb.subarray(tokens[i]! * H, tokens[i]! * H + H))
      for (let l = 0; l < dims.layers; l++) {
        const pre = `model.layers.${l}.`
        const xn = rmsNorm(x, this.w(`${pre}input_layernorm.weight`), dims.rmsEps)
        const q = matvec(this.w(`${pre}self_attn.q_proj.weight`), xn, Hq * D, H)
        const k = matvec(this.w(`${pre}self_attn.k_proj.weight`), xn, row, H)
        const v = matvec(this.w(`${pre}self_attn.v_proj.weight`), xn, row, H)
        const rope = (a: Float64Array, heads: number): void => {
          for (let h = 0; h < heads; h++)
            for (let j = 0; j < D / 2; j++) {
              const ang = pos * this.invFreq[j]!
              const c = Math.cos(ang)
              const s = Math.sin(ang)
              const x1 = a[h * D + j]!
              const x2 = a[h * D + D / 2 + j]!
              a[h * D + j] = x1 * c - x2 * s
              a[h * D + D / 2 + j] = x2 * c + x1 * s
            }
        }
        rope(q, Hq)
        rope(k, Hkv)
        cache.k[l]!.set(k, p * row)
        cache.v[l]!.set(v, p * row)
        const attn = new Float64Array(Hq * D)
        for (let h = 0; h < Hkv; h++) {
          // Corpus tokens this KV head's group attends.
          let corpusTokens: number[] = []
          if (corpus !== null) {
            let chunks = Array.from({ length: N }, (_, c) => c)
            if (this.cfg.system === "moska") {
              const cent = this.centroids[l]!
              const score = chunks.map((c) => {
                let s = 0
                for (let g = 0; g < G; g++) for (let d = 0; d < D; d++) s += q[(h * G + g) * D + d]! * cent[c * row + h * D + d]!
                return s / G
              })
              chunks = chunks.sort((a, b) => score[b]! - score[a]! || a - b).slice(0, corpus.topK)
              for (const c of chunks) rowsPerChunk.set(c, (rowsPerChunk.get(c) ?? 0) + G)
            }
            corpusTokens = chunks.flatMap((c) => Array.from({ length: Math.min(corpus.chunkTokens, S - c * corpus.chunkTokens) }, (_, t) => c * corpus.chunkTokens + t))
          }
          for (let g = 0; g < G; g++) {
            const hq = h * G + g
            const keys: Array<{ k: ArrayLike<number>; v: ArrayLike<number>; o: number }> = []
            for (let t = 0; t <= p; t++) keys.push({ k: cache.k[l]!, v: cache.v[l]!, o: t * row + h * D })
            for (const t of corpusTokens) keys.push({ k: corpus!.k[l]!, v: corpus!.v[l]!, o: t * row + h * D })
            const sc = keys.map((e) => {
              let s = 0
              for (let d = 0; d < D; d++) s += q[hq * D + d]! * e.k[e.o + d]!
              return s / Math.sqrt(D)
            })
            const m = Math.max(...sc)
            let sum = 0
            keys.forEach((e, j) => {
              const wgt = Math.exp(sc[j]! - m)
              sum += wgt
              for (let d = 0; d < D; d++) attn[hq * D + d]! += wgt * e.v[e.o + d]!
            })
            for (let d = 0; d < D; d++) attn[hq * D + d]! /= sum
          }
        }
        const o = matvec(this.w(`${pre}self_attn.o_proj.weight`), attn, H, Hq * D)
        x = x.map((a, j) => a + o[j]!)
        const xn2 = rmsNorm(x, this.w(`${pre}post_attention_layernorm.weight`), dims.rmsEps)
        const gt = matvec(this.w(`${pre}mlp.gate_proj.weight`), xn2, I, H)
        const up = matvec(this.w(`${pre}mlp.up_proj.weight`), xn2, I, H)
        const act = gt.map((a, j) => (a / (1 + Math.exp(-a))) * up[j]!)
        const dn = matvec(this.w(`${pre}mlp.down_proj.weight`), act, H, I)
        x = x.map((a, j) => a + dn[j]!)
      }
      logits.push(matvec(lm, rmsNorm(x, this.w("model.norm.weight"), dims.rmsEps), V, H))
    }
    return { logits, rowsPerChunk }
  }
}
