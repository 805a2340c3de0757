import * as S from "effect/Schema"
import type { CostModel } from "../../core/costModel.js"
import { UsageError } from "../../core/errors.js"
import { Scenario } from "../../core/scenario.js"
import type { Resolved } from "../../engine/resolved.js"
import type { LiveExecutor } from "../runLive.js"
import type { WallClock } from "../wallClock.js"
import type { Coordinator, PoolStatus } from "./coordinator.js"
import { openCoordinator } from "./openCoordinator.js"
import { RemoteExecutor } from "./remoteExecutor.js"
import { webGpuDeploymentProblem } from "./webGpuDeploymentProblem.js"

/** What a live run needs from a disaggregated deployment: workers waited for, an executor per run, and an end. */
export interface RemoteDeployment {
  /** Binds, waits for the scenario's pools (WorkersMissing after the wait), and returns the run's handle. */
  open(prepared: { readonly scenario: Scenario; readonly resolved: Resolved; readonly kind: string }): Promise<{
    executor(clock: WallClock, modelOf: (workerId: string) => CostModel): LiveExecutor
    /** Says `bye` to the workers (they exit) and releases the socket. */
    close(reason: string): Promise<void>
    /** Ready, waiting for workers, or degraded (a worker lost): what a server's /health reports. */
    status(): PoolStatus
  }>
}

export interface RemoteDeploymentOptions {
  readonly address: string
  readonly waitMs: number
  readonly heartbeatMs: number
  readonly lostAfterMs: number
  readonly rejoinMs: number
  /** Link items as real transfers between the workers (q rows and partials as raw frames), not priced here. */
  readonly realLinks: boolean
  readonly log: (line: string) => void
}

/**
 * The coordinator's side of `moska live SCENARIO --bind ADDR`: the run's GPU work goes to worker
 * processes (`moska worker --role unique|shared --connect ADDR`), one per worker id of the
 * scenario's pools, through a RemoteExecutor; everything else (workload, graph, batching, trace)
 * stays in this process. Workers run the run's executor: priced, or webgpu (a unique worker runs
 * whole decode steps on its device, each layer's shared attention on a shared worker's over
 * `--links real`; scenario checks here, the rest in prepareLiveScenario).
 * @example await runLiveAndReport(scenario, { ...opts, remote: remoteDeployment({ address, waitMs: 60_000, heartbeatMs: 250, lostAfterMs: 3000, rejoinMs: 0, log }) })
 */
export const remoteDeployment = (o: RemoteDeploymentOptions): RemoteDeployment => ({
  open: async ({ scenario, resolved, kind }) => {
    if (kind === "webgpu") {
      const bad = webGpuDeploymentProblem(resolved, o.realLinks, "live")
      if (bad !== undefined) throw new UsageError({ message: bad })
    } else if (kind !== "priced") throw new UsageError({ message: `live --bind runs priced or webgpu workers (got ${kind})` })
    const coordinator: Coordinator = await openCoordinator({
      address: o.address, scenario: S.encodeSync(Scenario)(scenario), log: o.log, realLinks: o.realLinks, waitMs: o.waitMs, heartbeatMs: o.heartbeatMs, lostAfterMs: o.lostAfterMs, executor: kind,
      pools: { unique: resolved.unique.workers, shared: resolved.shared?.workers ?? 0 },
    })
    return {
      executor: (clock, modelOf) => new RemoteExecutor({ clock, coordinator, modelOf, rejoinTimeoutNs: o.rejoinMs * 1_000_000 }),
      close: (reason) => coordinator.close(reason),
      status: () => coordinator.status(),
    }
  },
})
