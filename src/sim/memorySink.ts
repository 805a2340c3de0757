import type { ChunkStats, KernelRow, RequestRow, TokenRow, TraceSink } from "../core/trace.js"

/**
 * An in-memory `TraceSink` (tests, benchmarks): keeps every row in arrays, in arrival order.
 * With `keep: false` it only counts rows, for runs too large to hold.
 * @example const sink = new MemorySink(); runSimulation({ scenario, sink }); sink.requests.length
 */
export class MemorySink implements TraceSink {
  readonly requests: RequestRow[] = []
  readonly kernels: KernelRow[] = []
  readonly tokens: TokenRow[] = []
  counts = { requests: 0, kernels: 0, tokens: 0, flushes: 0 }

  constructor(private readonly keep = true) {}

  request(row: RequestRow): void {
    this.counts.requests++
    if (this.keep) this.requests.push(row)
  }
  kernel(row: KernelRow): void {
    this.counts.kernels++
    if (this.keep) this.kernels.push(row)
  }
  token(row: TokenRow): void {
    this.counts.tokens++
    if (this.keep) this.tokens.push(row)
  }
  /** The run's per-chunk facts (moska), once at its end. */
  chunks: ChunkStats | undefined
  chunkStats(stats: ChunkStats): void {
    this.chunks = stats
  }
  flush(): void {
    this.counts.flushes++
  }
}
