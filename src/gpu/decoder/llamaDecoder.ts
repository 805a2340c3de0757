import { CapacityExceeded, ScenarioInvalid } from "../../core/errors.js"
import type { GpuContext } from "../device.js"
import { gpuOps } from "../gpuOps.js"
import { allocKv, destroyKv, kvEntries, kvSegments, type GpuKv } from "../kvBuffers.js"
import { MERGE_BINDINGS, mergeWgsl } from "../merge/merge.wgsl.js"
import { routedUnits } from "../moska/routedUnits.js"
import { ROUTER_BINDINGS, ROUTER_MAX_CHUNKS, routerWgsl } from "../router/router.wgsl.js"
import type { SharedUnit } from "../shared/sharedAttention.js"
import { SHARED_BINDINGS, SHARED_ITEM_WORDS, SHARED_KEY_TILE, sharedWgsl, type SharedVariant } from "../shared/shared.wgsl.js"
import { UNIQUE_BINDINGS, UNIQUE_TILE } from "../unique/unique.wgsl.js"
import { uniqueSplitLen } from "../unique/uniqueAttention.js"
import { uniquePipeline } from "../unique/uniquePipeline.js"
import { checkCorpusFile, destroyCorpus, loadCorpus, type GpuCorpus } from "./corpusKv.js"
import { checkDecoderDims, type DecoderDims } from "./decoderDims.js"
import { decoderKernel, type DecoderKernel } from "./decoderKernel.js"
import { DenseMatmul } from "./denseMatmul.js"
import { allocWeights, checkWeightsFile, destroyWeights, fillSyntheticWeights, uploadWeightsFile, weightBuffers, type DenseWeight, type GpuWeights } from "./decoderWeights.js"
import { EMBED_BINDINGS, embedWgsl } from "./embed.wgsl.js"
import { KV_APPEND_BINDINGS, kvAppendWgsl } from "./kvAppend.wgsl.js"
import { RMS_NORM_BINDINGS, rmsNormWgsl } from "./rmsNorm.wgsl.js"
import { ROPE_BINDINGS, ropeWgsl } from "./rope.wgsl.js"
import { openSafetensors, type SafetensorsFile } from "./safetensors.js"
import { SAMPLE_BINDINGS, sampleWgsl } from "./sample.wgsl.js"
import { planRows, sharedVariantFor, sharedWorkItems, type SharedPlanUnit, type SharedPort, type SharedReply } from "./sharedPort.js"
import { StepTimer } from "./stepTimer.js"
import { SWIGLU_BINDINGS, swigluWgsl } from "./swiglu.wgsl.js"

/**
 * How the shared corpus is attended: `moska` routes each query to its top-k chunks (router over
 * chunk centroids) and attends them stacked; `prefix` and `cascade` attend the whole corpus with
 * every request's queries stacked on every chunk (the shared kernel with all chunks routed: one
 * read of the corpus per step, as cascade inference does); `private` gives each request its own copy,
 * attended per request by the unique kernel (the corpus is streamed once per request: same math as
 * prefix, the cost of not sharing).
 */
export type DecoderSystem = "moska" | "prefix" | "cascade" | "private"

export interface DecoderConfig {
  readonly dims: DecoderDims
  /** Most concurrent requests (KV slots). */
  readonly slots: number
  /** Own tokens per slot (a multiple of 16, so slot regions stay 256-byte aligned). */
  readonly maxContext: number
  /**
   * The shared corpus, logically the prompt prefix of every request: own token at KV index p has
   * RoPE position tokens + p. Null: requests attend only their own tokens.
   */
  readonly corpus: { readonly tokens: number; readonly chunkTokens: number; readonly topK: number } | null
  readonly system: DecoderSystem
  /** Seed of the synthetic weights and corpus. */
  readonly seed: number
  /** A safetensors checkpoint in Hugging Face Llama layout (F32/F16/BF16); default synthetic weights. */
  readonly weightsFile?: string
  /** A safetensors file with `corpus.layers.{l}.k` / `.v` [tokens, kvHeads, headDim]; default synthetic. */
  readonly corpusFile?: string
  /** Most tokens one prefill call may carry (all requests together); default max(slots, 256). */
  readonly maxBatchTokens?: number
  /** Stacked rows per shared-attention tile: 16 or 64; default 64 when units average ≥ 32 rows (64-row compiles take minutes on lavapipe). */
  readonly sharedRowTile?: 16 | 64
  /** Device memory the decoder may take, bytes (WebGPU does not report it); checked before allocating. */
  readonly memoryBudgetBytes?: number
  /** Fill every scratch buffer (and the KV cache) with NaN before each step, so an unwritten element shows (tests). */
  readonly poison?: boolean
  /**
   * MoSKA only: each layer's shared attention goes to this port (a `SharedServer` here or in another
   * process) instead of this device, which then holds only the corpus's chunk centroids (for the
   * router), not its K/V (unless `sharedPortSteps` is "decode"). The layer's queries are read back
   * with the router's choice.
   */
  readonly sharedPort?: SharedPort
  /**
   * With a sharedPort, where a layer's shared partials are merged: "shared" (default) has the shared
   * side merge them into one per query row, so topK × key-splits times fewer bytes come back;
   * "unique" gets every partial and merges them here with the unique ones (bit for bit the local decoder's result).
   */
  readonly sharedMerge?: "shared" | "unique"
  /**
   * With a sharedPort, which steps use it: "all" (default) sends every step's layers; "decode"
   * sends decode steps' only, and this device also holds a replica of the corpus K/V so prefill
   * attends it here (a prefill step would send every prompt token's query rows per routed chunk per
   * layer, thousands of rows against a decode step's B; see docs/disaggregated.md).
   */
  readonly sharedPortSteps?: "all" | "decode"
  /**
   * With a sharedPort: 2 splits each decode step of two or more requests into two micro-batches
   * (the first ceil(n/2) requests and the rest), each on its own scratch buffers, run interleaved:
   * while one micro-batch's layer-l query rows are on the wire, the other's dense work and unique
   * attention run, so the per-layer round trip overlaps compute instead of adding to the step
   * (layer l+1 needs layer l's merge, so one batch cannot overlap with itself). Default 1.
   */
  readonly microBatches?: 1 | 2
}

export interface PrefillRequest {
  readonly slot: number
  readonly tokens: Int32Array
  /** KV index of tokens[0] (chunked prefill: the tokens already written). */
  readonly start: number
  readonly sample: boolean
  readonly temperature: number
  readonly seed: number
}

export interface DecodeRequest {
  readonly slot: number
  readonly token: number
  /** KV index of `token` (its own-token position). */
  readonly position: number
  readonly temperature: number
  readonly seed: number
}

export interface StepResult {
  /** One per request, in order: the sampled next token, or -1 where not sampled. */
  readonly tokens: Int32Array
  /** GPU busy time of the step: the sum of its passes' timestamp durations (host gaps between submits excluded), or wall time when timing is "wall". */
  readonly gpuNs: number
  readonly timing: "timestamps" | "wall"
  /** Host wall time of the call, ns. */
  readonly wallNs: number
  /** GPU ns per kernel kind (empty when timing is "wall"). */
  readonly kernels: Array<{ kind: string; gpuNs: number }>
  /** MoSKA only: stacked query rows per chunk (GQA heads counted), summed over layers and KV heads, from the router's output. */
  readonly routing: { rowsPerChunk: Map<number, number> } | null
  /** With a sharedPort: host ns the step waited for the shared side's replies after its own unique pass was submitted (0 without; summed over a pipelined step's two micro-batches, which may wait at once). */
  readonly remoteWaitNs: number
}

/** Batch rows of one step, as the kernels read them. */
interface StepRows {
  /** Which call made it (a sharedPort with sharedPortSteps "decode" serves decode steps only). */
  readonly phase: "prefill" | "decode"
  readonly rows: number
  readonly ids: Int32Array
  /** Per row: slot, kv index, q index, RoPE position. */
  readonly info: Uint32Array
  /** "slots": one row per request, queries indexed by slot (unique attention over all slots in one dispatch); "rows": queries indexed by row. */
  readonly mode: "slots" | "rows"
  /** Extent of the q-index space used: the router and private attention run over [0, qRows). */
  readonly qRows: number
  readonly reqs: ReadonlyArray<{ slot: number; row0: number; n: number }>
  /** Batch row and request index of each sampled row. */
  readonly sampleRows: readonly number[]
  readonly sampleReqs: readonly number[]
  readonly sp: Uint32Array
  readonly nReqs: number
}

type Disp = { pipeline: GPUComputePipeline; group: GPUBindGroup; workgroups: readonly [number, number?, number?] }

const align = (x: number, a: number): number => Math.ceil(x / a) * a

const invalid = (path: string, message: string): ScenarioInvalid => new ScenarioInvalid({ source: "DecoderConfig", issues: [{ path, message }] })

