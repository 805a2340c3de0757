import { createActor, type Actor } from "xstate"
import { Subject, from, map, mergeMap, type Observable, type Subscription } from "rxjs"
import type { WorkDone, WorkItem } from "../core/executor.js"
import type { KernelSpec } from "../core/kernels.js"
import type { Ns } from "../core/units.js"
import { sharedBatcherMachine } from "../actors/sharedBatcherMachine.js"
import { sharedWorkerMachine } from "../actors/sharedWorkerMachine.js"
import { barrierBatch } from "../streams/barrierBatch.js"
import { roundBarrier, type BarrierMembership } from "../streams/roundBarrier.js"
import { RoundGate } from "../streams/roundGate.js"
import { keyedWindowBatch, type KeyedBatch } from "../streams/keyedWindowBatch.js"
import { windowBatch } from "../streams/windowBatch.js"
import { iterationWork, type ChunkCount } from "./iterationWork.js"
import { histogramOfCounts } from "./routingModel.js"
import type { EngineContext } from "./engineContext.js"
import { executeWork } from "./executeWork.js"
import { recordRow } from "./recordRow.js"

/** One decode step's routed queries from one unique worker, arriving at the Shared-KV pool. */
export interface Submission {
  readonly replica: number
  /** Queries (decoding requests) in the step. */
  readonly queries: number
  /** Layers the step covers. */
  readonly layers: number
  /** Fast mode: the step's per-chunk histogram (a barrier batch of this submission alone uses it as is). */
  readonly histogram: readonly ChunkCount[]
  /** Fast mode, trace routing: per-chunk counts, for merging with other submissions (window, global barrier with 2+ replicas). */
  readonly counts: Int32Array | undefined
  /** Exact mode: routed request ids per chunk. */
  readonly byChunk: Map<number, number[]> | undefined
  /** Fast mode, barrier policy: the step's Shared-KV kernels as `iterationWork` priced them (used when alone in its batch). */
  readonly kernels?: readonly KernelSpec[]
  /** Called when every batch holding this submission's queries has finished. */
  readonly resolve: () => void
}

/** A share of one submission's queries on one chunk (exact mode). */
interface ChunkPart {
  readonly sub: Submission
  readonly chunk: number
  readonly rows: number
}

/** A batch ready for a Shared-KV worker. */
interface SharedBatch {
  readonly histogram: readonly ChunkCount[]
  /** Requests whose queries the batch holds (sizes the merge of their partials). */
  readonly requests: number
  /** Stacked query rows over all chunks (Σ queries · units), the trace's `queries`. */
  readonly rows: number
  readonly layers: number
  /** Exact mode: submissions in the batch, each with how many of its parts the batch completes. */
  readonly parts: ReadonlyMap<Submission, number> | undefined
  /**
   * Fast mode: the batch's submissions, each whole (one part, in this batch only), so finishing the
   * batch resolves each of them: no per-round map of parts nor pending count (a replay forms
   * millions of rounds).
   */
  readonly whole: readonly Submission[] | undefined
  /** Kernels when already priced by the submitting worker (barrier, fast mode). */
  readonly kernels: readonly KernelSpec[] | undefined
  /** Exact mode: rows per chunk, for one kernel row per chunk. */
  readonly perChunk: ReadonlyArray<{ readonly chunk: number; readonly rows: number }> | undefined
}

/**
 * The Shared-KV side of disaggregated moska: the SharedBatcher (an RxJS pipeline of the batching
 * operators, under `sharedBatcherMachine`) and the SharedWorkers (`sharedWorkerMachine`, one per
 * worker of the shared pool). Fast mode merges submissions by query totals (random routing: the
 * merged per-chunk counts are drawn from the law for the summed queries) or by summing per-chunk
 * counts (trace routing); exact mode batches (submission, chunk) parts per chunk.
 *
 * The barrier policy is global by default: the unique replicas' decode steps run in lockstep
 * rounds (`roundBarrier`), and a round's shared work is one batch that stacks, per chunk, the
 * queries of every replica in the decoding phase (replicas tell the pool with `hold`/`release`;
 * an idle or prefilling replica does not hold a round). `scope: "replica"` flushes each step alone.
 */
