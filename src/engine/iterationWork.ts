import type { KernelSpec, SharedAttentionSpec, TransferSpec } from "../core/kernels.js"
import { groupSize } from "../core/model.js"
import type { Resolved } from "./resolved.js"
import { ACTIVATION_BYTES, PARTIAL_BYTES } from "../core/kernels.js"

/** `units` chunks each attended by `queries` routed queries (one per decoding request). */
export interface ChunkCount {
  readonly queries: number
  readonly units: number
}

/** Unique contexts of the decoding requests. */
export interface UniqueContexts {
  readonly count: number
  readonly totalTokens: number
  readonly maxTokens: number
}

/** The state of one decode iteration's batch, as the pricing needs it. */
export interface BatchState {
  /** Requests decoding in this iteration. */
  readonly decoding: number
  readonly unique: UniqueContexts
  /** Per-chunk query histogram (one layer; all layers route alike). Ignored by private/prefix/cascade. */
  readonly histogram: readonly ChunkCount[]
}

/** The setup facts `iterationWork` reads (a `Resolved` satisfies it). */
export type WorkSetup = Pick<Resolved, "system" | "model" | "precision" | "corpus" | "disaggregated" | "link" | "weightBytes">

/** Kernels of one decode iteration (or one sub-step of it), by where they run. */
export interface IterationWork {
  /** On the unique worker: dense layers, router, per-request attention, merge (and shared attention when not disaggregated). */
  readonly unique: readonly KernelSpec[]
  /** On the Shared-KV worker (disaggregated moska only). */
  readonly shared: readonly KernelSpec[]
  /** q (and chunk ids) to the Shared-KV pool. */
  readonly toShared: readonly TransferSpec[]
  /** merged o and lse back. */
  readonly fromShared: readonly TransferSpec[]
}

/**
 * The one source of truth for what a decode iteration costs: workers price iterations through
 * this, and the hardware-model reproduction reuses it. `layers` lets a caller price one layer
 * (per-layer granularity) or all of them. Pure.
 *
 * - private / prefix: dense + per-request attention over unique + shared context (GEMV);
 * - cascade: dense + per-request unique attention + all chunks attended with every query stacked + 2-way merge;
 * - moska: dense + router + unique attention + routed per-chunk stacked attention + (1 + k)-way merge;
 *   with `disaggregated`, the shared attention runs on the Shared-KV pool, with q sent and the
 *   merged (o, lse) returned over the link once per layer.
 * @example iterationWork(resolved, { decoding: 64, unique: { count: 64, totalTokens: 64 * 65536, maxTokens: 65536 }, histogram: [{ queries: 16, units: 64 }] })
 */
export const iterationWork = (setup: WorkSetup, batch: BatchState, layers: number = setup.model.layers): IterationWork => {
  const m = setup.model
  const { kv, math } = setup.precision
  const B = batch.decoding
  const G = groupSize(m)
  if (B === 0) return { unique: [], shared: [], toShared: [], fromShared: [] }
  const fixed = fixedSpecs(setup, B, layers)
  const unique: KernelSpec[] = [fixed.dense]
  const attention = (totalTokens: number, maxTokens: number): KernelSpec => ({
    kind: "decodeAttention", requests: B, totalTokens, maxTokens,
    qHeads: m.qHeads, kvHeads: m.kvHeads, headDim: m.headDim, layers, kvDtype: kv, mathDtype: math,
  })
  const S = setup.corpus.sharedTokens
  const sharedSpec = (histogram: readonly ChunkCount[]): SharedAttentionSpec => ({
    kind: "sharedAttention", chunkTokens: setup.corpus.chunkTokens,
    histogram: histogram.map((h) => ({ queries: h.queries, units: h.units * m.kvHeads })),
    kvHeads: m.kvHeads, groupSize: G, headDim: m.headDim, layers, kvDtype: kv, mathDtype: math,
  })
  const merge = (ways: number): KernelSpec => (ways === 2 ? fixed.merge2 : { kind: "merge", rows: B * m.qHeads, ways, headDim: m.headDim, layers })
  switch (setup.system) {
    case "private":
    case "prefix":
      unique.push(attention(batch.unique.totalTokens + B * S, batch.unique.maxTokens + S))
      return { unique, shared: [], toShared: [], fromShared: [] }
    case "cascade":
      unique.push(attention(batch.unique.totalTokens, batch.unique.maxTokens))
      unique.push(sharedSpec([{ queries: B, units: setup.corpus.chunks }]))
      unique.push(merge(2))
      return { unique, shared: [], toShared: [], fromShared: [] }
    case "moska": {
      unique.push(fixed.router)
      unique.push(attention(batch.unique.totalTokens, batch.unique.maxTokens))
      const touched = batch.histogram.filter((h) => h.queries > 0 && h.units > 0)
      if (!setup.disaggregated) {
        if (touched.length > 0) unique.push(sharedSpec(touched))
        unique.push(merge(1 + setup.corpus.topK))
        return { unique, shared: [], toShared: [], fromShared: [] }
      }
      unique.push(fixed.merge2)
      if (touched.length === 0) return { unique, shared: [], toShared: [], fromShared: [] }
      const rows = B * m.qHeads
      const shared: KernelSpec[] = [sharedSpec(touched), { kind: "merge", rows, ways: setup.corpus.topK, headDim: m.headDim, layers }]
      const toShared: TransferSpec = {
        kind: "transfer", bytes: (rows * m.headDim * ACTIVATION_BYTES + B * setup.corpus.topK * 4) * layers, messages: layers, link: setup.link,
      }
      const fromShared: TransferSpec = {
        kind: "transfer", bytes: rows * (m.headDim * ACTIVATION_BYTES + PARTIAL_BYTES) * layers, messages: layers, link: setup.link,
      }
      return { unique, shared, toShared: [toShared], fromShared: [fromShared] }
    }
  }
}