/** The first problem with a config, as [path, message], or undefined. */
const checkConfig = (c: DecoderConfig): [string, string] | undefined => {
  const d = checkDecoderDims(c.dims)
  if (d !== undefined) return ["dims", d]
  if (!Number.isInteger(c.slots) || c.slots < 1) return ["slots", `slots must be a positive integer (got ${c.slots})`]
  if (!Number.isInteger(c.maxContext) || c.maxContext < 16 || c.maxContext % 16 !== 0) return ["maxContext", `maxContext must be a positive multiple of 16 (got ${c.maxContext})`]
  if (c.maxBatchTokens !== undefined && (!Number.isInteger(c.maxBatchTokens) || c.maxBatchTokens < 1)) return ["maxBatchTokens", `maxBatchTokens must be a positive integer (got ${c.maxBatchTokens})`]
  if (!["moska", "prefix", "cascade", "private"].includes(c.system)) return ["system", `system must be moska, prefix, cascade or private (got ${c.system})`]
  const k = c.corpus
  if (k !== null) {
    if (!Number.isInteger(k.tokens) || k.tokens < 1) return ["corpus.tokens", `corpus.tokens must be a positive integer (got ${k.tokens})`]
    if (!Number.isInteger(k.chunkTokens) || k.chunkTokens < 16 || k.chunkTokens % 16 !== 0) return ["corpus.chunkTokens", `corpus.chunkTokens must be a positive multiple of 16 (got ${k.chunkTokens})`]
    const n = Math.ceil(k.tokens / k.chunkTokens)
    if (n > ROUTER_MAX_CHUNKS) return ["corpus.chunkTokens", `the corpus has ${n} chunks; the router takes at most ${ROUTER_MAX_CHUNKS}: use chunks of at least ${Math.ceil(k.tokens / ROUTER_MAX_CHUNKS)} tokens`]
    if (c.system === "moska" && (!Number.isInteger(k.topK) || k.topK < 1 || k.topK > n)) return ["corpus.topK", `corpus.topK must be an integer in [1, ${n}] (the chunk count; got ${k.topK})`]
    if (k.tokens * c.dims.kvHeads * c.dims.headDim >= 2 ** 32) return ["corpus.tokens", `corpus.tokens × kvHeads × headDim must be below 2^32 (element indices are u32; got ${k.tokens * c.dims.kvHeads * c.dims.headDim})`]
  }
  if (c.sharedPortSteps !== undefined && c.sharedPortSteps !== "all" && c.sharedPortSteps !== "decode") return ["sharedPortSteps", `sharedPortSteps must be all or decode (got ${String(c.sharedPortSteps)})`]
  if (c.microBatches !== undefined && c.microBatches !== 1 && c.microBatches !== 2) return ["microBatches", `microBatches must be 1 or 2 (got ${String(c.microBatches)})`]
  if (c.microBatches === 2 && c.sharedPort === undefined) return ["microBatches", "microBatches 2 pipelines the remote shared attention: it needs a sharedPort"]
  if (c.sharedPort !== undefined && (c.system !== "moska" || k === null)) return ["sharedPort", `a remote shared attention (sharedPort) needs system moska with a corpus (got system ${c.system}${k === null ? ", no corpus" : ""})`]
  return undefined
}

/**
 * A Llama-architecture decoder on WebGPU: embedding → per layer [RMSNorm → QKV → RoPE → KV append →
 * attention (own KV + shared corpus per `system`) → o_proj + residual → RMSNorm → SwiGLU MLP +
 * residual] → final norm → LM head → sampling, for a batch of requests in KV slots. All buffers are
 * preallocated for `slots` and `maxBatchTokens` and all bind groups made at creation; a step writes
 * its row tables and encodes dispatches. Non-MoSKA steps are one submission; MoSKA reads each layer's
 * router output back to stack the queries (one extra round trip per layer).
 * @example
 * const dec = await LlamaDecoder.create(gpu, { dims, slots: 4, maxContext: 256, corpus: { tokens: 256, chunkTokens: 64, topK: 2 }, system: "moska", seed: 1 })
 * const first = await dec.prefill([{ slot: 0, tokens: Int32Array.of(1, 2, 3), start: 0, sample: true, temperature: 0, seed: 0 }])
 * const next = await dec.decode([{ slot: 0, token: first.tokens[0]!, position: 3, temperature: 0, seed: 0 }])
 */
export class LlamaDecoder {
  private readonly slotLen: Int32Array
  private readonly bindCache = new Map<string, GPUBindGroup>()
  private readonly paramCache = new Map<string, GPUBuffer>()
  private destroyed = false
  /** Rows the last step sampled, per lane (a pipelined decode step samples on both). */
  private lastSampled: number[] = [0]
  private busy = false
  private readonly r: Resources

  private constructor(
    private readonly gpu: GpuContext,
    readonly cfg: DecoderConfig,
    private readonly lanes: readonly Resources[],
  ) {
    this.slotLen = new Int32Array(cfg.slots)
    this.r = lanes[0]!
  }

  /** Device bytes the decoder holds (weights, corpus, KV cache, scratch). */
  get bytes(): number {
    return this.r.bytes
  }

  /**
   * Checks the config, the checkpoint's tensor shapes and the capacity against the device limits
   * (and `memoryBudgetBytes`), all before allocating; then allocates, fills or uploads weights and
   * corpus, computes chunk centroids and compiles the kernels.
   */
  static async create(gpu: GpuContext, cfg: DecoderConfig): Promise<LlamaDecoder> {
    const problem = checkConfig(cfg)
    if (problem !== undefined) throw invalid(problem[0], problem[1])
    let wf: SafetensorsFile | undefined
    let cf: SafetensorsFile | undefined
    try {
      let tied = false
      if (cfg.weightsFile !== undefined) {
        wf = openSafetensors(cfg.weightsFile)
        tied = checkWeightsFile(wf, cfg.dims).tied
      }
      if (cfg.corpusFile !== undefined) {
        if (cfg.corpus === null) throw invalid("corpusFile", "corpusFile needs corpus { tokens, chunkTokens, topK } to say its size")
        cf = openSafetensors(cfg.corpusFile)
        checkCorpusFile(cf, cfg.dims, cfg.corpus.tokens)
      }
      const shape = planShape(gpu, cfg)
      checkCapacity(gpu, cfg, shape, tied)
      const lanes = await allocate(gpu, cfg, shape, tied, wf, cf)
      return new LlamaDecoder(gpu, cfg, lanes)
    } finally {
      wf?.close()
      cf?.close()
    }
  }

  /**
   * Prefill: each request's tokens go to its slot at KV indices [start, start + n) with causal
   * attention over its own tokens so far (and the corpus); call again with the next slice for
   * chunked prefill. A request with `sample` gets the token after its last one.
   */
  async prefill(reqs: ReadonlyArray<PrefillRequest>): Promise<StepResult> {
    const R = this.r.shape.R
    let total = 0
    const seen = new Set<number>()
    for (const q of reqs) {
      this.checkSlot(q.slot, seen)
      if (q.tokens.length < 1) throw new Error(`prefill: slot ${q.slot} has no tokens`)
      if (!Number.isInteger(q.start) || q.start < 0 || q.start > this.slotLen[q.slot]!) throw new Error(`prefill: slot ${q.slot} starts at ${q.start} but holds ${this.slotLen[q.slot]} tokens (start must be at most that, or the KV would have a gap)`)
      if (q.start + q.tokens.length > this.cfg.maxContext) throw new Error(`prefill: slot ${q.slot} would hold ${q.start + q.tokens.length} tokens; maxContext is ${this.cfg.maxContext}`)
      q.tokens.forEach((t) => this.checkToken(t))
      total += q.tokens.length
    }
    if (reqs.length === 0) throw new Error("prefill: no requests")
    if (total > R) throw new Error(`prefill: ${total} tokens exceed maxBatchTokens (${R}); split them into chunks (chunked prefill)`)
    const oneEach = reqs.every((q) => q.tokens.length === 1)
    const ids = new Int32Array(total)
    const info = new Uint32Array(total * 4)
    const off = this.ropeOffset()
    const rs: Array<{ slot: number; row0: number; n: number }> = []
    const sampleRows: number[] = []
    const sampleReqs: number[] = []
    const sp: number[] = []
    let row = 0
    reqs.forEach((q, i) => {
      rs.push({ slot: q.slot, row0: row, n: q.tokens.length })
      for (let j = 0; j < q.tokens.length; j++, row++) {
        ids[row] = q.tokens[j]!
        info.set([q.slot, q.start + j, oneEach ? q.slot : row, off + q.start + j], row * 4)
      }
      if (q.sample) {
        sampleRows.push(row - 1)
        sampleReqs.push(i)
        sp.push(gpuOps.f32Bits(q.temperature), q.seed >>> 0, q.start + q.tokens.length - 1, 0)
      }
    })
    const qRows = oneEach ? Math.max(...reqs.map((q) => q.slot)) + 1 : total
    const res = await this.step([{ phase: "prefill", rows: total, ids, info, mode: oneEach ? "slots" : "rows", qRows, reqs: rs, sampleRows, sampleReqs, sp: Uint32Array.from(sp), nReqs: reqs.length }])
    for (const q of reqs) this.slotLen[q.slot] = q.start + q.tokens.length
    return res
  }

  /** One decode step for the batch: each request's token at its position, next token sampled. */
  async decode(reqs: ReadonlyArray<DecodeRequest>): Promise<StepResult> {
    if (reqs.length === 0) throw new Error("decode: no requests")
    const seen = new Set<number>()
    for (const q of reqs) {
      this.checkSlot(q.slot, seen)
      this.checkToken(q.token)
      if (!Number.isInteger(q.position) || q.position < 0 || q.position >= this.cfg.maxContext) throw new Error(`decode: slot ${q.slot} position ${q.position} is outside [0, maxContext = ${this.cfg.maxContext})`)
      if (q.position > this.slotLen[q.slot]!) throw new Error(`decode: slot ${q.slot} position ${q.position} but the slot holds ${this.slotLen[q.slot]} tokens (the KV would have a gap)`)
    }
    // pipelined: two micro-batches, the first ceil(n/2) requests and the rest, on the two lanes
    const m = this.lanes.length > 1 && reqs.length >= 2 ? Math.ceil(reqs.length / 2) : reqs.length
    const parts = m < reqs.length ? [reqs.slice(0, m), reqs.slice(m)] : [reqs]
    const res = await this.step(parts.map((p) => this.decodeRows(p)))
    for (const q of reqs) this.slotLen[q.slot] = q.position + 1
    return res
  }