export class SharedPool {
  private readonly input = new Subject<Submission>()
  private readonly pending = new Map<Submission, number>()
  private readonly members = new Subject<BarrierMembership<number>>()
  /** Whether steps meet at a global barrier (barrier policy, scope global). */
  readonly global: boolean
  readonly batcher: Actor<typeof sharedBatcherMachine>
  readonly workers: Array<{
    readonly id: string
    readonly actor: Actor<typeof sharedWorkerMachine>
    /**
     * Runs a batch on the worker while it serves (`open` sets it, `close` clears it; a batch sent
     * while it is unset is dropped, as a Subject without a subscriber drops it). A call rather than a
     * Subject per worker: a replay dispatches a batch per decode round.
     */
    run: ((item: WorkItem, batch: SharedBatch) => void) | undefined
  }> = []

  constructor(private readonly ctx: EngineContext) {
    const shared = ctx.resolved.shared
    if (shared === null) throw new Error("SharedPool needs a disaggregated scenario")
    const batcher = ctx.scenario.policy.batcher
    // With one unique replica a round is each step alone: the per-item barrier, without the rounds' bookkeeping.
    this.global = batcher.kind === "barrier" && batcher.scope !== "replica" && ctx.resolved.unique.workers > 1
    for (let i = 0; i < shared.workers; i++) {
      const id = `shared-${i}`
      const run = (item: WorkItem, batch: SharedBatch): void => executeWork(ctx.executor, item, this.complete, ctx.defect, batch)
      // the actions run once the actor starts, after `worker` below is set
      const machine = sharedWorkerMachine.provide({
        actions: {
          open: () => {
            worker.run = run
          },
          close: () => {
            worker.run = undefined
          },
        },
      })
      const actor = createActor(machine, { clock: ctx.xclock })
      actor.subscribe({ error: (e) => ctx.defect(e) })
      const worker: (typeof this.workers)[number] = { id, actor, run: undefined }
      this.workers.push(worker)
    }
    let subscription: Subscription | undefined
    const machine = sharedBatcherMachine.provide({
      actions: {
        open: () => {
          if (this.global && ctx.scenario.policy.routingMode !== "exact") this.gate = new RoundGate((s: Submission) => s.replica, this.round)
          else subscription = this.pipeline().subscribe({ next: (b) => this.dispatch(b), error: (e) => ctx.defect(e) })
        },
        flush: () => undefined,
        close: () => {
          // as completing the input does: later submissions are dropped, the open round goes out
          const gate = this.gate
          this.gate = undefined
          gate?.flush()
          this.input.complete()
          subscription?.unsubscribe()
        },
      },
    })
    this.batcher = createActor(machine, { clock: ctx.xclock })
    this.batcher.subscribe({ error: (e) => ctx.defect(e) })
  }

  start(): void {
    for (const w of this.workers) w.actor.start()
    this.batcher.start()
  }

  stop(): void {
    this.batcher.send({ type: "batcher.close" })
    for (const w of this.workers) {
      w.actor.send({ type: "worker.stop" })
      w.run = undefined
    }
  }

  submit(sub: Submission): void {
    const gate = this.gate
    if (gate !== undefined) gate.push(sub)
    else this.input.next(sub)
  }

  /** A unique replica entered its decoding phase: global barrier rounds wait for its steps. */
  hold(replica: number): void {
    if (!this.global) return
    if (this.gate !== undefined) this.gate.join(replica)
    else this.members.next({ key: replica, holds: true })
  }

  /** A unique replica left its decoding phase (prefill due, or nobody decoding): rounds stop waiting for it. */
  release(replica: number): void {
    if (!this.global) return
    if (this.gate !== undefined) this.gate.leave(replica)
    else this.members.next({ key: replica, holds: false })
  }

