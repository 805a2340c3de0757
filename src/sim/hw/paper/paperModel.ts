import type { GpuSpec, LinkSpec } from "../../../core/hardware.js"
import { LINK_PRESETS } from "../../../core/hardware.js"
import { ACTIVATION_BYTES, type KernelSpec } from "../../../core/kernels.js"
import { kvBytesPerToken, MODEL_PRESETS, type ModelSpec } from "../../../core/model.js"
import { shardGpu } from "../../costModels.js"
import { iterationWork, prefillWork, type WorkSetup } from "../../../engine/iterationWork.js"
import { makeCycleCostModel, priceTransfer } from "../cycleCostModel.js"

/** The systems of the reproduction; moska runs disaggregated (separate pools) or colocated. */
export type PaperSystem = "private" | "prefix" | "cascade" | "moska-colocated" | "moska-disaggregated"
export const PAPER_SYSTEMS: readonly PaperSystem[] = ["private", "prefix", "cascade", "moska-colocated", "moska-disaggregated"]

/** One explicit assumption set: every choice the paper leaves open. */
export interface Assumptions {
  readonly gpu: GpuSpec
  /** Baselines (private, prefix, cascade) attend only the routed 25% of the shared context (a sparse baseline). */
  readonly sparseBaseline: boolean
  /** Tensor math at the 2:4-sparse rate (2× dense) for every GEMM. */
  readonly sparseTensor: boolean
  /** Unique-KV GPUs per Shared-KV pool: `min` = as many as the shared pool has; `balanced` = add unique replicas until the shared pool is the bottleneck (≤ 64). */
  readonly nodeMix: "min" | "balanced"
  /** Unique and shared work (and transfers) overlap within an iteration; else serialised. */
  readonly overlap: boolean
  /**
   * Request lifecycle. Default: decode-only steady state (`prefill` and `kvGrowth` off): every
   * request decodes forever at a fixed 64K-token unique context, so prefill costs nothing and KV
   * never grows. With `prefill`, each request's prompt is prefilled on its unique replica once per
   * `outputTokens` generated tokens (serialised with decoding); with `kvGrowth`, the unique context
   * grows from 64K by `outputTokens` (mean attended 64K + out/2, capacity sized for 64K + out).
   */
  readonly lifecycle: { readonly outputTokens: number; readonly prefill: boolean; readonly kvGrowth: boolean }
  /**
   * Routing law of the per-chunk query histogram. `expected`: every touched chunk gets the mean
   * number of queries (expected-value routing, the default); `binomial`: chunks get Binomial(B, ρ)
   * queries in their expected proportions (uniform top-k, per-chunk spread kept).
   */
  readonly routing: "expected" | "binomial"
  /** Link between Unique-KV and Shared-KV nodes (default NVLink 4: 450 GB/s per direction, 2 µs). */
  readonly link: LinkSpec
  /**
   * Multi-GPU unique replicas (tensor parallel) pay 2 ring all-reduces of the activations per layer
   * over `link`; default off: a replica of g GPUs is one ideal device with g× the bandwidth and math.
   */
  readonly replicaAllReduce: boolean
  /**
   * Math type of attention. `fp8` (default) runs FP8 attention at the efficiency fitted on bf16
   * library kernels (no FP8 attention was measured: the factor is borrowed); `bf16` prices the same
   * FP8 KV bytes with bf16 math (FP8 attention with no math speedup over bf16).
   */
  readonly attentionMath: "fp8" | "bf16"
}

/** Defaults of the assumptions the paper's setting does not fix (all but the GPU). */
export const DEFAULT_ASSUMPTIONS: Omit<Assumptions, "gpu"> = {
  sparseBaseline: false, sparseTensor: false, nodeMix: "balanced", overlap: true,
  lifecycle: { outputTokens: 1024, prefill: false, kvGrowth: false },
  routing: "expected", link: LINK_PRESETS.nvlink4, replicaAllReduce: false, attentionMath: "fp8",
}

export interface SystemPoint {
  readonly system: PaperSystem
  readonly sharedTokens: number
  /** Requests decoding per unique replica. */
  readonly batch: number
  /** GPUs per unique replica, unique replicas, shared-pool GPUs. */
  readonly uniqueGpusPerReplica: number
  readonly uniqueReplicas: number
  readonly sharedGpus: number
  readonly stepS: number
  /** Tokens/s of the whole deployment, and per GPU. */
  readonly tokensPerS: number
  readonly tokensPerSPerGpu: number
}

const MODEL: ModelSpec = MODEL_PRESETS["llama-3.1-8b"]
const UNIQUE_TOKENS = 65_536
const CHUNK_TOKENS = 16_384
const KEEP = 0.25
const MEMORY_FRACTION = 0.9
const MAX_BATCH = 2048
const BETA = kvBytesPerToken(MODEL, 1) // FP8 KV bytes per token, all layers
const WEIGHTS = MODEL.params // FP8 weights

