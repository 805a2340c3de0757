import { Observable, type Subscriber } from "rxjs"
import { Priority, type Clock } from "../core/clock.js"
import type { CostModel } from "../core/costModel.js"
import type { WorkDone, WorkItem } from "../core/executor.js"
import type { KernelSpec } from "../core/kernels.js"
import { priceKernels } from "../core/priceKernels.js"
import type { Ns } from "../core/units.js"
import type { ChunkCount } from "../engine/iterationWork.js"
import type { StepPayload } from "../engine/stepPayload.js"
import type { LlamaDecoder, StepResult } from "../gpu/decoder/llamaDecoder.js"
import type { LiveExecutor } from "./runLive.js"

/** What the executor keeps per request between steps: its KV slot and where its sequence stands. */
interface Sequence {
  readonly slot: number
  readonly seed: number
  readonly temperature: number
  last: number
  position: number
  generated: number
  readonly tokens: number[]
}

/** One queued work item, with its requests read at submission (the worker's arrays change later). */
interface Job {
  readonly item: WorkItem
  readonly phase: "prefill" | "decode"
  readonly requests: ReadonlyArray<{ readonly id: number; readonly uniqueTokens: number; readonly outputTokens: number }>
  readonly subscriber: Subscriber<WorkDone>
  cancelled: boolean
  /** Called once its decoder call has ended (or can no longer start): `settled` waits on it. */
  readonly finish: () => void
}

export interface WebGpuExecutorOptions {
  readonly clock: Clock
  readonly decoder: LlamaDecoder
  /** Prices work for the prediction stored beside each measured row. */
  readonly modelOf: (workerId: string) => CostModel
  readonly layers: number
  readonly qHeads: number
  readonly kvHeads: number
  readonly vocab: number
  readonly seed: number
  /** Tokens of one prefill call (chunked prefill). */
  readonly prefillChunkTokens: number
  /** Sampling temperature (0 = greedy). */
  readonly temperature: number
  /** Every generated token, as it is sampled (the server streams these). */
  readonly onToken?: (requestId: number, index: number, token: number) => void
  /**
   * A request's own prompt ids, temperature and sampling seed (the server: what the client sent),
   * read once at its prefill; undefined fields (and requests it does not know) fall back to the
   * seeded prompt, `temperature` and the run's per-request seed.
   */
  readonly requestInput?: (requestId: number) => RequestInput | undefined
}

/** What a client asked for one request (see `WebGpuExecutorOptions.requestInput`). */
export interface RequestInput {
  /** Prompt ids (`uniqueTokens` of them); ids outside the vocabulary are the caller's to refuse. */
  readonly promptIds?: readonly number[]
  readonly temperature?: number
  readonly seed?: number
}

// Prompt ids of a replayed request: a trace gives lengths, not text, so the prompt is a seeded
// stream of byte-level token ids (SplitMix32 over seed, request and index: reproducible, no state).
const promptToken = (seed: number, requestId: number, i: number, vocab: number): number => {
  let z = (seed ^ Math.imul(requestId + 1, 0x9e3779b9) ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad) >>> 0
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97) >>> 0
  return ((z ^ (z >>> 15)) >>> 0) % Math.min(vocab, 256)
}

/**
 * `GpuExecutor` for live mode on a real device: each work item of the graph runs as real decoder
 * calls on the WebGPU decoder (src/gpu/decoder): a `unique.prefill` item prefills its requests'
 * prompts in chunks and samples their first tokens; a `unique.iteration` item runs one decode step
 * of its batch over all layers (dense layers, unique attention over each request's KV, the router
 * on the step's real queries, stacked shared attention, merge, LM head, sampling). Items of one
 * worker run in order, one at a time (the device's queue); completions are delivered through the
 * clock at `Priority.completion`, as sim delivers them. Each `WorkDone` carries the measured GPU
 * time (timestamp queries) and the cost model's price of the same work, with the shared-attention
 * histogram replaced by what the GPU router actually chose.
 * @example const ex = new WebGpuExecutor({ clock, decoder, modelOf, layers: 2, qHeads: 4, kvHeads: 2, vocab: 256, seed: 1, prefillChunkTokens: 256, temperature: 0 })
 */
export class WebGpuExecutor implements LiveExecutor {
  private readonly o: WebGpuExecutorOptions
  private readonly queues = new Map<string, Job[]>()
  private readonly running = new Set<string>()
  private readonly sequences = new Map<number, Sequence>()
  private readonly freeSlots: number[]
  private readonly lastNs = new Map<string, number>()
  private failure: unknown
  /** Host ns spent outside GPU work per item (wall − GPU), summed, and GPU ns summed. */
  private hostNs = 0
  private gpuNs = 0
  /** Host ns the decoder waited on a remote shared attention (a disaggregated unique worker), summed. */
  private remoteWaitNs = 0
  private steps = 0
  private timing = "timestamps"
  /** Set by `close`: no new decoder call starts; the one in flight is awaited before the device goes. */
  private closing = false
  private readonly inFlight = new Set<Promise<unknown>>()
  /** One promise per job not yet ended, resolved when its decoder call ends (`settled`). */
  private readonly unsettled = new Set<Promise<void>>()