  /**
   * Fast mode under the global barrier, while the batcher is open: the rounds of
   * `roundBarrier` → `map(fastBatch)` → `dispatch`, driven by direct calls (`RoundGate`) instead of
   * a Subject and two operators per submission. The other policies keep their RxJS pipeline.
   */
  private gate: RoundGate<Submission, number> | undefined
  private readonly round = (subs: Submission[]): void => {
    // a throw here ends the run as the pipeline's error would (the engine's defect)
    try {
      this.dispatch(this.fastBatch(subs, Number.POSITIVE_INFINITY))
    } catch (e) {
      this.ctx.defect(e)
    }
  }

  private pipeline(): Observable<SharedBatch> {
    const { ctx } = this
    const policy = ctx.scenario.policy
    const exact = policy.routingMode === "exact"
    const batcher = policy.batcher
    const barrier$ = (): Observable<Submission[]> =>
      this.global ? this.input.pipe(roundBarrier({ keyOf: (s) => s.replica, members: this.members })) : this.input.pipe(barrierBatch())
    if (!exact) {
      if (batcher.kind === "barrier") return barrier$().pipe(map((subs) => this.fastBatch(subs, Number.POSITIVE_INFINITY)))
      const maxPi = ctx.routing.kind === "trace" ? 1 : Math.max(...ctx.routing.inclusion())
      const rowsOf = (s: Submission): number => {
        if (s.counts === undefined) return Math.min(batcher.maxRows, Math.max(1, Math.ceil(s.queries * maxPi)))
        let m = 0
        for (const c of s.counts) if (c > m) m = c
        return Math.min(batcher.maxRows, Math.max(1, m))
      }
      return this.input.pipe(
        windowBatch({ windowNs: batcher.windowNs, maxRows: batcher.maxRows, rowsOf, scheduler: ctx.scheduler }),
        map((subs) => this.fastBatch(subs, batcher.maxRows)),
      )
    }
    const maxRows = batcher.kind === "window" ? batcher.maxRows : Number.POSITIVE_INFINITY
    const windowNs = batcher.kind === "window" ? batcher.windowNs : 0
    if (batcher.kind === "barrier") {
      // Barrier: all chunks of a round (one step of one replica, or of every replica) in one
      // launch, one stacked batch per chunk.
      return barrier$().pipe(
        mergeMap((subs) => {
          const byKey = new Map<number, { key: number; items: ChunkPart[]; rows: number }>()
          const empty: Submission[] = []
          for (const sub of subs) {
            let n = 0
            for (const [chunk, ids] of sub.byChunk ?? []) {
              let b = byKey.get(chunk)
              if (b === undefined) {
                b = { key: chunk, items: [], rows: 0 }
                byKey.set(chunk, b)
              }
              b.items.push({ sub, chunk, rows: ids.length })
              b.rows += ids.length
              n++
            }
            if (n === 0) empty.push(sub)
            else this.pending.set(sub, n)
          }
          for (const sub of empty) sub.resolve()
          if (byKey.size === 0) return from([])
          return from([this.exactBatch([...byKey.values()])])
        }),
      )
    }
    const parts$ = this.input.pipe(
      mergeMap((sub) => {
        const parts: ChunkPart[] = []
        for (const [chunk, ids] of sub.byChunk ?? []) {
          for (let at = 0; at < ids.length; at += maxRows) parts.push({ sub, chunk, rows: Math.min(maxRows, ids.length - at) })
        }
        this.pending.set(sub, parts.length)
        if (parts.length === 0) sub.resolve()
        return from(parts)
      }),
    )
    return parts$.pipe(
      keyedWindowBatch<number, ChunkPart>({ keyOf: (p) => p.chunk, rowsOf: (p) => p.rows, windowNs, maxRows, scheduler: ctx.scheduler }),
      map((batches) => this.exactBatch(batches)),
    )
  }

