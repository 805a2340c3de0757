import type { Subscription } from "rxjs"
import type { GpuExecutor, WorkItem } from "../../core/executor.js"
import { HUB, type Transport } from "../../core/transport.js"
import type { SharedReply, SharedRequest } from "../../gpu/decoder/sharedPort.js"
import { WallClock } from "../wallClock.js"
import { DataLinks, serveData } from "./dataLinks.js"
import { messageOf, PROTOCOL_VERSION, toTransport, type Message, type WireStep, type WorkerRole } from "./protocol.js"

type Link = NonNullable<Extract<Message, { t: "work" }>["link"]>

/** What a worker runs once welcomed: its executor and, for a real device, the parts beside it. */
export interface WorkerRuntime {
  readonly executor: GpuExecutor
  /** A shared worker's answer to a unique worker's real layer on its data socket (its SharedServer). */
  readonly attend?: (req: SharedRequest) => Promise<SharedReply>
  /** Runs a link item itself instead of a byte-pattern exchange (a WebGPU unique worker: its decoder moved the tensors during the step). */
  readonly link?: (link: Link) => Promise<{ startNs: number; endNs: number; bytes: number }>
  /** A webgpu unique worker: a step's requests as sent (a server's client prompts ride on prefill steps), before the step runs. */
  readonly stepSent?: (step: WireStep) => void
  /** A webgpu unique worker: the tokens sampled since the last call, as [request id, index, token] (sent with the step's `done`). */
  readonly takeTokens?: () => Array<[number, number, number]>
  /** Frees the device (after the last item). */
  readonly close?: () => Promise<void>
}

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
  /**
   * Builds the executor for a welcome (its scenario and worker id) on this process's clock, given
   * the unique worker's data links (null otherwise); throws (or rejects) to refuse it. A promise
   * (a device to set up) holds the worker's items until it resolves; with `warmsUp` the worker
   * then says `ready`, and the coordinator starts the run only once every worker has.
   */
  readonly makeExecutor: (scenario: unknown, workerId: string, clock: WallClock, links: DataLinks | null) => GpuExecutor | WorkerRuntime | Promise<WorkerRuntime>
  /** Announced in `hello`: the worker sets a device up once welcomed and says `ready` after. */
  readonly warmsUp?: boolean
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
  let welcomed: { workerId: string } | null = null
  // The runtime outlives a re-announce (the coordinator went quiet): a device is set up once per process.
  let runtime: { workerId: string; ready: Promise<WorkerRuntime> } | null = null
  let built: WorkerRuntime | undefined
  let firstBuilt: (r: Promise<WorkerRuntime>) => void = () => undefined
  const first = new Promise<WorkerRuntime>((resolve) => (firstBuilt = (r) => void r.then(resolve, () => undefined)))
  let lastPingMs = Date.now()
  const send = (m: Message): void => o.transport.send(HUB, toTransport(m))
  const offered = o.data !== undefined && "hub" in o.data ? o.data : null
  const hello = (): void => send({ t: "hello", protocol: PROTOCOL_VERSION, role: o.role, adapter: o.adapter, executor: o.executorName, host: o.host, pid: o.pid, capacity: 1, data: offered?.address ?? null, ...(o.warmsUp === true ? { warmsUp: true } : {}) })
  // A unique worker's real layer may arrive before this worker has read its welcome: it waits for the runtime.
  const attend = async (req: SharedRequest): Promise<SharedReply> => {
    const r = await (runtime?.ready ?? first)
    if (r.attend === undefined) throw new Error(`this shared worker runs the ${o.executorName} executor, which computes no shared attention`)
    return r.attend(req)
  }
  const stopData = offered === null ? null : serveData(offered.hub, attend)
  const links = o.data !== undefined && "connect" in o.data ? new DataLinks(clock, o.data.connect) : null
  const failed = (seq: number, e: unknown): void => send({ t: "failed", seq, message: e instanceof Error ? e.message : String(e) })

  const runLink = (m: Extract<Message, { t: "work" }>, link: Link, r: WorkerRuntime): void => {
    if (r.link !== undefined) {
      r.link(link).then(({ startNs, endNs, bytes }) => send({ t: "done", seq: m.seq, startNs, endNs, flops: 0, bytes, costs: [] }), (e: unknown) => failed(m.seq, e))
      return
    }
    if (links === null) {
      send({ t: "failed", seq: m.seq, message: "this worker has no data links (a shared worker, or started without them)" })
      return
    }
    links.exchange(link).then(
      ({ startNs, endNs }) => send({ t: "done", seq: m.seq, startNs, endNs, flops: 0, bytes: link.sendBytes + link.replyBytes, costs: [] }),
      (e: unknown) => failed(m.seq, e),
    )
  }

  const run = (m: Extract<Message, { t: "work" }>, w: NonNullable<typeof welcomed>, rt: NonNullable<typeof runtime>): void => {
    if (m.link === undefined && m.workerId !== w.workerId) {
      send({ t: "failed", seq: m.seq, message: `this process holds ${w.workerId}, not ${m.workerId}` })
      return
    }
    // Items wait for the device in the order they came (then-callbacks run in registration order).
    rt.ready.then((r) => (m.link !== undefined ? runLink(m, m.link, r) : execute(m, r)), (e: unknown) => failed(m.seq, e))
  }

  const execute = (m: Extract<Message, { t: "work" }>, r: WorkerRuntime): void => {
    if (m.step !== undefined) r.stepSent?.(m.step)
    const item: WorkItem = { workerId: m.workerId, label: m.label, kernels: m.kernels, queries: m.queries, ...(m.chunkId === undefined ? {} : { chunkId: m.chunkId }), ...(m.step === undefined ? {} : { payload: { phase: m.step.phase, requests: m.step.requests.map((q) => ({ spec: q })) } }) }
    r.executor.execute(item).subscribe({
      next: (d) => {
        const tokens = r.takeTokens?.()
        send({
        t: "done", seq: m.seq, startNs: d.startNs, endNs: d.endNs, flops: d.flops, bytes: d.bytes, costs: d.costs,
        ...(d.gpuNs === undefined ? {} : { gpuNs: d.gpuNs }), ...(d.predictedNs === undefined ? {} : { predictedNs: d.predictedNs }),
        ...(tokens === undefined || tokens.length === 0 ? {} : { tokens }),
        })
      },
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
          welcomed = { workerId: m.workerId }
          if (runtime?.workerId === m.workerId) {
            o.log(`moska worker: welcomed again as ${m.workerId}`)
            // a coordinator that counted it lost has it warming again: the device is long set up
            if (built !== undefined && o.warmsUp === true) send({ t: "ready" })
            return
          }
          let made: GpuExecutor | WorkerRuntime | Promise<WorkerRuntime>
          try {
            made = o.makeExecutor(m.scenario, m.workerId, clock, links)
          } catch (e) {
            stop({ kind: "refused", reason: `cannot run the coordinator's scenario: ${e instanceof Error ? e.message : String(e)}` })
            return
          }
          const ready = Promise.resolve(made).then((x): WorkerRuntime => ("execute" in x ? { executor: x } : x))
          const rt = { workerId: m.workerId, ready }
          runtime = rt
          firstBuilt(ready)
          o.log(`moska worker: welcomed as ${m.workerId}`)
          ready.then(
            (r) => {
              built = r
              if (o.warmsUp === true) {
                o.log(`moska worker: ${m.workerId} is ready`)
                send({ t: "ready" })
              }
            },
            (e: unknown) => stop({ kind: "refused", reason: `cannot run the coordinator's scenario: ${e instanceof Error ? e.message : String(e)}` }),
          )
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
          if (welcomed === null || runtime === null) send({ t: "failed", seq: m.seq, message: "this worker has not been welcomed" })
          else run(m, welcomed, runtime)
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
    await built?.close?.()
    await o.transport.close()
  }
  return end ?? { kind: "signal", signal: "clock stopped" }
}
