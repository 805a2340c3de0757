import { Priority } from "../core/clock.js"
import { WorkerLost } from "../core/errors.js"
import type { GpuExecutor } from "../core/executor.js"
import { makeRng } from "../core/rng.js"
import type { Scenario } from "../core/scenario.js"
import type { TraceSink } from "../core/trace.js"
import { secondsToNs, type Ns } from "../core/units.js"
import type { RequestSpec, WorkloadSource } from "../core/workload.js"
import { buildEngine } from "../engine/buildEngine.js"
import type { Resolved } from "../engine/resolved.js"
import type { RoutingModel } from "../engine/routingModel.js"
import type { LagStats } from "./lagHistogram.js"
import { WallClock } from "./wallClock.js"

/** An executor as live mode drives it: it may hold a device, released by `close`. */
export interface LiveExecutor extends GpuExecutor {
  /** Releases the device (and anything else held); the run's rows are already delivered. */
  close?(): Promise<void> | void
  /** Facts for the run summary (device name, timing source, host overhead, ...). */
  facts?(): Readonly<Record<string, number | string | boolean>>
}

export interface LiveInput {
  readonly scenario: Scenario
  readonly resolved: Resolved
  readonly sink: TraceSink
  /** The request source (the CLI builds it as sim does: a workload generator or a parsed trace). */
  readonly source: WorkloadSource
  /** The routing source for the graph's pricing and batching (see src/engine/routingModel.ts). */
  readonly routing: RoutingModel
  /** Builds the executor on the run's wall clock (priced: the cost model paces it; webgpu: the decoder). */
  readonly executor: (clock: WallClock) => LiveExecutor
  /** Extra admission limit (a request's context must fit a device slot). */
  readonly admits?: (spec: RequestSpec) => string | null
  /** Returns a signal name once the run should stop (checked every `pollMs` of the clock). */
  readonly interrupted?: () => string | null
  readonly onProgress?: (p: { readonly nowNs: number; readonly finished: number; readonly total: number }) => void
}

export interface LiveResult {
  readonly requests: { readonly total: number; readonly completed: number; readonly rejected: number; readonly cancelled: number; readonly failed: number }
  readonly outputTokens: number
  readonly iterations: number
  /** Clock time at the end (ns since start). */
  readonly elapsedNs: number
  /** Callbacks the wall clock ran. */
  readonly events: number
  readonly lag: LagStats
  readonly config: Readonly<Record<string, number | string | boolean>>
}

/** Thrown by `runLive` when `interrupted` reported a signal; the rows so far are flushed. */
export class LiveInterrupted extends Error {
  constructor(readonly signal: string) {
    super(`interrupted by ${signal}`)
  }
}

const POLL_NS = 50_000_000

/** A failure as one line for a request's `reason`: the tagged error's tag and message. */
const failureText = (e: unknown): string => {
  const tag = typeof e === "object" && e !== null && "_tag" in e ? `${String((e as { _tag: unknown })._tag)}: ` : ""
  return `${tag}${e instanceof Error ? e.message : String(e)}`.split("\n")[0] as string
}

/**
 * Runs one scenario in live mode: the same graph as sim (src/engine) on the wall clock, with the
 * given executor. Resolves when every request of the source has ended (or `untilS` passed: what is
 * in flight is cancelled with the tokens it has). A defect, a strict-lag failure or an executor
 * error rejects after the requests in flight are recorded as failed with its message (a lost
 * worker, WorkerLost: those whose work it held; the others as cancelled, with the same message),
 * the graph is stopped and the sink flushed, so the rows so far are kept.
 * @example
 * const r = await runLive({ scenario, resolved, sink, source, routing, executor: (c) => new PricedExecutor(c, modelOf) })
 * r.requests.completed
 */
export const runLive = async (input: LiveInput): Promise<LiveResult> => {
  const { scenario, resolved, source } = input
  const strictMs = scenario.live?.strictLagMs
  const clock = new WallClock(strictMs === undefined ? {} : { strict: { maxLagNs: Math.round(strictMs * 1e6) } })
  const executor = input.executor(clock)
  const engine = buildEngine({
    scenario, resolved, clock, executor, routing: input.routing, sink: input.sink, rng: makeRng(scenario.seed), source,
    ...(input.admits === undefined ? {} : { admits: input.admits }),
  })
  engine.start()
  const until = scenario.untilS === undefined ? Number.POSITIVE_INFINITY : secondsToNs(scenario.untilS)
  let signal: string | null = null
  let timeUp = false
  // A heartbeat on the clock: signals and progress are looked at between callbacks, never inside one.
  const beat = (): void => {
    signal = input.interrupted?.() ?? null
    input.onProgress?.({ nowNs: clock.now(), finished: engine.counts.ended, total: source.total })
    if (clock.now() >= until) timeUp = true
    else clock.schedule((clock.now() + POLL_NS) as Ns, beat, Priority.stream)
  }
  clock.schedule(0 as Ns, beat, Priority.stream)
  let failure: unknown
  try {
    await clock.runUntil(() => engine.defect !== undefined || signal !== null || timeUp || engine.counts.ended >= source.total)
  } catch (e) {
    failure = e
  }
  clock.stop()
  if (failure === undefined && engine.defect !== undefined) failure = engine.defect
  if (failure === undefined && signal !== null) failure = new LiveInterrupted(signal)
  // what is in flight ends with the run: cancelled by a signal or the time bound; failed (with the
  // failure's message) when the run failed under it. A lost worker fails only the requests whose
  // work it held (Engine.failLostWorker says which); the rest did not fail, the run ended under
  // them, so they are cancelled, with the same reason.
  if (failure === undefined) engine.cancelInFlight()
  else if (failure instanceof LiveInterrupted) engine.cancelInFlight(failure.message)
  else if (failure instanceof WorkerLost) {
    const reason = failureText(failure)
    engine.failLostWorker(failure.workerId, reason)
    engine.cancelInFlight(reason)
  } else engine.failInFlight(failureText(failure))
  engine.stop()
  await executor.close?.()
  if (failure !== undefined) throw failure
  const { counts, stats } = engine
  return {
    requests: { total: counts.total, completed: counts.completed, rejected: counts.rejected, cancelled: counts.cancelled, failed: counts.failed },
    outputTokens: stats.outputTokens,
    iterations: stats.iterations,
    elapsedNs: clock.now(),
    events: clock.events,
    lag: clock.lagStats(),
    config: { ...engine.config(), ...(executor.facts?.() ?? {}) },
  }
}
