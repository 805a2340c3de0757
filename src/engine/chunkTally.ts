import type { ChunkStats } from "../core/trace.js"
import type { ChunkCount } from "./iterationWork.js"

interface Pending {
  counts: Int32Array
  maxRows: number
  n: number
}

/**
 * Accumulates a run's per-chunk facts (`ChunkStats`) as batches are formed, cheaply enough for
 * fast mode: a batch whose per-chunk counts are the same (immutable) array as its source's last one
 * only bumps a repeat count, and the O(chunks) fold happens when the array changes (a join or
 * leave) or at the end. Random laws give no chunk ids in fast mode, so their rows and GEMMs per
 * chunk are the law's expectation (`basis: "expected"`), from how many batches had each query total.
 * @example const t = new ChunkTally(1024, () => routing.inclusion()); t.counted(0, counts, Infinity); t.finish()
 */
export class ChunkTally {
  private readonly rows: Float64Array
  private readonly gemms: Float64Array
  private readonly pending = new Map<number, Pending>()
  private counted_ = false
  /** Random law: batches by query total, and whether any batch was capped (its GEMM count is then unknown). */
  private readonly byQueries = new Map<number, number>()
  private capped = false
  private readonly sizes = new Map<number, number>()
  private lastHistogram: readonly ChunkCount[] | undefined
  private lastRepeats = 0

  constructor(
    private readonly chunks: number,
    private readonly inclusion: () => Float64Array,
  ) {
    this.rows = new Float64Array(chunks)
    this.gemms = new Float64Array(chunks)
  }

  /** One batch with these per-chunk query counts from `source` (a replica, or the pool's merged rounds); chunks over `maxRows` split. */
  counted(source: number, counts: Int32Array, maxRows: number): void {
    this.counted_ = true
    const p = this.pending.get(source)
    if (p !== undefined && p.counts === counts && p.maxRows === maxRows) {
      p.n++
      return
    }
    if (p !== undefined) this.fold(p)
    this.pending.set(source, { counts, maxRows, n: 1 })
  }

  /** One GEMM of `rows` query rows on `chunk` (exact mode). */
  exact(chunk: number, rows: number): void {
    this.counted_ = true
    this.rows[chunk] = (this.rows[chunk] as number) + rows
    this.gemms[chunk] = (this.gemms[chunk] as number) + 1
    this.addSize(rows, 1)
  }

  /** One batch of `queries` queries drawn from the random law; `capped` when a batch cap may have split chunks. */
  expected(queries: number, capped: boolean): void {
    this.byQueries.set(queries, (this.byQueries.get(queries) ?? 0) + 1)
    if (capped) this.capped = true
  }

  /** Random law: the per-chunk histogram one batch priced (after any cap), for its GEMMs by rows (counted batches size theirs from the counts). */
  priced(histogram: readonly ChunkCount[]): void {
    if (histogram === this.lastHistogram) {
      this.lastRepeats++
      return
    }
    this.foldSizes()
    this.lastHistogram = histogram
    this.lastRepeats = 1
  }

  /** The run's facts: chunks that stacked any rows, and GEMM sizes, both ascending. */
  finish(): ChunkStats {
    for (const p of this.pending.values()) this.fold(p)
    this.pending.clear()
    this.foldSizes()
    this.lastHistogram = undefined
    const chunks: Array<ChunkStats["chunks"][number]> = []
    if (this.counted_) {
      for (let c = 0; c < this.chunks; c++) {
        const rows = this.rows[c] as number
        if (rows > 0) chunks.push({ chunkId: c, rows, gemms: this.gemms[c] as number, basis: "counted" })
      }
    } else if (this.byQueries.size > 0) {
      const pi = this.inclusion()
      for (let c = 0; c < this.chunks; c++) {
        const p = Math.min(1, pi[c] ?? 0)
        if (p <= 0) continue
        let rows = 0
        let gemms = 0
        // a batch of Q independent queries stacks Q·p rows on the chunk and attends it with probability 1 − (1 − p)^Q
        for (const [q, n] of this.byQueries) {
          rows += n * q * p
          gemms += n * (1 - Math.pow(1 - p, q))
        }
        chunks.push({ chunkId: c, rows, gemms: this.capped ? null : gemms, basis: "expected" })
      }
    }
    const gemmSizes = [...this.sizes.entries()].sort((a, b) => a[0] - b[0]).map(([rows, gemms]) => ({ rows, gemms }))
    return { chunks, gemmSizes }
  }

  private fold(p: Pending): void {
    const { counts, maxRows, n } = p
    for (let c = 0; c < counts.length; c++) {
      const q = counts[c] as number
      if (q <= 0) continue
      this.rows[c] = (this.rows[c] as number) + q * n
      if (q <= maxRows) {
        this.gemms[c] = (this.gemms[c] as number) + n
        this.addSize(q, n)
      } else {
        // split as `capRows` splits it: full GEMMs of maxRows and one of the rest
        const full = Math.floor(q / maxRows)
        const rest = q - full * maxRows
        this.gemms[c] = (this.gemms[c] as number) + (full + (rest > 0 ? 1 : 0)) * n
        this.addSize(maxRows, full * n)
        if (rest > 0) this.addSize(rest, n)
      }
    }
  }

  private foldSizes(): void {
    const h = this.lastHistogram
    if (h === undefined) return
    for (const { queries, units } of h) if (queries > 0 && units > 0) this.addSize(queries, units * this.lastRepeats)
    this.lastHistogram = undefined
    this.lastRepeats = 0
  }

  private addSize(rows: number, gemms: number): void {
    this.sizes.set(rows, (this.sizes.get(rows) ?? 0) + gemms)
  }
}
