import * as S from "effect/Schema"
import { DTYPES } from "./dtype.js"
import { GPU_PRESETS, LINK_PRESETS } from "./hardware.js"
import { MODEL_PRESETS } from "./model.js"

/**
 * The scenario: the single source of truth for a run's configuration. Every field carries a
 * description; `moska scenario schema` turns this into JSON Schema for editors, and defaults
 * documented here are the ones applied.
 * @example decodeScenario(YAML.parse(text)) // Either<ScenarioInvalid, Scenario>
 */

const PosInt = S.Number.pipe(S.int(), S.positive())
const NonNegInt = S.Number.pipe(S.int(), S.nonNegative())
const PosNum = S.Number.pipe(S.positive(), S.finite())
/**
 * Limits of what one run can simulate, each with its reason (an error message states it).
 * Simulated time is integer ns held in a double, exact up to 2^53 ns (about 104 days).
 */
export const SIM_LIMITS = {
  /** Simulated seconds a run may reach (2^53 ns is 9,007,199 s). */
  maxSimulatedS: 9_000_000,
  /** Requests one synthetic workload may generate: beyond, a run takes hours and writes tens of GB of rows. */
  maxRequests: 10_000_000,
  /** GPUs in one pool: every replica is its own actor with its own state. */
  maxPoolGpus: 4096,
} as const
const BEYOND_TIME = "simulated time is integer ns, exact up to 2^53 ns, about 104 days"
const d = <A, I>(schema: S.Schema<A, I>, description: string) => schema.annotations({ description })
const opt = <A, I>(schema: S.Schema<A, I>, def: NoInfer<A>, description: string) =>
  S.optionalWith(schema.annotations({ description: `${description} Default: ${JSON.stringify(def)}.` }), {
    default: () => def,
  })

const DType = S.Literal(...DTYPES)

export const ModelDims = S.Struct({
  name: d(S.String, "Label for reports."),
  layers: d(PosInt, "Transformer layers."),
  hidden: d(PosInt, "Hidden size."),
  qHeads: d(PosInt, "Query heads (a multiple of kvHeads)."),
  kvHeads: d(PosInt, "KV heads (GQA)."),
  headDim: d(PosInt, "Head dimension."),
  ffn: d(PosInt, "FFN intermediate size."),
  vocab: d(PosInt, "Vocabulary size."),
  params: d(PosNum, "Total parameters, for dense-layer FLOPs and weight bytes."),
}).pipe(
  S.filter((m) => m.qHeads % m.kvHeads === 0 || `qHeads must be a multiple of kvHeads (got ${m.qHeads} and ${m.kvHeads})`),
)

export const ModelField = S.Union(
  d(S.Literal(...(Object.keys(MODEL_PRESETS) as [keyof typeof MODEL_PRESETS])), "A preset name."),
  d(ModelDims, "Explicit dimensions."),
).annotations({ description: "Model: a preset (llama-3.1-8b, llama-3.1-70b) or explicit dimensions." })

export const Precision = S.Struct({
  kv: opt(DType, "fp8", "KV-cache element format (unique and shared)."),
  weights: opt(DType, "fp8", "Weight format of the dense layers."),
  math: opt(DType, "fp8", "Math type for tensor-core rates (attention GEMMs and dense layers)."),
})

const GpuName = S.Literal(...(Object.keys(GPU_PRESETS) as [keyof typeof GPU_PRESETS]))
export const Pool = S.Struct({
  gpu: opt(S.String, "H200", `GPU preset (${Object.keys(GPU_PRESETS).join(", ")}) or a calibrated device name.`),
  count: opt(
    PosInt.pipe(S.lessThanOrEqualTo(SIM_LIMITS.maxPoolGpus, {
      message: () => `must be a positive integer ≤ ${SIM_LIMITS.maxPoolGpus} (each replica is simulated as its own actor; model a bigger pool as fewer, larger devices with parallel: sharded)`,
    })),
    1,
    "GPUs in the pool.",
  ),
  parallel: S.optional(d(S.Literal("replicas", "sharded"),
    "replicas: each GPU is an independent replica with its own batch; sharded: the GPUs act as one device (memory, bandwidth and math summed, work split evenly, one batch). Default: replicas for the unique pool, sharded for the shared pool.")),
  memoryFraction: opt(
    S.Number.pipe(S.greaterThan(0), S.lessThanOrEqualTo(1)),
    0.9,
    "Fraction of HBM usable for weights plus KV cache (the rest is activations and workspace).",
  ),
})

