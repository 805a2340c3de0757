import { createActor } from "xstate"
import type { Observable, Subscription } from "rxjs"
import { Priority, type Clock } from "../core/clock.js"
import { AdmissionRejected } from "../core/errors.js"
import type { GpuExecutor } from "../core/executor.js"
import type { Rng } from "../core/rng.js"
import type { Scenario } from "../core/scenario.js"
import type { KernelRow, RequestRow, TokenRow, TraceSink } from "../core/trace.js"
import type { Ns } from "../core/units.js"
import type { RequestSpec, WorkloadSource } from "../core/workload.js"
import { requestGroup } from "../actors/requestGroup.js"
import { flatMachineLogic } from "../actors/flatMachineLogic.js"
import { requestMachine, requestRowOf } from "../actors/requestMachine.js"
import { routerMachine } from "../actors/routerMachine.js"
import { traceSinkMachine } from "../actors/traceSinkMachine.js"
import { xstateClock } from "../actors/xstateClock.js"
import { channel, type Channel } from "../streams/channel.js"
import { clockScheduler } from "../streams/clockScheduler.js"
import { ChunkTally } from "./chunkTally.js"
import type { EngineContext, RequestActor, RequestRecord } from "./engineContext.js"
import { requestKvBytes, type Resolved } from "./resolved.js"
import type { RoutingModel } from "./routingModel.js"
import { SharedPool } from "./sharedPool.js"
import { UniqueReplica } from "./uniqueReplica.js"

/** The ports a mode plugs into the graph. Sim: virtual clock, priced executor, sampled routing; live: wall clock, WebGPU (or priced) executor, routing observed on the GPU. */
export interface EnginePorts {
  /** Already decoded by the Effect Schema in src/core/scenario.ts. */
  readonly scenario: Scenario
  /** The scenario with presets expanded and capacity checked (src/sim/resolve.ts computes it). */
  readonly resolved: Resolved
  readonly clock: Clock
  readonly executor: GpuExecutor
  readonly routing: RoutingModel
  readonly sink: TraceSink
  /** The run's root stream; the graph takes its own children (`router.steps`, `batcher`). */
  readonly rng: Rng
  readonly source: WorkloadSource
  /**
   * A limit beyond KV bytes that a request must meet to be admitted (live: its context must fit a
   * device slot): a reason to reject it, or null.
   */
  readonly admits?: (spec: RequestSpec) => string | null
}

/** Request outcomes so far. */
export interface EngineCounts {
  readonly total: number
  readonly completed: number
  readonly rejected: number
  readonly cancelled: number
  readonly failed: number
  /** Requests that reached a final state. */
  readonly ended: number
}

/** The graph, wired and ready; the mode's driver advances its clock. */
export interface Engine {
  /** Schedules the source's first arrivals on the clock. */
  start(): void
  readonly counts: EngineCounts
  /** Requests arrived and not yet ended. */
  readonly inFlight: number
  /** The first defect (actor error, broken invariant) seen, if any; the driver stops on it. */
  readonly defect: unknown
  /** Cancels every request still in flight at the clock's now, with the tokens each has; returns how many. `reason`, when given, goes in their rows. */
  cancelInFlight(reason?: string): number
  /** Fails every request still in flight at the clock's now, with the tokens each has and `reason` in its row; returns how many. */
  failInFlight(reason: string): number
  /**
   * A worker process was lost (`unique-i`, `link-i` or `shared-j`) and no process took its place:
   * fails now, with the tokens each has and `reason` in its row, the requests whose work it held
   * (the rows are written at once; the steps holding them may never complete). The rest go on:
   * call `cancelInFlight(reason)` after it when the run ends with the loss. Returns how many failed.
   * @example engine.failLostWorker("shared-0", "WorkerLost: shared-0 sent nothing for 500 ms") // then, for a run that is over: engine.cancelInFlight(reason)
   */
  failLostWorker(workerId: string, reason: string): number
  /** Ids of the requests still in flight (for a defect message). */
  inFlightIds(): number[]
  /** Stops the actors and closes the trace sink (flushing it). */
  stop(): void
  /**
   * Hands a request in from outside (an `external` source: the HTTP server). It arrives at the
   * clock's next callback (at `max(now, spec.arrivalNs)`), so it may be called from any I/O callback.
   * Ids must be unique within the run.
   */
  submit(spec: RequestSpec): void
  /**
   * Cancels a request at the clock's next callback, with `reason` in its row: at once if it waits
   * for admission or its prefill, else when the step holding it completes (its KV is freed then).
   * Nothing happens if it has already ended.
   */
  cancel(requestId: number, reason: string): void
  /** Requests arrived (or submitted) and not yet admitted by a worker. */
  readonly waiting: number
  /**
   * Every token as a unique worker accounts it (`index` from 0, `atNs` of the run's clock). Workers
   * build these only while someone subscribes, so a run that never does (sim) pays nothing.
   */
  readonly tokens: Observable<TokenRow>
  /** Every request's row as it ends (completed, rejected, cancelled, failed; `reason` says why). */
  readonly ended: Observable<RequestRow>
  /** Decode iterations (summed over unique workers), prefill steps and output tokens so far. */
  readonly stats: { readonly iterations: number; readonly prefills: number; readonly outputTokens: number }
  /** Resolved facts for the run summary: chunks, topK, replicas, max batch by capacity, ... */
  config(): Readonly<Record<string, number | string | boolean>>
}

