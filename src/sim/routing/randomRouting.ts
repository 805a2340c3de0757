import type { Rng } from "../../core/rng.js"
import type { ChunkCount } from "../../engine/iterationWork.js"
import { binomial, binomialFrom, binomialStart, exponential, logBinomialPmf, type BinomialStart } from "../random/distributions.js"
import type { RouteTracker, RoutingModel } from "../../engine/routingModel.js"

/** Chunks with (nearly) the same inclusion probability, treated as exchangeable in fast mode. */
interface Stratum {
  readonly size: number
  readonly p: number
}

/**
 * Uniform or Zipf-skewed top-k routing. Exact mode draws each query's k distinct chunks by
 * order sampling with exponential keys (`E_j / w_j`, keep the k smallest; uniform weights give a
 * uniform k-subset). Fast mode uses the inclusion probabilities of that scheme,
 * `π_j = 1 − exp(−τ·w_j)` with `Σ π_j = k` (Rosén's approximation), and draws the batch's
 * per-chunk counts as independent `Bin(B, π_j)`: chunks with equal π are exchangeable, so only
 * the histogram of counts is drawn (category by category, as a multinomial), which costs
 * O(strata · spread of the binomial) per iteration instead of O(B · k).
 * @example randomRouting({ chunks: 1024, topK: 256, weights: undefined })
 */
export const randomRouting = (opts: { chunks: number; topK: number; weights: Float64Array | undefined }): RoutingModel => {
  const { chunks: N, topK: k } = opts
  const weights = opts.weights ?? new Float64Array(N).fill(1)
  const pi = inclusionProbabilities(weights, k)
  const strata = opts.weights === undefined ? [{ size: N, p: k / N }] : stratify(pi)
  // Per batch size B, what the draws of each stratum need that depends only on (B, π): the
  // prepared Bin(B, π) of a small stratum, or the pmf table and its total mass of a large one.
  // Cached, the draws are the same values in the same order; only the logs and exps are saved.
  interface Prepared {
    readonly starts: Array<BinomialStart | null>
    readonly tables: Array<Float64Array | null>
    readonly masses: number[]
  }
  const preparedCache = new Map<number, Prepared>()
  const prepared = (B: number): Prepared => {
    let v = preparedCache.get(B)
    if (v === undefined) {
      if (preparedCache.size > 2048) preparedCache.clear()
      const starts: Array<BinomialStart | null> = []
      const tables: Array<Float64Array | null> = []
      const masses: number[] = []
      for (const st of strata) {
        const small = st.p < 1 && st.size <= 8
        const large = st.p < 1 && st.size > 8
        starts.push(small ? binomialStart(B, st.p) : null)
        const pmf = large ? binomialPmf(B, st.p) : null
        tables.push(pmf)
        let mass = 0
        if (pmf !== null) for (let q = 0; q < pmf.length; q++) mass += pmf[q] as number
        masses.push(mass)
      }
      v = { starts, tables, masses }
      preparedCache.set(B, v)
    }
    return v
  }
  let acc = new Int32Array(64)
  const drawHistogram = (B: number, rng: Rng): ChunkCount[] => {
    if (B <= 0) return []
    const { starts, tables, masses } = prepared(B)
    if (acc.length < B + 1) acc = new Int32Array(2 * (B + 1))
    acc.fill(0, 0, B + 1)
    for (let s = 0; s < strata.length; s++) {
      const st = strata[s] as Stratum
      if (st.p >= 1) {
        acc[B] = (acc[B] as number) + st.size
        continue
      }
      if (st.size <= 8) {
        // A handful of chunks: one binomial each beats walking the count categories.
        const start = starts[s] as BinomialStart
        for (let c = 0; c < st.size; c++) {
          const q = binomialFrom(rng, start)
          acc[q] = (acc[q] as number) + 1
        }
        continue
      }
      const pmf = tables[s] as Float64Array
      let left = st.size
      let mass = masses[s] as number
      for (let q = 0; q < pmf.length && left > 0; q++) {
        const pq = pmf[q] as number
        if (pq <= 0) continue
        const n = q === pmf.length - 1 || pq >= mass ? left : binomial(rng, left, pq / mass)
        mass -= pq
        left -= n
        acc[q] = (acc[q] as number) + n
      }
    }
    const out: ChunkCount[] = []
    for (let q = 1; q <= B; q++) {
      const u = acc[q] as number
      if (u > 0) out.push({ queries: q, units: u })
    }
    return out
  }
  const keys = new Float64Array(N)
  const order = new Int32Array(N)
  const pickK = (rng: Rng, out: (chunk: number) => void): void => {
    for (let j = 0; j < N; j++) {
      keys[j] = exponential(rng, 1) / (weights[j] as number)
      order[j] = j
    }
    order.sort((a, b) => (keys[a] as number) - (keys[b] as number) || a - b)
    for (let i = 0; i < k; i++) out(order[i] as number)
  }
  return {
    kind: opts.weights === undefined ? "uniform" : "zipf",
    chunks: N,
    topK: k,
    inclusion: () => pi.slice(),
    drawHistogram,
    tracker: (): RouteTracker => ({
      join: () => undefined,
      leave: () => undefined,
      histogram: drawHistogram,
      counts: () => undefined,
      routeExact(requestIds, rng) {
        const byChunk = new Map<number, number[]>()
        for (const id of requestIds) {
          pickK(rng, (c) => {
            const l = byChunk.get(c)
            if (l === undefined) byChunk.set(c, [id])
            else l.push(id)
          })
        }
        return byChunk
      },
    }),
  }
}

/** π_j = 1 − exp(−τ w_j), τ by bisection so that Σ π_j = k (π_j = k/N when weights are equal). */
export const inclusionProbabilities = (weights: Float64Array, k: number): Float64Array => {
  const N = weights.length
  const pi = new Float64Array(N)
  if (k >= N) return pi.fill(1)
  let allEqual = true
  for (let j = 1; j < N; j++) if (weights[j] !== weights[0]) allEqual = false
  if (allEqual) return pi.fill(k / N)
  const sum = (tau: number): number => {
    let s = 0
    for (let j = 0; j < N; j++) s += -Math.expm1(-tau * (weights[j] as number))
    return s
  }
  let lo = 0
  let hi = 1
  while (sum(hi) < k) hi *= 2
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2
    if (sum(mid) < k) lo = mid
    else hi = mid
  }
  for (let j = 0; j < N; j++) pi[j] = -Math.expm1(-hi * (weights[j] as number))
  return pi
}

// The 16 hottest chunks are strata of their own (they decide the largest GEMMs); the rest are
// grouped by rank in geometrically growing runs, each with its mean probability.
const stratify = (pi: Float64Array): Stratum[] => {
  const sorted = Array.from(pi).sort((a, b) => b - a)
  const out: Stratum[] = []
  let i = 0
  while (i < sorted.length) {
    const size = i < 16 ? 1 : Math.max(1, Math.floor(i / 4))
    const end = Math.min(sorted.length, i + size)
    let s = 0
    for (let j = i; j < end; j++) s += sorted[j] as number
    out.push({ size: end - i, p: s / (end - i) })
    i = end
  }
  return out
}

/** Bin(B, p) pmf with negligible tails (< 1e-13 each) set to zero. */
const binomialPmf = (B: number, p: number): Float64Array => {
  const pmf = new Float64Array(B + 1)
  if (p <= 0) {
    pmf[0] = 1
    return pmf
  }
  for (let q = 0; q <= B; q++) {
    const v = Math.exp(logBinomialPmf(B, q, p))
    pmf[q] = v < 1e-13 ? 0 : v
  }
  return pmf
}