  /** A decode step's row tables for `reqs` (checked by the caller). */
  private decodeRows(reqs: ReadonlyArray<DecodeRequest>): StepRows {
    const ids = new Int32Array(reqs.length)
    const info = new Uint32Array(reqs.length * 4)
    const sp = new Uint32Array(reqs.length * 4)
    const off = this.ropeOffset()
    reqs.forEach((q, i) => {
      ids[i] = q.token
      info.set([q.slot, q.position, q.slot, off + q.position], i * 4)
      sp.set([gpuOps.f32Bits(q.temperature), q.seed >>> 0, q.position, 0], i * 4)
    })
    return {
      phase: "decode",
      rows: reqs.length,
      ids,
      info,
      mode: "slots",
      qRows: Math.max(...reqs.map((q) => q.slot)) + 1,
      reqs: reqs.map((q, i) => ({ slot: q.slot, row0: i, n: 1 })),
      sampleRows: reqs.map((_, i) => i),
      sampleReqs: reqs.map((_, i) => i),
      sp,
      nReqs: reqs.length,
    }
  }

  /** Logits of the last step's sampled rows, [sampled, vocab] in request order (for tests and tools). */
  async readLogits(): Promise<Float32Array> {
    const V = this.cfg.dims.vocab
    const parts = await Promise.all(this.lastSampled.map((n, i) => (n > 0 ? gpuOps.readF32(this.gpu, this.lanes[i]!.buf.logits, n * V) : Promise.resolve(new Float32Array(0)))))
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0))
    let at = 0
    for (const p of parts) {
      out.set(p, at)
      at += p.length
    }
    return out
  }

  /** Frees a slot: its KV is forgotten (the next request there starts at 0). */
  release(slot: number): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.cfg.slots) throw new Error(`release: slot ${slot} is outside [0, ${this.cfg.slots})`)
    this.slotLen[slot] = 0
  }

  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    destroyResources(this.lanes)
    this.bindCache.clear()
    this.paramCache.clear()
  }

  private ropeOffset(): number {
    return this.cfg.corpus?.tokens ?? 0
  }

  private checkSlot(slot: number, seen: Set<number>): void {
    if (this.destroyed) throw new Error("LlamaDecoder used after destroy()")
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.cfg.slots) throw new Error(`slot ${slot} is outside [0, ${this.cfg.slots})`)
    if (seen.has(slot)) throw new Error(`slot ${slot} appears twice in one step`)
    seen.add(slot)
  }

  private checkToken(t: number): void {
    if (!Number.isInteger(t) || t < 0 || t >= this.cfg.dims.vocab) throw new Error(`token ${t} is outside the vocabulary [0, ${this.cfg.dims.vocab})`)
  }

  private cached(key: string, make: () => GPUBindGroup): GPUBindGroup {
    let g = this.bindCache.get(key)
    if (g === undefined) {
      g = make()
      this.bindCache.set(key, g)
    }
    return g
  }

  /** One step: a single row set on lane 0, or a pipelined decode step's two micro-batches, one per lane, in flight together. */
  private async step(parts: readonly StepRows[]): Promise<StepResult> {
    // Steps share every scratch buffer of their lane: one at a time.
    if (this.busy) throw new Error("LlamaDecoder: a step is already running; await it before the next")
    this.busy = true
    try {
      if (parts.length === 1) {
        const res = await this.runStep(parts[0]!, this.r)
        this.lastSampled = [parts[0]!.sampleRows.length]
        return res
      }
      const t0 = process.hrtime.bigint()
      // both settle before the step ends (a failed lane must not leave the other writing scratch behind the next step)
      const settled = await Promise.allSettled(parts.map((p, i) => this.runStep(p, this.lanes[i]!)))
      const bad = settled.find((x): x is PromiseRejectedResult => x.status === "rejected")
      if (bad !== undefined) throw bad.reason
      const res = settled.map((x) => (x as PromiseFulfilledResult<StepResult>).value)
      this.lastSampled = parts.map((p) => p.sampleRows.length)
      return LlamaDecoder.joined(res, Number(process.hrtime.bigint() - t0))
    } finally {
      this.busy = false
    }
  }

  /** The result of a pipelined step from its micro-batches' (in request order): GPU time summed (one queue, so their passes do not overlap), wall time the whole step's. */
  private static joined(res: readonly StepResult[], wallNs: number): StepResult {
    const tokens = new Int32Array(res.reduce((a, x) => a + x.tokens.length, 0))
    let at = 0
    for (const x of res) {
      tokens.set(x.tokens, at)
      at += x.tokens.length
    }
    const kernels = new Map<string, number>()
    for (const x of res) for (const kk of x.kernels) kernels.set(kk.kind, (kernels.get(kk.kind) ?? 0) + kk.gpuNs)
    const timed = res.every((x) => x.timing === "timestamps")
    let routing: StepResult["routing"] = null
    if (res.every((x) => x.routing !== null)) {
      const rowsPerChunk = new Map<number, number>()
      for (const x of res) for (const [c, n] of x.routing!.rowsPerChunk) rowsPerChunk.set(c, (rowsPerChunk.get(c) ?? 0) + n)
      routing = { rowsPerChunk }
    }
    return {
      tokens,
      gpuNs: timed ? res.reduce((a, x) => a + x.gpuNs, 0) : wallNs,
      timing: timed ? "timestamps" : "wall",
      wallNs,
      kernels: timed ? [...kernels].map(([kind, gpuNs]) => ({ kind, gpuNs })) : [],
      routing,
      remoteWaitNs: res.reduce((a, x) => a + x.remoteWaitNs, 0),
    }
  }

  private async runStep(s: StepRows, r: Resources): Promise<StepResult> {
    gpuOps.assertAlive(this.gpu)
    const t0 = process.hrtime.bigint()
    const { gpu, cfg } = this
    const { dims } = cfg
    const { buf, k, shape } = r
    const q = gpu.device.queue
    const H = dims.hidden
    const Hq = dims.qHeads
    const Hkv = dims.kvHeads
    const D = dims.headDim
    const nS = s.sampleRows.length
    if (cfg.poison === true) for (const b of r.scratch) gpuOps.poison(gpu, b.buffer, b.bytes)

    // Row tables of the step.
    q.writeBuffer(buf.meta, 0, Uint32Array.of(s.rows, nS, 0, 0))
    q.writeBuffer(buf.ids, 0, s.ids)
    q.writeBuffer(buf.info, 0, s.info)
    const cs = new Float32Array(s.rows * D)
    for (let i = 0; i < s.rows; i++) {
      const pos = s.info[i * 4 + 3]!
      for (let j = 0; j < D / 2; j++) {
        const a = pos * r.invFreq[j]!
        cs[i * D + j] = Math.cos(a)
        cs[i * D + D / 2 + j] = Math.sin(a)
      }
    }
    q.writeBuffer(buf.cs, 0, cs)
    // Slots mode: every slot gets its length (0 when not in the step), since the unique dispatch covers all slots.
    const lens = new Uint32Array(s.mode === "slots" ? cfg.slots : s.rows)
    if (s.mode === "slots") for (let i = 0; i < s.rows; i++) lens[s.info[i * 4]!] = s.info[i * 4 + 1]! + 1
    else for (let i = 0; i < s.rows; i++) lens[i] = s.info[i * 4 + 1]! + 1
    q.writeBuffer(buf.lens, 0, lens)
    if (nS > 0) {
      q.writeBuffer(buf.sampleMap, 0, Uint32Array.from(s.sampleRows))
      q.writeBuffer(buf.sp, 0, s.sp)
    }
    if (s.mode === "rows")
      for (const rq of s.reqs) {
        // Per-request causal attention over the slot's own region: queries rows [row0, row0 + n), KV bound at the slot.
        q.writeBuffer(r.slotParams[rq.slot]!, 0, uniqueParamWords({ b0: rq.row0, U: cfg.maxContext, Hkv, nsplit: shape.nsplit, splitLen: shape.splitLen, nwg: rq.n * Hkv * shape.nsplit, scale: 1 / Math.sqrt(D), srow0: 0, reqStride: 0, s0: 0, nsplitLocal: shape.nsplit }))
      }
    const corpus = r.corpus
    const qUsed: number[] = s.mode === "slots" ? Array.from({ length: s.rows }, (_, i) => s.info[i * 4 + 2]!) : Array.from({ length: s.rows }, (_, i) => i)
    if (corpus !== undefined && cfg.system === "private") {
      const cl = new Uint32Array(s.qRows)
      for (const qi of qUsed) cl[qi] = corpus.tokens
      q.writeBuffer(buf.corpusLens, 0, cl)
      r.privateSegs.forEach((seg, i) => q.writeBuffer(r.privateParams[i]!, 0, uniqueParamWords({ b0: 0, U: corpus.tokens, Hkv, nsplit: shape.nsplitC, splitLen: shape.splitLenC, nwg: s.qRows * Hkv * seg.n, scale: 1 / Math.sqrt(D), srow0: seg.t0 * Hkv, reqStride: 0, s0: seg.s0, nsplitLocal: seg.n })))
    }
    if (corpus !== undefined && cfg.system === "moska") q.writeBuffer(buf.routerParams, 0, Uint32Array.of(Hkv, corpus.chunks, cfg.corpus!.topK, s.qRows * Hkv))
    q.writeBuffer(buf.mergeParams, 0, Uint32Array.of(s.rows * Hq, 0, 0xff800000, 0))

    // Static shared plan for prefix / cascade (every row on every chunk), the same for all layers.
    const sharedAll = corpus !== undefined && (cfg.system === "prefix" || cfg.system === "cascade")
    const rowsPerChunk = new Map<number, number>()
    if (sharedAll) this.writeShared(r, s, qUsed, allChunkUnits(corpus.chunks, Hkv, Hq, s.rows))
    else if (cfg.system !== "moska" || corpus === undefined) this.writeMergeLists(r, s, qUsed, undefined)

    const timer = r.timer
    timer.reset()
    timer.overflowed = false
    let enc = gpu.device.createCommandEncoder({ label: "decoder step" })
    const pass = (kind: string, ds: readonly Disp[]): void => {
      if (ds.length === 0) return
      const p = enc.beginComputePass(timer.pass(kind))
      for (const d of ds) {
        p.setPipeline(d.pipeline)
        p.setBindGroup(0, d.group)
        p.dispatchWorkgroups(d.workgroups[0], d.workgroups[1] ?? 1, d.workgroups[2] ?? 1)
      }
      p.end()
    }
    const grid = (threads: number): [number, number] => gpuOps.grid(gpu, Math.ceil(threads / 256))
    // Bind groups per (weight, part, kernel family) and params per (weight, part), made on first use and kept (their uniforms are static).
    const dense = (key: string, w: DenseWeight, x: GPUBuffer, y: GPUBuffer, acc: boolean, rows: number, countWord = 0): Disp[] => {
      const v = k.dense.pick(rows, w.cols)
      return w.parts.map((p, i) => ({
        pipeline: v.pipeline,
        group: this.cached(`mm:${r.lane}:${key}:${i}:${v.family}`, () => {
          const params = this.denseParams(`${key}:${i}`, [w.cols, w.rows, p.n0, p.n, acc ? 1 : 0, countWord, 0, 0])
          return k.dense.group(v, { x: { buffer: x }, w: { buffer: p.buffer }, y: { buffer: y }, counts: { buffer: buf.meta }, params: { buffer: params } })
        }),
        workgroups: v.workgroups(p.n, rows),
      }))
    }

    pass("embed", r.weights.embed.parts.map((p, i) => ({ pipeline: k.embed.pipeline, group: r.embedGroups[i]!, workgroups: grid(s.rows * H) })))
    let remote: Promise<SharedReply> | undefined
    let remoteWaitNs = 0
    // this step's shared attention goes to the port (else it runs here, on the local corpus replica)
    const viaPort = r.qStage !== undefined && (cfg.sharedPortSteps !== "decode" || s.phase === "decode")
    for (let l = 0; l < dims.layers; l++) {
      const L = r.weights.layers[l]!
      pass("norm", [{ pipeline: k.norm.pipeline, group: r.normGroups[l]![0]!, workgroups: gpuOps.grid(gpu, s.rows) }])
      pass("dense", dense(`${l}.qkv`, L.qkv, buf.xn, buf.qkv, false, s.rows))
      pass("rope", [{ pipeline: k.rope.pipeline, group: r.ropeGroup, workgroups: grid(s.rows * (Hq + Hkv) * (D / 2)) }])
      pass("kv.append", r.appendGroups[l]!.map((g) => ({ pipeline: k.append.pipeline, group: g, workgroups: grid(s.rows * (Hq + 2 * Hkv) * D) })))
      if (corpus !== undefined && cfg.system === "moska") {
        // The router's choice decides the stacking: read it back, then plan this layer's shared attention.
        pass("router", [{ pipeline: k.router!, group: r.routerGroups[l]!, workgroups: gpuOps.grid(gpu, s.qRows * Hkv) }])
        const n = s.qRows * Hkv * cfg.corpus!.topK
        enc.copyBufferToBuffer(buf.routerOut, 0, buf.routerStage, 0, n * 4)
        // A remote shared attention needs this layer's queries too: read back with the choice.
        const qBytes = s.qRows * Hq * D * 4
        const qStage = viaPort ? r.qStage : undefined
        if (qStage !== undefined) enc.copyBufferToBuffer(buf.qAttn, 0, qStage, 0, qBytes)
        q.submit([enc.finish()])
        await Promise.all([buf.routerStage.mapAsync(GPUMapMode.READ, 0, n * 4), qStage?.mapAsync(GPUMapMode.READ, 0, qBytes)])
        const chosen = new Int32Array(buf.routerStage.getMappedRange(0, n * 4).slice(0))
        buf.routerStage.unmap()
        const units = moskaUnits(chosen, s, qUsed, Hq, Hkv, cfg.corpus!.topK)
        for (const u of units.units) rowsPerChunk.set(u.chunk, (rowsPerChunk.get(u.chunk) ?? 0) + u.rows.length)
        if (qStage !== undefined) {
          const qAll = new Float32Array(qStage.getMappedRange(0, qBytes).slice(0))
          qStage.unmap()
          remote = this.askShared(r, l, s, qUsed, units, qAll)
          // awaited below; marked handled so a failure of this step's encoding before then does not also surface as an unhandled rejection
          remote.catch(() => undefined)
        } else this.writeShared(r, s, qUsed, units)
        enc = gpu.device.createCommandEncoder({ label: "decoder step" })
      }
      const uniq: Disp[] =
        s.mode === "slots"
          ? r.uniqueGroups[l]!.map((g, i) => ({ pipeline: k.unique, group: g, workgroups: gpuOps.grid(gpu, r.uniqueSegs[i]!.units * Hkv * shape.nsplit) }))
          : s.reqs.map((rq) => ({
              pipeline: k.unique,
              group: this.cached(`uq:${r.lane}:${l}:${rq.slot}`, () =>
                UNIQUE_BINDINGS.group(gpu.device, UNIQUE_BINDINGS.layout(gpu.device), {
                  q: { buffer: buf.qAttn },
                  ...kvEntries(r.kv[l]!, { offset: rq.slot * shape.slotBytes, size: shape.slotBytes }),
                  lens: { buffer: buf.lens },
                  po: { buffer: buf.po },
                  pl: { buffer: buf.pl },
                  params: { buffer: r.slotParams[rq.slot]! },
                }),
              ),
              workgroups: gpuOps.grid(gpu, rq.n * Hkv * shape.nsplit),
            }))
      pass("unique.attention", uniq)
      if (corpus !== undefined && cfg.system === "private")
        pass("private.attention", r.privateGroups[l]!.map((g, i) => ({ pipeline: k.unique, group: g, workgroups: gpuOps.grid(gpu, s.qRows * Hkv * r.privateSegs[i]!.n) })))
      if (remote !== undefined) {
        // The unique pass runs while the shared side answers; its partials land before the merge is submitted.
        q.submit([enc.finish()])
        enc = gpu.device.createCommandEncoder({ label: "decoder step" })
        const w0 = process.hrtime.bigint()
        const reply = await remote
        remoteWaitNs += Number(process.hrtime.bigint() - w0)
        remote = undefined
        q.writeBuffer(buf.po, shape.sharedBase * D * 4, reply.o)
        q.writeBuffer(buf.pl, shape.sharedBase * 4, reply.lse)
      } else if (corpus !== undefined && cfg.system !== "private") {
        const sp = await this.sharedPipeline()
        pass("shared.attention", r.sharedGroups[l]!.flatMap((g, i) => (r.sharedItems[i]! > 0 ? [{ pipeline: sp, group: g, workgroups: gpuOps.grid(gpu, r.sharedItems[i]!) }] : [])))
      }
      pass("merge", [{ pipeline: k.merge, group: r.mergeGroup, workgroups: gpuOps.grid(gpu, s.rows * Hq) }])
      pass("dense", dense(`${l}.o`, L.o, buf.attn, buf.h, true, s.rows))
      pass("norm", [{ pipeline: k.norm.pipeline, group: r.normGroups[l]![1]!, workgroups: gpuOps.grid(gpu, s.rows) }])
      pass("dense", dense(`${l}.gateUp`, L.gateUp, buf.xn, buf.gu, false, s.rows))
      pass("swiglu", [{ pipeline: k.swiglu.pipeline, group: r.swigluGroup, workgroups: grid(s.rows * dims.intermediate) }])
      pass("dense", dense(`${l}.down`, L.down, buf.act, buf.h, true, s.rows))
    }
    if (nS > 0) {
      pass("norm", [{ pipeline: k.norm.pipeline, group: r.finalNormGroup, workgroups: gpuOps.grid(gpu, nS) }])
      pass("lmhead", dense("lmhead", r.weights.lmHead, buf.xs, buf.logits, false, nS, 1))
      pass("sample", [{ pipeline: k.sample.pipeline, group: r.sampleGroup, workgroups: gpuOps.grid(gpu, nS) }])
      enc.copyBufferToBuffer(buf.tokensOut, 0, buf.stage, 0, nS * 4)
    }
    timer.resolve(enc)
    const stampOff = align(cfg.slots * 4, 256)
    const nStamps = timer.count * 2
    if (timer.resolved !== undefined && nStamps > 0) enc.copyBufferToBuffer(timer.resolved, 0, buf.stage, stampOff, nStamps * 8)
    q.submit([enc.finish()])
    await buf.stage.mapAsync(GPUMapMode.READ)
    const mapped = buf.stage.getMappedRange()
    const sampled = new Int32Array(mapped.slice(0, nS * 4))
    const stamps = new BigUint64Array(mapped.slice(stampOff, stampOff + nStamps * 8))
    buf.stage.unmap()
    gpuOps.assertAlive(gpu)
    const wallNs = Number(process.hrtime.bigint() - t0)
    const tokens = new Int32Array(s.nReqs).fill(-1)
    s.sampleReqs.forEach((ri, j) => (tokens[ri] = sampled[j]!))
    const timed = timer.enabled && !timer.overflowed
    const t = timed ? timer.totals(stamps) : { gpuNs: wallNs, kernels: [] }
    return { tokens, gpuNs: t.gpuNs, timing: timed ? "timestamps" : "wall", wallNs, kernels: t.kernels, routing: cfg.system === "moska" && corpus !== undefined ? { rowsPerChunk } : null, remoteWaitNs }
  }

  /** One params uniform per (weight, part), shared by the kernel families that may run it. */
  private denseParams(key: string, words: readonly number[]): GPUBuffer {
    let b = this.paramCache.get(key)
    if (b === undefined) {
      b = gpuOps.uniform(this.gpu, words, "matmul.params")
      this.r.owned.push(b)
      this.paramCache.set(key, b)
    }
    return b
  }

  private async sharedPipeline(): Promise<GPUComputePipeline> {
    const v = this.r.sharedVariant!
    return gpuOps.pipeline(this.gpu, `shared:${v.dim}:${v.format}:${v.rowsPerThread}:${v.dk}`, SHARED_BINDINGS, sharedWgsl(v))
  }

  /** Key splits per unit for a plan: the shared host's rule (enough work items for ~1024 workgroups when rows are few), bounded by the preallocated partials. */
  private splitsOf(units: readonly SharedUnit[]): number {
    const { shape } = this.r
    const C = this.cfg.corpus!.chunkTokens
    const totalRows = units.reduce((a, u) => a + u.rows.length, 0)
    const tiles = units.reduce((a, u) => a + Math.ceil(u.rows.length / shape.rowTile), 0)
    const maxSplits = Math.max(1, Math.ceil(C / (4 * SHARED_KEY_TILE)))
    return Math.max(1, Math.min(maxSplits, Math.ceil(1024 / Math.max(1, tiles)), Math.floor(shape.sharedSlots / Math.max(1, totalRows))))
  }

  /** Partial slot of each unit's first row (units in order, `splits` ranges each), from `base`. */
  private static unitSlots(units: readonly SharedUnit[], splits: number, base: number): Uint32Array {
    const out = new Uint32Array(units.length)
    let slot = base
    units.forEach((u, i) => {
      out[i] = slot
      slot += splits * u.rows.length
    })
    return out
  }

  /**
   * A layer's shared attention through the port: the queries of the step's rows in batch order
   * (row b·Hq + hq), the stacked rows as indices into them, the same splits and row tile the
   * local kernel would use. Writes the merge lists now (partials land at sharedBase).
   */
  private askShared(r: Resources, layer: number, s: StepRows, qUsed: readonly number[], plan: { units: SharedUnit[]; where: Array<{ unit: number; row: number }>; perRow: number }, qAll: Float32Array): Promise<SharedReply> {
    const { cfg } = this
    const Hq = cfg.dims.qHeads
    const D = cfg.dims.headDim
    const qRows = new Float32Array(s.rows * Hq * D)
    for (let b = 0; b < s.rows; b++) qRows.set(qAll.subarray(qUsed[b]! * Hq * D, (qUsed[b]! + 1) * Hq * D), b * Hq * D)
    const rows = Uint32Array.from(plan.units.flatMap((u) => u.rows))
    const units: SharedPlanUnit[] = plan.units.map((u) => ({ chunk: u.chunk, kvHead: u.kvHead, rows: u.rows.length }))
    const splits = this.splitsOf(plan.units)
    const merge = cfg.sharedMerge !== "unique"
    this.writeMergeLists(r, s, qUsed, { ...plan, unitSlot0: LlamaDecoder.unitSlots(plan.units, splits, r.shape.sharedBase), splits, merged: merge })
    const want = merge ? s.rows * Hq : splits * planRows(units)
    return cfg.sharedPort!({ layer, q: qRows, rows, units, splits, rowTile: r.shape.rowTile === 64 ? 64 : 16, merge }).then((reply) => {
      if (reply.o.length !== want * D || reply.lse.length !== want) throw new Error(`decoder: the shared side answered layer ${layer} with ${reply.lse.length} partials (${reply.o.length} floats); the plan has ${want} (${want * D} floats)`)
      return reply
    })
  }

  /** Writes the shared work items, stacked rows and merge lists for `units` (one layer, or all layers when static). */
  private writeShared(r: Resources, s: StepRows, qUsed: readonly number[], plan: { units: SharedUnit[]; where: Array<{ unit: number; row: number }>; perRow: number }): void {
    const { gpu, cfg } = this
    const { shape } = r
    const corpus = r.corpus!
    const Hkv = cfg.dims.kvHeads
    const D = cfg.dims.headDim
    const C = corpus.chunkTokens
    const totalRows = plan.units.reduce((a, u) => a + u.rows.length, 0)
    const splits = this.splitsOf(plan.units)
    const rowList = new Uint32Array(totalRows)
    let rl = 0
    for (const u of plan.units) for (const x of u.rows) rowList[rl++] = qUsed[Math.floor(x / cfg.dims.qHeads)]! * cfg.dims.qHeads + (x % cfg.dims.qHeads)
    const unitSlot0 = LlamaDecoder.unitSlots(plan.units, splits, shape.sharedBase)
    const items = sharedWorkItems({
      units: plan.units.map((u) => ({ chunk: u.chunk, kvHead: u.kvHead, rows: u.rows.length })), splits, rowTile: shape.rowTile,
      chunkTokens: C, corpusTokens: corpus.tokens, segments: r.sharedSegs, slotBase: shape.sharedBase,
    })
    const q = gpu.device.queue
    if (totalRows > 0) q.writeBuffer(r.buf.sharedRows, 0, rowList)
    items.forEach((w, i) => {
      const nitems = w.length / SHARED_ITEM_WORDS
      if (nitems > shape.itemsPerSeg) throw new Error(`decoder: ${nitems} shared work items exceed the preallocated ${shape.itemsPerSeg} (a sizing defect)`)
      r.sharedItems[i] = nitems
      if (nitems > 0) q.writeBuffer(r.buf.sharedItems, i * shape.itemsPerSeg * SHARED_ITEM_WORDS * 4, new Uint32Array(w))
      q.writeBuffer(r.sharedParams[i]!, 0, Uint32Array.of(Hkv, nitems, gpuOps.f32Bits(1 / Math.sqrt(D)), r.sharedSegs[i]!.unit0 * C * Hkv))
    })
    this.writeMergeLists(r, s, qUsed, { ...plan, unitSlot0, splits })
  }

  /** CSR merge lists: per output row (batch row, q head) its unique splits that hold keys, its private splits, its shared partials. */
  private writeMergeLists(r: Resources, s: StepRows, qUsed: readonly number[], shared: { units: SharedUnit[]; where: Array<{ unit: number; row: number }>; perRow: number; unitSlot0: Uint32Array; splits: number; merged?: boolean } | undefined): void {
    const { cfg } = this
    const { shape } = r
    const Hq = cfg.dims.qHeads
    const G = Hq / cfg.dims.kvHeads
    const offs = new Uint32Array(s.rows * Hq + 1)
    const slots: number[] = []
    const priv = cfg.system === "private" && r.corpus !== undefined
    for (let b = 0; b < s.rows; b++) {
      const qi = qUsed[b]!
      const used = Math.ceil((s.info[b * 4 + 1]! + 1) / shape.splitLen)
      for (let hq = 0; hq < Hq; hq++) {
        const row = b * Hq + hq
        for (let sp = 0; sp < used; sp++) slots.push((qi * Hq + hq) * shape.nsplit + sp)
        if (priv) for (let sp = 0; sp < shape.nsplitC; sp++) slots.push(shape.privateBase + (qi * Hq + hq) * shape.nsplitC + sp)
        // merged on the shared side: one partial per batch row and q head, in batch order from sharedBase
        if (shared?.merged === true) slots.push(shape.sharedBase + row)
        else if (shared !== undefined) {
          const h = Math.floor(hq / G)
          for (let k = 0; k < shared.perRow; k++) {
            const w = shared.where[(b * cfg.dims.kvHeads + h) * shared.perRow + k]!
            const n = shared.units[w.unit]!.rows.length
            for (let sp = 0; sp < shared.splits; sp++) slots.push(shared.unitSlot0[w.unit]! + sp * n + w.row + (hq % G))
          }
        }
        offs[row + 1] = slots.length
      }
    }
    if (slots.length > shape.mergeCap) throw new Error(`decoder: ${slots.length} merge entries exceed the preallocated ${shape.mergeCap} (a sizing defect)`)
    const q = this.gpu.device.queue
    q.writeBuffer(r.buf.mergeSlots, 0, new Uint32Array(slots))
    q.writeBuffer(r.buf.mergeOffs, 0, offs)
  }
}