  private fastBatch(subs: readonly Submission[], maxRows: number): SharedBatch {
    const { ctx } = this
    let queries = 0
    for (const s of subs) queries += s.queries
    let histogram: readonly ChunkCount[]
    const only = subs[0] as Submission
    const barrier = ctx.scenario.policy.batcher.kind === "barrier"
    const alone = barrier && subs.length === 1
    const tally = ctx.chunkTally
    const capped = maxRows !== Number.POSITIVE_INFINITY
    if (alone) {
      histogram = only.histogram // drawn (or tracked) by the unique worker for exactly this step
      if (only.counts !== undefined) tally?.counted(only.replica, only.counts, maxRows)
    } else if (ctx.routing.kind === "trace") {
      histogram = this.mergedHistogram(subs)
      tally?.counted(-1, this.mergedSum as Int32Array, maxRows)
    } else {
      histogram = ctx.routing.drawHistogram(queries, ctx.rng.batcher)
    }
    if (capped) histogram = capRows(histogram, maxRows)
    if (tally !== null && ctx.routing.kind !== "trace" && queries > 0) {
      tally.expected(queries, capped)
      tally.priced(histogram)
    }
    return { histogram, requests: queries, rows: stackedRows(histogram), layers: only.layers, parts: undefined, whole: subs, perChunk: undefined, kernels: alone ? only.kernels : undefined }
  }

  // Trace routing: the histogram of the submissions' summed per-chunk counts. A tracker returns the
  // same (immutable) array while its decode set is unchanged, so a round of the same arrays as the
  // last one has the last one's histogram; only a round after a join or leave sums the counts.
  private mergedCounts: ReadonlyArray<Int32Array | undefined> = []
  private mergedMemo: readonly ChunkCount[] = []
  private mergedHistogram(subs: readonly Submission[]): readonly ChunkCount[] {
    if (sameArrays(this.mergedCounts, subs)) return this.mergedMemo
    // a fresh array, never changed afterwards: the chunk tally keeps it while rounds repeat it
    const sum = new Int32Array(this.ctx.routing.chunks)
    for (const s of subs) {
      const c = s.counts
      if (c !== undefined) for (let j = 0; j < sum.length; j++) sum[j] = (sum[j] as number) + (c[j] as number)
    }
    this.mergedCounts = subs.map((s) => s.counts)
    this.mergedSum = sum
    this.mergedMemo = histogramOfCounts(sum)
    return this.mergedMemo
  }
  private mergedSum: Int32Array | undefined

  private exactBatch(batches: readonly KeyedBatch<number, ChunkPart>[]): SharedBatch {
    const parts = new Map<Submission, number>()
    const counts = new Map<number, number>()
    const perChunk: Array<{ chunk: number; rows: number }> = []
    let layers = 0
    let queries = 0
    for (const b of batches) {
      counts.set(b.rows, (counts.get(b.rows) ?? 0) + 1)
      perChunk.push({ chunk: b.key, rows: b.rows })
      this.ctx.chunkTally?.exact(b.key, b.rows)
      queries += b.rows
      for (const p of b.items) {
        parts.set(p.sub, (parts.get(p.sub) ?? 0) + 1)
        layers = p.sub.layers
      }
    }
    const histogram = [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([q, units]) => ({ queries: q, units }))
    let requests = 0
    for (const sub of parts.keys()) requests += sub.queries
    return { histogram, requests: Math.min(requests, queries), rows: queries, layers, parts, whole: undefined, perChunk, kernels: undefined }
  }

  private dispatch(batch: SharedBatch): void {
    const { ctx } = this
    const kernels = batch.kernels ?? this.mergedKernels(batch)
    let best = this.workers[0] as (typeof this.workers)[number]
    for (const w of this.workers) if (ctx.executor.freeAtNs(w.id) < ctx.executor.freeAtNs(best.id)) best = w
    const item: WorkItem = { workerId: best.id, label: "shared.iteration", kernels, queries: batch.rows }
    if (kernels.length === 0) {
      this.resolveParts(batch)
      return
    }
    best.run?.(item, batch)
  }

  // A merged batch repeating the last one (same histogram array, requests and layers) reuses its
  // kernels array, which the executor then prices once.
  private lastMerged: { readonly histogram: readonly ChunkCount[]; readonly requests: number; readonly layers: number; readonly kernels: readonly KernelSpec[] } | undefined
  private mergedKernels(batch: SharedBatch): readonly KernelSpec[] {
    const last = this.lastMerged
    if (last !== undefined && last.histogram === batch.histogram && last.requests === batch.requests && last.layers === batch.layers) return last.kernels
    const kernels = iterationWork(this.ctx.resolved, { decoding: Math.max(1, batch.requests), unique: { count: 0, totalTokens: 0, maxTokens: 0 }, histogram: batch.histogram }, batch.layers).shared
    this.lastMerged = { histogram: batch.histogram, requests: batch.requests, layers: batch.layers, kernels }
    return kernels
  }

