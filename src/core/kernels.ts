import type { DType } from "./dtype.js"
import type { LinkSpec } from "./hardware.js"

/** Bytes of an activation element moved between kernels (q, o partials): bf16. */
export const ACTIVATION_BYTES = 2
/** Bytes of a log-sum-exp or merge partial element: fp32. */
export const PARTIAL_BYTES = 4

/**
 * GPU work as the cost models, executors and benchmarks describe it. One spec may stand for a
 * whole decode iteration across all layers (`layers`), so a worker can price a batch in one call.
 * Counts are exact integers; FLOPs count 2 per multiply-add.
 */
export type KernelSpec =
  | GemmSpec
  | DecodeAttentionSpec
  | SharedAttentionSpec
  | RouterSpec
  | MergeSpec
  | TransferSpec

/** C[m×n] = A[m×k]·B[k×n], repeated `count` times (e.g. once per layer). Dense layers use this. */
export interface GemmSpec {
  readonly kind: "gemm"
  readonly m: number
  readonly n: number
  readonly k: number
  /** Math and operand type (weights are read in this type). */
  readonly dtype: DType
  readonly count: number
  readonly label?: string
}

/** Per-request decode attention (GEMV-like), flash-decoding with split-K. */
export interface DecodeAttentionSpec {
  readonly kind: "decodeAttention"
  /** Requests in the batch. */
  readonly requests: number
  /** Sum over requests of attended context tokens. */
  readonly totalTokens: number
  /** Longest attended context in the batch (sets split-K and the tail). */
  readonly maxTokens: number
  readonly qHeads: number
  readonly kvHeads: number
  readonly headDim: number
  readonly layers: number
  readonly kvDtype: DType
  readonly mathDtype: DType
}

/**
 * Stacked shared-KV attention: for each (chunk, KV head) unit, the routed requests' queries
 * (× GQA group) are stacked as rows of one GEMM over the chunk's keys and values.
 * `histogram` is for one layer; all `layers` are assumed to route alike.
 */
export interface SharedAttentionSpec {
  readonly kind: "sharedAttention"
  readonly chunkTokens: number
  /** `units` (chunk, KV head) pairs each attended by `queries` requests (rows = queries × groupSize). */
  readonly histogram: ReadonlyArray<{ readonly queries: number; readonly units: number }>
  readonly kvHeads: number
  readonly groupSize: number
  readonly headDim: number
  readonly layers: number
  readonly kvDtype: DType
  readonly mathDtype: DType
}

/** Router scoring (queries × chunk centroids per KV head) and top-k selection. */
export interface RouterSpec {
  readonly kind: "router"
  readonly requests: number
  readonly chunks: number
  readonly topK: number
  readonly kvHeads: number
  readonly groupSize: number
  readonly headDim: number
  readonly layers: number
  readonly dtype: DType
}

/** n-way log-sum-exp merge of partial outputs. */
export interface MergeSpec {
  readonly kind: "merge"
  /** Output rows (request × query head). */
  readonly rows: number
  /** Partials per row (1 unique + selected chunks). */
  readonly ways: number
  readonly headDim: number
  readonly layers: number
}

/** Bytes moved between nodes over a link, in `messages` separate transfers. */
export interface TransferSpec {
  readonly kind: "transfer"
  readonly bytes: number
  readonly messages: number
  readonly link: LinkSpec
}

export type KernelKind = KernelSpec["kind"]
export const KERNEL_KINDS: readonly KernelKind[] = ["gemm", "decodeAttention", "sharedAttention", "router", "merge", "transfer"]
