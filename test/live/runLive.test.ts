import { Observable } from "rxjs"
import { describe, expect, it } from "vitest"
import { Priority } from "../../src/core/clock.js"
import { WorkerLost } from "../../src/core/errors.js"
import type { GpuExecutor, WorkDone } from "../../src/core/executor.js"
import { makeRng } from "../../src/core/rng.js"
import { poolCostModelOf } from "../../src/engine/poolCostModelOf.js"
import { PricedExecutor } from "../../src/engine/pricedExecutor.js"
import type { StepPayload } from "../../src/engine/stepPayload.js"
import { runLive } from "../../src/live/runLive.js"
import type { WallClock } from "../../src/live/wallClock.js"
import { MemorySink } from "../../src/sim/memorySink.js"
import { resolveScenario } from "../../src/sim/resolve.js"
import { makeRouting } from "../../src/sim/routing/makeRouting.js"
import { makeWorkload } from "../../src/sim/workload/makeWorkload.js"
import { run, small, type Scenario } from "../sim/scenarioFixture.js"

// The live driver with the priced executor: the same graph as sim, on the wall clock (real timers).
const live = async (scenario: Scenario, sink = new MemorySink(), executor?: (clock: WallClock, priced: PricedExecutor) => GpuExecutor) => {
  const resolved = resolveScenario(scenario)
  const rng = makeRng(scenario.seed)
  const result = await runLive({
    scenario, resolved, sink,
    source: makeWorkload(scenario.workload, rng.split("workload")),
    routing: makeRouting(resolved.corpus, rng.split("router")),
    executor: (clock) => {
      const priced = new PricedExecutor(clock, poolCostModelOf(resolved))
      return executor === undefined ? priced : executor(clock, priced)
    },
  })
  return { result, sink }
}

describe("runLive with the priced executor", () => {
  it("ends every request exactly once with the tokens it asked for, on the wall clock", async () => {
    const scenario = small({ workload: { kind: "poisson", ratePerS: 400, requests: 30, uniqueTokens: { kind: "fixed", value: 2048 }, outputTokens: { kind: "uniform", min: 2, max: 10 } }, trace: "tokens" })
    const { result, sink } = await live(scenario)
    expect(result.requests).toEqual({ total: 30, completed: 30, rejected: 0, cancelled: 0, failed: 0 })
    const ids = sink.requests.map((r) => r.requestId).sort((a, b) => a - b)
    expect(ids).toEqual(Array.from({ length: 30 }, (_, i) => i))
    for (const r of sink.requests) {
      expect(r.outputTokens).toBe(r.requestedTokens)
      expect(sink.tokens.filter((t) => t.requestId === r.requestId)).toHaveLength(r.outputTokens)
      expect(r.firstTokenNs).toBeGreaterThanOrEqual(r.arrivalNs)
      expect(r.finishedNs).toBeGreaterThanOrEqual(r.firstTokenNs as number)
    }
    expect(sink.kernels.length).toBeGreaterThan(0)
    expect(result.lag.n).toBeGreaterThan(0)
    expect(result.elapsedNs).toBeGreaterThan(0)
  })

  it("replays the same arrivals and token counts as sim for the same scenario and seed", async () => {
    const scenario = small({ workload: { kind: "poisson", ratePerS: 500, requests: 20, uniqueTokens: { kind: "uniform", min: 512, max: 4096 }, outputTokens: { kind: "uniform", min: 2, max: 8 } } })
    const sim = run(scenario).sink.requests
    const { sink } = await live(scenario)
    const key = (rows: typeof sim) => rows.map((r) => [r.requestId, r.arrivalNs, r.uniqueTokens, r.outputTokens, r.status]).sort((a, b) => (a[0] as number) - (b[0] as number))
    expect(key(sink.requests)).toEqual(key(sim))
  })

  it("cancels what is in flight at untilS, with the tokens each has", async () => {
    const scenario = small({ untilS: 0.03, workload: { kind: "closed", concurrency: 4, requests: 50, uniqueTokens: { kind: "fixed", value: 2048 }, outputTokens: { kind: "fixed", value: 4000 } } })
    const { result, sink } = await live(scenario)
    expect(result.requests.cancelled).toBeGreaterThan(0)
    expect(result.requests.completed + result.requests.cancelled).toBe(result.requests.total)
    for (const r of sink.requests) expect(r.outputTokens).toBeLessThanOrEqual(r.requestedTokens)
  })

  it("fails only the requests the lost worker held when a WorkerLost ends the run, and cancels the rest with the same reason", async () => {
    // Two unique workers; without prefill a request joins its worker's decode set at admission, so
    // the decode step that fails is all that unique-1 holds. 12 requests in flight, at most 4 per worker.
    const scenario = small({
      hardware: { unique: { gpu: "H200", count: 2 } },
      policy: { disaggregated: false, maxBatch: 4, prefill: false },
      workload: { kind: "closed", concurrency: 12, requests: 200, uniqueTokens: { kind: "fixed", value: 2048 }, outputTokens: { kind: "fixed", value: 40 } },
    })
    const lost = new WorkerLost({ workerId: "unique-1", items: 1, message: "unique-1 (host pid 1) sent nothing for 500 ms (heartbeat timeout 500 ms); no worker took its place within 0 ms, so 1 work item of the run did not complete" })
    let held: number[] = []
    let steps = 0
    const sink = new MemorySink()
    const failing = await live(scenario, sink, (clock, priced) => ({
      freeAtNs: (w) => priced.freeAtNs(w),
      execute: (item) => {
        if (item.workerId !== "unique-1" || ++steps < 20) return priced.execute(item)
        held = ((item.payload as StepPayload).requests).map((r) => r.spec.id).sort((a, b) => a - b)
        // as RemoteExecutor gives up on a lost worker: the item errors on a later callback of the clock
        return new Observable<WorkDone>((subscriber) => {
          clock.schedule(clock.now(), () => subscriber.error(lost), Priority.completion)
        })
      },
    })).then(() => undefined, (e: unknown) => e)
    expect(failing).toBe(lost)
    expect(held.length).toBeGreaterThan(0)
    const reason = `WorkerLost: ${lost.message}`
    const failed = sink.requests.filter((r) => r.status === "failed")
    const cancelled = sink.requests.filter((r) => r.status === "cancelled")
    expect(failed.map((r) => r.requestId).sort((a, b) => a - b)).toEqual(held)
    // unique-0's decode set and the requests waiting for admission did not depend on unique-1
    expect(cancelled.length).toBeGreaterThanOrEqual(12 - 4 - held.length)
    expect(failed.length + cancelled.length).toBe(12)
    for (const r of [...failed, ...cancelled]) expect(r.reason).toBe(reason)
  })
})
