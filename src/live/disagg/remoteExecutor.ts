import { Observable, type Subscriber } from "rxjs"
import { Priority, type Clock, type TimerHandle } from "../../core/clock.js"
import type { CostModel } from "../../core/costModel.js"
import { WorkerLost } from "../../core/errors.js"
import type { WorkDone, WorkItem } from "../../core/executor.js"
import type { Ns } from "../../core/units.js"
import { PricedExecutor } from "../../engine/pricedExecutor.js"
import type { StepPayload } from "../../engine/stepPayload.js"
import type { LiveExecutor } from "../runLive.js"
import type { RequestInput } from "../webGpuExecutor.js"
import type { Coordinator, CoordinatorListener } from "./coordinator.js"
import type { Message, WireStep } from "./protocol.js"

/** A unique item's step as it crosses (read now: the engine's arrays change once the item completes). */
const wireStep = (payload: unknown, inputOf: ((id: number) => RequestInput | undefined) | undefined): WireStep | undefined => {
  const p = payload as StepPayload | undefined
  if (p === undefined) return undefined
  return {
    phase: p.phase,
    requests: p.requests.map((r) => {
      const input = p.phase === "prefill" ? inputOf?.(r.spec.id) : undefined
      return { id: r.spec.id, uniqueTokens: r.spec.uniqueTokens, outputTokens: r.spec.outputTokens, ...(input === undefined ? {} : { input }) }
    }),
  }
}

interface Pending {
  readonly seq: number
  readonly item: WorkItem
  /** The worker id whose process runs it: the item's own, or for a real link the unique worker at its end. */
  readonly via: string
  /** A real link: the exchange the unique worker makes with a shared worker. */
  readonly link?: { readonly to: string; readonly sendBytes: number; readonly replyBytes: number; readonly messages: number }
  readonly subscriber: Subscriber<WorkDone>
  /** The item's step, read when it was submitted (sent again as it was). */
  readonly step: WireStep | undefined
  /** Run-clock ns when it was (last) sent. */
  sentNs: number
  /** Its price, for the free-at estimate. */
  readonly predictedNs: number
}

export interface RemoteExecutorOptions {
  readonly clock: Clock
  readonly coordinator: Coordinator
  /** The pools' cost models: they price links (run here) and predict when a remote worker frees up. */
  readonly modelOf: (workerId: string) => CostModel
  /**
   * How long a lost worker's items wait for a process to take its id before the run fails with
   * WorkerLost (0: at once). Items are sent again as they were, which is right for the priced
   * executor (it holds no state); a real device's KV would be gone with its process.
   */
  readonly rejoinTimeoutNs: number
  /**
   * Webgpu workers under a server: the client's prompt ids, temperature and seed for a request
   * (sent with its prefill step), and where the tokens a step sampled go (called before the step
   * completes, so the engine accounts tokens it already holds).
   */
  readonly tokens?: {
    readonly requestInput: (requestId: number) => RequestInput | undefined
    readonly onToken: (requestId: number, index: number, token: number) => void
  }
}

/**
 * `GpuExecutor` of the coordinator: each work item of a pool's worker (`unique-*`, `shared-*`) goes
 * to the process that holds that id (a `work` message) and completes when its `done` comes back,
 * scheduled on the run's clock at `Priority.completion`; the worker's start and end times are
 * moved onto the run's clock with the link's offset estimate and clamped to [sent, now], so a
 * kernel row never claims work began before it was sent or ended after it was heard of. Link
 * items (`link-*`, `transfer.q`/`transfer.o`) are priced here as in a single-process run: the
 * workers exchange no tensors yet, so there is no real transfer to time. `freeAtNs` is this side's
 * estimate (the queue's prices, re-anchored at each completion). A lost worker's items are held and
 * sent again when a process takes its id; after `rejoinTimeoutNs` they fail with WorkerLost.
 * @example
 * runLive({ ..., executor: (clock) => new RemoteExecutor({ clock, coordinator, modelOf, rejoinTimeoutNs: 0 }) })
 */
