import { Coordinator } from "./coordinator.js"
import { ZmqTransport } from "./zmqTransport.js"

export interface OpenCoordinatorOptions {
  /** `ipc://PATH` or `tcp://HOST:PORT` (checked by checkAddress). */
  readonly address: string
  /** The scenario as workers decode it (Schema-encoded). */
  readonly scenario: unknown
  readonly pools: { readonly unique: number; readonly shared: number }
  readonly heartbeatMs: number
  readonly lostAfterMs: number
  readonly realLinks?: boolean
  /** The executor every worker must announce (see CoordinatorOptions.executor). */
  readonly executor?: string
  /** How long to wait for the pools to be complete. */
  readonly waitMs: number
  readonly log: (line: string) => void
}

/**
 * Binds the coordinator's ZeroMQ Router at `address` and waits until a worker process holds every
 * worker id of the scenario's pools; rejects with WorkersMissing after `waitMs` (the socket closed).
 * @example const c = await openCoordinator({ address: "ipc:///tmp/m.sock", scenario, pools: { unique: 1, shared: 1 }, heartbeatMs: 250, lostAfterMs: 3000, waitMs: 60_000, log })
 */
export const openCoordinator = async (o: OpenCoordinatorOptions): Promise<Coordinator> => {
  const transport = await ZmqTransport.bind(o.address)
  const coordinator = new Coordinator({ transport, scenario: o.scenario, pools: o.pools, heartbeatMs: o.heartbeatMs, lostAfterMs: o.lostAfterMs, log: o.log, realLinks: o.realLinks === true, ...(o.executor === undefined ? {} : { executor: o.executor }) })
  const ids = [...coordinator.slots.keys()]
  o.log(`moska coordinator: listening on ${o.address}; waiting for workers ${ids.join(", ")} (up to ${Math.round(o.waitMs / 1000)} s)`)
  try {
    await coordinator.ready(o.waitMs)
  } catch (e) {
    await coordinator.close("the coordinator stopped waiting")
    throw e
  }
  o.log(`moska coordinator: pools complete (${ids.length} worker${ids.length === 1 ? "" : "s"}); starting the run`)
  return coordinator
}