export const Interconnect = S.Struct({
  link: opt(S.Literal(...(Object.keys(LINK_PRESETS) as [keyof typeof LINK_PRESETS])), "nvlink4", "Link preset between Unique-KV and Shared-KV nodes."),
  bandwidthBps: S.optional(d(PosNum.pipe(S.greaterThanOrEqualTo(1e6, {
    message: () => "must be a finite number of bytes/s ≥ 1000000 (slower links make transfers outlast the simulated time)",
  })), "Override: unidirectional bandwidth, bytes/s.")),
  latencyNs: S.optional(d(NonNegInt.pipe(S.lessThanOrEqualTo(1e12, {
    message: () => "must be a non-negative integer of ns ≤ 1000000000000 (1000 s per message)",
  })), "Override: one-way latency per message, ns.")),
})

export const Hardware = S.Struct({
  costModel: opt(S.Literal("roofline", "cycle", "cycle-event"), "cycle", "GPU cost model: cycle (thread-block tiles in waves over SMs, src/sim/hw; the default: closer to measured H200 kernel times than the roofline even at datasheet rates, docs/model-fidelity.md); cycle-event (the same tiles through the event-driven per-SM scheduler: slower, finer tails); roofline (max of FLOPs/peak and bytes/bandwidth, plus launch: first principles, cheapest to price)."),
  devices: S.optional(d(S.Array(S.String), "Device files (user-defined or `moska calibrate` output, JSON GpuSpec) whose names unique.gpu / shared.gpu may use; paths relative to the scenario file.")),
  unique: opt(Pool, { gpu: "H200", count: 1, memoryFraction: 0.9 }, "Unique-KV pool: dense layers and per-request attention (all systems)."),
  shared: opt(Pool, { gpu: "H200", count: 1, memoryFraction: 0.9 }, "Shared-KV pool: stacked per-chunk attention (moska with disaggregated: true)."),
  interconnect: opt(Interconnect, { link: "nvlink4" }, "Link between the pools."),
})

export const Routing = S.Union(
  S.Struct({ kind: d(S.Literal("uniform"), "Each request picks top-k chunks uniformly at random.") }),
  S.Struct({
    kind: d(S.Literal("zipf"), "Hot chunks: chunk popularity follows Zipf(exponent) over a seeded random ranking."),
    exponent: opt(S.Number.pipe(S.greaterThan(0), S.finite()), 1, "Zipf exponent s (larger = more skewed)."),
  }),
  S.Struct({
    kind: d(S.Literal("trace"), "Chunks come from the trace's block ids (Mooncake hash_ids), hashed onto chunks."),
  }),
).annotations({ description: "How queries pick shared chunks in sim mode." })

export const Corpus = S.Struct({
  sharedTokens: opt(PosInt, 1_048_576, "Shared corpus tokens (paper: 1M-16M)."),
  chunkTokens: opt(
    PosInt.pipe(S.multipleOf(16, { message: () => "must be a positive multiple of 16" })),
    16_384,
    "Tokens per shared chunk (a positive multiple of 16).",
  ),
  sparsity: opt(S.Number.pipe(S.greaterThanOrEqualTo(0), S.lessThan(1)), 0.75, "Fraction of chunks each query skips (paper: 0.75). Ignored when topK is set."),
  topK: S.optional(d(PosInt, "Chunks each query selects; overrides sparsity (k = max(1, round((1 - sparsity) · chunks))).")),
  routing: opt(Routing, { kind: "uniform" }, "Routing distribution."),
}).pipe(
  S.filter((c) => {
    const chunks = Math.ceil(c.sharedTokens / c.chunkTokens)
    return [
      c.chunkTokens <= c.sharedTokens || { path: ["chunkTokens"], message: `must be at most sharedTokens (got chunkTokens ${c.chunkTokens}, sharedTokens ${c.sharedTokens}); a chunk is a slice of the corpus` },
      c.topK === undefined || c.topK <= chunks || { path: ["topK"], message: `must be at most the chunk count ${chunks} (sharedTokens ${c.sharedTokens} / chunkTokens ${c.chunkTokens}, rounded up; got ${c.topK})` },
    ]
  }, { jsonSchema: {} }),
)