/** The unique kernels' Params words (UNIQUE_PARAMS order). */
const uniqueParamWords = (p: { b0: number; U: number; Hkv: number; nsplit: number; splitLen: number; nwg: number; scale: number; srow0: number; reqStride: number; s0: number; nsplitLocal: number }): Uint32Array =>
  Uint32Array.of(p.b0, p.U, p.Hkv, p.nsplit, p.splitLen, p.nwg, gpuOps.f32Bits(p.scale), p.srow0, p.reqStride, p.s0, p.nsplitLocal, 0)

/** MoSKA units from the router's output [qRows, Hkv, K] (rows of batch b as b·Hq + hq; mapped to q rows when written). */
const moskaUnits = (chosen: Int32Array, s: StepRows, qUsed: readonly number[], Hq: number, Hkv: number, K: number): { units: SharedUnit[]; where: Array<{ unit: number; row: number }>; perRow: number } => {
  const byBatch = new Int32Array(s.rows * Hkv * K)
  for (let b = 0; b < s.rows; b++) byBatch.set(chosen.subarray(qUsed[b]! * Hkv * K, (qUsed[b]! + 1) * Hkv * K), b * Hkv * K)
  return { ...routedUnits(byBatch, s.rows, Hq, Hkv, K), perRow: K }
}

