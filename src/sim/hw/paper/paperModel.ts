import type { GpuSpec } from "../../../core/hardware.js"
import { LINK_PRESETS } from "../../../core/hardware.js"
import type { KernelSpec } from "../../../core/kernels.js"
import { kvBytesPerToken, MODEL_PRESETS, type ModelSpec } from "../../../core/model.js"
import { shardGpu } from "../../costModels.js"
import { iterationWork, type WorkSetup } from "../../../engine/iterationWork.js"
import { makeCycleCostModel } from "../cycleCostModel.js"

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

const setupFor = (system: WorkSetup["system"], sharedTokens: number, disaggregated: boolean, sparseAttend: boolean): WorkSetup => {
  const chunks = Math.ceil(sharedTokens / CHUNK_TOKENS)
  return {
    system, model: MODEL, precision: { kv: "fp8", weights: "fp8", math: "fp8" }, weightBytes: WEIGHTS, disaggregated, link: LINK_PRESETS.nvlink4,
    corpus: {
      // a sparse baseline attends the routed quarter: modelled as a corpus a quarter the size
      sharedTokens: sparseAttend ? Math.round(sharedTokens * KEEP) : sharedTokens,
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
  const perReqUnique = UNIQUE_TOKENS * BETA
  const isBaseline = system === "private" || system === "prefix" || system === "cascade"
  const sparse = isBaseline && a.sparseBaseline
  const histogramOf = (setup: WorkSetup, B: number) => uniformHistogram(B, setup.corpus.chunks, setup.corpus.topK)
  if (system !== "moska-disaggregated") {
    const resident = system === "private" ? WEIGHTS : WEIGHTS + S * BETA
    const perReq = system === "private" ? perReqUnique + S * BETA : perReqUnique
    let g = 1
    while (capacity(g, gpu) < resident + perReq) g++
    const B = Math.min(MAX_BATCH, Math.floor((capacity(g, gpu) - resident) / perReq))
    const dev = shardGpu(gpu, g)
    const wsys = system === "moska-colocated" ? "moska" : system
    const setup = setupFor(wsys, S, false, sparse)
    const w = iterationWork(setup, { decoding: B, unique: { count: B, totalTokens: B * UNIQUE_TOKENS, maxTokens: UNIQUE_TOKENS }, histogram: histogramOf(setup, B) })
    const step = priceAll(dev, w.unique)
    return { system, sharedTokens: S, batch: B, uniqueGpusPerReplica: g, uniqueReplicas: 1, sharedGpus: 0, stepS: step, tokensPerS: B / step, tokensPerSPerGpu: B / step / g }
  }
  // disaggregated: a sharded Shared-KV pool holding the corpus once, and 1-GPU unique replicas
  let gs = 1
  while (capacity(gs, gpu) < S * BETA) gs++
  const Bu = Math.min(MAX_BATCH, Math.floor((capacity(1, gpu) - WEIGHTS) / perReqUnique))
  const sharedDev = shardGpu(gpu, gs)
  const setup = setupFor("moska", S, true, false)
  const evalMix = (nu: number) => {
    const total = nu * Bu
    const wu = iterationWork(setup, { decoding: Bu, unique: { count: Bu, totalTokens: Bu * UNIQUE_TOKENS, maxTokens: UNIQUE_TOKENS }, histogram: histogramOf(setup, Bu) })
    const ws = iterationWork(setup, { decoding: total, unique: { count: total, totalTokens: total * UNIQUE_TOKENS, maxTokens: UNIQUE_TOKENS }, histogram: histogramOf(setup, total) })
    const tu = priceAll(gpu, wu.unique)
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
