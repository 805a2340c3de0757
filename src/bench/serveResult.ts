import type { ServeBenchOutcome } from "./serveRequest.js"

/** The latency metrics `--percentile-metrics` can select, as vLLM names them. */
export const SERVE_METRICS = ["ttft", "tpot", "itl", "e2el"] as const
export type ServeMetric = (typeof SERVE_METRICS)[number]

/** `--goodput`: a request is good when each metric named is at most its bound (ms). */
export type Goodput = Partial<Record<"ttft" | "tpot" | "e2el", number>>

export interface ServeResultInput {
  readonly outcomes: readonly ServeBenchOutcome[]
  readonly durationS: number
  readonly metrics: readonly ServeMetric[]
  /** Percentiles to report, e.g. [50, 90, 99]. */
  readonly percentiles: readonly number[]
  readonly goodput: Goodput | null
}

/** numpy.percentile's default (linear interpolation between closest ranks); 0 for an empty list as vLLM reports it. */
export const percentileOf = (sorted: readonly number[], p: number): number => {
  if (sorted.length === 0) return 0
  const rank = (p / 100) * (sorted.length - 1)
  const lo = Math.floor(rank)
  const hi = Math.ceil(rank)
  const a = sorted[lo] as number
  return a + ((sorted[hi] as number) - a) * (rank - lo)
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length)
/** Population standard deviation (numpy.std's default, ddof 0). */
const std = (xs: readonly number[]): number => {
  if (xs.length === 0) return 0
  const m = mean(xs)
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) * (x - m), 0) / xs.length)
}

/** vLLM's key for a percentile: `p99`, `p99.9`. */
export const percentileKey = (p: number): string => `p${String(p)}`

/**
 * The summary fields of `vllm bench serve` from per-request outcomes, with its definitions:
 * `completed` = successful requests; TPOT per request = (latency − TTFT) / (output tokens − 1),
 * kept only for requests with more than one output token (a one-token request counts as TPOT 0
 * for goodput only); ITL pools every gap of every request; throughputs divide by the benchmark's
 * wall duration; `mean_/median_/std_/pXX_<metric>_ms` for each selected metric (std is the
 * population one, percentiles interpolate linearly, as numpy's defaults). `request_goodput` is
 * null without `--goodput`.
 * @example serveResult({ outcomes, durationS: 12.5, metrics: ["ttft", "tpot", "itl"], percentiles: [99], goodput: null }).p99_ttft_ms
 */
export const serveResult = (input: ServeResultInput): Record<string, number | null> => {
  const ok = input.outcomes.filter((o) => o.success)
  const ttfts: number[] = []
  const tpots: number[] = []
  const allTpots: number[] = []
  const itls: number[] = []
  const e2els: number[] = []
  let totalInput = 0
  let totalOutput = 0
  for (const o of ok) {
    totalInput += o.promptLen
    totalOutput += o.outputTokens
    let tpot = 0
    if (o.outputTokens > 1) {
      tpot = (o.latencyS - o.ttftS) / (o.outputTokens - 1)
      tpots.push(tpot)
    }
    allTpots.push(tpot)
    for (const g of o.itlS) itls.push(g)
    ttfts.push(o.ttftS)
    e2els.push(o.latencyS)
  }
  let good = 0
  const g = input.goodput
  if (g !== null) {
    ok.forEach((o, i) => {
      if (g.ttft !== undefined && o.ttftS * 1000 > g.ttft) return
      if (g.tpot !== undefined && (allTpots[i] as number) * 1000 > g.tpot) return
      if (g.e2el !== undefined && o.latencyS * 1000 > g.e2el) return
      good++
    })
  }
  const d = input.durationS
  const out: Record<string, number | null> = {
    duration: d,
    completed: ok.length,
    failed: input.outcomes.length - ok.length,
    total_input_tokens: totalInput,
    total_output_tokens: totalOutput,
    request_throughput: ok.length / d,
    request_goodput: g === null ? null : good / d,
    output_throughput: totalOutput / d,
    total_token_throughput: (totalInput + totalOutput) / d,
  }
  const series: Record<ServeMetric, number[]> = { ttft: ttfts, tpot: tpots, itl: itls, e2el: e2els }
  for (const m of input.metrics) {
    const ms = series[m].map((s) => s * 1000)
    const sorted = [...ms].sort((a, b) => a - b)
    out[`mean_${m}_ms`] = mean(ms)
    out[`median_${m}_ms`] = percentileOf(sorted, 50)
    out[`std_${m}_ms`] = std(ms)
    for (const p of input.percentiles) out[`${percentileKey(p)}_${m}_ms`] = percentileOf(sorted, p)
  }
  return out
}