  constructor(options: WebGpuExecutorOptions, slots: number) {
    this.o = options
    this.freeSlots = Array.from({ length: slots }, (_, i) => slots - 1 - i)
  }

  execute(item: WorkItem): Observable<WorkDone> {
    return new Observable<WorkDone>((subscriber) => {
      const payload = item.payload as StepPayload | undefined
      if (payload === undefined) {
        subscriber.error(new Error(`WebGpuExecutor: work item ${item.label} on ${item.workerId} has no step payload (live webgpu runs colocated, iteration granularity)`))
        return
      }
      let resolveEnded = (): void => undefined
      const ended = new Promise<void>((resolve) => (resolveEnded = resolve))
      this.unsettled.add(ended)
      const job: Job = {
        item,
        phase: payload.phase,
        requests: payload.requests.map((r) => ({ id: r.spec.id, uniqueTokens: r.spec.uniqueTokens, outputTokens: r.spec.outputTokens })),
        subscriber,
        cancelled: false,
        finish: () => {
          this.unsettled.delete(ended)
          resolveEnded()
        },
      }
      let q = this.queues.get(item.workerId)
      if (q === undefined) this.queues.set(item.workerId, (q = []))
      q.push(job)
      this.pump(item.workerId)
      return () => {
        job.cancelled = true
      }
    })
  }

  /**
   * Resolves once every item submitted so far has ended on the device (or will never run: the
   * executor failed). A disaggregated unique worker reads the bytes its decoder moved only then,
   * so a step's link rows carry that step's transfers and none arrive after the last row.
   */
  settled(): Promise<void> {
    return Promise.all([...this.unsettled]).then(() => undefined)
  }

  freeAtNs(workerId: string): number {
    const queued = (this.queues.get(workerId)?.length ?? 0) + (this.running.has(workerId) ? 1 : 0)
    return this.o.clock.now() + queued * (this.lastNs.get(workerId) ?? 0)
  }

  /** Tokens generated so far by a request still held (for tests and the server). */
  tokensOf(requestId: number): readonly number[] | undefined {
    return this.sequences.get(requestId)?.tokens
  }

  /**
   * A request the graph cancelled before it had all its tokens (a client went away): its KV slot
   * goes back to the free list now, or a server would run out of slots after `slots` disconnects.
   */
  release(requestId: number): void {
    const s = this.sequences.get(requestId)
    if (s === undefined) return
    this.o.decoder.release(s.slot)
    this.freeSlots.push(s.slot)
    this.sequences.delete(requestId)
  }

  facts(): Readonly<Record<string, number | string | boolean>> {
    return {
      executor: "webgpu",
      gpuTiming: this.timing,
      liveSteps: this.steps,
      gpuBusyS: this.gpuNs / 1e9,
      hostOverheadS: this.hostNs / 1e9,
      hostOverheadShare: this.gpuNs > 0 ? this.hostNs / this.gpuNs : 0,
      remoteWaitS: this.remoteWaitNs / 1e9,
    }
  }

  /**
   * Waits for the decoder call in flight (at most one prefill chunk or decode step: jobs check
   * `closing` between calls), then frees the device. Destroying buffers under running GPU work
   * can take the process down, losing the rows an interrupted run must keep.
   */
  async close(): Promise<void> {
    this.closing = true
    await Promise.allSettled([...this.inFlight])
    this.o.decoder.destroy()
  }

