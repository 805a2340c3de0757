/** Summary of recorded lags, ns. Percentiles are nearest-rank over the histogram (within ~1.6%). */
export interface LagStats {
  readonly n: number
  readonly meanNs: number
  readonly p50Ns: number
  readonly p99Ns: number
  readonly maxNs: number
}

// Log-linear buckets (HdrHistogram's layout with 6 sub-bucket bits): values below 64 ns get a bucket
// each, every power-of-two range above is split into 64 equal buckets. That bounds the relative error
// at 1/64 from 1 ns to 2^53 ns in 3,072 counters, so memory stays fixed however long the run is.
const SUB_BITS = 6
const SUB = 1 << SUB_BITS
const MAX_EXP = 53
const BUCKETS = SUB + (MAX_EXP - SUB_BITS) * SUB

const bucketOf = (v: number): number => {
  if (v < SUB) return v
  let e = Math.floor(Math.log2(v))
  // log2 of values just below a power of two can round up; correct so that 2^e ≤ v < 2^(e+1)
  if (2 ** e > v) e--
  else if (2 ** (e + 1) <= v) e++
  const shift = e - SUB_BITS
  const sub = Math.floor(v / 2 ** shift) - SUB
  return Math.min(BUCKETS - 1, SUB + shift * SUB + sub)
}

/** Midpoint of a bucket's range, the value a percentile read from it reports. */
const valueOf = (i: number): number => {
  if (i < SUB) return i
  const shift = Math.floor((i - SUB) / SUB)
  const sub = (i - SUB) % SUB
  const width = 2 ** shift
  return (SUB + sub) * width + Math.floor((width - 1) / 2)
}

/**
 * A fixed-size histogram of non-negative integer lags: O(1) to record, exact count, mean and max,
 * percentiles within 1/64 relative error. Fixed memory is the point: a live run records one sample
 * per callback for as long as it serves.
 * @example
 * const h = new LagHistogram()
 * h.record(1_200); h.record(80_000)
 * h.stats() // { n: 2, meanNs: 40600, p50Ns: 1207, p99Ns: 80000, maxNs: 80000 }
 */
export class LagHistogram {
  private readonly counts = new Float64Array(BUCKETS)
  private n = 0
  private sum = 0
  private max = 0

  /** Records one lag in ns (negative values, which would mean "ran early", count as 0). */
  record(lagNs: number): void {
    const v = lagNs > 0 ? Math.round(lagNs) : 0
    this.counts[bucketOf(v)]! += 1
    this.n++
    this.sum += v
    if (v > this.max) this.max = v
  }

  stats(): LagStats {
    if (this.n === 0) return { n: 0, meanNs: 0, p50Ns: 0, p99Ns: 0, maxNs: 0 }
    return {
      n: this.n,
      meanNs: this.sum / this.n,
      p50Ns: Math.min(this.max, this.percentile(50)),
      p99Ns: Math.min(this.max, this.percentile(99)),
      maxNs: this.max,
    }
  }

  private percentile(p: number): number {
    const rank = Math.ceil((p / 100) * this.n)
    let seen = 0
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!
      if (seen >= rank) return valueOf(i)
    }
    return this.max
  }
}
