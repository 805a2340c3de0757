import { tap } from "rxjs"
import { Priority } from "../../core/clock.js"
import type { WorkDone } from "../../core/executor.js"
import { makeRng } from "../../core/rng.js"
import type { Scenario } from "../../core/scenario.js"
import type { RequestRow, TraceSink } from "../../core/trace.js"
import type { Ns } from "../../core/units.js"
import type { RequestSpec } from "../../core/workload.js"
import { buildEngine, type Engine } from "../../engine/buildEngine.js"
import { requestKvBytes, type Resolved } from "../../engine/resolved.js"
import type { RoutingModel } from "../../engine/routingModel.js"
import type { LagStats } from "../lagHistogram.js"
import type { LiveExecutor } from "../runLive.js"
import type { RequestInput } from "../webGpuExecutor.js"
import { WallClock } from "../wallClock.js"

/** One generated token as the server streams it. */
export interface ServedToken {
  readonly index: number
  /** ns of the run's clock. */
  readonly atNs: number
  /** The token id: the decoder's sampled id (webgpu), or a seeded printable byte (priced: there is no model). */
  readonly token: number
}

/** What the HTTP layer hears about one request it submitted. */
export interface RequestListener {
  onToken(t: ServedToken): void
  /** Its trace row, once it has ended for any reason; nothing is called after this. */
  onEnd(row: RequestRow): void
}

/** A request as the HTTP layer hands it in: the engine prices and schedules by its lengths; a decoder also reads its prompt ids and sampling settings. */
export interface ServeRequest {
  readonly promptTokens: number
  readonly maxTokens: number
  /** Seeds the priced executor's byte tokens and the decoder's sampling (default: the scenario seed mixed with the request id). */
  readonly seed?: number
  readonly externalId?: string
  /** The prompt's token ids (`promptTokens` of them), for the decoder (webgpu: `requestInput`). */
  readonly promptIds?: readonly number[]
  /** Sampling temperature for the decoder (0 = greedy). */
  readonly temperature?: number
}

export type SubmitResult =
  | { readonly ok: true; readonly requestId: number; readonly arrivalNs: number }
  | { readonly ok: false; readonly why: "stopping" | "queue_full" | "not_ready" }

export interface ServingEngineOptions {
  readonly scenario: Scenario
  readonly resolved: Resolved
  readonly sink: TraceSink
  readonly routing: RoutingModel
  readonly executor: (clock: WallClock) => LiveExecutor
  /** Past this many requests waiting for admission, `submit` refuses (the server answers 503). */
  readonly maxQueued: number
  /** Where token ids come from: the decoder (webgpu: call `recordDecoderToken` from its `onToken`) or seeded bytes. */
  readonly tokens: "decoder" | "seeded"
  /** Extra admission limit (a request's context must fit a device slot). */
  readonly admits?: (spec: RequestSpec) => string | null
  /** Each unit of GPU work as it completes (the server's `moska:` work metrics). */
  readonly onWork?: (done: WorkDone) => void
}

interface Entry {
  readonly listener: RequestListener
  /** KV bytes the engine reserves for it on admission (prompt + max_tokens, requestKvBytes). */
  readonly kvBytes: number
  readonly seed: number
  /** Token ids the decoder sampled for it so far (webgpu). */
  readonly decoded: number[]
  /** What the decoder reads at its prefill (webgpu). */
  readonly input: RequestInput
  readonly arrivalNs: number
  readonly promptTokens: number
  readonly maxTokens: number
  /** Tokens handed to its listener so far. */
  tokens: number
}

/** Printable ASCII (32..126) from SplitMix32 over (seed, index): the priced executor's stand-in for sampled tokens. */
const seededByte = (seed: number, index: number): number => {
  let z = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad) >>> 0
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97) >>> 0
  return 32 + (((z ^ (z >>> 15)) >>> 0) % 95)
}

/**
 * The live engine as a server drives it: the graph of src/engine on a WallClock with an `external`
 * source that never ends, requests handed in by `submit` and streamed back token by token through
 * the engine's token fan-out and end notifications. It knows nothing of HTTP. `run()` starts the
 * clock and resolves once `stop()` has drained (or cancelled) what was in flight, or rejects on a
 * defect, an executor failure or a strict-lag failure, after the graph is stopped.
 * @example
 * const s = new ServingEngine({ scenario, resolved, sink, routing, executor: (c) => new PricedExecutor(c, modelOf), maxQueued: 64, tokens: "seeded" })
 * const done = s.run()
 * s.submit({ promptTokens: 12, maxTokens: 4 }, { onToken: (t) => write(t), onEnd: (row) => end(row) })
 * await s.stop(5_000); await done
 */