export const Dist = S.Union(
  S.Struct({ kind: S.Literal("fixed"), value: d(PosInt, "Every draw equals this.") }),
  S.Struct({ kind: S.Literal("uniform"), min: d(PosInt, "Smallest value."), max: d(PosInt, "Largest value (inclusive).") }).pipe(
    S.filter((u) => u.min <= u.max || { path: ["max"], message: `must be ≥ min (got min ${u.min}, max ${u.max}); swap them` }),
  ),
  S.Struct({
    kind: S.Literal("lognormal"),
    median: d(PosNum, "Median of the distribution."),
    sigma: d(S.Number.pipe(S.nonNegative(), S.finite()), "Sigma of the underlying normal."),
    max: S.optional(d(PosInt, "Clamp draws to at most this.")),
  }),
).annotations({ description: "A positive integer distribution: fixed, uniform[min,max] or lognormal(median, sigma)." })

const TraceFormat = S.Literal("auto", "azure", "burstgpt", "mooncake")
const Requests = PosInt.pipe(S.lessThanOrEqualTo(SIM_LIMITS.maxRequests, {
  message: () => `must be a positive integer ≤ ${SIM_LIMITS.maxRequests} (a larger run takes hours and writes tens of GB of rows; split it over several runs with different seeds)`,
}))
/** Open-loop arrivals must stay inside simulated time; a tenth of it leaves room for the random spread of the gaps. */
const MAX_MEAN_SPAN_S = SIM_LIMITS.maxSimulatedS / 10
const arrivalsFit = (w: { readonly ratePerS: number; readonly requests: number }) =>
  w.requests / w.ratePerS <= MAX_MEAN_SPAN_S || {
    path: ["ratePerS"],
    message: `is too low for ${w.requests} requests: their arrivals would span about ${(w.requests / w.ratePerS).toPrecision(3)} s (requests / ratePerS), more than the ${MAX_MEAN_SPAN_S} s a workload may span (${BEYOND_TIME}); use ratePerS ≥ ${(w.requests / MAX_MEAN_SPAN_S).toPrecision(3)} or fewer requests (got ${w.ratePerS})`,
  }
export const Workload = S.Union(
  S.Struct({
    kind: d(S.Literal("poisson"), "Open loop, exponential inter-arrival times."),
    ratePerS: d(PosNum, "Mean arrival rate, requests per second."),
    requests: d(Requests, "Requests to generate."),
    uniqueTokens: opt(Dist, { kind: "fixed", value: 65_536 }, "Unique context tokens per request."),
    outputTokens: opt(Dist, { kind: "fixed", value: 256 }, "Output tokens per request."),
  }).pipe(S.filter(arrivalsFit)),
  S.Struct({
    kind: d(S.Literal("gamma"), "Open loop, bursty: gamma inter-arrival times with the given coefficient of variation."),
    ratePerS: d(PosNum, "Mean arrival rate, requests per second."),
    cv: d(S.Number.pipe(S.between(0.001, 100, {
      message: () => "must be a number from 0.001 to 100 (1 = Poisson, > 1 = bursty; beyond these the gamma gaps underflow or overflow)",
    })), "Coefficient of variation of inter-arrival times (1 = Poisson, > 1 = bursty)."),
    requests: d(Requests, "Requests to generate."),
    uniqueTokens: opt(Dist, { kind: "fixed", value: 65_536 }, "Unique context tokens per request."),
    outputTokens: opt(Dist, { kind: "fixed", value: 256 }, "Output tokens per request."),
  }).pipe(S.filter(arrivalsFit)),
  S.Struct({
    kind: d(S.Literal("closed"), "Closed loop: a fixed number of requests in flight; a new one arrives when one ends."),
    concurrency: d(PosInt, "Requests in flight."),
    requests: d(Requests, "Requests in total."),
    uniqueTokens: opt(Dist, { kind: "fixed", value: 65_536 }, "Unique context tokens per request."),
    outputTokens: opt(Dist, { kind: "fixed", value: 256 }, "Output tokens per request."),
  }),
  S.Struct({
    kind: d(S.Literal("trace"), "Replay a request trace file (Azure LLM 2023/2024 CSV, BurstGPT CSV, Mooncake JSONL)."),
    path: d(S.String, "Trace file path, relative to the scenario file or the working directory."),
    format: opt(TraceFormat, "auto", "File format; auto detects from the header or first line."),
    timeScale: opt(PosNum, 1, "Multiply inter-arrival gaps by this (0.5 = twice the load)."),
    limit: S.optional(d(PosInt, "Replay only the first N requests.")),
  }),
).annotations({ description: "Where requests come from." })

