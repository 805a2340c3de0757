import { describe, expect, it } from "vitest"
import { makeRng } from "../../src/core/rng.js"
import { poolCostModelOf } from "../../src/engine/poolCostModelOf.js"
import { PricedExecutor } from "../../src/engine/pricedExecutor.js"
import { runLive } from "../../src/live/runLive.js"
import { MemorySink } from "../../src/sim/memorySink.js"
import { resolveScenario } from "../../src/sim/resolve.js"
import { makeRouting } from "../../src/sim/routing/makeRouting.js"
import { makeWorkload } from "../../src/sim/workload/makeWorkload.js"
import { run, small, type Scenario } from "../sim/scenarioFixture.js"

// The live driver with the priced executor: the same graph as sim, on the wall clock (real timers).
const live = async (scenario: Scenario) => {
  const resolved = resolveScenario(scenario)
  const rng = makeRng(scenario.seed)
  const sink = new MemorySink()
  const result = await runLive({
    scenario, resolved, sink,
    source: makeWorkload(scenario.workload, rng.split("workload")),
    routing: makeRouting(resolved.corpus, rng.split("router")),
    executor: (clock) => new PricedExecutor(clock, poolCostModelOf(resolved)),
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
})
