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
 * stays in this process. Priced workers only, since the WebGPU decoder is colocated.
 * @example await runLiveAndReport(scenario, { ...opts, remote: remoteDeployment({ address, waitMs: 60_000, heartbeatMs: 250, lostAfterMs: 3000, rejoinMs: 0, log }) })
 */
export const remoteDeployment = (o: RemoteDeploymentOptions): RemoteDeployment => ({
  open: async ({ scenario, resolved, kind }) => {
    if (kind !== "priced") throw new UsageError({ message: `live --bind runs priced workers: add --executor priced (the WebGPU decoder runs MoSKA colocated on one device)` })
    const coordinator: Coordinator = await openCoordinator({
      address: o.address, scenario: S.encodeSync(Scenario)(scenario), log: o.log, realLinks: o.realLinks, waitMs: o.waitMs, heartbeatMs: o.heartbeatMs, lostAfterMs: o.lostAfterMs,
      pools: { unique: resolved.unique.workers, shared: resolved.shared?.workers ?? 0 },
    })
    return {
      executor: (clock, modelOf) => new RemoteExecutor({ clock, coordinator, modelOf, rejoinTimeoutNs: o.rejoinMs * 1_000_000 }),
      close: (reason) => coordinator.close(reason),
      status: () => coordinator.status(),
    }
  },
})
