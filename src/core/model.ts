/**
 * Transformer dimensions that decide attention and dense-layer cost. Presets come from the
 * public Hugging Face configs (see `MODEL_PRESETS`).
 * @example MODEL_PRESETS["llama-3.1-8b"].kvHeads // 8
 */
export interface ModelSpec {
  readonly name: string
  readonly layers: number
  readonly hidden: number
  readonly qHeads: number
  readonly kvHeads: number
  readonly headDim: number
  readonly ffn: number
  readonly vocab: number
  /** Total parameters (embedding included), for dense-layer FLOPs and weight bytes. */
  readonly params: number
}

/** Public configs: meta-llama/Llama-3.1-8B and -70B `config.json`. */
export const MODEL_PRESETS = {
  "llama-3.1-8b": {
    name: "llama-3.1-8b", layers: 32, hidden: 4096, qHeads: 32, kvHeads: 8, headDim: 128,
    ffn: 14336, vocab: 128256, params: 8.03e9,
  },
  "llama-3.1-70b": {
    name: "llama-3.1-70b", layers: 80, hidden: 8192, qHeads: 64, kvHeads: 8, headDim: 128,
    ffn: 28672, vocab: 128256, params: 70.6e9,
  },
} as const satisfies Record<string, ModelSpec>
export type ModelPreset = keyof typeof MODEL_PRESETS

/** GQA group size: query heads that share one KV head. */
export const groupSize = (m: ModelSpec): number => m.qHeads / m.kvHeads

/** KV bytes per context token over all layers (K and V). */
export const kvBytesPerToken = (m: ModelSpec, bytesPerElement: number): number =>
  2 * m.layers * m.kvHeads * m.headDim * bytesPerElement

/** Attention FLOPs per (generated token, context token) over all layers: QKᵀ and PV, 2 per MAC. */
export const attnFlopsPerContextToken = (m: ModelSpec): number => 4 * m.layers * m.qHeads * m.headDim