  private call<T>(f: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new Error("WebGpuExecutor: closed"))
    const p = f()
    this.inFlight.add(p)
    void p.finally(() => this.inFlight.delete(p)).catch(() => undefined)
    return p
  }

  private pump(workerId: string): void {
    if (this.running.has(workerId) || this.failure !== undefined) return
    const job = this.queues.get(workerId)?.shift()
    if (job === undefined) return
    this.running.add(workerId)
    const clock = this.o.clock
    const startNs = clock.now()
    const run = job.phase === "prefill" ? this.prefill(job) : this.decode(job)
    run.then(
      (r) => {
        const endNs = Math.max(startNs, clock.now())
        this.steps++
        this.gpuNs += r.gpuNs
        this.hostNs += Math.max(0, endNs - startNs - r.gpuNs)
        this.lastNs.set(workerId, endNs - startNs)
        const { costs, ns: predictedNs, flops, bytes } = priceKernels(this.o.modelOf(workerId), this.observedKernels(job.item.kernels, r.routing))
        const done: WorkDone = {
          item: job.item, startNs: startNs as Ns, endNs: endNs as Ns, flops, bytes, costs,
          gpuNs: Math.round(r.gpuNs), predictedNs: Math.round(predictedNs),
        }
        this.running.delete(workerId)
        job.finish()
        clock.schedule(endNs as Ns, () => {
          if (job.cancelled) return
          job.subscriber.next(done)
          job.subscriber.complete()
        }, Priority.completion)
        this.pump(workerId)
      },
      (e: unknown) => {
        this.failure = e
        this.running.delete(workerId)
        // nothing queued runs after a failure
        job.finish()
        for (const q of this.queues.values()) for (const j of q) j.finish()
        // Through the clock too, so the graph sees the failure in order and stops the run.
        clock.schedule(clock.now(), () => job.subscriber.error(e), Priority.completion)
      },
    )
  }

  private async prefill(job: Job): Promise<{ gpuNs: number; routing: StepResult["routing"] }> {
    const o = this.o
    let gpuNs = 0
    for (const r of job.requests) {
      const slot = this.freeSlots.pop()
      if (slot === undefined) throw new Error(`WebGpuExecutor: no free KV slot for request ${r.id} (admission let more requests in than the device holds)`)
      const input = o.requestInput?.(r.id)
      const seq: Sequence = {
        slot, seed: (input?.seed ?? o.seed * 1_000_003 + r.id) >>> 0, temperature: input?.temperature ?? o.temperature, last: -1, position: 0, generated: 0, tokens: [],
      }
      const ids = input?.promptIds
      this.sequences.set(r.id, seq)
      const U = Math.max(1, r.uniqueTokens)
      for (let start = 0; start < U; start += o.prefillChunkTokens) {
        const n = Math.min(o.prefillChunkTokens, U - start)
        const tokens = new Int32Array(n)
        for (let i = 0; i < n; i++) tokens[i] = ids?.[start + i] ?? promptToken(o.seed, r.id, start + i, o.vocab)
        const last = start + n >= U
        const res = await this.call(() => o.decoder.prefill([{ slot, tokens, start, sample: last, temperature: seq.temperature, seed: seq.seed }]))
        gpuNs += res.gpuNs
        this.remoteWaitNs += res.remoteWaitNs
        this.timing = res.timing
        if (last) this.accept(r.id, seq, res.tokens[0] as number, U, r.outputTokens)
      }
    }
    return { gpuNs, routing: null }
  }

  private async decode(job: Job): Promise<{ gpuNs: number; routing: StepResult["routing"] }> {
    const o = this.o
    const seqs = job.requests.map((r) => {
      const s = this.sequences.get(r.id)
      if (s === undefined) throw new Error(`WebGpuExecutor: request ${r.id} decodes without a prefilled sequence`)
      return s
    })
    const res = await this.call(() => o.decoder.decode(seqs.map((s) => ({ slot: s.slot, token: s.last, position: s.position, temperature: s.temperature, seed: s.seed }))))
    this.timing = res.timing
    this.remoteWaitNs += res.remoteWaitNs
    job.requests.forEach((r, i) => {
      const s = seqs[i] as Sequence
      this.accept(r.id, s, res.tokens[i] as number, s.position + 1, r.outputTokens)
    })
    return { gpuNs: res.gpuNs, routing: res.routing }
  }

  // A sampled token extends the sequence; a sequence with all its tokens frees its slot (the graph
  // ends the request when this item completes).
  private accept(id: number, s: Sequence, token: number, position: number, outputTokens: number): void {
    s.last = token
    s.position = position
    s.tokens.push(token)
    this.o.onToken?.(id, s.generated, token)
    s.generated++
    if (s.generated >= outputTokens) {
      this.o.decoder.release(s.slot)
      this.freeSlots.push(s.slot)
      this.sequences.delete(id)
    }
  }

  // The prediction prices what ran: the router's real choice replaces the sampled histogram.
  // rowsPerChunk counts GQA rows summed over layers and KV heads, so a chunk's requests per
  // (chunk, KV head) unit is rows / (layers · qHeads), rounded, at least 1.
  private observedKernels(kernels: readonly KernelSpec[], routing: StepResult["routing"]): readonly KernelSpec[] {
    if (routing === null || routing.rowsPerChunk.size === 0) return kernels
    const byQ = new Map<number, number>()
    for (const rows of routing.rowsPerChunk.values()) {
      if (rows <= 0) continue
      const q = Math.max(1, Math.round(rows / (this.o.layers * this.o.qHeads)))
      byQ.set(q, (byQ.get(q) ?? 0) + 1)
    }
    const histogram: ChunkCount[] = [...byQ.entries()].sort((a, b) => a[0] - b[0]).map(([queries, units]) => ({ queries, units }))
    return kernels.map((k) => (k.kind === "sharedAttention" ? { ...k, histogram: histogram.map((h) => ({ queries: h.queries, units: h.units * this.o.kvHeads })) } : k))
  }
}