export const Batcher = S.Union(
  S.Struct({
    kind: d(S.Literal("barrier"), "Per-step barrier: each decode step's routed queries are flushed with no time window."),
    scope: S.optional(d(S.Literal("global", "replica"),
      "global (the default when omitted): lockstep steps across the unique replicas sharing the Shared-KV pool; a step's shared work is one batch stacking, per chunk, the queries of every replica that is decoding (an idle or prefilling replica does not hold the barrier). replica: each replica's step is its own shared batch, nothing stacked across replicas.")),
  }),
  S.Struct({
    kind: d(S.Literal("window"), "Time window: a chunk's batch is dispatched when it reaches maxRows or its oldest query waited windowNs."),
    windowNs: d(NonNegInt.pipe(S.lessThanOrEqualTo(1e12, {
      message: () => "must be a non-negative integer of ns ≤ 1000000000000 (1000 s; a longer window never flushes by time)",
    })), "Longest a query waits for others, ns."),
    maxRows: d(PosInt, "Most stacked query rows per chunk batch."),
  }),
).annotations({ description: "Shared-batcher policy." })

export const Policy = S.Struct({
  maxBatch: opt(PosInt, 256, "Most requests decoding together on one unique replica (continuous batching)."),
  batcher: opt(Batcher, { kind: "barrier" }, "How routed queries are grouped per chunk."),
  routingMode: opt(S.Literal("fast", "exact"), "fast", "fast: price shared work from per-chunk query counts; exact: route each request and chunk (small scenarios)."),
  disaggregated: opt(S.Boolean, true, "moska only: run shared attention on the Shared-KV pool, with transfers over the interconnect."),
  overlap: opt(S.Boolean, true, "Overlap unique and shared work within an iteration (false: serialised)."),
  granularity: opt(S.Literal("iteration", "layer"), "iteration", "Unit of GPU work: one decode iteration (all layers) or one layer per round trip."),
  prefill: opt(S.Boolean, true, "Price prefill of each request's unique context before its first token."),
  prefillTokenBudget: S.optional(d(PosInt, "Most prompt tokens one prefill step takes (whole requests, at least one). While requests are decoding, steps then alternate one prefill step and one decode iteration, so decodes are not starved behind a long queue of prompts (the budget of vLLM's chunked prefill, at request granularity). Absent: every admitted prompt in one step, before decoding resumes.")),
})

