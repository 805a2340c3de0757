import { createActor } from "xstate"
import type { GpuExecutor, WorkDone, WorkItem } from "../core/executor.js"
import type { Ns } from "../core/units.js"
import { flatMachineLogic, type FlatActor } from "../actors/flatMachineLogic.js"
import { uniqueWorkerMachine } from "../actors/uniqueWorkerMachine.js"
import type { KernelSpec } from "../core/kernels.js"
import { disaggregatedUniqueWork, iterationWork, prefillWork, type BatchState, type ChunkCount, type IterationWork, type UniqueContexts } from "./iterationWork.js"
import { executeWork } from "./executeWork.js"
import { recordRow } from "./recordRow.js"
import type { SharedPool, Submission } from "./sharedPool.js"
import type { RequestRecord, EngineContext } from "./engineContext.js"
import type { StepPayload } from "./stepPayload.js"

const EMPTY: readonly ChunkCount[] = []

/** An executor that holds per-request state (a live decoder's KV slot) and frees it when a request is cancelled. */

/**
 * One Unique-KV worker of the graph (either mode): the state behind `uniqueWorkerMachine` (decode set, prefill
 * queue, reserved KV bytes, token counters) and the actions the machine runs. Tokens are counted
 * in bulk: a request's count is `genAtJoin + (iter − joinedIter)`, and the iteration at which it
 * finishes is known when it joins (`finishAt`), so a decode step costs O(1) plus the requests that
 * finish in it (O(batch) only when token rows are kept).
 */
export class UniqueReplica {
  readonly workerId: string
  readonly linkId: string
  readonly actor: FlatActor<typeof uniqueWorkerMachine>
  private decoding: RequestRecord[] = []
  private prefillQueue: RequestRecord[] = []
  private prefilling: RequestRecord[] = []
  private joinedWithoutToken: RequestRecord[] = []
  private usedBytes = 0
  private iter = 0
  private readonly finishAt = new Map<number, RequestRecord[]>()
  private uniqueTotal = 0
  private uniqueMax = 0
  private maxDirty = false
  private readonly followsMembers: boolean
  /** Fast mode: submissions carry per-chunk counts (trace routing merged with other replicas' steps). */
  private readonly sendsCounts: boolean
  private subStep = 0
  /** The last phase was a budgeted prefill step: the next one is a decode iteration if anyone decodes. */
  private justPrefilled = false
  /**
   * The last `unsignalled` entries of `prefillQueue` were admitted in this very event and their
   * actors not told yet: the phase chosen next in the same event (always: `deciding` follows every
   * admission that queues a prefill) tells each once, with its prefill's start
   * (`request.prefillStarted` while queued records the admission too) or as admitted. One
   * transition per request fewer; the rows are the same, because both happen at the same `now`.
   */
  private unsignalled = 0
  /** Cancelled while the executor may be running their step: ended at the next step boundary. */
  private pendingCancels: RequestRecord[] = []
  /** Failed already (a lost worker held their step) and still in this worker's sets: dropped at the next step boundary. */
  private pendingDrops: RequestRecord[] = []

  constructor(
    private readonly ctx: EngineContext,
    readonly index: number,
    private readonly shared: SharedPool | null,
  ) {
    this.workerId = `unique-${index}`
    this.followsMembers = ctx.routing.kind === "trace" && ctx.resolved.system === "moska"
    const policy = ctx.scenario.policy
    // Every fast trace-routed step carries its counts: the pool merges them (window, global barrier
    // with 2+ replicas) and tallies them per chunk; a tracker hands out the same array while its set is unchanged.
    this.sendsCounts = shared !== null && policy.routingMode === "fast" && ctx.routing.kind === "trace"
    this.linkId = `link-${index}`
    const machine = uniqueWorkerMachine.provide({
      actions: {
        admit: () => this.admit(),
        launchPrefill: () => this.launchPrefill(),
        completePrefill: () => this.completePrefill(),
        startDecoding: () => this.startDecoding(),
        failPhase: () => this.ctx.defect(new Error(`${this.workerId}: a phase failed`)),
        stopWork: () => undefined,
      },
      guards: {
        // With a prefill budget, a decode iteration runs between two prefill steps while anyone decodes.
        hasPrefill: () => this.prefillQueue.length > 0 && !(this.justPrefilled && this.decoding.length > 0),
        hasDecode: () => this.decoding.length > 0,
      },
    })
    // through its compiled table, as the request machine (flatMachineLogic): a transition per decode phase
    this.actor = createActor(flatMachineLogic(machine), { clock: ctx.xclock })
    this.actor.subscribe({ error: (e) => ctx.defect(e) })
  }