/**
 * Wires the actor graph of src/actors over the ports only: request admission, unique workers, the
 * Shared-KV pool and batcher, the router and the trace rows. Mode-neutral: nothing here reads
 * real time, touches a device or knows which clock drives it. Rows reach `sink` in order.
 * @example
 * const engine = buildEngine({ scenario, resolved, clock, executor, routing, sink, rng, source })
 * engine.start()
 * while (clock.peek() !== undefined) clock.step() // sim; live lets the wall clock run
 * engine.stop()
 */
export const buildEngine = (ports: EnginePorts): Engine => {
  const { scenario, resolved, clock, executor, routing, source, rng } = ports
  const xclock = xstateClock(clock)
  let defect: unknown
  const onDefect = (e: unknown): void => {
    if (defect === undefined) defect = e
  }

  // Row streams and the TraceSink actor that writes them in order.
  const level = scenario.trace
  const requestRows = channel<ReturnType<typeof requestRowOf>>("request.rows")
  const kernelRows: Channel<KernelRow> | null = level === "requests" ? null : channel<KernelRow>("kernel.rows")
  const tokenRows: Channel<TokenRow> | null = level === "tokens" ? channel<TokenRow>("token.rows") : null
  const subs: Subscription[] = []
  const sinkActor = createActor(
    traceSinkMachine.provide({
      actions: {
        open: () => {
          subs.push(requestRows.stream.subscribe((r) => ports.sink.request(r)))
          if (kernelRows !== null) subs.push(kernelRows.stream.subscribe((r) => ports.sink.kernel(r)))
          if (tokenRows !== null) subs.push(tokenRows.stream.subscribe((r) => ports.sink.token(r)))
        },
        flush: () => ports.sink.flush(),
        close: () => {
          ports.sink.finish?.()
          ports.sink.flush()
          for (const s of subs) s.unsubscribe()
        },
      },
    }),
    { clock: xclock },
  )
  sinkActor.subscribe({ error: onDefect })
  sinkActor.start()

  const counts = { total: 0, completed: 0, rejected: 0, cancelled: 0, failed: 0, ended: 0 }
  // Serving (an external source): requests by id for `cancel`, the reason each cancel gave, and the
  // client's id carried into the row. Sim rows are built exactly as before, except that a run
  // stopped from outside gives its in-flight requests the stop's reason.
  const external = source.kind === "external"
  const byId = new Map<number, RequestRecord>()
  const cancelReasons = new Map<number, string>()
  let submitted = 0
  // The request machine runs through its compiled table (flatMachineLogic): the same xstate actor,
  // about a fifth of the interpreter's CPU per request (docs/sim-speed).
  const recorded = flatMachineLogic(requestMachine.provide({
    actions: {
      recordEnd: ({ context }, { status }) => {
        counts[status]++
        counts.ended++
        const row = requestRowOf(context, status)
        if (!external) {
          // a reason is recorded for sim rows only when a run is stopped from outside (cancelInFlight(reason))
          requestRows.emit(status === "cancelled" && cancelReasons.size > 0 ? { ...row, reason: cancelReasons.get(context.spec.id) ?? row.reason } : row)
        } else {
          const id = context.spec.id
          const reason = status === "cancelled" ? (cancelReasons.get(id) ?? row.reason) : row.reason
          cancelReasons.delete(id)
          byId.delete(id)
          requestRows.emit({ ...row, reason, externalId: context.spec.externalId ?? null })
        }
      },
    },
  }))

  // One actor system for every request of the run (see requestGroup): no system per request.
  const requestParent = createActor(requestGroup, { clock: xclock })
  requestParent.subscribe({ error: onDefect })
  requestParent.start()

  const trackers = Array.from({ length: resolved.unique.workers }, () => routing.tracker())
  // through its compiled table too: a membership event per request joining or leaving (trace routing)
  const router = createActor(
    flatMachineLogic(routerMachine.provide({
      actions: {
        join: (_a, p) => trackers[p.worker]?.join(p.requestId, p.blocks),
        leave: (_a, p) => trackers[p.worker]?.leave(p.requestId),
      },
    })),
    { clock: xclock },
  )
  router.subscribe({ error: onDefect })
  router.start()

  const live = new Set<RequestRecord>()
  const ctx: EngineContext = {
    scenario,
    resolved,
    clock,
    scheduler: clockScheduler(clock),
    xclock,
    executor,
    routing,
    trackers,
    router,
    rng: { route: rng.split("router.steps"), batcher: rng.split("batcher") },
    kernelRows,
    tokenRows,
    tokenEvents: channel<TokenRow>("token.events"),
    stats: { iterations: 0, prefills: 0, outputTokens: 0 },
    chunkTally: resolved.system === "moska" ? new ChunkTally(routing.chunks, () => routing.inclusion()) : null,
    queue: [],
    queueHead: 0,
    onEnded: (rec) => {
      live.delete(rec)
      if (source.kind === "closed") scheduleArrival(source.next(clock.now()))
    },
    defect: onDefect,
  }
  const shared = resolved.shared === null ? null : new SharedPool(ctx)
  shared?.start()
  const replicas = Array.from({ length: resolved.unique.workers }, (_, i) => new UniqueReplica(ctx, i, shared))
  for (const r of replicas) r.actor.start()

  const arrive = (spec: RequestSpec): void => {
    counts.total++
    const actor: RequestActor = createActor(recorded, { input: spec, clock: xclock, parent: requestParent })
    actor.subscribe({ error: onDefect })
    actor.start()
    const needBytes = requestKvBytes(resolved, spec.uniqueTokens, spec.outputTokens)
    const rec: RequestRecord = { spec, actor, needBytes, replica: -1, joinedIter: 0, genAtJoin: 0, slot: -1, generated: 0, ended: false }
    if (external) byId.set(spec.id, rec)
    const refused = ports.admits?.(spec) ?? null
    if (refused !== null) {
      rec.ended = true
      actor.send({ type: "request.rejected", atNs: clock.now(), reason: `AdmissionRejected: request ${spec.id} ${refused}` })
      ctx.onEnded(rec)
      return
    }
    if (needBytes > resolved.kvBudgetBytes) {
      const err = new AdmissionRejected({ requestId: spec.id, needBytes, capacityBytes: resolved.kvBudgetBytes })
      rec.ended = true
      actor.send({
        type: "request.rejected",
        atNs: clock.now(),
        reason: `AdmissionRejected: request ${spec.id} needs ${needBytes} bytes of KV but one unique worker has ${Math.max(0, Math.floor(err.capacityBytes))} after weights${resolved.corpusOnUnique ? " and the shared corpus" : ""}`,
      })
      ctx.onEnded(rec)
      return
    }
    live.add(rec)
    ctx.queue.push(rec)
    // Wake the least loaded idle worker; busy ones admit at their next iteration boundary.
    for (const r of replicas) {
      if (r.idle) {
        r.wake()
        break
      }
    }
  }

  function scheduleArrival(spec: RequestSpec | undefined): void {
    if (spec === undefined) return
    clock.schedule(Math.max(clock.now(), spec.arrivalNs) as Ns, () => {
      arrive(spec)
      if (source.kind === "open") scheduleArrival(source.next())
    }, Priority.arrival)
  }

  // The run is ending with requests still in flight: each ends now, with the tokens it has, as
  // cancelled (a bound, a signal, a stop) or failed (the run failed under it: a lost worker, a defect).
  const endInFlight = (how: "cancelled" | "failed", reason: string | undefined): number => {
    const now = clock.now()
    const leftovers = [...live].sort((a, b) => a.spec.id - b.spec.id)
    for (const rec of leftovers) {
      if (how === "cancelled" && reason !== undefined) cancelReasons.set(rec.spec.id, reason)
      const replica = rec.replica >= 0 ? replicas[rec.replica] : undefined
      const tokens = replica === undefined ? 0 : replica.generatedOf(rec)
      rec.ended = true
      rec.actor.send(how === "cancelled"
        ? { type: "request.cancelled", atNs: now, outputTokens: tokens }
        : { type: "request.failed", atNs: now, outputTokens: tokens, reason: reason ?? "the run failed" })
      live.delete(rec)
    }
    return leftovers.length
  }

  // Which requests a lost worker held. Its own unique worker (`unique-i`, or `link-i`, the link
  // items that run on unique-i's process): every request replica i admitted (waiting for its
  // prefill, in it, or decoding), since their KV and their next step are there. A shared worker:
  // every request in a decode set, on every replica, since each decode step's shared attention
  // runs on the pool. With one shared worker that is exact. With two or more it is an upper bound:
  // the pool sends a step's batch to the worker it estimates free first (a lost worker's estimate
  // stops moving, so it may still be chosen) and with --links real replica i's layers cross to
  // shared worker i mod m, so which decode steps the lost one would have held is not known here.
  // Requests waiting for admission, or for or in a prefill step (it runs on the unique worker
  // alone, except webgpu workers with live.disaggregatedPrefill remote), did not depend on it.
  const failLostWorker = (workerId: string, reason: string): number => {
    const m = /^(unique|link|shared)-(\d+)$/.exec(workerId)
    if (m === null) return 0
    const held: RequestRecord[] = []
    if (m[1] === "shared") {
      const prefilling = scenario.live?.disaggregatedPrefill === "remote"
      for (const r of replicas) held.push(...r.onShared(prefilling))
    } else held.push(...(replicas[Number(m[2])]?.held() ?? []))
    held.sort((a, b) => a.spec.id - b.spec.id)
    const now = clock.now()
    let n = 0
    for (const rec of held) {
      if (rec.ended) continue
      const replica = replicas[rec.replica] as UniqueReplica
      rec.ended = true
      rec.actor.send({ type: "request.failed", atNs: now, outputTokens: replica.generatedOf(rec), reason })
      replica.dropFailed(rec)
      // the run may go on (a server): a closed loop's next request arrives as after any end
      ctx.onEnded(rec)
      n++
    }
    // Under the global barrier a replica whose step cannot complete would hold every round, so the
    // others' steps would wait for it too: it leaves the rounds now (a step of its that completes
    // after a rejoin joins a round without holding it, until its next decoding phase).
    if (m[1] !== "shared") shared?.release(Number(m[2]))
    return n
  }

  const cancelNow = (requestId: number, reason: string): void => {
    const rec = byId.get(requestId)
    if (rec === undefined || rec.ended) return
    cancelReasons.set(requestId, reason)
    const replica = rec.replica >= 0 ? replicas[rec.replica] : undefined
    if (replica !== undefined) {
      replica.cancel(rec)
      return
    }
    // still queued for admission: it holds nothing; workers skip ended entries of the queue
    rec.ended = true
    rec.actor.send({ type: "request.cancelled", atNs: clock.now(), outputTokens: 0 })
    ctx.onEnded(rec)
  }

  return {
    start: () => {
      if (source.kind === "open") scheduleArrival(source.next())
      else if (source.kind === "closed") for (let i = 0; i < source.concurrency; i++) scheduleArrival(source.next(0 as Ns))
    },
    submit: (spec) => {
      submitted++
      clock.schedule(Math.max(clock.now(), spec.arrivalNs) as Ns, () => {
        submitted--
        arrive(spec)
      }, Priority.arrival)
    },
    // Priority.arrival and scheduled after the submit, so a request cancelled at once has arrived first.
    cancel: (requestId, reason) => {
      clock.schedule(clock.now(), () => cancelNow(requestId, reason), Priority.arrival)
    },
    get waiting() {
      let n = submitted
      for (let i = ctx.queueHead; i < ctx.queue.length; i++) if (!(ctx.queue[i] as RequestRecord).ended) n++
      return n
    },
    tokens: ctx.tokenEvents.stream,
    ended: requestRows.stream,
    counts,
    get inFlight() {
      return live.size
    },
    get defect() {
      return defect
    },
    stats: ctx.stats,
    cancelInFlight: (reason) => endInFlight("cancelled", reason),
    failInFlight: (reason) => endInFlight("failed", reason),
    failLostWorker,
    inFlightIds: () => [...live].map((r) => r.spec.id).sort((a, b) => a - b),
    stop: () => {
      for (const r of replicas) r.actor.send({ type: "worker.stop" })
      shared?.stop()
      router.send({ type: "router.stop" })
      // Per-chunk facts go in before the sink closes (its last flush writes them); rows are unchanged.
      if (ctx.chunkTally !== null && ports.sink.chunkStats !== undefined) ports.sink.chunkStats(ctx.chunkTally.finish())
      sinkActor.send({ type: "sink.close" })
      requestParent.stop()
    },
    config: () => {
      const r = resolved
      const typicalNeed = requestKvBytes(r, Math.round(source.meanUnique), Math.round(source.meanOutput))
      const maxBatchByCapacity = typicalNeed > 0 ? Math.floor(r.kvBudgetBytes / typicalNeed) : 0
      return {
        system: r.system,
        model: r.model.name,
        costModel: r.unique.cost.name,
        uniqueGpu: r.unique.cost.gpu.name,
        uniqueWorkers: r.unique.workers,
        uniqueParallel: r.unique.parallel,
        sharedGpu: r.shared?.cost.gpu.name ?? "none",
        sharedWorkers: r.shared?.workers ?? 0,
        sharedParallel: r.shared?.parallel ?? "none",
        disaggregated: r.disaggregated,
        corpusOnUnique: r.corpusOnUnique,
        sharedTokens: r.corpus.sharedTokens,
        chunkTokens: r.corpus.chunkTokens,
        chunks: r.corpus.chunks,
        topK: r.corpus.topK,
        routing: r.corpus.routing.kind,
        routingMode: scenario.policy.routingMode,
        batcher: scenario.policy.batcher.kind === "barrier" && scenario.policy.batcher.scope === "replica" ? "barrier (replica)" : scenario.policy.batcher.kind,
        overlap: scenario.policy.overlap,
        granularity: scenario.policy.granularity,
        prefill: scenario.policy.prefill,
        kvBytesPerToken: r.kvBytesPerToken,
        weightBytes: r.weightBytes,
        corpusBytes: r.corpus.bytes,
        kvBudgetBytesPerWorker: Math.floor(r.kvBudgetBytes),
        maxBatch: scenario.policy.maxBatch,
        maxBatchByCapacity,
        effectiveMaxBatch: Math.min(scenario.policy.maxBatch, maxBatchByCapacity),
        prefillSteps: ctx.stats.prefills,
        meanUniqueTokens: Math.round(source.meanUnique),
        meanOutputTokens: Math.round(source.meanOutput),
      }
    },
  }
}