export const Live = S.Struct({
  executor: opt(S.Literal("webgpu", "priced"), "webgpu",
    "webgpu: a real Llama-architecture decoder on the WGSL kernels (src/gpu/decoder), GPU times from timestamp queries; priced: GPU time paced by the cost model on the wall clock (no GPU needed)."),
  backend: opt(S.Literal("vulkan", "metal", "d3d12", "opengl"), "vulkan", "Dawn backend for the WebGPU adapter (MOSKA_WEBGPU_BACKEND overrides)."),
  weights: S.optional(d(S.String, "safetensors file in the Hugging Face Llama layout (relative to the scenario file); default: seeded synthetic weights filled on the GPU.")),
  corpusFile: S.optional(d(S.String, "Shared-corpus K/V file; default: filled on the GPU from the seed.")),
  slots: opt(PosInt, 16, "Requests whose KV the device holds at once (caps policy.maxBatch)."),
  maxContextTokens: opt(PosInt, 4096, "KV capacity of one slot: a request needs unique tokens + output tokens ≤ this, else it is rejected."),
  prefillChunkTokens: opt(PosInt, 256, "Most prompt tokens one prefill call carries (chunked prefill); larger chunks use the GPU better, smaller ones bound a call's length."),
  strictLagMs: S.optional(d(PosNum, "Fail the run when the wall clock falls this many ms behind a due event (the host cannot keep up in real time).")),
  disaggregatedPrefill: opt(S.Literal("local", "remote"), "local",
    "Disaggregated webgpu workers: where prefill steps' shared attention runs. local: on the unique worker, against its own replica of the corpus K/V (it then holds the corpus too; decode steps still go to the shared worker); remote: on the shared worker like decode steps (every prompt token's query rows per routed chunk cross the link, once per layer). The sim prices prefill without corpus attention or link transfers either way."),
  disaggregatedWire: opt(S.Literal("f16", "f32"), "f16",
    "Disaggregated webgpu workers: format of the query rows and partial outputs on the data link (f16: half the bytes, rounded to nearest; lse and row indices stay 32-bit)."),
  disaggregatedMicroBatches: opt(S.Literal(1, 2), 2,
    "Disaggregated webgpu workers: micro-batches per decode step. 2 splits each decode step of two or more requests into two halves on separate scratch buffers, interleaved layer by layer, so one half's dense work and unique attention run while the other half's query rows are on the data link (the shared worker then holds two requests in flight; each half reads the layer weights itself); 1 sends each layer's rows and waits for the reply before the next layer. Default 2: on one H200 it took TPOT p50 from 420.9 to 383.1 ms (bench/h200-disagg-mb.sh, docs/disaggregated.md)."),
}).annotations({ description: "Live-mode settings (moska live, moska replay --live); ignored by sim." })

export const TraceLevel = S.Literal("requests", "totals", "kernels", "tokens").annotations({
  description: "What the trace database keeps: request rows only; plus kernel batches summed per worker, kind and window (table kernel_totals, window traceWindowMs); plus every kernel batch; plus per-token rows.",
})

export const Scenario = S.Struct({
  name: opt(S.String, "unnamed", "Scenario name, for reports."),
  description: S.optional(d(S.String, "Free text.")),
  seed: opt(NonNegInt, 1, "Root seed of the run's random streams."),
  model: opt(ModelField, "llama-3.1-8b", "Model."),
  precision: opt(Precision, { kv: "fp8", weights: "fp8", math: "fp8" }, "Formats."),
  hardware: opt(Hardware, {
    costModel: "cycle",
    unique: { gpu: "H200", count: 1, memoryFraction: 0.9 },
    shared: { gpu: "H200", count: 1, memoryFraction: 0.9 },
    interconnect: { link: "nvlink4" },
  }, "Hardware pools and cost model."),
  corpus: opt(Corpus, { sharedTokens: 1_048_576, chunkTokens: 16_384, sparsity: 0.75, routing: { kind: "uniform" } }, "Shared corpus and routing."),
  workload: d(Workload, "Request source."),
  system: opt(S.Literal("private", "prefix", "cascade", "moska"), "moska",
    "private: each request holds its own copy of the shared context; prefix: shared KV stored once, attended per request; cascade: shared KV attended densely with all queries stacked; moska: top-k routed, per-chunk stacked GEMM, LSE merge."),
  policy: opt(Policy, {
    maxBatch: 256, batcher: { kind: "barrier" }, routingMode: "fast", disaggregated: true, overlap: true,
    granularity: "iteration", prefill: true,
  }, "Scheduling policy."),
  trace: opt(TraceLevel, "kernels", "Trace detail level."),
  traceWindowMs: S.optional(d(PosInt, "Trace level totals: the window kernel batches are summed over, ms of the run's clock (a batch counts in the window its end falls in). Absent: 1000.")),
  live: S.optional(d(Live, "Live-mode settings (moska live, moska replay --live); ignored by sim. Absent: every field's default.")),
  untilS: S.optional(d(PosNum, "Stop the simulation at this simulated time, seconds (requests still in flight are recorded as cancelled).")),
})

export type Scenario = S.Schema.Type<typeof Scenario>
export type ScenarioInput = S.Schema.Encoded<typeof Scenario>
export type WorkloadConfig = Scenario["workload"]
export type DistConfig = S.Schema.Type<typeof Dist>