export class RemoteExecutor implements LiveExecutor, CoordinatorListener {
  private readonly local: PricedExecutor
  private seq = 0
  private readonly inFlight = new Map<number, Pending>()
  private readonly held = new Map<string, { items: Pending[]; deadline: TimerHandle; reason: string }>()
  private readonly ledger = new Map<string, { freeAt: number; outstanding: number }>()
  /** The coordinator's monotonic ns at the run clock's 0 (fixed at the first item: the clock runs by then). */
  private originNs: number | undefined
  private resent = 0

  constructor(private readonly o: RemoteExecutorOptions) {
    this.local = new PricedExecutor(o.clock, o.modelOf)
    o.coordinator.listen(this)
  }

  execute(item: WorkItem): Observable<WorkDone> {
    const route = this.routeOf(item)
    if (route === null) return this.local.execute(item)
    return new Observable<WorkDone>((subscriber) => {
      const now = this.o.clock.now()
      this.originNs ??= this.o.coordinator.nowNs() - now
      let predictedNs = 0
      const model = this.o.modelOf(item.workerId)
      for (const k of item.kernels) predictedNs += model.price(k).ns
      const l = this.ledgerOf(item.workerId)
      l.freeAt = Math.max(now, l.freeAt) + predictedNs
      l.outstanding++
      const p: Pending = { seq: this.seq++, item, subscriber, sentNs: now, predictedNs, step: wireStep(item.payload, this.o.tokens?.requestInput), ...route }
      const h = this.heldFor(p)
      if (h !== undefined) h.items.push(p)
      else this.post(p)
      return () => {
        this.inFlight.delete(p.seq)
        for (const hh of this.held.values()) hh.items = hh.items.filter((x) => x !== p)
      }
    })
  }

  freeAtNs(workerId: string): number {
    return this.ledger.get(workerId)?.freeAt ?? this.local.freeAtNs(workerId)
  }

  /**
   * Where an item runs: a pool's item on its own process; a link item (`link-i`) on the local
   * priced executor (null), or with real links on unique-i's process, exchanging with shared
   * worker i mod m (the engine sends q before a batch has picked a shared worker, so the link's far
   * end is fixed per replica; with one shared worker it is the one that runs the batch).
   */
  private routeOf(item: WorkItem): { via: string; link?: Pending["link"] } | null {
    const c = this.o.coordinator
    if (c.has(item.workerId)) return { via: item.workerId }
    const m = /^link-(\d+)$/.exec(item.workerId)
    if (!c.realLinks || m === null) return null
    const i = Number(m[1])
    const shared = c.idsOf("shared")
    if (shared.length === 0 || !c.has(`unique-${i}`)) return null
    let bytes = 0
    let messages = 0
    for (const k of item.kernels) {
      if (k.kind !== "transfer") return null
      bytes += k.bytes
      messages = Math.max(messages, k.messages)
    }
    const toShared = item.label === "transfer.q"
    return { via: `unique-${i}`, link: { to: shared[i % shared.length] as string, sendBytes: toShared ? bytes : 0, replyBytes: toShared ? 0 : bytes, messages: Math.max(1, messages) } }
  }

  facts(): Readonly<Record<string, number | string | boolean>> {
    return {
      ...this.o.coordinator.facts(), "disagg.resentItems": this.resent,
      "disagg.links": this.o.coordinator.realLinks ? "real: q rows and partials as raw frames between the worker processes, one exchange per layer" : "priced on the coordinator (no tensors cross)",
    }
  }

  done(workerId: string, m: Extract<Message, { t: "done" }>): void {
    const p = this.inFlight.get(m.seq)
    if (p === undefined || p.via !== workerId) return
    this.inFlight.delete(m.seq)
    const clock = this.o.clock
    const now = clock.now()
    const origin = this.originNs ?? 0
    const toRun = (workerNs: number): number => Math.round(this.o.coordinator.toLocalNs(workerId, workerNs) - origin)
    const endNs = Math.max(p.sentNs, Math.min(now, toRun(m.endNs)))
    const startNs = Math.max(p.sentNs, Math.min(endNs, toRun(m.startNs)))
    const l = this.ledgerOf(p.item.workerId)
    l.outstanding--
    if (l.outstanding === 0) l.freeAt = endNs
    const done: WorkDone = {
      item: p.item, startNs: startNs as Ns, endNs: endNs as Ns, flops: m.flops, bytes: m.bytes, costs: m.costs,
      ...(m.gpuNs === undefined ? {} : { gpuNs: m.gpuNs }), ...(m.predictedNs === undefined ? {} : { predictedNs: m.predictedNs }),
    }
    const tokens = m.tokens
    clock.schedule(now, () => {
      if (tokens !== undefined) for (const [id, index, token] of tokens) this.o.tokens?.onToken(id, index, token)
      p.subscriber.next(done)
      p.subscriber.complete()
    }, Priority.completion)
  }

