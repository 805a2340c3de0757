import type { Subscription } from "rxjs"
import type { GpuExecutor, WorkItem } from "../../core/executor.js"
import { HUB, type Transport } from "../../core/transport.js"
import { WallClock } from "../wallClock.js"
import { DataLinks, serveData } from "./dataLinks.js"
import { messageOf, PROTOCOL_VERSION, toTransport, type Message, type WorkerRole } from "./protocol.js"

export interface WorkerOptions {
  readonly transport: Transport
  readonly role: WorkerRole
  /** GPU adapter index it drives, -1 for none (priced). */
  readonly adapter: number
  readonly executorName: string
  readonly host: string
  readonly pid: number
  /** How often it announces itself until welcomed. */
  readonly helloMs: number
  /** The coordinator silent this long (no ping): announce again, as to a new coordinator. */
  readonly lostAfterMs: number
  /** Builds the executor for a welcome (its scenario and worker id) on this process's clock; throws to refuse it. */
  readonly makeExecutor: (scenario: unknown, workerId: string, clock: WallClock) => GpuExecutor
  readonly log: (line: string) => void
  /** Returns a signal name once the worker should stop. */
  readonly interrupted?: () => string | null
  /**
   * Real links (`--links real`): a shared worker's bound data socket and the address it offers; a
   * unique worker's way to connect to the shared workers' sockets.
   */
  readonly data?: { readonly hub: Transport; readonly address: string } | { readonly connect: (address: string) => Transport }
}

/** Why a worker stopped. */
export type WorkerEnd =
  | { readonly kind: "bye"; readonly reason: string }
  | { readonly kind: "refused"; readonly reason: string }
  | { readonly kind: "signal"; readonly signal: string }

/**
 * One worker process of a disaggregated deployment: announces itself (`hello`: role, adapter,
 * executor, capacity) until the coordinator welcomes it with a worker id and the scenario, then
 * runs every `work` item on its own executor, on its own WallClock (so its `done` times are its
 * own monotonic ns; the coordinator moves them onto the run's clock), and answers pings with its
 * clock. If the coordinator goes quiet it announces again, so a restarted coordinator (or a
 * restarted worker, to a coordinator that lost it) picks it up. Resolves on `bye`, a refusal, or a signal.
 * @example
 * const end = await runWorker({ transport: ZmqTransport.connect(addr), role: "shared", adapter: -1, executorName: "priced", ... })
 */
export const runWorker = async (o: WorkerOptions): Promise<WorkerEnd> => {
  const clock = new WallClock()
  let end: WorkerEnd | null = null
  let welcomed: { workerId: string; executor: GpuExecutor } | null = null
  let lastPingMs = Date.now()
  const send = (m: Message): void => o.transport.send(HUB, toTransport(m))
  const offered = o.data !== undefined && "hub" in o.data ? o.data : null
  const hello = (): void => send({ t: "hello", protocol: PROTOCOL_VERSION, role: o.role, adapter: o.adapter, executor: o.executorName, host: o.host, pid: o.pid, capacity: 1, data: offered?.address ?? null })
  const stopData = offered === null ? null : serveData(offered.hub)
  const links = o.data !== undefined && "connect" in o.data ? new DataLinks(clock, o.data.connect) : null

  const runLink = (m: Extract<Message, { t: "work" }>, link: NonNullable<Extract<Message, { t: "work" }>["link"]>): void => {
    if (links === null) {
      send({ t: "failed", seq: m.seq, message: "this worker has no data links (a shared worker, or started without them)" })
      return
    }
    links.exchange(link).then(
      ({ startNs, endNs }) => send({ t: "done", seq: m.seq, startNs, endNs, flops: 0, bytes: link.sendBytes + link.replyBytes, costs: [] }),
      (e: unknown) => send({ t: "failed", seq: m.seq, message: e instanceof Error ? e.message : String(e) }),
    )
  }

  const run = (m: Extract<Message, { t: "work" }>, w: NonNullable<typeof welcomed>): void => {
    if (m.link !== undefined) {
      runLink(m, m.link)
      return
    }
    if (m.workerId !== w.workerId) {
      send({ t: "failed", seq: m.seq, message: `this process holds ${w.workerId}, not ${m.workerId}` })
      return
    }
    const item: WorkItem = { workerId: m.workerId, label: m.label, kernels: m.kernels, queries: m.queries, ...(m.chunkId === undefined ? {} : { chunkId: m.chunkId }) }
    w.executor.execute(item).subscribe({
      next: (d) => send({
        t: "done", seq: m.seq, startNs: d.startNs, endNs: d.endNs, flops: d.flops, bytes: d.bytes, costs: d.costs,
        ...(d.gpuNs === undefined ? {} : { gpuNs: d.gpuNs }), ...(d.predictedNs === undefined ? {} : { predictedNs: d.predictedNs }),
      }),
      error: (e) => send({ t: "failed", seq: m.seq, message: e instanceof Error ? e.message : String(e) }),
    })
  }

  const stop = (e: WorkerEnd): void => {
    if (end !== null) return
    end = e
    clock.stop()
  }

  const sub: Subscription = o.transport.received.subscribe({
    next: ({ message }) => {
      const m = messageOf(message)
      if (m === null || end !== null) return
      switch (m.t) {
        case "welcome": {
          lastPingMs = Date.now()
          if (welcomed?.workerId === m.workerId) return
          try {
            welcomed = { workerId: m.workerId, executor: o.makeExecutor(m.scenario, m.workerId, clock) }
          } catch (e) {
            stop({ kind: "refused", reason: `cannot run the coordinator's scenario: ${e instanceof Error ? e.message : String(e)}` })
            return
          }
          o.log(`moska worker: welcomed as ${m.workerId}`)
          return
        }
        case "refused":
          stop({ kind: "refused", reason: m.reason })
          return
        case "ping":
          lastPingMs = Date.now()
          send({ t: "pong", seq: m.seq, atNs: m.atNs, workerNs: clock.now() })
          return
        case "work":
          if (welcomed === null) send({ t: "failed", seq: m.seq, message: "this worker has not been welcomed" })
          else run(m, welcomed)
          return
        case "bye":
          stop({ kind: "bye", reason: m.reason })
          return
        case "peers":
          links?.setPeers(m.data)
          return
        default:
          return
      }
    },
    error: (e) => stop({ kind: "refused", reason: `transport failed: ${e instanceof Error ? e.message : String(e)}` }),
  })

  hello()
  const timer = setInterval(() => {
    const signal = o.interrupted?.() ?? null
    if (signal !== null) {
      stop({ kind: "signal", signal })
      return
    }
    if (welcomed !== null && Date.now() - lastPingMs > o.lostAfterMs) {
      o.log(`moska worker: the coordinator sent nothing for ${Date.now() - lastPingMs} ms; announcing again`)
      welcomed = null
    }
    if (welcomed === null) hello()
  }, o.helloMs)
  try {
    await clock.runUntil(() => end !== null)
  } finally {
    clearInterval(timer)
    sub.unsubscribe()
    await links?.close()
    await stopData?.()
    await o.transport.close()
  }
  return end ?? { kind: "signal", signal: "clock stopped" }
}