  private readonly complete = (done: WorkDone, batch: SharedBatch): void => {
    const { ctx } = this
    if (ctx.kernelRows !== null) {
      if (batch.perChunk === undefined) recordRow(ctx, done)
      else this.recordChunkRows(done, batch.perChunk)
    }
    this.resolveParts(batch)
  }

  private resolveParts(batch: SharedBatch): void {
    const whole = batch.whole
    if (whole !== undefined) {
      for (let i = 0; i < whole.length; i++) (whole[i] as Submission).resolve()
      return
    }
    for (const [sub, n] of batch.parts ?? []) {
      const left = (this.pending.get(sub) ?? 0) - n
      if (left <= 0) {
        this.pending.delete(sub)
        sub.resolve()
      } else this.pending.set(sub, left)
    }
  }

  // Exact mode: one row per chunk; the item's time is split in proportion to each chunk's own price.
  private recordChunkRows(done: WorkDone, perChunk: ReadonlyArray<{ chunk: number; rows: number }>): void {
    const { ctx } = this
    const model = ctx.resolved.shared?.cost
    if (model === undefined) return
    const r = ctx.resolved
    const priced = perChunk.map((c) => {
      const spec = iterationWork(r, { decoding: c.rows, unique: { count: 0, totalTokens: 0, maxTokens: 0 }, histogram: [{ queries: c.rows, units: 1 }] }, done.item.kernels[0]?.kind === "sharedAttention" ? (done.item.kernels[0].layers) : r.model.layers).shared[0]
      return spec === undefined ? { ns: 0, flops: 0, bytes: 0 } : model.price(spec)
    })
    const weights = priced.map((p) => Math.max(1, p.ns - model.gpu.launchNs))
    const total = weights.reduce((a, b) => a + b, 0)
    const span = done.endNs - done.startNs
    let cursor = done.startNs as number
    perChunk.forEach((c, i) => {
      const end = i === perChunk.length - 1 ? done.endNs : cursor + Math.round((span * (weights[i] as number)) / total)
      const p = priced[i] as { flops: number; bytes: number }
      ctx.kernelRows?.emit({ workerId: done.item.workerId, kind: "shared.chunk", chunkId: c.chunk, queries: c.rows, startNs: cursor as Ns, endNs: end as Ns, flops: p.flops, bytes: p.bytes })
      cursor = end
    })
  }
}

/** Whether `subs` carry the same count arrays as `last`, as a multiset (a round's order may vary). */
const sameArrays = (last: ReadonlyArray<Int32Array | undefined>, subs: readonly Submission[]): boolean => {
  if (last.length !== subs.length) return false
  for (const s of subs) {
    let inLast = 0
    let inSubs = 0
    for (const c of last) if (c === s.counts) inLast++
    for (const t of subs) if (t.counts === s.counts) inSubs++
    if (inLast !== inSubs) return false
  }
  return true
}

const stackedRows = (histogram: readonly ChunkCount[]): number => {
  let rows = 0
  for (const h of histogram) rows += h.queries * h.units
  return rows
}

/** Splits chunks with more than `maxRows` queries into several units of at most `maxRows`. */
export const capRows = (histogram: readonly ChunkCount[], maxRows: number): ChunkCount[] => {
  const byQ = new Map<number, number>()
  for (const h of histogram) {
    if (h.queries <= maxRows) byQ.set(h.queries, (byQ.get(h.queries) ?? 0) + h.units)
    else {
      const full = Math.floor(h.queries / maxRows)
      const rest = h.queries - full * maxRows
      byQ.set(maxRows, (byQ.get(maxRows) ?? 0) + full * h.units)
      if (rest > 0) byQ.set(rest, (byQ.get(rest) ?? 0) + h.units)
    }
  }
  return [...byQ.entries()].sort((a, b) => a[0] - b[0]).map(([queries, units]) => ({ queries, units }))
}