export class ServingEngine {
  readonly clock: WallClock
  private readonly engine: Engine
  private readonly executor: LiveExecutor
  private readonly o: ServingEngineOptions
  private readonly entries = new Map<number, Entry>()
  private readonly kvCapacityBytes: number
  private nextId = 0
  private accepting = true
  private halted = false
  private cancelledAtStop = 0
  private drained: (() => void) | undefined

  constructor(options: ServingEngineOptions) {
    this.o = options
    const { scenario } = options
    const strictMs = scenario.live?.strictLagMs
    this.clock = new WallClock(strictMs === undefined ? {} : { strict: { maxLagNs: Math.round(strictMs * 1e6) } })
    const inner = options.executor(this.clock)
    const onWork = options.onWork
    this.executor = onWork === undefined ? inner : {
      execute: (item) => inner.execute(item).pipe(tap(onWork)),
      freeAtNs: (workerId) => inner.freeAtNs(workerId),
      ...(inner.release === undefined ? {} : { release: (id: number) => inner.release?.(id) }),
      ...(inner.close === undefined ? {} : { close: () => inner.close?.() }),
      ...(inner.facts === undefined ? {} : { facts: () => inner.facts?.() ?? {} }),
    }
    this.kvCapacityBytes = options.resolved.kvBudgetBytes * options.resolved.unique.workers
    this.engine = buildEngine({
      scenario, resolved: options.resolved, clock: this.clock, executor: this.executor, routing: options.routing,
      sink: options.sink, rng: makeRng(scenario.seed),
      source: { kind: "external", total: Number.POSITIVE_INFINITY, meanUnique: 0, meanOutput: 0 },
      ...(options.admits === undefined ? {} : { admits: options.admits }),
    })
    this.engine.tokens.subscribe((t) => {
      const e = this.entries.get(t.requestId)
      if (e === undefined) return
      const token = this.o.tokens === "decoder" ? (e.decoded[t.index] ?? 0) : seededByte(e.seed, t.index)
      e.tokens++
      e.listener.onToken({ index: t.index, atNs: t.atNs, token })
    })
    this.engine.ended.subscribe((row) => {
      const e = this.entries.get(row.requestId)
      this.entries.delete(row.requestId)
      e?.listener.onEnd(row)
      if (this.drained !== undefined && this.engine.inFlight === 0) this.drained()
    })
  }

  /** Requests submitted and not yet admitted (vllm:num_requests_waiting). */
  get waiting(): number {
    return this.engine.waiting
  }

  /** Requests admitted and not yet ended (vllm:num_requests_running). */
  get running(): number {
    return Math.max(0, this.engine.inFlight - this.engine.waiting)
  }

  /**
   * vllm:kv_cache_usage_perc: the fraction (0..1) of the unique workers' KV budget
   * (kvBudgetBytes × workers, what is left after weights and a colocated corpus) that admitted
   * requests hold. moska reserves a request's final context (prompt + max_tokens, plus its own
   * corpus copy under `private`) when it is admitted and frees it when it ends, so this is the
   * reservation admission control sees, not vLLM's blocks filled so far. Admission takes the
   * queue in arrival order and never skips ahead, so the admitted requests are the `running`
   * oldest of those still in flight: their reservations are summed in submit order.
   */
  get kvCacheUsage(): number {
    if (this.kvCapacityBytes <= 0) return 0
    let left = this.running
    let bytes = 0
    for (const e of this.entries.values()) {
      if (left-- <= 0) break
      bytes += e.kvBytes
    }
    return Math.min(1, bytes / this.kvCapacityBytes)
  }

  get counts(): Engine["counts"] {
    return this.engine.counts
  }

  get stats(): Engine["stats"] {
    return this.engine.stats
  }

  lagStats(): LagStats {
    return this.clock.lagStats()
  }

  /** Whether `stop()` had to cancel requests that were still in flight when its grace ran out. */
  get cancelledAtStopCount(): number {
    return this.cancelledAtStop
  }

  facts(): Readonly<Record<string, number | string | boolean>> {
    return { ...this.engine.config(), ...(this.executor.facts?.() ?? {}) }
  }

  /** The webgpu executor's `requestInput`: the prompt ids, temperature and seed a client sent for a request still in flight. */
  readonly requestInput = (requestId: number): RequestInput | undefined => this.entries.get(requestId)?.input