  get idle(): boolean {
    return this.actor.getSnapshot().value === "idle"
  }

  /** Requests this worker holds (admitted, not ended). */
  get load(): number {
    return this.decoding.length + this.prefillQueue.length + this.prefilling.length
  }

  wake(): void {
    this.actor.send({ type: "worker.wake" })
  }

  /** Tokens generated so far by a request of this worker. */
  generatedOf(rec: RequestRecord): number {
    return rec.slot >= 0 ? rec.genAtJoin + (this.iter - rec.joinedIter) : rec.generated
  }

  /** Every request this worker holds, for cancellation at the end of a bounded run. */
  held(): RequestRecord[] {
    return [...this.prefilling, ...this.prefillQueue, ...this.decoding]
  }

  /**
   * Cancels a request this worker holds (serving: its client went away), freeing its KV bytes. One
   * waiting for its prefill ends at once; one being prefilled or decoding ends when the step that
   * holds it completes, with the tokens it has then, because the executor may be running that step.
   */
  cancel(rec: RequestRecord): void {
    this.signalAdmitted()
    const i = this.prefillQueue.indexOf(rec)
    if (i >= 0) {
      this.prefillQueue.splice(i, 1)
      this.endCancelled(rec, 0)
    } else this.pendingCancels.push(rec)
  }

  /**
   * The requests whose work a shared worker holds now: the decode set (every decode step's shared
   * attention runs on the pool), and with `prefilling` the prefill step in flight (webgpu workers
   * whose prefill attention is remote). Those waiting for their prefill need only this worker.
   */
  onShared(prefilling: boolean): RequestRecord[] {
    return prefilling ? [...this.prefilling, ...this.decoding] : [...this.decoding]
  }

  /**
   * Forgets a request the engine has just ended as failed (a lost worker held its step). One
   * waiting for its prefill goes at once, with its KV bytes; one in the step in flight (prefill or
   * decode) leaves at the step boundary (after a rejoin, when the step runs again and completes),
   * because the executor may still run that step: its bytes are freed then.
   */
  dropFailed(rec: RequestRecord): void {
    const i = this.prefillQueue.indexOf(rec)
    if (i >= 0) {
      this.prefillQueue.splice(i, 1)
      this.usedBytes -= rec.needBytes
      this.ctx.executor.release?.(rec.spec.id)
    } else this.pendingDrops.push(rec)
  }

  private admit(): void {
    const { ctx } = this
    const budget = ctx.resolved.kvBudgetBytes
    const maxBatch = ctx.scenario.policy.maxBatch
    const now = ctx.clock.now()
    while (ctx.queueHead < ctx.queue.length) {
      const rec = ctx.queue[ctx.queueHead] as RequestRecord
      if (rec.ended) {
        // cancelled while queued (engine.cancel); it holds nothing
        ctx.queue[ctx.queueHead] = undefined as unknown as RequestRecord
        ctx.queueHead++
        continue
      }
      if (this.load >= maxBatch || this.usedBytes + rec.needBytes > budget) break
      ctx.queue[ctx.queueHead] = undefined as unknown as RequestRecord
      ctx.queueHead++
      rec.replica = this.index
      this.usedBytes += rec.needBytes
      if (ctx.scenario.policy.prefill) {
        this.prefillQueue.push(rec)
        this.unsignalled++
      } else {
        // queued → decoding in one event (admitted now, decoding from now)
        rec.actor.send({ type: "request.decodeStarted", atNs: now })
        this.join(rec, 0)
        this.joinedWithoutToken.push(rec)
      }
    }
    if (ctx.queueHead > 1024 && ctx.queueHead * 2 > ctx.queue.length) {
      ctx.queue.splice(0, ctx.queueHead)
      ctx.queueHead = 0
    }
  }

  // Tells the actors of requests admitted in this event and not starting their prefill now that they are admitted.
  private signalAdmitted(): void {
    if (this.unsignalled === 0) return
    const now = this.ctx.clock.now()
    const q = this.prefillQueue
    for (let i = Math.max(0, q.length - this.unsignalled); i < q.length; i++) (q[i] as RequestRecord).actor.send({ type: "request.admitted", atNs: now })
    this.unsignalled = 0
  }

