import { createActor, type Actor } from "xstate"
import { Priority } from "../core/clock.js"
import type { CostModel } from "../core/costModel.js"
import { AdmissionRejected } from "../core/errors.js"
import { makeRng } from "../core/rng.js"
import type { Scenario } from "../core/scenario.js"
import type { KernelRow, TokenRow, TraceSink } from "../core/trace.js"
import { secondsToNs, type Ns } from "../core/units.js"
import type { RequestSpec } from "../core/workload.js"
import { requestMachine, requestRowOf } from "../actors/requestMachine.js"
import { routerMachine } from "../actors/routerMachine.js"
import { traceSinkMachine } from "../actors/traceSinkMachine.js"
import { xstateClock } from "../actors/xstateClock.js"
import { channel, type Channel } from "../streams/channel.js"
import { clockScheduler } from "../streams/clockScheduler.js"
import type { Subscription } from "rxjs"
import { requestKvBytes, resolveScenario } from "./resolve.js"
import { makeRouting } from "./routing/makeRouting.js"
import { SharedPool } from "./sharedPool.js"
import type { RequestRecord, SimContext } from "./simContext.js"
import { SimExecutor } from "./simExecutor.js"
import { UniqueReplica } from "./uniqueReplica.js"
import { VirtualClock } from "./virtualClock.js"
import { makeWorkload } from "./workload/makeWorkload.js"

export interface SimulationInput {
  /** Already decoded by the Effect Schema in src/core/scenario.ts. */
  readonly scenario: Scenario
  /** Rows go here (SQLite writer in production, a collector in tests). */
  readonly sink: TraceSink
  /**
   * Required when `scenario.workload.kind === "trace"` (parsed by src/traces), as parsed: arrival
   * times as in the file (ns), in any order. `runSimulation` sorts them by arrival and applies the
   * workload's `timeScale` and `limit` itself (parsers must not).
   */
  readonly traceRequests?: readonly RequestSpec[]
  /**
   * Default: the scenario's `hardware.costModel` over GPU_PRESETS[poolConfig.gpu], aggregated
   * when the pool is sharded (see src/sim/costModels.ts). The model prices ONE worker of the pool.
   */
  readonly resolveCostModel?: (pool: "unique" | "shared", poolConfig: Scenario["hardware"]["unique"]) => CostModel
  readonly onProgress?: (p: { readonly simNs: number; readonly events: number; readonly finished: number; readonly total: number }) => void
}

export interface SimulationResult {
  /** Discrete events processed. */
  readonly events: number
  /** Virtual time at the end. */
  readonly simulatedNs: number
  readonly requests: { readonly total: number; readonly completed: number; readonly rejected: number; readonly cancelled: number; readonly failed: number }
  readonly outputTokens: number
  /** Decode iterations, summed over unique workers. */
  readonly iterations: number
  /** Resolved facts: chunks, topK, replicas, max batch by capacity, ... */
  readonly config: Readonly<Record<string, number | string | boolean>>
}

const PROGRESS_EVERY = 1 << 16

/**
 * Runs one scenario in sim mode, synchronously (no await, no Promise anywhere on the path): the
 * actor graph of src/actors on a virtual clock, GPU work priced by the cost model, rows written to
 * `sink` in order. Same scenario and seed ⇒ identical rows and an identical result. Throws
 * `CapacityExceeded` before anything runs when the configuration cannot hold the corpus or weights.
 * @example
 * const sink = new MemorySink()
 * const r = runSimulation({ scenario, sink })
 * r.requests.completed // every request ended exactly once, in sink.requests
 */
