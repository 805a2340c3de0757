import type { CostModel } from "../core/costModel.js"
import { makeRng } from "../core/rng.js"
import type { Scenario } from "../core/scenario.js"
import type { TraceSink } from "../core/trace.js"
import { secondsToNs, type Ns } from "../core/units.js"
import type { RequestSpec } from "../core/workload.js"
import { buildEngine } from "../engine/buildEngine.js"
import { poolCostModelOf } from "../engine/poolCostModelOf.js"
import { PricedExecutor } from "../engine/pricedExecutor.js"
import { resolveScenario } from "./resolve.js"
import { makeRouting } from "./routing/makeRouting.js"
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

// Progress is also when a signal is seen and rows are committed by time (src/cli/executeRun.ts):
// often enough that a slow step mix still commits about every second; cheap enough to ignore.
const PROGRESS_EVERY = 1 << 13

/**
 * Runs one scenario in sim mode, synchronously (no await, no Promise anywhere on the path): the
 * mode-neutral graph of src/engine on a virtual clock, GPU work priced by the cost model, routing
 * sampled from the scenario's law, rows written to `sink` in order. Same scenario and seed ⇒
 * identical rows and an identical result. Throws `CapacityExceeded` before anything runs when the
 * configuration cannot hold the corpus or weights.
 * @example
 * const sink = new MemorySink()
 * const r = runSimulation({ scenario, sink })
 * r.requests.completed // every request ended exactly once, in sink.requests
 */
export function runSimulation(input: SimulationInput): SimulationResult {
  const { scenario } = input
  const resolved = resolveScenario(scenario, input.resolveCostModel)
  const clock = new VirtualClock()
  const rng = makeRng(scenario.seed)
  const source = makeWorkload(scenario.workload, rng.split("workload"), input.traceRequests)
  const routing = makeRouting(resolved.corpus, rng.split("router"))
  const executor = new PricedExecutor(clock, poolCostModelOf(resolved))
  const engine = buildEngine({ scenario, resolved, clock, executor, routing, sink: input.sink, rng, source })
  engine.start()

  // The event loop.
  const until = scenario.untilS === undefined ? Number.POSITIVE_INFINITY : secondsToNs(scenario.untilS)
  const progress = (): void =>
    input.onProgress?.({ simNs: clock.now(), events: clock.events, finished: engine.counts.ended, total: source.total })
  try {
    for (;;) {
      const next = clock.peek()
      if (next === undefined || next > until) break
      clock.step()
      if (engine.defect !== undefined) throw engine.defect
      if ((clock.events & (PROGRESS_EVERY - 1)) === 0) progress()
    }
  } catch (e) {
    // Stopped from outside (onProgress threw: a signal): the requests in flight are written as
    // cancelled with the tokens they had, so the trace holds every request that arrived.
    if (engine.defect === undefined) {
      engine.cancelInFlight(e instanceof Error ? e.message : String(e))
      engine.stop()
    }
    throw e
  }
  if (until !== Number.POSITIVE_INFINITY && clock.now() < until && engine.inFlight > 0) clock.run(until as Ns)

  // A bounded run: everything still in flight is cancelled at `until`, with the tokens it has.
  const leftovers = engine.inFlightIds()
  engine.cancelInFlight()
  if (until === Number.POSITIVE_INFINITY && leftovers.length > 0) {
    throw new Error(`defect: the event queue drained with ${leftovers.length} request(s) never ended (first: ${leftovers[0]})`)
  }
  engine.stop()
  if (engine.defect !== undefined) throw engine.defect
  progress()

  const { counts, stats } = engine
  return {
    events: clock.events,
    simulatedNs: clock.now(),
    requests: { total: counts.total, completed: counts.completed, rejected: counts.rejected, cancelled: counts.cancelled, failed: counts.failed },
    outputTokens: stats.outputTokens,
    iterations: stats.iterations,
    config: engine.config(),
  }
}