/**
 * The unique side of a disaggregated moska iteration alone (dense, router, unique attention,
 * 2-way merge), the same kernels `iterationWork(...).unique` gives: it does not depend on the
 * histogram, and a unique worker that reuses its last shared side builds only this, every step.
 * @example disaggregatedUniqueWork(resolved, 64, { count: 64, totalTokens: 64 * 4096, maxTokens: 4096 }, 32)
 */
export const disaggregatedUniqueWork = (setup: WorkSetup, B: number, unique: UniqueContexts, layers: number = setup.model.layers): readonly KernelSpec[] => {
  if (B === 0) return []
  const m = setup.model
  const fixed = fixedSpecs(setup, B, layers)
  const attention: KernelSpec = {
    kind: "decodeAttention", requests: B, totalTokens: unique.totalTokens, maxTokens: unique.maxTokens,
    qHeads: m.qHeads, kvHeads: m.kvHeads, headDim: m.headDim, layers, kvDtype: setup.precision.kv, mathDtype: setup.precision.math,
  }
  return [fixed.dense, fixed.router, attention, fixed.merge2]
}

/** The kernels of an iteration that depend only on the batch size and the layers. */
interface FixedSpecs {
  readonly dense: KernelSpec
  readonly router: KernelSpec
  readonly merge2: KernelSpec
}

// Per setup, the B-only kernels by (layers, B): consecutive iterations of an unchanged batch hand
// out the same spec objects, so the priced executor reuses their prices (it compares kernels by
// identity) instead of pricing them again every iteration. Specs are read-only values.
const fixedCache = new WeakMap<WorkSetup, Map<number, Map<number, FixedSpecs>>>()
const fixedSpecs = (setup: WorkSetup, B: number, layers: number): FixedSpecs => {
  let byLayers = fixedCache.get(setup)
  if (byLayers === undefined) {
    byLayers = new Map()
    fixedCache.set(setup, byLayers)
  }
  let byB = byLayers.get(layers)
  if (byB === undefined) {
    byB = new Map()
    byLayers.set(layers, byB)
  }
  let f = byB.get(B)
  if (f === undefined) {
    if (byB.size > 4096) byB.clear()
    const m = setup.model
    f = {
      dense: denseGemm(setup, B, layers),
      router: {
        kind: "router", requests: B, chunks: setup.corpus.chunks, topK: setup.corpus.topK,
        kvHeads: m.kvHeads, groupSize: groupSize(m), headDim: m.headDim, layers, dtype: setup.precision.math,
      },
      merge2: { kind: "merge", rows: B * m.qHeads, ways: 2, headDim: m.headDim, layers },
    }
    byB.set(B, f)
  }
  return f
}

/**
 * Dense layers of `tokens` tokens (all projections, FFN and LM head): one GEMM with `params`
 * weights read once, `2 · params` FLOPs per token. The weight format sets bytes and math rate.
 */
export const denseGemm = (setup: Pick<WorkSetup, "model" | "precision">, tokens: number, layers: number): KernelSpec => {
  const m = setup.model
  return {
    kind: "gemm", m: tokens, k: m.hidden, n: Math.max(1, Math.round(m.params / (m.hidden * m.layers))),
    dtype: setup.precision.weights, count: layers, label: "dense",
  }
}

/**
 * Prefill of newly admitted requests' unique prompts (the shared corpus is not re-read at
 * prefill: its KV already exists): dense layers over all prompt tokens in one GEMM, and per
 * request causal self-attention as stacked attention over half the prompt on average.
 */
export const prefillWork = (setup: Pick<WorkSetup, "model" | "precision">, promptTokens: readonly number[]): KernelSpec[] => {
  const m = setup.model
  let total = 0
  for (const u of promptTokens) total += u
  if (total === 0) return []
  const specs: KernelSpec[] = [denseGemm(setup, total, m.layers)]
  for (const u of promptTokens) {
    specs.push({
      kind: "sharedAttention", chunkTokens: Math.max(1, Math.ceil(u / 2)), histogram: [{ queries: u, units: m.kvHeads }],
      kvHeads: m.kvHeads, groupSize: groupSize(m), headDim: m.headDim, layers: m.layers,
      kvDtype: setup.precision.kv, mathDtype: setup.precision.math,
    })
  }
  return specs
}
