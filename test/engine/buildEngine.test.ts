import { Observable, type Subscriber } from "rxjs"
import { describe, expect, it } from "vitest"
import type { GpuExecutor, WorkDone, WorkItem } from "../../src/core/executor.js"
import { makeRng } from "../../src/core/rng.js"
import { buildEngine } from "../../src/engine/buildEngine.js"
import { poolCostModelOf } from "../../src/engine/poolCostModelOf.js"
import { PricedExecutor } from "../../src/engine/pricedExecutor.js"
import type { StepPayload } from "../../src/engine/stepPayload.js"
import { MemorySink } from "../../src/sim/memorySink.js"
import { resolveScenario } from "../../src/sim/resolve.js"
import { makeRouting } from "../../src/sim/routing/makeRouting.js"
import { VirtualClock } from "../../src/sim/virtualClock.js"
import { makeWorkload } from "../../src/sim/workload/makeWorkload.js"
import { small } from "../sim/scenarioFixture.js"

/**
 * The priced executor, except that once `lose(id)` is called the items of worker `id` are held
 * (the way RetryOnRejoin holds a lost worker's items under `moska serve`) until `rejoin()` runs them.
 */
class LosingExecutor implements GpuExecutor {
  readonly priced: PricedExecutor
  private lost: string | null = null
  private held: Array<{ item: WorkItem; subscriber: Subscriber<WorkDone> }> = []
  /** The requests of the decode or prefill steps held, as they were when the worker was lost. */
  heldRequests: number[] = []

  constructor(clock: VirtualClock, modelOf: ReturnType<typeof poolCostModelOf>) {
    this.priced = new PricedExecutor(clock, modelOf)
  }

  execute(item: WorkItem): Observable<WorkDone> {
    return new Observable<WorkDone>((subscriber) => {
      if (item.workerId === this.lost) this.held.push({ item, subscriber })
      else this.priced.execute(item).subscribe(subscriber)
    })
  }

  freeAtNs(workerId: string): number {
    return this.priced.freeAtNs(workerId)
  }

  lose(workerId: string): void {
    this.lost = workerId
  }

  /** The ids in the steps of the lost worker that are held now. */
  stuck(): number[] {
    const ids: number[] = []
    for (const h of this.held) for (const r of (h.item.payload as StepPayload | undefined)?.requests ?? []) ids.push(r.spec.id)
    return ids.sort((a, b) => a - b)
  }

  rejoin(): void {
    this.lost = null
    const list = this.held
    this.held = []
    for (const h of list) this.priced.execute(h.item).subscribe(h.subscriber)
  }
}

const setUp = (hardware: { unique: number; shared: number }, prefill: boolean) => {
  const scenario = small({
    hardware: { unique: { gpu: "H200", count: hardware.unique }, shared: { gpu: "H200", count: hardware.shared } },
    policy: { disaggregated: true, maxBatch: 4, prefill },
    workload: { kind: "closed", concurrency: 12, requests: 60, uniqueTokens: { kind: "fixed", value: 2048 }, outputTokens: { kind: "fixed", value: 40 } },
  })
  const resolved = resolveScenario(scenario)
  const clock = new VirtualClock()
  const rng = makeRng(scenario.seed)
  const executor = new LosingExecutor(clock, poolCostModelOf(resolved))
  const sink = new MemorySink()
  const engine = buildEngine({
    scenario, resolved, clock, executor, sink, rng,
    source: makeWorkload(scenario.workload, rng.split("workload")),
    routing: makeRouting(resolved.corpus, rng.split("router")),
  })
  engine.start()
  const runTo = (cond: () => boolean): void => {
    while (!cond() && clock.peek() !== undefined) {
      clock.step()
      if (engine.defect !== undefined) throw engine.defect
    }
  }
  return { engine, clock, executor, sink, runTo }
}

const REASON = "WorkerLost: unique-1 sent nothing for 500 ms"

describe("Engine.failLostWorker", () => {
  it("fails at once only the requests the lost unique worker held; the other replica serves the rest, and the lost one rejoins", () => {
    // Without prefill, a request joins its worker's decode set when admitted: the held decode step is all that worker holds.
    const { engine, clock, executor, sink, runTo } = setUp({ unique: 2, shared: 1 }, false)
    runTo(() => engine.counts.ended >= 20)
    executor.lose("unique-1")
    runTo(() => executor.stuck().length > 0)
    const stuck = executor.stuck()
    expect(stuck.length).toBeGreaterThan(0)
    const rowsBefore = sink.requests.length
    // between two events, as RetryOnRejoin's onLost runs in one of the clock's callbacks
    expect(engine.failLostWorker("unique-1", REASON)).toBe(stuck.length)
    // the failed rows are written at once, with the reason, while their step is still held
    const failed = sink.requests.slice(rowsBefore)
    expect(failed.map((r) => r.requestId).sort((a, b) => a - b)).toEqual(stuck)
    for (const r of failed) {
      expect(r.status).toBe("failed")
      expect(r.reason).toBe(REASON)
      expect(r.finishedNs).toBe(clock.now())
      expect(r.outputTokens).toBeLessThan(r.requestedTokens)
    }
    // The other replica goes on (the global barrier no longer waits for unique-1) and serves every request left.
    const now = clock.now()
    runTo(() => engine.counts.ended === 60)
    expect(engine.counts).toMatchObject({ total: 60, completed: 60 - stuck.length, failed: stuck.length, cancelled: 0 })
    expect(clock.now()).toBeGreaterThan(now)
    expect(sink.kernels.filter((k) => k.workerId === "unique-0" && k.startNs > now).length).toBeGreaterThan(0)
    // The worker rejoins: its held step completes and the failed requests are dropped, not ended twice.
    executor.rejoin()
    runTo(() => false)
    expect(engine.inFlight).toBe(0)
    expect(engine.defect).toBeUndefined()
    const ids = sink.requests.map((r) => r.requestId)
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids).toHaveLength(60)
    engine.stop()
  })

  it("fails the decoding requests when the only shared worker is lost, and leaves those waiting for admission or a prefill step", () => {
    const { engine, clock, executor, sink, runTo } = setUp({ unique: 1, shared: 1 }, true)
    runTo(() => engine.counts.ended >= 20)
    executor.lose("shared-0")
    runTo(() => false)
    // the event queue has drained: the decode step waits for its shared attention, held on shared-0
    const rowsBefore = sink.requests.length
    const inFlight = engine.inFlight
    const n = engine.failLostWorker("shared-0", "WorkerLost: shared-0")
    expect(n).toBeGreaterThan(0)
    expect(n).toBeLessThanOrEqual(4)
    // 12 in flight, at most maxBatch 4 decoding: the ones queued for admission were not held by shared-0
    expect(inFlight - n).toBeGreaterThanOrEqual(8)
    expect(engine.inFlight).toBe(inFlight - n)
    expect(sink.requests.slice(rowsBefore).map((r) => r.status)).toEqual(Array.from({ length: n }, () => "failed"))
    // after a rejoin the queued ones are served
    executor.rejoin()
    runTo(() => false)
    expect(engine.counts).toMatchObject({ total: 60, completed: 60 - n, failed: n, cancelled: 0 })
    engine.stop()
  })
})