  /** The webgpu executor's `onToken`: the sampled id of a request's token, kept until the engine accounts it. */
  readonly recordDecoderToken = (requestId: number, index: number, token: number): void => {
    const e = this.entries.get(requestId)
    if (e !== undefined) e.decoded[index] = token
  }

  /**
   * Hands a request to the engine. Refused while stopping, or when `maxQueued` requests already
   * wait for admission (a bounded queue keeps memory flat under overload; the client retries).
   */
  submit(req: ServeRequest, listener: RequestListener): SubmitResult {
    if (!this.accepting) return { ok: false, why: "stopping" }
    if (!this.clock.running) return { ok: false, why: "not_ready" }
    if (this.engine.waiting >= this.o.maxQueued) return { ok: false, why: "queue_full" }
    const id = this.nextId++
    const arrivalNs = this.clock.now()
    this.entries.set(id, {
      listener, kvBytes: requestKvBytes(this.o.resolved, req.promptTokens, req.maxTokens), seed: (req.seed ?? Math.imul(this.o.scenario.seed, 1_000_003) + id) >>> 0, decoded: [],
      input: {
        ...(req.promptIds === undefined ? {} : { promptIds: req.promptIds }),
        ...(req.temperature === undefined ? {} : { temperature: req.temperature }),
        ...(req.seed === undefined ? {} : { seed: req.seed }),
      },
      arrivalNs, promptTokens: req.promptTokens, maxTokens: req.maxTokens, tokens: 0,
    })
    this.engine.submit({
      id, arrivalNs, uniqueTokens: req.promptTokens, outputTokens: req.maxTokens,
      ...(req.externalId === undefined ? {} : { externalId: req.externalId }),
    })
    return { ok: true, requestId: id, arrivalNs }
  }

  /** Cancels a request (its client disconnected); its listener still gets its row. */
  cancel(requestId: number, reason: string): void {
    if (this.entries.has(requestId) && !this.halted) this.engine.cancel(requestId, reason)
  }

  /**
   * A worker of the deployment was lost and no process replaced it in time: fails now, with
   * `reason`, the requests whose work it held (Engine.failLostWorker says which), so their clients
   * get an error at once and their trace rows are committed now (the sink is flushed), not when the
   * step holding them completes after a rejoin. Requests on workers still up, and those waiting for
   * admission, go on. Call it on the run's clock (RetryOnRejoin's `onLost` is called there).
   * Returns how many failed.
   */
  failLostWorker(workerId: string, reason: string): number {
    if (this.halted) return 0
    const n = this.engine.failLostWorker(workerId, reason)
    if (n > 0) this.o.sink.flush()
    return n
  }

  /** Starts the clock; resolves after `stop()` halted it, rejects on a defect or clock failure (the graph is stopped first). */
  async run(): Promise<void> {
    let failure: unknown
    try {
      await this.clock.runUntil(() => this.halted || this.engine.defect !== undefined)
    } catch (e) {
      failure = e
    }
    this.clock.stop()
    if (failure === undefined && this.engine.defect !== undefined) failure = this.engine.defect
    // whatever is still open (a failure, or requests arriving after the halt) ends as cancelled
    this.cancelledAtStop += this.engine.cancelInFlight(failure === undefined ? "the server stopped" : "the engine failed")
    this.engine.stop()
    await this.executor.close?.()
    for (const [id, e] of [...this.entries]) {
      this.entries.delete(id)
      e.listener.onEnd({
        requestId: id, arrivalNs: 0 as Ns, admittedNs: null, firstTokenNs: null, finishedNs: null, uniqueTokens: 0, requestedTokens: 0,
        outputTokens: 0, status: "cancelled", reason: "the server stopped before it arrived",
      })
    }
    if (failure !== undefined) throw failure
  }

  /**
   * Stops accepting, lets what is in flight finish for up to `graceMs`, then cancels the rest
   * (their streams end with finish_reason "abort") and halts the clock, so `run()` resolves.
   */
  async stop(graceMs: number): Promise<void> {
    this.accepting = false
    if (!this.clock.running) {
      this.halted = true
      return
    }
    if (this.engine.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs)
        this.drained = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
    this.drained = undefined
    await new Promise<void>((resolve) => {
      // on the clock, after everything due now: the cancels write their rows in order
      this.clock.schedule(this.clock.now(), () => {
        this.cancelledAtStop += this.engine.cancelInFlight("the server was stopped (SIGINT/SIGTERM) before it finished")
        this.halted = true
        resolve()
      }, Priority.stream)
    })
  }
}