/** The device with every tensor rate at its 2:4-sparse value. */
export const withSparseTensor = (g: GpuSpec): GpuSpec => {
  const dbl = (r: Partial<Record<string, number>>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, (v ?? 0) * 2]))
  return {
    ...g, name: `${g.name}-sparse24`, tensorFlops: g.sparseTensorFlops ?? dbl(g.tensorFlops),
    ...(g.smFlopsPerCycle ? { smFlopsPerCycle: { tensor: dbl(g.smFlopsPerCycle.tensor), simt: g.smFlopsPerCycle.simt } } : {}),
  }
}

const setupFor = (system: WorkSetup["system"], sharedTokens: number, disaggregated: boolean, sparseAttend: boolean, a: Assumptions): WorkSetup => {
  // a sparse baseline attends the routed quarter: modelled as a corpus a quarter the size, so
  // cascade (which stacks every query on every chunk) stacks them on a quarter of the chunks
  const attended = sparseAttend ? Math.round(sharedTokens * KEEP) : sharedTokens
  const chunks = Math.ceil(attended / CHUNK_TOKENS)
  return {
    system, model: MODEL, precision: { kv: "fp8", weights: "fp8", math: a.attentionMath }, weightBytes: WEIGHTS, disaggregated, link: a.link,
    corpus: {
      sharedTokens: attended,
      chunkTokens: CHUNK_TOKENS, chunks, topK: Math.max(1, Math.round(KEEP * chunks)), routing: { kind: "uniform" }, bytes: sharedTokens * BETA,
    },
  }
}

/** Uniform top-k routing of B requests: chunks touched and queries per touched chunk (expected values). */
const uniformHistogram = (requests: number, chunks: number, topK: number) => {
  const rho = topK / chunks
  const touched = Math.max(1, Math.round(chunks * (1 - (1 - rho) ** requests)))
  const queries = Math.max(1, Math.round((requests * topK) / touched))
  return [{ queries, units: touched }]
}

/**
 * Uniform top-k routing with the spread kept: a chunk's query count is Binomial(B, ρ) (each request
 * picks it with probability ρ), so chunks are split over counts in proportion to the pmf (largest
 * remainders, so the units add up to the expected number of touched chunks). Deterministic.
 */
export const binomialHistogram = (requests: number, chunks: number, topK: number): Array<{ queries: number; units: number }> => {
  const rho = topK / chunks
  if (rho >= 1) return [{ queries: requests, units: chunks }]
  const lnC = (n: number, k: number) => lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1)
  const want: Array<{ queries: number; exact: number }> = []
  for (let q = 1; q <= requests; q++) {
    const exact = chunks * Math.exp(lnC(requests, q) + q * Math.log(rho) + (requests - q) * Math.log(1 - rho))
    if (exact >= 1e-6) want.push({ queries: q, exact })
  }
  const total = Math.max(1, Math.round(chunks * (1 - (1 - rho) ** requests)))
  const bins = want.map((w) => ({ queries: w.queries, units: Math.floor(w.exact), rest: w.exact - Math.floor(w.exact) }))
  let left = total - bins.reduce((x, b) => x + b.units, 0)
  for (const b of [...bins].sort((x, y) => y.rest - x.rest || x.queries - y.queries)) {
    if (left <= 0) break
    b.units++
    left--
  }
  return bins.filter((b) => b.units > 0).map((b) => ({ queries: b.queries, units: b.units }))
}

// Lanczos log-gamma (g = 7, 9 terms): relative error ~1e-15, enough for pmf weights.
const LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7]
const lgamma = (x: number): number => {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lgamma(1 - x)
  const z = x - 1
  let a = LANCZOS[0]!
  const t = z + 7.5
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (z + i)
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a)
}

/** Seconds of 2 ring all-reduces per layer of B tokens' bf16 activations over g GPUs (tensor parallel). */
const allReduceS = (B: number, g: number, link: LinkSpec): number => {
  if (g <= 1) return 0
  const bytes = B * MODEL.hidden * ACTIVATION_BYTES
  const one = (2 * (g - 1) / g) * bytes / link.bandwidthBps + 2 * (g - 1) * link.latencyNs / 1e9
  return 2 * MODEL.layers * one
}

const priceAll = (gpu: GpuSpec, specs: readonly KernelSpec[]): number => {
  const m = makeCycleCostModel(gpu)
  return specs.reduce((s, k) => s + m.price(k).ns / 1e9, 0)
}

const capacity = (gpus: number, gpu: GpuSpec): number => gpus * gpu.hbmBytes * MEMORY_FRACTION

/**
 * Throughput of one system at one shared length under one assumption set, priced with the cycle
 * model over `iterationWork` (the simulator's own source of truth for what an iteration runs).
 * Capacity sets the batch: each unique replica holds the weights, its requests' 64K unique KV
 * (plus, for `private`, each request's own copy of the corpus; for prefix/cascade/colocated moska,
 * one shared copy), sharded over as few GPUs as fit one request.
 * @example systemPoint("moska-disaggregated", 16 * 2 ** 20, assumptions).tokensPerSPerGpu
 */
