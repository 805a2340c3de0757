import * as S from "effect/Schema"
import type { CostModel } from "../../core/costModel.js"
import type { WorkerLost } from "../../core/errors.js"
import { Scenario } from "../../core/scenario.js"
import type { Resolved } from "../../engine/resolved.js"
import type { LiveExecutor } from "../runLive.js"
import type { WallClock } from "../wallClock.js"
import { Coordinator, type PoolStatus } from "./coordinator.js"
import type { RemoteDeploymentOptions } from "./remoteDeployment.js"
import { RemoteExecutor, type RemoteExecutorOptions } from "./remoteExecutor.js"
import { RetryOnRejoin } from "./retryOnRejoin.js"
import { ZmqTransport } from "./zmqTransport.js"

/** The run's handle once the pools are complete. */
export interface ServedPools {
  /** The engine's executor: the pools' work on the workers; a loss past `--rejoin-s` calls `onLost` and the work waits for a rejoin. */
  executor(clock: WallClock, modelOf: (workerId: string) => CostModel, onLost: (lost: WorkerLost) => void, tokens?: RemoteExecutorOptions["tokens"]): LiveExecutor
}

/** `moska serve --bind`'s deployment: readable from the start, opened once, closed once. */
export interface ServedDeployment {
  /** Why requests cannot be served now (`waiting for workers: unique-0, shared-0`, `degraded: shared-0 lost`), or null when the pools are complete. */
  unready(): string | null
  status(): PoolStatus
  /** Binds, waits for the scenario's pools (WorkersMissing after `waitMs`, or once `close` is called) and returns the run's handle. */
  open(prepared: { readonly scenario: Scenario; readonly resolved: Resolved; readonly kind: "priced" | "webgpu" }): Promise<ServedPools>
  /** Says `bye` to the workers (they exit 0), stops any wait and releases the socket. */
  close(reason: string): Promise<void>
}

/** Says why requests cannot be served, in the words /health and the 503s use. */
const unreadyOf = (st: PoolStatus): string | null =>
  st.state === "ready" ? null
    : st.state === "degraded" ? `degraded: ${st.lost.join(", ")} lost`
    : `waiting for workers: ${st.missing.length > 0 ? st.missing.join(", ") : "(binding)"}`

/**
 * The coordinator's side of `moska serve SCENARIO --bind ADDR`. Unlike `moska live --bind`
 * (remoteDeployment), a server answers /health while it waits, so the pools' state is readable
 * from the moment the socket is bound, and the wait ends early when the server is stopped (`ready`
 * with an abort signal). The executor it hands out
 * outlives a lost worker (RetryOnRejoin): the server stays up, degraded, until a restarted worker
 * takes the id. Priced workers, or webgpu ones (`--links real`): then each prefill step carries its
 * clients' prompt ids and each step's `done` the tokens it sampled, which go to the server's streams.
 * @example
 * const remote = servedDeployment({ address: "ipc:///tmp/m.sock", waitMs: 60_000, heartbeatMs: 250, lostAfterMs: 3000, rejoinMs: 0, realLinks: false, log })
 * const pools = await remote.open({ scenario, resolved }) // meanwhile remote.unready() === "waiting for workers: unique-0, shared-0"
 */
export const servedDeployment = (o: RemoteDeploymentOptions): ServedDeployment => {
  let coordinator: Coordinator | null = null
  let closed = false
  // aborted by `close`: the pools' wait ends at once instead of at its timeout
  let waiting: AbortController | null = null
  const status = (): PoolStatus => coordinator?.status() ?? { state: "waiting for workers", missing: [], lost: [] }

  return {
    unready: () => unreadyOf(status()),
    status,
    open: async ({ scenario, resolved, kind }) => {
      const transport = await ZmqTransport.bind(o.address)
      const c = new Coordinator({
        transport, scenario: S.encodeSync(Scenario)(scenario), log: o.log, realLinks: o.realLinks, heartbeatMs: o.heartbeatMs, lostAfterMs: o.lostAfterMs, executor: kind,
        pools: { unique: resolved.unique.workers, shared: resolved.shared?.workers ?? 0 },
      })
      coordinator = c
      if (closed) {
        await c.close("the server was stopped")
        throw new Error("stopped waiting for workers: the server was stopped")
      }
      o.log(`moska coordinator: listening on ${o.address}; waiting for workers ${[...c.slots.keys()].join(", ")} (up to ${Math.round(o.waitMs / 1000)} s)`)
      waiting = new AbortController()
      try {
        await c.ready(o.waitMs, o.address, waiting.signal)
      } finally {
        waiting = null
      }
      o.log(`moska coordinator: pools complete (${c.slots.size} worker${c.slots.size === 1 ? "" : "s"}); serving`)
      return {
        executor: (clock, modelOf, onLost, tokens) => new RetryOnRejoin({
          inner: new RemoteExecutor({ clock, coordinator: c, modelOf, rejoinTimeoutNs: o.rejoinMs * 1_000_000, ...(tokens === undefined ? {} : { tokens }) }), clock, onLost,
          holds: (id) => c.slots.get(id)?.state === "up", pollNs: o.heartbeatMs * 1_000_000,
        }),
      }
    },
    close: async (reason) => {
      if (closed) return
      closed = true
      waiting?.abort(reason)
      await coordinator?.close(reason)
    },
  }
}