export function runSimulation(input: SimulationInput): SimulationResult {
  const { scenario } = input
  const resolved = resolveScenario(scenario, input.resolveCostModel)
  const clock = new VirtualClock()
  const xclock = xstateClock(clock)
  const rng = makeRng(scenario.seed)
  const source = makeWorkload(scenario.workload, rng.split("workload"), input.traceRequests)
  const routing = makeRouting(resolved.corpus, rng.split("router"))
  const models = new Map<string, CostModel>()
  const modelOf = (workerId: string): CostModel => {
    const m = models.get(workerId)
    if (m !== undefined) return m
    const pool = workerId.startsWith("shared-") ? resolved.shared : resolved.unique
    if (pool === null) throw new Error(`no cost model for worker ${workerId}`)
    models.set(workerId, pool.cost)
    return pool.cost
  }
  const executor = new SimExecutor(clock, modelOf)
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
          subs.push(requestRows.stream.subscribe((r) => input.sink.request(r)))
          if (kernelRows !== null) subs.push(kernelRows.stream.subscribe((r) => input.sink.kernel(r)))
          if (tokenRows !== null) subs.push(tokenRows.stream.subscribe((r) => input.sink.token(r)))
        },
        flush: () => input.sink.flush(),
        close: () => {
          input.sink.flush()
          for (const s of subs) s.unsubscribe()
        },
      },
    }),
    { clock: xclock },
  )
  sinkActor.subscribe({ error: onDefect })
  sinkActor.start()

  const counts = { total: 0, completed: 0, rejected: 0, cancelled: 0, failed: 0, ended: 0 }
  const recorded = requestMachine.provide({
    actions: {
      recordEnd: ({ context }, { status }) => {
        counts[status]++
        counts.ended++
        requestRows.emit(requestRowOf(context, status))
      },
    },
  })

  const trackers = Array.from({ length: resolved.unique.workers }, () => routing.tracker())
  const router = createActor(
    routerMachine.provide({
      actions: {
        join: (_a, p) => trackers[p.worker]?.join(p.requestId, p.blocks),
        leave: (_a, p) => trackers[p.worker]?.leave(p.requestId),
      },
    }),
    { clock: xclock },
  )
  router.subscribe({ error: onDefect })
  router.start()

  const live = new Set<RequestRecord>()
  const ctx: SimContext = {
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
    stats: { iterations: 0, prefills: 0, outputTokens: 0 },
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
    const actor: Actor<typeof requestMachine> = createActor(recorded, { input: spec, clock: xclock })
    actor.subscribe({ error: onDefect })
    actor.start()
    const needBytes = requestKvBytes(resolved, spec.uniqueTokens, spec.outputTokens)
    const rec: RequestRecord = { spec, actor, needBytes, replica: -1, joinedIter: 0, genAtJoin: 0, slot: -1, generated: 0, ended: false }
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
  if (source.kind === "open") scheduleArrival(source.next())
  else for (let i = 0; i < source.concurrency; i++) scheduleArrival(source.next(0 as Ns))

  // The event loop.
  const until = scenario.untilS === undefined ? Number.POSITIVE_INFINITY : secondsToNs(scenario.untilS)
  const progress = (): void =>
    input.onProgress?.({ simNs: clock.now(), events: clock.events, finished: counts.ended, total: source.total })
  for (;;) {
    const next = clock.peek()
    if (next === undefined || next > until) break
    clock.step()
    if (defect !== undefined) throw defect
    if ((clock.events & (PROGRESS_EVERY - 1)) === 0) progress()
  }
  if (until !== Number.POSITIVE_INFINITY && clock.now() < until && live.size > 0) clock.run(until as Ns)

  // A bounded run: everything still in flight is cancelled at `until`, with the tokens it has.
  const now = clock.now()
  const leftovers = [...live].sort((a, b) => a.spec.id - b.spec.id)
  for (const rec of leftovers) {
    const replica = rec.replica >= 0 ? replicas[rec.replica] : undefined
    const tokens = replica === undefined ? 0 : replica.generatedOf(rec)
    rec.ended = true
    rec.actor.send({ type: "request.cancelled", atNs: now, outputTokens: tokens })
    live.delete(rec)
  }
  if (until === Number.POSITIVE_INFINITY && leftovers.length > 0) {
    throw new Error(`defect: the event queue drained with ${leftovers.length} request(s) never ended (first: ${leftovers[0]?.spec.id})`)
  }
  for (const r of replicas) r.actor.send({ type: "worker.stop" })
  shared?.stop()
  router.send({ type: "router.stop" })
  sinkActor.send({ type: "sink.close" })
  if (defect !== undefined) throw defect
  progress()

  const r = resolved
  const typicalNeed = requestKvBytes(r, Math.round(source.meanUnique), Math.round(source.meanOutput))
  const maxBatchByCapacity = typicalNeed > 0 ? Math.floor(r.kvBudgetBytes / typicalNeed) : 0
  const outputTokensFromRows = ctx.stats.outputTokens
  return {
    events: clock.events,
    simulatedNs: clock.now(),
    requests: { total: counts.total, completed: counts.completed, rejected: counts.rejected, cancelled: counts.cancelled, failed: counts.failed },
    outputTokens: outputTokensFromRows,
    iterations: ctx.stats.iterations,
    config: {
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
    },
  }
}