/** Prefix / cascade: every batch row's group on every (chunk, KV head); unit c·Hkv + h, group of row b at b·G. */
const allChunkUnits = (chunks: number, Hkv: number, Hq: number, rows: number): { units: SharedUnit[]; where: Array<{ unit: number; row: number }>; perRow: number } => {
  const G = Hq / Hkv
  const units: SharedUnit[] = []
  for (let c = 0; c < chunks; c++)
    for (let h = 0; h < Hkv; h++) {
      const list: number[] = []
      for (let b = 0; b < rows; b++) for (let g = 0; g < G; g++) list.push(b * Hq + h * G + g)
      units.push({ chunk: c, kvHead: h, rows: list })
    }
  const where: Array<{ unit: number; row: number }> = []
  for (let b = 0; b < rows; b++) for (let h = 0; h < Hkv; h++) for (let c = 0; c < chunks; c++) where.push({ unit: c * Hkv + h, row: b * G })
  return { units, where, perRow: chunks }
}

/** Sizes decided before anything is allocated. */
interface Shape {
  /** Rows of every scratch buffer: max(slots, maxBatchTokens). */
  readonly R: number
  readonly splitLen: number
  readonly nsplit: number
  readonly slotBytes: number
  readonly splitLenC: number
  readonly nsplitC: number
  readonly privateBase: number
  readonly sharedBase: number
  readonly sharedSlots: number
  readonly partialSlots: number
  readonly mergeCap: number
  readonly itemsPerSeg: number
  readonly rowTile: number
  readonly sharedSegments: number
}