export const systemPoint = (system: PaperSystem, sharedTokens: number, a: Assumptions): SystemPoint => {
  const gpu = a.sparseTensor ? withSparseTensor(a.gpu) : a.gpu
  const S = sharedTokens
  const out = a.lifecycle.outputTokens
  const grow = a.lifecycle.kvGrowth
  // unique context: fixed at 64K (steady state), or growing by the output (mean attended, capacity at the end)
  const meanUnique = grow ? UNIQUE_TOKENS + out / 2 : UNIQUE_TOKENS
  const maxUnique = grow ? UNIQUE_TOKENS + out : UNIQUE_TOKENS
  const perReqUnique = maxUnique * BETA
  const isBaseline = system === "private" || system === "prefix" || system === "cascade"
  const sparse = isBaseline && a.sparseBaseline
  const histogramOf = (setup: WorkSetup, B: number) =>
    (a.routing === "binomial" ? binomialHistogram : uniformHistogram)(B, setup.corpus.chunks, setup.corpus.topK)
  const unique = (B: number) => ({ count: B, totalTokens: Math.round(B * meanUnique), maxTokens: Math.round(maxUnique) })
  // prefill share per iteration: B requests each prefilled once per `out` tokens, serialised with decoding.
  // Every system prefills the 64K unique prompt; private also writes its own copy of the corpus KV
  // (copied in at HBM speed from a KV store: its cheapest way to get it). The prompt's attention to the
  // shared corpus is not priced (as in the simulator's prefillWork).
  const prefillShare = (dev: GpuSpec, B: number, setup: WorkSetup): number => {
    if (!a.lifecycle.prefill) return 0
    let one = priceAll(dev, prefillWork(setup, [UNIQUE_TOKENS]))
    if (system === "private") one += priceTransfer({ kind: "transfer", bytes: Math.round(S * BETA), messages: 1, link: { name: "hbm-copy", bandwidthBps: dev.hbmBandwidthBps / 2, latencyNs: 0, source: "read + write at HBM bandwidth" } }).seconds
    return (B * one) / out
  }
  if (system !== "moska-disaggregated") {
    const resident = system === "private" ? WEIGHTS : WEIGHTS + S * BETA
    const perReq = system === "private" ? perReqUnique + S * BETA : perReqUnique
    let g = 1
    while (capacity(g, gpu) < resident + perReq) g++
    const B = Math.min(MAX_BATCH, Math.floor((capacity(g, gpu) - resident) / perReq))
    const dev = shardGpu(gpu, g)
    const wsys = system === "moska-colocated" ? "moska" : system
    const setup = setupFor(wsys, S, false, sparse, a)
    const w = iterationWork(setup, { decoding: B, unique: unique(B), histogram: histogramOf(setup, B) })
    const step = priceAll(dev, w.unique) + (a.replicaAllReduce ? allReduceS(B, g, LINK_PRESETS.nvlink4) : 0) + prefillShare(dev, B, setup)
    return { system, sharedTokens: S, batch: B, uniqueGpusPerReplica: g, uniqueReplicas: 1, sharedGpus: 0, stepS: step, tokensPerS: B / step, tokensPerSPerGpu: B / step / g }
  }
  // disaggregated: a sharded Shared-KV pool holding the corpus once, and 1-GPU unique replicas
  let gs = 1
  while (capacity(gs, gpu) < S * BETA) gs++
  const Bu = Math.min(MAX_BATCH, Math.floor((capacity(1, gpu) - WEIGHTS) / perReqUnique))
  const sharedDev = shardGpu(gpu, gs)
  const setup = setupFor("moska", S, true, false, a)
  const pre = prefillShare(gpu, Bu, setup)
  const evalMix = (nu: number) => {
    const total = nu * Bu
    const wu = iterationWork(setup, { decoding: Bu, unique: unique(Bu), histogram: histogramOf(setup, Bu) })
    const ws = iterationWork(setup, { decoding: total, unique: unique(total), histogram: histogramOf(setup, total) })
    const tu = priceAll(gpu, wu.unique) + pre
    const ts = priceAll(sharedDev, ws.shared)
    const tx = priceAll(gpu, [...wu.toShared, ...wu.fromShared])
    const step = a.overlap ? Math.max(tu, ts + tx) : tu + ts + tx
    return { nu, step, tu, ts, tokens: total / step }
  }
  let best = evalMix(gs)
  if (a.nodeMix === "balanced") {
    for (let nu = gs + 1; nu <= 64; nu++) {
      const r = evalMix(nu)
      if (r.tokens / (nu + gs) > best.tokens / (best.nu + gs)) best = r
      if (r.ts + 0 > r.tu) break
    }
  }
  return {
    system, sharedTokens: S, batch: Bu, uniqueGpusPerReplica: 1, uniqueReplicas: best.nu, sharedGpus: gs, stepS: best.step,
    tokensPerS: best.tokens, tokensPerSPerGpu: best.tokens / (best.nu + gs),
  }
}
