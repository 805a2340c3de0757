import type { Rng } from "../core/rng.js"
import type { ChunkCount } from "./iterationWork.js"

/**
 * Port: the routing source. How decoding requests pick shared chunks, as the graph needs it for
 * pricing and batching: sim mode samples a seeded law (src/sim/routing); live mode reports what the GPU
 * router chose. Each unique worker holds a `RouteTracker`
 * that follows its decode set (trace routing needs to know who is decoding; random routing does not).
 *
 * - fast mode: `histogram` draws the per-chunk query counts of a whole batch from the routing
 *   law in O(chunks) or better, never O(requests · k);
 * - exact mode: `routeExact` routes each request to its chunks explicitly (small scenarios).
 * @example const t = routing.tracker(); t.join(7, spec.blocks); t.histogram(32, rng)
 */
export interface RoutingModel {
  readonly kind: "uniform" | "zipf" | "trace"
  readonly chunks: number
  readonly topK: number
  /** Probability that one query selects chunk j (sum = topK for random routing). For tests and reports. */
  inclusion(): Float64Array
  /**
   * Per-chunk counts of `queries` independent queries under random routing (uniform/zipf), as a
   * histogram; the batcher uses it for merged batches. Trace routing returns [] (its counts come
   * from trackers).
   */
  drawHistogram(queries: number, rng: Rng): ChunkCount[]
  tracker(): RouteTracker
}

export interface RouteTracker {
  /** A request joins the decode set. `blocks` are its trace block ids (trace routing). */
  join(requestId: number, blocks: readonly number[] | undefined): void
  leave(requestId: number): void
  /** Fast mode: per-chunk query histogram of the current decode set (`decoding` requests). */
  histogram(decoding: number, rng: Rng): ChunkCount[]
  /**
   * Fast mode, for merging across submissions: per-chunk counts of the current set, or undefined
   * when the law is the same for every query (random routing: merge by query totals instead).
   * The array is a snapshot the tracker never changes afterwards; while the decode set is
   * unchanged a tracker may return the same array again, so callers may cache on its identity.
   */
  counts(): Int32Array | undefined
  /** Exact mode: per-chunk routed request ids for one decode step of `requestIds`. */
  routeExact(requestIds: readonly number[], rng: Rng): Map<number, number[]>
}

/** Histogram of a per-chunk count array (O(chunks)). */
export const histogramOfCounts = (counts: Int32Array): ChunkCount[] => {
  const byQ = new Map<number, number>()
  for (let j = 0; j < counts.length; j++) {
    const q = counts[j] as number
    if (q > 0) byQ.set(q, (byQ.get(q) ?? 0) + 1)
  }
  return [...byQ.entries()].sort((a, b) => a[0] - b[0]).map(([queries, units]) => ({ queries, units }))
}