const planShape = (gpu: GpuContext, cfg: DecoderConfig): Shape => {
  const { dims, slots, maxContext } = cfg
  const Hq = dims.qHeads
  const Hkv = dims.kvHeads
  const D = dims.headDim
  const R = Math.max(slots, cfg.maxBatchTokens ?? 256)
  const splitLen = uniqueSplitLen(slots, Hkv, maxContext)
  const nsplit = Math.ceil(maxContext / splitLen)
  const slotBytes = maxContext * Hkv * D * 4
  const c = cfg.corpus
  const tokenBytes = Hkv * D * 4
  let splitLenC = UNIQUE_TILE
  let nsplitC = 0
  if (c !== null && cfg.system === "private") {
    const maxSplit = Math.max(UNIQUE_TILE, Math.floor(gpu.limits.maxStorageBufferBindingSize / tokenBytes / UNIQUE_TILE) * UNIQUE_TILE)
    splitLenC = Math.min(uniqueSplitLen(slots, Hkv, c.tokens), maxSplit)
    nsplitC = Math.ceil(c.tokens / splitLenC)
  }
  const uniqueSlots = R * Hq * nsplit
  const privateBase = align(uniqueSlots, 64)
  const sharedBase = align(privateBase + R * Hq * nsplitC, 64)
  const N = c === null ? 0 : Math.ceil(c.tokens / c.chunkTokens)
  const perRow = c === null || cfg.system === "private" ? 0 : cfg.system === "moska" ? c.topK : N
  // Room for one split at full rows, or several at decode sizes (more key splits keep a small batch's GPU busy).
  const sharedSlots = Math.max(R, 4 * slots) * Hq * perRow
  const partialSlots = sharedBase + sharedSlots
  const mergeCap = R * Hq * (nsplit + nsplitC) + sharedSlots
  const rowTile = cfg.sharedRowTile ?? (perRow > 0 && (R * Hq) / Math.max(1, Math.min(N, R * perRow) * Hkv) >= 32 ? 64 : 16)
  const sharedSegments = c === null ? 0 : Math.ceil(N / Math.max(1, Math.floor(gpu.limits.maxStorageBufferBindingSize / (c.chunkTokens * tokenBytes))))
  // Every work item covers at least one distinct partial slot; plus a tile per unit per split for ragged tiles.
  const itemsPerSeg = align(sharedSlots + 8, 8)
  return { R, splitLen, nsplit, slotBytes, splitLenC, nsplitC, privateBase, sharedBase, sharedSlots, partialSlots, mergeCap, itemsPerSeg, rowTile, sharedSegments }
}

/** Every buffer the decoder will allocate, with what it is (for the capacity check and the byte count). */
const plannedBuffers = (gpu: GpuContext, cfg: DecoderConfig, sh: Shape, tied: boolean): Array<{ what: string; bytes: number; bound: boolean }> => {
  const { dims, slots, maxContext } = cfg
  const { hidden: H, qHeads: Hq, kvHeads: Hkv, headDim: D, intermediate: I, vocab: V, layers } = dims
  const R = sh.R
  const out: Array<{ what: string; bytes: number; bound: boolean }> = weightBuffers(gpu, dims, tied).map((b) => ({ ...b, bound: true }))
  for (let l = 0; l < layers; l++) {
    const kv = slots * maxContext * Hkv * D * 4
    out.push({ what: `KV cache K of layer ${l} (${slots} slots × ${maxContext} tokens × ${Hkv} KV heads × ${D} f32)`, bytes: kv, bound: false }, { what: `KV cache V of layer ${l}`, bytes: kv, bound: false })
    if (cfg.corpus !== null) {
      const ck = cfg.corpus.tokens * Hkv * D * 4
      // With a remote shared attention only the centroids stay (each layer's K/V is filled, reduced and freed in turn).
      if (holdsCorpus(cfg)) out.push({ what: `shared corpus K of layer ${l} (${cfg.corpus.tokens} tokens × ${Hkv} KV heads × ${D} f32)`, bytes: ck, bound: false }, { what: `shared corpus V of layer ${l}`, bytes: ck, bound: false })
      out.push({ what: `chunk centroids of layer ${l}`, bytes: Math.ceil(cfg.corpus.tokens / cfg.corpus.chunkTokens) * Hkv * D * 4, bound: true })
    }
  }
  // one lane's scratch (a pipelined decoder has two: microBatches 2)
  const lane: Array<{ what: string; bytes: number; bound: boolean }> = []
  const rows = (what: string, width: number): void => void lane.push({ what: `${what} (${R} rows × ${width} f32; lower maxBatchTokens)`, bytes: R * width * 4, bound: true })
  rows("hidden states", H)
  rows("normed hidden states", H)
  rows("q|k|v rows", (Hq + 2 * Hkv) * D)
  rows("attention queries", Hq * D)
  rows("attention output", Hq * D)
  rows("gate|up rows", 2 * I)
  rows("MLP activations", I)
  lane.push({ what: `logits (${slots} rows × ${V} f32)`, bytes: slots * V * 4, bound: true })
  lane.push({ what: `attention partials (${sh.partialSlots} slots × ${D} f32; lower maxBatchTokens or slots${cfg.system === "prefix" || cfg.system === "cascade" ? ", or use larger chunks" : ""})`, bytes: sh.partialSlots * D * 4, bound: true })
  lane.push({ what: "merge lists", bytes: sh.mergeCap * 4, bound: true })
  if (cfg.sharedPort !== undefined) lane.push({ what: `query readback for the remote shared attention (${R} rows × ${Hq * D} f32)`, bytes: R * Hq * D * 4, bound: false })
  out.push(...lane)
  if (cfg.microBatches === 2) out.push(...lane.map((b) => ({ ...b, what: `${b.what}, second micro-batch's lane` })))
  if (sh.sharedSegments > 0 && holdsCorpus(cfg)) out.push({ what: "shared work items", bytes: sh.sharedSegments * sh.itemsPerSeg * SHARED_ITEM_WORDS * 4, bound: false }, { what: "stacked shared rows", bytes: sh.sharedSlots * 4, bound: true })
  return out
}

/** Whether the decoder holds the corpus K/V: always without a sharedPort; with one, as the replica prefill attends when only decode steps use the port. */
const holdsCorpus = (cfg: DecoderConfig): boolean => cfg.sharedPort === undefined || cfg.sharedPortSteps === "decode"

const checkCapacity = (gpu: GpuContext, cfg: DecoderConfig, sh: Shape, tied: boolean): void => {
  const L = gpu.limits
  const bufs = plannedBuffers(gpu, cfg, sh, tied)
  for (const b of bufs) {
    if (b.bytes > L.maxBufferSize) throw new CapacityExceeded({ what: `${b.what}: over the device's maxBufferSize`, needBytes: b.bytes, capacityBytes: L.maxBufferSize })
    if (b.bound && b.bytes > L.maxStorageBufferBindingSize) throw new CapacityExceeded({ what: `${b.what}: over the device's maxStorageBufferBindingSize`, needBytes: b.bytes, capacityBytes: L.maxStorageBufferBindingSize })
  }
  const { kvHeads: Hkv, headDim: D } = cfg.dims
  if (sh.slotBytes > L.maxStorageBufferBindingSize) throw new CapacityExceeded({ what: `one KV slot (${cfg.maxContext} tokens × ${Hkv} KV heads × ${D} f32; lower maxContext): over maxStorageBufferBindingSize`, needBytes: sh.slotBytes, capacityBytes: L.maxStorageBufferBindingSize })
  if (cfg.corpus !== null) {
    const chunk = cfg.corpus.chunkTokens * Hkv * D * 4
    if (chunk > L.maxStorageBufferBindingSize) throw new CapacityExceeded({ what: `one corpus chunk (${cfg.corpus.chunkTokens} tokens; use smaller chunks): over maxStorageBufferBindingSize`, needBytes: chunk, capacityBytes: L.maxStorageBufferBindingSize })
  }
  const total = bufs.reduce((a, b) => a + b.bytes, 0)
  if (cfg.memoryBudgetBytes !== undefined && total > cfg.memoryBudgetBytes) throw new CapacityExceeded({ what: `decoder total (weights, corpus, KV cache, scratch) over memoryBudgetBytes`, needBytes: total, capacityBytes: cfg.memoryBudgetBytes })
}

