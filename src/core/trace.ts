import type { Ns } from "./units.js"

/** How a request ended. */
export type RequestStatus = "completed" | "rejected" | "failed" | "cancelled"

/** One request's lifecycle, written once when it ends. Times are ns of the run's clock. */
export interface RequestRow {
  readonly requestId: number
  readonly arrivalNs: Ns
  readonly admittedNs: Ns | null
  readonly firstTokenNs: Ns | null
  readonly finishedNs: Ns | null
  /** Unique (per-request) context tokens. */
  readonly uniqueTokens: number
  /** Output tokens requested by the workload. */
  readonly requestedTokens: number
  /** Output tokens actually generated. */
  readonly outputTokens: number
  readonly status: RequestStatus
  /** Why it did not complete (tagged error name and message), else null. */
  readonly reason: string | null
  /** The client's id for the request (serving: `x-request-id`); absent (NULL) in sim and replay. */
  readonly externalId?: string | null
}

/** One batch of GPU work as executed. */
export interface KernelRow {
  readonly workerId: string
  readonly kind: string
  readonly chunkId: number | null
  /** Stacked query rows or requests in the batch. */
  readonly queries: number
  readonly startNs: Ns
  readonly endNs: Ns
  readonly flops: number
  readonly bytes: number
  /** Live: GPU time of the work measured with timestamp queries (ns); absent in sim. */
  readonly gpuNs?: number
  /** Live: the cost model's price of the same work (ns); absent in sim, where it is `endNs − startNs`. */
  readonly predictedNs?: number
}

/** Optional per-token detail (trace level `tokens`). */
export interface TokenRow {
  readonly requestId: number
  readonly index: number
  readonly atNs: Ns
}

/**
 * Per-chunk facts of a whole run (moska), written once at its end: how many query rows each shared
 * chunk stacked and in how many GEMMs, and how many GEMMs stacked each number of rows.
 */
export interface ChunkStats {
  readonly chunks: ReadonlyArray<{
    readonly chunkId: number
    /** Query rows stacked on the chunk, summed over the run's batches. */
    readonly rows: number
    /** Chunk GEMMs (one per batch that attended the chunk, more where a batch cap split it); null where not known. */
    readonly gemms: number | null
    /** `counted` from routed queries (trace routing, exact mode); `expected` from the random law (fast mode draws no chunk ids). */
    readonly basis: "counted" | "expected"
  }>
  /** GEMMs by stacked rows (as priced: after any batch cap), every routing law and mode. */
  readonly gemmSizes: ReadonlyArray<{ readonly rows: number; readonly gemms: number }>
}

/**
 * Port: where lifecycle facts go. The SQLite writer batches them into transactions; tests use an
 * in-memory collector. Calls are synchronous and must not reorder rows.
 * @example sink.request(row); sink.flush()
 */
export interface TraceSink {
  request(row: RequestRow): void
  kernel(row: KernelRow): void
  token(row: TokenRow): void
  /** The run's per-chunk facts, once at its end (sinks that do not keep them leave it out). */
  chunkStats?(stats: ChunkStats): void
  /** The run's last row has arrived (the engine stopped): sinks holding partial sums (trace level `totals`) hand them to the next flush. */
  finish?(): void
  /** Writes everything buffered so far. */
  flush(): void
}