  failed(workerId: string, m: Extract<Message, { t: "failed" }>): void {
    const p = this.inFlight.get(m.seq)
    if (p === undefined) return
    this.inFlight.delete(m.seq)
    // a real link whose shared end is gone: it waits for that worker like the worker's own items
    const h = this.heldFor(p)
    if (h !== undefined) {
      h.items.push(p)
      return
    }
    this.o.clock.schedule(this.o.clock.now(), () => p.subscriber.error(new Error(`${workerId} failed ${p.item.label}: ${m.message}`)), Priority.completion)
  }

  lost(workerId: string, reason: string): void {
    const items = [...this.inFlight.values()].filter((p) => p.via === workerId || p.link?.to === workerId).sort((a, b) => a.seq - b.seq)
    for (const p of items) this.inFlight.delete(p.seq)
    const clock = this.o.clock
    const deadline = clock.schedule((clock.now() + this.o.rejoinTimeoutNs) as Ns, () => this.giveUp(workerId), Priority.completion)
    const prev = this.held.get(workerId)
    if (prev !== undefined) clock.cancel(prev.deadline)
    this.held.set(workerId, { items: [...(prev?.items ?? []), ...items], deadline, reason })
  }

  joined(workerId: string): void {
    const h = this.held.get(workerId)
    if (h === undefined) return
    this.held.delete(workerId)
    this.o.clock.cancel(h.deadline)
    const now = this.o.clock.now()
    for (const p of h.items) {
      p.sentNs = now
      this.resent++
      this.post(p)
    }
  }

  close(): void {
    this.o.coordinator.listen(null)
    for (const h of this.held.values()) this.o.clock.cancel(h.deadline)
  }

  /** Where an item must wait: the lost worker that runs it or, for a real link, the lost shared worker at its far end. */
  private heldFor(p: Pending): { items: Pending[] } | undefined {
    return this.held.get(p.via) ?? (p.link === undefined ? undefined : this.held.get(p.link.to))
  }

  private giveUp(workerId: string): void {
    const h = this.held.get(workerId)
    if (h === undefined) return
    this.held.delete(workerId)
    const err = new WorkerLost({
      workerId, items: h.items.length,
      message: `${h.reason}; no worker took its place within ${Math.round(this.o.rejoinTimeoutNs / 1e6)} ms, so ${h.items.length} work item${h.items.length === 1 ? "" : "s"} of the run did not complete`,
    })
    for (const p of h.items) p.subscriber.error(err)
  }

  private post(p: Pending): void {
    this.inFlight.set(p.seq, p)
    const { item } = p
    const sent = this.o.coordinator.send(p.via, {
      t: "work", seq: p.seq, workerId: item.workerId, label: item.label, kernels: item.kernels, queries: item.queries,
      ...(item.chunkId === undefined ? {} : { chunkId: item.chunkId }), ...(p.link === undefined ? {} : { link: p.link }), ...(p.step === undefined ? {} : { step: p.step }),
    })
    // Not held by anyone right now (lost between the check and the send): hold it as lost work.
    if (!sent) {
      this.inFlight.delete(p.seq)
      if (!this.held.has(p.via)) this.lost(p.via, `${p.via} is held by no worker`)
      this.held.get(p.via)?.items.push(p)
    }
  }

  private ledgerOf(workerId: string): { freeAt: number; outstanding: number } {
    let l = this.ledger.get(workerId)
    if (l === undefined) {
      l = { freeAt: 0, outstanding: 0 }
      this.ledger.set(workerId, l)
    }
    return l
  }
}