interface Kernels {
  embed: DecoderKernel<"ids" | "table" | "out" | "counts" | "params">
  norm: DecoderKernel<"x" | "w" | "y" | "map" | "counts" | "params">
  /** Dense-layer kernels (matvec for decode, GEMM for prefill), all compiled here. */
  dense: DenseMatmul
  rope: DecoderKernel<"qkv" | "cs" | "counts" | "params">
  append: DecoderKernel<"qkv" | "info" | "qAttn" | "kc" | "vc" | "counts" | "params">
  swiglu: DecoderKernel<"gu" | "act" | "counts" | "params">
  sample: DecoderKernel<"logits" | "sp" | "out" | "counts" | "params">
  unique: GPUComputePipeline
  merge: GPUComputePipeline
  router: GPUComputePipeline | undefined
}

interface Resources {
  /** Which lane's scratch this is: 0, or 1 for a pipelined decode step's second micro-batch (bind-group cache keys carry it). */
  readonly lane: number
  readonly shape: Shape
  readonly bytes: number
  readonly weights: GpuWeights
  readonly corpus: GpuCorpus | undefined
  readonly kv: readonly GpuKv[]
  readonly k: Kernels
  readonly buf: Record<
    | "ids" | "h" | "xn" | "qkv" | "qAttn" | "attn" | "gu" | "act" | "xs" | "logits" | "meta" | "info" | "cs" | "lens" | "corpusLens" | "ident" | "sampleMap" | "sp" | "tokensOut"
    | "po" | "pl" | "lse" | "mergeSlots" | "mergeOffs" | "mergeParams" | "routerOut" | "routerStage" | "routerParams" | "sharedRows" | "sharedItems" | "stage",
    GPUBuffer
  >
  /** Buffers poisoned before each step with `poison`. */
  readonly scratch: ReadonlyArray<{ buffer: GPUBuffer; bytes: number }>
  readonly invFreq: Float64Array
  readonly timer: StepTimer
  readonly embedGroups: GPUBindGroup[]
  readonly normGroups: GPUBindGroup[][]
  readonly finalNormGroup: GPUBindGroup
  readonly ropeGroup: GPUBindGroup
  readonly appendGroups: GPUBindGroup[][]
  readonly swigluGroup: GPUBindGroup
  readonly sampleGroup: GPUBindGroup
  readonly mergeGroup: GPUBindGroup
  readonly uniqueSegs: ReadonlyArray<{ unit0: number; units: number; offset: number; size: number }>
  readonly uniqueGroups: GPUBindGroup[][]
  readonly slotParams: GPUBuffer[]
  readonly privateSegs: ReadonlyArray<{ t0: number; s0: number; n: number; offset: number; size: number }>
  readonly privateParams: GPUBuffer[]
  readonly privateGroups: GPUBindGroup[][]
  readonly routerGroups: GPUBindGroup[]
  readonly sharedSegs: ReadonlyArray<{ unit0: number; units: number; offset: number; size: number }>
  readonly sharedParams: GPUBuffer[]
  readonly sharedGroups: GPUBindGroup[][]
  /** Work items per shared segment in the current plan. */
  readonly sharedItems: number[]
  readonly sharedVariant: SharedVariant | undefined
  /** With a sharedPort: where each layer's queries are read back (MAP_READ). */
  readonly qStage: GPUBuffer | undefined
  /** Buffers destroyed with the decoder (uniforms, staging; grows as matmul bind groups are made). */
  readonly owned: GPUBuffer[]
}

const allocate = async (gpu: GpuContext, cfg: DecoderConfig, sh: Shape, tied: boolean, wf: SafetensorsFile | undefined, cf: SafetensorsFile | undefined): Promise<Resources[]> => {
  const { dims, slots, maxContext } = cfg
  const { hidden: H, qHeads: Hq, kvHeads: Hkv, headDim: D, intermediate: I, layers } = dims
  const R = sh.R
  const G = Hq / Hkv
  const owned: GPUBuffer[] = []
  const weights = allocWeights(gpu, dims, tied)
  if (wf !== undefined) uploadWeightsFile(gpu, weights, dims, wf)
  else await fillSyntheticWeights(gpu, weights, dims, cfg.seed)
  const localShared = holdsCorpus(cfg)
  const corpus = cfg.corpus === null ? undefined : await loadCorpus(gpu, dims, cfg.corpus, cfg.seed, cf, localShared ? "all" : "centroids")
  const kv = Array.from({ length: layers }, () => allocKv(gpu, "f32", D, slots * maxContext * Hkv))
  if (cfg.poison === true) kv.forEach((x) => (gpuOps.poison(gpu, x.k, x.rows * D * 4), gpuOps.poison(gpu, x.v, x.rows * D * 4)))

  const k: Kernels = {
    embed: await decoderKernel(gpu, "decoder.embed", EMBED_BINDINGS, embedWgsl()),
    norm: await decoderKernel(gpu, "decoder.rmsNorm", RMS_NORM_BINDINGS, rmsNormWgsl()),
    // Every dense variant a step can pick (rows up to R; K of each projection) compiles now, never mid-run.
    dense: await DenseMatmul.create(gpu, R, [H, Hq * D, I]),
    rope: await decoderKernel(gpu, "decoder.rope", ROPE_BINDINGS, ropeWgsl()),
    append: await decoderKernel(gpu, "decoder.kvAppend", KV_APPEND_BINDINGS, kvAppendWgsl()),
    swiglu: await decoderKernel(gpu, "decoder.swiglu", SWIGLU_BINDINGS, swigluWgsl()),
    sample: await decoderKernel(gpu, "decoder.sample", SAMPLE_BINDINGS, sampleWgsl()),
    unique: (await uniquePipeline(gpu, D, G, "f32")).pipeline,
    merge: await gpuOps.pipeline(gpu, `merge:${D}`, MERGE_BINDINGS, mergeWgsl(D)),
    router: undefined,
  }
  if (corpus !== undefined && cfg.system === "moska") {
    let cap = 16
    while (cap < corpus.chunks) cap *= 2
    k.router = await gpuOps.pipeline(gpu, `router:${D}:${G}:${cap}`, ROUTER_BINDINGS, routerWgsl(D, G, cap))
  }
  const uniqueSegs = kvSegments(gpu, kv[0]!, maxContext * Hkv, slots)
  // Private: the unique kernel over the corpus, one request per q row, in segments of whole splits (as perRequestAttention binds it).
  const privateSegs: Array<{ t0: number; s0: number; n: number; offset: number; size: number }> = []
  if (corpus !== undefined && cfg.system === "private") {
    const tokenBytes = Hkv * D * 4
    const perSeg = Math.max(1, Math.floor(gpu.limits.maxStorageBufferBindingSize / (tokenBytes * sh.splitLenC)))
    for (let s0 = 0; s0 < sh.nsplitC; s0 += perSeg) {
      const n = Math.min(perSeg, sh.nsplitC - s0)
      const t0 = s0 * sh.splitLenC
      privateSegs.push({ t0, s0, n, offset: t0 * tokenBytes, size: Math.max(16, Math.min(n * sh.splitLenC, corpus.tokens - t0) * tokenBytes) })
    }
  }
  let sharedSegs: Array<{ unit0: number; units: number; offset: number; size: number }> = []
  let sharedVariant: SharedVariant | undefined
  if (corpus !== undefined && cfg.system !== "private" && localShared) {
    sharedSegs = kvSegments(gpu, corpus.kv[0]!, corpus.chunkTokens * Hkv, corpus.chunks)
    sharedVariant = sharedVariantFor(gpu, D, sh.rowTile === 64 ? 64 : 16)
    await gpuOps.pipeline(gpu, `shared:${D}:f32:${sharedVariant.rowsPerThread}:${sharedVariant.dk}`, SHARED_BINDINGS, sharedWgsl(sharedVariant))
  }
  const invFreq = Float64Array.from({ length: D / 2 }, (_, i) => dims.ropeTheta ** ((-2 * i) / D))
  const bytes = plannedBuffers(gpu, cfg, sh, tied).reduce((a, b) => a + b.bytes, 0)
  const model: Model = { shape: sh, bytes, weights, corpus, kv, k, invFreq, uniqueSegs, privateSegs, sharedSegs, sharedVariant, owned }
  // the second micro-batch's lane runs decode steps through the port only: no local shared or private attention
  const lanes = cfg.microBatches === 2 ? [0, 1] : [0]
  return lanes.map((lane) => ({ ...model, ...allocateLane(gpu, cfg, model, lane, lane === 0) }))
}

/** What every lane of a decoder shares: sizes, weights, corpus, KV cache, kernels. */
type Model = Pick<Resources, "shape" | "bytes" | "weights" | "corpus" | "kv" | "k" | "invFreq" | "uniqueSegs" | "privateSegs" | "sharedSegs" | "sharedVariant" | "owned">

/**
 * One lane's scratch buffers and the bind groups over them: the whole decoder's for lane 0, a
 * second set for the second micro-batch of a pipelined decode step (`microBatches` 2), so both
 * can be in flight at once. `full` false leaves out the local shared and private attention (a
 * second lane only runs decode steps through the port).
 */