  private join(rec: RequestRecord, generated: number): void {
    rec.joinedIter = this.iter
    rec.genAtJoin = generated
    rec.slot = this.decoding.length
    this.decoding.push(rec)
    const ctxTokens = rec.spec.uniqueTokens + generated
    this.uniqueTotal += ctxTokens
    if (ctxTokens > this.uniqueMax) this.uniqueMax = ctxTokens
    const at = this.iter + (rec.spec.outputTokens - generated)
    const l = this.finishAt.get(at)
    if (l === undefined) this.finishAt.set(at, [rec])
    else l.push(rec)
    // Membership matters only to a law that follows it (trace routing); random laws skip the event.
    if (this.followsMembers) this.ctx.router.send({ type: "router.requestJoined", worker: this.index, requestId: rec.spec.id, blocks: rec.spec.blocks })
  }

  private leave(rec: RequestRecord): void {
    const last = this.decoding.pop() as RequestRecord
    if (last !== rec) {
      this.decoding[rec.slot] = last
      last.slot = rec.slot
    }
    const ctxTokens = rec.spec.uniqueTokens + this.generatedOf(rec)
    rec.generated = this.generatedOf(rec)
    rec.slot = -1
    this.uniqueTotal -= ctxTokens
    if (ctxTokens >= this.uniqueMax) this.maxDirty = true
    if (this.followsMembers) this.ctx.router.send({ type: "router.requestLeft", worker: this.index, requestId: rec.spec.id })
  }

  private end(rec: RequestRecord): void {
    this.usedBytes -= rec.needBytes
    rec.ended = true
    rec.actor.send({ type: "request.completed", atNs: this.ctx.clock.now(), outputTokens: rec.generated })
    this.ctx.onEnded(rec)
  }

  private endCancelled(rec: RequestRecord, tokens: number): void {
    this.usedBytes -= rec.needBytes
    rec.ended = true
    rec.actor.send({ type: "request.cancelled", atNs: this.ctx.clock.now(), outputTokens: tokens })
    this.ctx.executor.release?.(rec.spec.id)
    this.ctx.onEnded(rec)
  }

  // At a step boundary (no work of this worker in flight): end the requests cancelled meanwhile.
  private drainCancels(): void {
    if (this.pendingDrops.length > 0) this.drainDrops()
    if (this.pendingCancels.length === 0) return
    const list = this.pendingCancels
    this.pendingCancels = []
    for (const rec of list) {
      if (rec.ended) continue
      if (this.prefilling.includes(rec)) {
        this.pendingCancels.push(rec)
        continue
      }
      if (rec.slot >= 0) this.leave(rec)
      this.endCancelled(rec, rec.generated)
    }
  }

  // At a step boundary: the failed requests leave the sets and give back their KV bytes.
  private drainDrops(): void {
    const list = this.pendingDrops
    this.pendingDrops = []
    for (const rec of list) {
      if (this.prefilling.includes(rec)) {
        this.pendingDrops.push(rec)
        continue
      }
      if (rec.slot >= 0) this.leave(rec)
      this.usedBytes -= rec.needBytes
      this.ctx.executor.release?.(rec.spec.id)
    }
  }

  private launchPrefill(): void {
    const now = this.ctx.clock.now()
    const budget = this.ctx.scenario.policy.prefillTokenBudget
    if (budget === undefined) {
      this.prefilling = this.prefillQueue
      this.prefillQueue = []
    } else {
      let n = 0
      let tokens = 0
      for (const rec of this.prefillQueue) {
        if (n > 0 && tokens + rec.spec.uniqueTokens > budget) break
        tokens += rec.spec.uniqueTokens
        n++
      }
      this.prefilling = this.prefillQueue.slice(0, n)
      this.prefillQueue = this.prefillQueue.slice(n)
      this.justPrefilled = true
    }
    // Those admitted now and left waiting (a budget) are told now; those prefilled now learn both from prefillStarted.
    this.signalAdmitted()
    const prompts: number[] = []
    for (const rec of this.prefilling) {
      rec.actor.send({ type: "request.prefillStarted", atNs: now })
      prompts.push(rec.spec.uniqueTokens)
    }
    this.run(
      { workerId: this.workerId, label: "unique.prefill", kernels: prefillWork(this.ctx.resolved, prompts), queries: this.prefilling.length, payload: { phase: "prefill", requests: this.prefilling } satisfies StepPayload },
      () => this.actor.send({ type: "phase.completed" }),
    )
  }

  // The first iteration of a decoding phase: from here until the phase ends, this worker's steps
  // hold the global barrier's rounds.
  private startDecoding(): void {
    this.signalAdmitted()
    this.justPrefilled = false
    this.shared?.hold(this.index)
    this.launchDecode()
  }

