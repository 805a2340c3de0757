import type { Rng } from "../core/rng.js"
import type { RequestSpec } from "../core/workload.js"
import { gamma } from "../sim/random/distributions.js"
import type { ServeBenchRequest } from "./serveRequest.js"

/** Where the lengths come from: vLLM's random dataset (uniform in len·[1 − r, 1 + r]) or a trace's rows in order. */
export type ServeLengths =
  | { readonly kind: "random"; readonly inputLen: number; readonly outputLen: number; readonly rangeRatio: number; readonly n: number }
  | { readonly kind: "trace"; readonly specs: readonly RequestSpec[]; readonly n: number }

/** When each request is sent: gamma gaps at `rate` req/s (Infinity: all at once), or the trace's own arrivals with gaps × `timeScale`. */
export type ServeArrivals =
  | { readonly kind: "rate"; readonly rate: number; readonly burstiness: number }
  | { readonly kind: "trace"; readonly timeScale: number }

/** First printable ASCII id: prompt ids are printable bytes, valid token ids of any vocabulary of 256 or more, and readable text for chat. */
const PRINTABLE_LO = 32
const PRINTABLE_N = 95

/**
 * The requests of a benchmark and their send offsets (ms from the start), from seeded streams of
 * one Rng (`lengths`, `prompts`, `arrivals` children, so changing the rate does not change the
 * prompts). Rate arrivals follow `vllm bench serve`: the first request at 0, then gaps drawn from
 * Gamma(shape = burstiness, scale = 1 / (rate · burstiness)) s: burstiness 1 is Poisson, lower is
 * burstier, and the mean rate is `rate` whatever the burstiness.
 * @example serveWorkload({ kind: "random", inputLen: 128, outputLen: 32, rangeRatio: 0, n: 100 }, { kind: "rate", rate: 4, burstiness: 1 }, makeRng(0))
 */
export const serveWorkload = (lengths: ServeLengths, arrivals: ServeArrivals, rng: Rng): { readonly requests: ServeBenchRequest[]; readonly arrivalsMs: number[] } => {
  const lr = rng.split("lengths")
  const pr = rng.split("prompts")
  const ar = rng.split("arrivals")
  const sized = (len: number, ratio: number): number => {
    if (ratio === 0) return len
    const lo = Math.max(1, Math.floor(len * (1 - ratio)))
    const hi = Math.max(lo, Math.ceil(len * (1 + ratio)))
    return lo + lr.int(hi - lo + 1)
  }
  const n = lengths.kind === "random" ? lengths.n : Math.min(lengths.n, lengths.specs.length)
  const requests: ServeBenchRequest[] = []
  for (let i = 0; i < n; i++) {
    let promptLen: number
    let outputLen: number
    if (lengths.kind === "trace") {
      const spec = lengths.specs[i] as RequestSpec
      promptLen = spec.uniqueTokens
      outputLen = spec.outputTokens
    } else {
      promptLen = sized(lengths.inputLen, lengths.rangeRatio)
      outputLen = sized(lengths.outputLen, lengths.rangeRatio)
    }
    const promptIds = Array.from({ length: promptLen }, () => PRINTABLE_LO + pr.int(PRINTABLE_N))
    requests.push({ promptLen, promptIds, outputLen })
  }
  const arrivalsMs: number[] = []
  if (arrivals.kind === "trace") {
    if (lengths.kind !== "trace") throw new RangeError("trace arrivals need a trace")
    const t0 = lengths.specs[0]?.arrivalNs ?? 0
    for (let i = 0; i < n; i++) arrivalsMs.push((((lengths.specs[i] as RequestSpec).arrivalNs - t0) / 1e6) * arrivals.timeScale)
  } else {
    let t = 0
    const theta = 1 / (arrivals.rate * arrivals.burstiness)
    for (let i = 0; i < n; i++) {
      arrivalsMs.push(t)
      if (Number.isFinite(arrivals.rate)) t += gamma(ar, arrivals.burstiness) * theta * 1000
    }
  }
  return { requests, arrivalsMs }
}
