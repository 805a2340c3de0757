import type { KvFormat } from "../kvFormat.js"

/**
 * One MoSKA attention layer's inputs, as the numerics CLI reads them (.npy, f32, C order):
 * q [B, Hq, D]; shared K/V [S, Hkv, D]; unique K/V [B, U, Hkv, D]; uniqueLen [B] (valid prefix).
 * The shared corpus is cut into chunks of `chunkTokens` (the last may be short); each (request,
 * KV head) routes to its `topK` best chunks. Scale is 1/sqrt(D).
 * @example const p: MoskaProblem = { B: 2, Hq: 8, Hkv: 2, D: 16, S: 512, U: 64, ..., chunkTokens: 128, topK: 2, format: "f32" }
 */
export interface MoskaProblem {
  readonly B: number
  readonly Hq: number
  readonly Hkv: number
  readonly D: number
  readonly S: number
  readonly U: number
  readonly q: Float32Array
  readonly sharedK: Float32Array
  readonly sharedV: Float32Array
  readonly uniqueK: Float32Array
  readonly uniqueV: Float32Array
  readonly uniqueLen: Int32Array
  readonly chunkTokens: number
  readonly topK: number
  readonly format: KvFormat
}

export interface MoskaResult {
  /** [B, Hq, D] */
  readonly out: Float32Array
  /** [B, Hq], natural log; -inf for a row that attended no key. */
  readonly lse: Float32Array
  /** [B, Hkv, K], the router's choice, best first. */
  readonly chunks: Int32Array
}

export const chunkCount = (p: Pick<MoskaProblem, "S" | "chunkTokens">): number => Math.ceil(p.S / p.chunkTokens)
