import type { DecoderDims } from "../../src/gpu/decoder/decoderDims.js"
import type { DecoderConfig, DecoderSystem } from "../../src/gpu/decoder/llamaDecoder.js"

/** The decoder tests' dims: 2 layers, hidden 128, 4 q / 2 KV heads of 32, MLP 256, vocab 256. */
export const TINY: DecoderDims = { layers: 2, hidden: 128, qHeads: 4, kvHeads: 2, headDim: 32, intermediate: 256, vocab: 256, ropeTheta: 10000, rmsEps: 1e-5 }

/** 4 slots of 64 tokens, a 256-token corpus in chunks of 64 (top-2), scratch poisoned, 16-row shared tiles (fast lavapipe compiles). */
export const tinyConfig = (system: DecoderSystem, over: Partial<DecoderConfig> = {}): DecoderConfig => ({
  dims: TINY,
  slots: 4,
  maxContext: 64,
  corpus: { tokens: 256, chunkTokens: 64, topK: 2 },
  system,
  seed: 11,
  maxBatchTokens: 32,
  sharedRowTile: 16,
  poison: true,
  ...over,
})