const allocateLane = (gpu: GpuContext, cfg: DecoderConfig, m: Model, lane: number, full: boolean): Omit<Resources, keyof Model> => {
  const { dims, slots, maxContext } = cfg
  const { hidden: H, qHeads: Hq, kvHeads: Hkv, headDim: D, intermediate: I, vocab: V, layers } = dims
  const { shape: sh, weights, corpus, kv, k, uniqueSegs, owned } = m
  const R = sh.R
  const storage = (bytes: number, label: string): GPUBuffer => {
    const b = gpuOps.buffer(gpu, bytes, label)
    owned.push(b)
    return b
  }
  const uniform = (words: ArrayLike<number>, label: string): GPUBuffer => {
    const b = gpuOps.uniform(gpu, words, label)
    owned.push(b)
    return b
  }
  const remoteShared = cfg.sharedPort !== undefined
  const localShared = full && holdsCorpus(cfg)
  const stageBytes = align(slots * 4, 256) + 4096 * 8
  const buf: Resources["buf"] = {
    ids: storage(R * 4, "ids"),
    h: storage(R * H * 4, "h"),
    xn: storage(R * H * 4, "xn"),
    qkv: storage(R * (Hq + 2 * Hkv) * D * 4, "qkv"),
    qAttn: storage(R * Hq * D * 4, "qAttn"),
    attn: storage(R * Hq * D * 4, "attn"),
    gu: storage(R * 2 * I * 4, "gu"),
    act: storage(R * I * 4, "act"),
    xs: storage(slots * H * 4, "xs"),
    logits: storage(slots * V * 4, "logits"),
    meta: storage(16, "meta"),
    info: storage(R * 16, "info"),
    cs: storage(R * D * 4, "cs"),
    lens: storage(R * 4, "lens"),
    corpusLens: storage(R * 4, "corpusLens"),
    ident: storage(R * 4, "ident"),
    sampleMap: storage(slots * 4, "sampleMap"),
    sp: storage(slots * 16, "sp"),
    tokensOut: storage(slots * 4, "tokensOut"),
    po: storage(sh.partialSlots * D * 4, "po"),
    pl: storage(sh.partialSlots * 4, "pl"),
    lse: storage(R * Hq * 4, "lse"),
    mergeSlots: storage(sh.mergeCap * 4, "mergeSlots"),
    mergeOffs: storage((R * Hq + 1) * 4, "mergeOffs"),
    mergeParams: uniform([0, 0, 0xff800000, 0], "merge.params"),
    routerOut: storage(R * Hkv * Math.max(1, cfg.corpus?.topK ?? 1) * 4, "routerOut"),
    routerStage: gpu.device.createBuffer({ label: "routerStage", size: align(R * Hkv * Math.max(1, cfg.corpus?.topK ?? 1) * 4, 16), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
    routerParams: uniform([0, 0, 0, 0], "router.params"),
    sharedRows: storage(!localShared ? 16 : Math.max(1, sh.sharedSlots) * 4, "sharedRows"),
    sharedItems: storage(!localShared ? 16 : Math.max(1, sh.sharedSegments) * sh.itemsPerSeg * SHARED_ITEM_WORDS * 4, "sharedItems"),
    stage: gpu.device.createBuffer({ label: "stage", size: stageBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
  }
  owned.push(buf.routerStage, buf.stage)
  const qStage = remoteShared ? gpu.device.createBuffer({ label: "qStage", size: align(R * Hq * D * 4, 16), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }) : undefined
  if (qStage !== undefined) owned.push(qStage)
  gpuOps.write(gpu, buf.ident, Uint32Array.from({ length: R }, (_, i) => i))
  const scratch = [buf.h, buf.xn, buf.qkv, buf.qAttn, buf.attn, buf.gu, buf.act, buf.xs, buf.logits, buf.po, buf.pl, buf.lse, buf.tokensOut].map((b) => ({ buffer: b, bytes: b.size }))

  const meta = buf.meta
  const embedGroups = weights.embed.parts.map((p) => k.embed.group({ ids: buf.ids, table: p.buffer, out: buf.h, counts: meta, params: uniform([H, p.n0, p.n, 0], "embed.params") }))
  const normParams = uniform([H, gpuOps.f32Bits(dims.rmsEps), 0, 0], "norm.params")
  const normGroups = weights.layers.map((L) => [
    k.norm.group({ x: buf.h, w: L.inNorm, y: buf.xn, map: buf.ident, counts: meta, params: normParams }),
    k.norm.group({ x: buf.h, w: L.postNorm, y: buf.xn, map: buf.ident, counts: meta, params: normParams }),
  ])
  const finalNormGroup = k.norm.group({ x: buf.h, w: weights.finalNorm, y: buf.xs, map: buf.sampleMap, counts: meta, params: uniform([H, gpuOps.f32Bits(dims.rmsEps), 1, 0], "finalNorm.params") })
  const ropeGroup = k.rope.group({ qkv: buf.qkv, cs: buf.cs, counts: meta, params: uniform([D, Hq + Hkv, (Hq + 2 * Hkv) * D, 0], "rope.params") })
  const appendGroups = kv.map((x) =>
    uniqueSegs.map((seg, i) =>
      k.append.group({
        qkv: buf.qkv,
        info: buf.info,
        qAttn: buf.qAttn,
        kc: { buffer: x.k, offset: seg.offset, size: seg.size },
        vc: { buffer: x.v, offset: seg.offset, size: seg.size },
        counts: meta,
        params: uniform([D, Hq, Hkv, maxContext, seg.unit0, seg.units, i === 0 ? 1 : 0, 0], "append.params"),
      }),
    ),
  )
  const swigluGroup = k.swiglu.group({ gu: buf.gu, act: buf.act, counts: meta, params: uniform([I, 0, 0, 0], "swiglu.params") })
  const sampleGroup = k.sample.group({ logits: buf.logits, sp: buf.sp, out: buf.tokensOut, counts: meta, params: uniform([V, 1, 0, 0], "sample.params") })
  const mergeGroup = MERGE_BINDINGS.group(gpu.device, MERGE_BINDINGS.layout(gpu.device), {
    po: { buffer: buf.po },
    pl: { buffer: buf.pl },
    slots: { buffer: buf.mergeSlots },
    offs: { buffer: buf.mergeOffs },
    out: { buffer: buf.attn },
    lse: { buffer: buf.lse },
    params: { buffer: buf.mergeParams },
  })
  const uLayout = UNIQUE_BINDINGS.layout(gpu.device)
  const scale = 1 / Math.sqrt(D)
  const segParams = uniqueSegs.map((seg) => uniform(uniqueParamWords({ b0: seg.unit0, U: maxContext, Hkv, nsplit: sh.nsplit, splitLen: sh.splitLen, nwg: seg.units * Hkv * sh.nsplit, scale, srow0: seg.unit0 * maxContext * Hkv, reqStride: maxContext, s0: 0, nsplitLocal: sh.nsplit }), "unique.params"))
  const uniqueGroups = kv.map((x) =>
    uniqueSegs.map((seg, i) => UNIQUE_BINDINGS.group(gpu.device, uLayout, { q: { buffer: buf.qAttn }, ...kvEntries(x, seg), lens: { buffer: buf.lens }, po: { buffer: buf.po }, pl: { buffer: buf.pl }, params: { buffer: segParams[i]! } })),
  )
  const slotParams = Array.from({ length: slots }, () => uniform(new Uint32Array(12), "unique.slot.params"))

  const privateParams: GPUBuffer[] = []
  const privateGroups: GPUBindGroup[][] = kv.map(() => [])
  if (full && corpus !== undefined && cfg.system === "private") {
    m.privateSegs.forEach(() => privateParams.push(uniform(new Uint32Array(12), "private.params")))
    const poBind = { buffer: buf.po, offset: sh.privateBase * D * 4, size: (sh.sharedBase - sh.privateBase) * D * 4 }
    const plBind = { buffer: buf.pl, offset: sh.privateBase * 4, size: (sh.sharedBase - sh.privateBase) * 4 }
    corpus.kv.forEach((x, l) => m.privateSegs.forEach((seg, i) => privateGroups[l]!.push(UNIQUE_BINDINGS.group(gpu.device, uLayout, { q: { buffer: buf.qAttn }, ...kvEntries(x, seg), lens: { buffer: buf.corpusLens }, po: poBind, pl: plBind, params: { buffer: privateParams[i]! } }))))
  }

  const routerGroups: GPUBindGroup[] = []
  if (corpus !== undefined && cfg.system === "moska") {
    const rl = ROUTER_BINDINGS.layout(gpu.device)
    corpus.centroids.forEach((c) => routerGroups.push(ROUTER_BINDINGS.group(gpu.device, rl, { q: { buffer: buf.qAttn }, cent: { buffer: c }, out: { buffer: buf.routerOut }, params: { buffer: buf.routerParams } })))
  }

  const sharedParams: GPUBuffer[] = []
  const sharedGroups: GPUBindGroup[][] = kv.map(() => [])
  if (corpus !== undefined && cfg.system !== "private" && localShared) {
    const sl = SHARED_BINDINGS.layout(gpu.device)
    m.sharedSegs.forEach(() => sharedParams.push(uniform([0, 0, 0, 0], "shared.params")))
    corpus.kv.forEach((x, l) =>
      m.sharedSegs.forEach((seg, i) =>
        sharedGroups[l]!.push(
          SHARED_BINDINGS.group(gpu.device, sl, {
            q: { buffer: buf.qAttn },
            rows: { buffer: buf.sharedRows },
            items: { buffer: buf.sharedItems, offset: i * sh.itemsPerSeg * SHARED_ITEM_WORDS * 4, size: sh.itemsPerSeg * SHARED_ITEM_WORDS * 4 },
            ...kvEntries(x, seg),
            po: { buffer: buf.po },
            pl: { buffer: buf.pl },
            params: { buffer: sharedParams[i]! },
          }),
        ),
      ),
    )
  }
  const timer = new StepTimer(gpu, 16 * layers + 8)
  return {
    lane,
    buf,
    scratch,
    timer,
    embedGroups,
    normGroups,
    finalNormGroup,
    ropeGroup,
    appendGroups,
    swigluGroup,
    sampleGroup,
    mergeGroup,
    uniqueGroups,
    slotParams,
    privateParams,
    privateGroups,
    routerGroups,
    sharedParams,
    sharedGroups,
    sharedItems: m.sharedSegs.map(() => 0),
    qStage,
  }
}

const destroyResources = (lanes: readonly Resources[]): void => {
  const r = lanes[0]!
  destroyWeights(r.weights)
  if (r.corpus !== undefined) destroyCorpus(r.corpus)
  r.kv.forEach(destroyKv)
  r.owned.forEach((b) => b.destroy())
  lanes.forEach((x) => x.timer.destroy())
}