  private launchDecode(): void {
    this.subStep = 0
    this.launchSubStep()
  }

  // One decode iteration ended: account it, admit between iterations, and either chain the next
  // iteration or end the decoding phase (a prefill is due, or nobody is left decoding).
  private iterationDone(): void {
    this.completeDecode()
    this.admit()
    if (this.prefillQueue.length > 0 || this.decoding.length === 0) {
      this.shared?.release(this.index)
      this.actor.send({ type: "phase.completed" })
    } else this.launchDecode()
  }

  private launchSubStep(): void {
    const { ctx } = this
    const r = ctx.resolved
    const B = this.decoding.length
    if (this.maxDirty) {
      let m = 0
      for (const rec of this.decoding) m = Math.max(m, rec.spec.uniqueTokens + this.generatedOf(rec))
      this.uniqueMax = m
      this.maxDirty = false
    }
    const layers = r.model.layers / r.stepsPerIteration
    const exact = ctx.scenario.policy.routingMode === "exact" && r.system === "moska"
    let histogram: readonly ChunkCount[] = EMPTY
    let byChunk: Map<number, number[]> | undefined
    const tracker = ctx.trackers[this.index]
    if (r.system === "moska" && tracker !== undefined) {
      // Colocated moska runs its shared attention here, so this worker tallies its chunks; with a pool, the pool does.
      const tally = this.shared === null ? ctx.chunkTally : null
      if (exact) {
        byChunk = tracker.routeExact(this.decoding.map((d) => d.spec.id), ctx.rng.route)
        const counts = new Map<number, number>()
        for (const [chunk, ids] of byChunk) {
          counts.set(ids.length, (counts.get(ids.length) ?? 0) + 1)
          tally?.exact(chunk, ids.length)
        }
        histogram = [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([queries, units]) => ({ queries, units }))
      } else if (this.shared !== null && ctx.scenario.policy.batcher.kind === "window") {
        // The pool draws merged batches itself; the unique side and the transfers depend only on B.
        histogram = [{ queries: B, units: 1 }]
      } else {
        histogram = tracker.histogram(B, ctx.rng.route)
        if (tally !== null && B > 0) {
          const counts = tracker.counts()
          if (counts !== undefined) tally.counted(this.index, counts, Number.POSITIVE_INFINITY)
          else {
            tally.expected(B, false)
            tally.priced(histogram)
          }
        }
      }
    }
    const unique: UniqueContexts = { count: B, totalTokens: this.uniqueTotal, maxTokens: this.uniqueMax }
    const last = this.lastShared
    // With a pool (disaggregated moska) the unique side does not depend on the histogram: a step
    // that reuses the last shared side builds only its unique kernels, not a shared side to drop,
    // and keeps the last work for its shared side (its `unique` is not read: `uniqueKernels` is).
    let uniqueKernels: readonly KernelSpec[]
    let work: IterationWork
    if (this.shared !== null && last !== undefined && last.histogram === histogram && last.B === B && last.layers === layers) {
      uniqueKernels = disaggregatedUniqueWork(r, B, unique, layers)
      work = last.work
    } else {
      const state: BatchState = { decoding: B, unique, histogram }
      work = this.reuseSharedWork(iterationWork(r, state, layers), histogram, B, layers)
      uniqueKernels = work.unique
    }
    const uniqueItem: WorkItem = { workerId: this.workerId, label: "unique.iteration", kernels: uniqueKernels, queries: B, payload: { phase: "decode", requests: this.decoding } satisfies StepPayload }
    if (this.shared === null) {
      this.run(uniqueItem, this.subStepDone)
      return
    }
    this.step = {
      work,
      submission: {
        replica: this.index,
        queries: B,
        layers,
        histogram,
        byChunk,
        counts: this.sendsCounts ? tracker?.counts() : undefined,
        kernels: work.shared,
        resolve: this.sharedResolved,
      },
    }
    if (ctx.scenario.policy.overlap) {
      this.pendingParts = 2
      this.run(uniqueItem, this.partDone)
      this.sendQueries()
    } else {
      this.pendingParts = 1
      this.run(uniqueItem, this.sendQueries)
    }
  }

  // The shared side of a step (pool kernels, transfers) depends only on the histogram, B and the
  // layers; a step repeating the last one's (a tracker hands out the same histogram while its set is
  // unchanged) keeps the last arrays, so the executor prices them once rather than every step.
  private lastShared: { readonly histogram: readonly ChunkCount[]; readonly B: number; readonly layers: number; readonly work: IterationWork } | undefined
  private reuseSharedWork(work: IterationWork, histogram: readonly ChunkCount[], B: number, layers: number): IterationWork {
    const last = this.lastShared
    if (last !== undefined && last.histogram === histogram && last.B === B && last.layers === layers) {
      return { unique: work.unique, shared: last.work.shared, toShared: last.work.toShared, fromShared: last.work.fromShared }
    }
    this.lastShared = { histogram, B, layers, work }
    return work
  }

  // The Shared-KV path of a sub-step: q out over the link, stacked attention, merged o back.
  private step: { readonly work: IterationWork; readonly submission: Submission } | undefined
  private pendingParts = 0
  private readonly subStepDone = (): void => {
    this.subStep++
    if (this.subStep < this.ctx.resolved.stepsPerIteration) this.launchSubStep()
    else this.iterationDone()
  }
  private readonly partDone = (): void => {
    if (--this.pendingParts === 0) this.subStepDone()
  }
  private readonly sendQueries = (): void => {
    const step = this.step as NonNullable<UniqueReplica["step"]>
    this.run({ workerId: this.linkId, label: "transfer.q", kernels: step.work.toShared, queries: step.submission.queries }, this.submitQueries)
  }
  private readonly submitQueries = (): void => {
    const step = this.step as NonNullable<UniqueReplica["step"]>
    ;(this.shared as SharedPool).submit(step.submission)
  }
  private readonly sharedResolved = (): void => {
    const step = this.step as NonNullable<UniqueReplica["step"]>
    this.run({ workerId: this.linkId, label: "transfer.o", kernels: step.work.fromShared, queries: step.submission.queries }, this.partDone)
  }

  private completePrefill(): void {
    const { ctx } = this
    const now = ctx.clock.now() as Ns
    const tokens = ctx.tokenRows
    const events = ctx.tokenEvents.observed ? ctx.tokenEvents : null
    {
      const done = this.prefilling
      this.prefilling = []
      ctx.stats.prefills++
      for (const rec of done) {
        // failed while its prefill ran (a lost worker held the step): drainDrops forgets it below
        if (rec.ended) continue
        rec.generated = 1
        ctx.stats.outputTokens++
        rec.actor.send({ type: "request.firstToken", atNs: now })
        if (tokens !== null || events !== null) {
          const row = { requestId: rec.spec.id, index: 0, atNs: now }
          tokens?.emit(row)
          events?.emit(row)
        }
        if (rec.spec.outputTokens <= 1) this.end(rec)
        else this.join(rec, 1)
      }
    }
    this.drainCancels()
  }

  private completeDecode(): void {
    const { ctx } = this
    const now = ctx.clock.now() as Ns
    const tokens = ctx.tokenRows
    const events = ctx.tokenEvents.observed ? ctx.tokenEvents : null
    const B = this.decoding.length
    this.iter++
    ctx.stats.iterations++
    ctx.stats.outputTokens += B
    this.uniqueTotal += B
    this.uniqueMax += 1
    if (this.joinedWithoutToken.length > 0) {
      for (const rec of this.joinedWithoutToken) if (!rec.ended) rec.actor.send({ type: "request.firstToken", atNs: now })
      this.joinedWithoutToken = []
    }
    if (tokens !== null || events !== null) {
      for (const rec of this.decoding) {
        // failed while the step ran: its row is written, and no token follows it
        if (rec.ended) continue
        const row = { requestId: rec.spec.id, index: this.generatedOf(rec) - 1, atNs: now }
        tokens?.emit(row)
        events?.emit(row)
      }
    }
    const finishers = this.finishAt.get(this.iter)
    if (finishers !== undefined) {
      this.finishAt.delete(this.iter)
      for (const rec of finishers) {
        if (rec.ended || rec.slot < 0) continue
        this.leave(rec)
        this.end(rec)
      }
    }
    this.drainCancels()
  }

  /** Runs one work item on the executor and records its kernel row. */
  private run(item: WorkItem, then: () => void): void {
    if (item.kernels.length === 0) {
      then()
      return
    }
    // Without kernel rows (trace level `requests`) there is no row to write: `then` itself is the
    // completion; with them one long-lived function writes the row and calls `then`, its argument.
    if (this.ctx.kernelRows === null) executeWork(this.ctx.executor, item, then, this.ctx.defect, undefined)
    else executeWork(this.ctx.executor, item, this.recordThen, this.ctx.defect, then)
  }

  private readonly recordThen = (done: WorkDone, then: () => void): void => {
    recordRow(this.ctx, done)
    then()
  }
}
