import { hostname } from "node:os"
import type { Subscription } from "rxjs"
import { WorkersMissing } from "../../core/errors.js"
import type { PeerId, Transport } from "../../core/transport.js"
import { messageOf, PROTOCOL_VERSION, toTransport, type Message, type WorkerRole } from "./protocol.js"

type Hello = Extract<Message, { t: "hello" }>
type Done = Extract<Message, { t: "done" }>
type Failed = Extract<Message, { t: "failed" }>

/** Monotonic ns of this process (CLOCK_MONOTONIC through hrtime): the coordinator's time base for link offsets. */
const monoNs = (): number => Number(process.hrtime.bigint())

/** Pings kept per link for the offset estimate: the minimum RTT among the last ones wins, so slow drift is followed. */
const OFFSET_WINDOW = 32
/** Unanswered pings (besides the silence) before a worker counts as lost. */
const LOST_AFTER_PINGS = 3

/** One worker id of the scenario's pools and the process (if any) that holds it. */
export interface WorkerSlot {
  readonly workerId: string
  readonly role: WorkerRole
  peer: PeerId | null
  hello: Hello | null
  state: "waiting" | "up" | "lost"
  /** Up but still setting up its device (a webgpu worker until its `ready`): counts as missing. */
  warming: boolean
  /** monoNs of the last message heard from it. */
  lastHeardNs: number
  /** Pings sent since it was last heard from. */
  unanswered: number
  joins: number
  losses: number
  /** Estimated worker clock − coordinator monotonic clock (ns), from the min-RTT ping of the window. */
  offsetNs: number
  minRttNs: number
  samples: Array<{ readonly rttNs: number; readonly offsetNs: number }>
}

/** What the RemoteExecutor hears from the coordinator about its workers. */
export interface CoordinatorListener {
  joined(workerId: string): void
  lost(workerId: string, reason: string): void
  done(workerId: string, message: Done): void
  failed(workerId: string, message: Failed): void
}

/** A deployment's state as /health and logs say it. */
export interface PoolStatus {
  readonly state: "waiting for workers" | "ready" | "degraded"
  readonly missing: readonly string[]
  readonly lost: readonly string[]
}

export interface CoordinatorOptions {
  readonly transport: Transport
  /** The scenario as workers decode it (its Schema-encoded form). */
  readonly scenario: unknown
  readonly pools: { readonly unique: number; readonly shared: number }
  /** Ping interval (also how often liveness is checked). */
  readonly heartbeatMs: number
  /** Link items run as real transfers between the workers: shared workers must offer a data socket. */
  readonly realLinks?: boolean
  /** A worker silent this long is lost. */
  readonly lostAfterMs: number
  /** The executor every worker must run (`priced`, `webgpu`); a worker announcing another is refused. Default: any. */
  readonly executor?: string
  readonly log: (line: string) => void
}

/**
 * The coordinator's side of a disaggregated deployment: which process holds each worker id of the
 * scenario's pools (`unique-0…`, `shared-0…`), assigned in the order workers announce themselves;
 * heartbeats (a ping every `heartbeatMs`, answered with the worker's clock) that both detect a
 * worker gone silent and estimate each link's clock offset (the min-RTT sample: offset = worker
 * time − midpoint of the ping's send and receive); and the readiness wait. A restarted worker
 * takes the lost id of its role. Timers here are Node's, not the run's clock, because workers
 * join before a run starts.
 * @example
 * const c = new Coordinator({ transport, scenario, pools: { unique: 1, shared: 1 }, heartbeatMs: 250, lostAfterMs: 2000, log })
 * await c.ready(30_000)
 */
export class Coordinator {
  readonly slots = new Map<string, WorkerSlot>()
  private readonly byPeer = new Map<PeerId, WorkerSlot>()
  private listener: CoordinatorListener | null = null
  private readonly sub: Subscription
  private readonly timer: ReturnType<typeof setInterval>
  private pingSeq = 0
  private readonly waiters = new Set<() => void>()
  private closed = false

  constructor(private readonly o: CoordinatorOptions) {
    const ids = (role: WorkerRole, n: number): void => {
      for (let i = 0; i < n; i++) {
        const workerId = `${role}-${i}`
        this.slots.set(workerId, { workerId, role, peer: null, hello: null, state: "waiting", warming: false, lastHeardNs: 0, unanswered: 0, joins: 0, losses: 0, offsetNs: 0, minRttNs: Number.POSITIVE_INFINITY, samples: [] })
      }
    }
    ids("unique", o.pools.unique)
    ids("shared", o.pools.shared)
    this.sub = o.transport.received.subscribe({
      next: ({ peer, message }) => {
        const m = messageOf(message)
        if (m !== null) this.onMessage(peer, m)
      },
      error: (e) => o.log(`moska coordinator: transport failed (${e instanceof Error ? e.message : String(e)})`),
    })
    this.timer = setInterval(() => this.beat(), o.heartbeatMs)
    this.timer.unref()
  }

  /** Sets who hears about completions, joins and losses (the run's RemoteExecutor). */
  listen(listener: CoordinatorListener | null): void {
    this.listener = listener
  }

  /** Whether `workerId` is one of the pools' ids (else it is the coordinator's own: links). */
  has(workerId: string): boolean {
    return this.slots.has(workerId)
  }

  /** Sends to the process holding `workerId`; false when none holds it now. */
  send(workerId: string, m: Message): boolean {
    const slot = this.slots.get(workerId)
    if (slot === undefined || slot.state !== "up" || slot.peer === null) return false
    this.o.transport.send(slot.peer, toTransport(m))
    return true
  }

  status(): PoolStatus {
    const missing: string[] = []
    const lost: string[] = []
    for (const s of this.slots.values()) {
      if (s.state === "waiting" || (s.state === "up" && s.warming)) missing.push(s.workerId)
      else if (s.state === "lost") lost.push(s.workerId)
    }
    const state = lost.length > 0 ? "degraded" : missing.length > 0 ? "waiting for workers" : "ready"
    return { state, missing, lost }
  }

  /** Worker clock ns → this process's monotonic ns, through the link's offset estimate. */
  toLocalNs(workerId: string, workerNs: number): number {
    return workerNs - (this.slots.get(workerId)?.offsetNs ?? 0)
  }

  /** monoNs, exposed so the executor converts with the same time base. */
  nowNs(): number {
    return monoNs()
  }

  /**
   * Resolves once every worker id of the pools is held by a live process; rejects with
   * WorkersMissing after `timeoutMs`, naming the missing ids and the command that starts one; with
   * `stop`, rejects as soon as it aborts ("stopped waiting for workers: <reason>"), so a server
   * stopped while it waits does not sit out the timeout.
   */
  ready(timeoutMs: number, address = this.o.transport.address, stop?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const complete = (): boolean => this.status().state === "ready"
      if (complete()) {
        resolve()
        return
      }
      const settle = (): void => {
        clearTimeout(t)
        this.waiters.delete(waiter)
        stop?.removeEventListener("abort", onStop)
      }
      const waiter = (): void => {
        if (!complete()) return
        settle()
        resolve()
      }
      const onStop = (): void => {
        settle()
        reject(new Error(`stopped waiting for workers: ${String(stop?.reason)}`))
      }
      const t = setTimeout(() => {
        settle()
        const st = this.status()
        const absent = [...st.missing, ...st.lost]
        const roles = [...new Set(absent.map((id) => this.slots.get(id)?.role))]
        reject(new WorkersMissing({
          missing: absent,
          message: `the scenario's pools are not complete after ${Math.round(timeoutMs / 1000)} s: missing ${absent.join(", ")}; start ${roles.map((r) => `\`moska worker --role ${r} --connect ${address}\``).join(" and ")}`,
        }))
      }, timeoutMs)
      this.waiters.add(waiter)
      if (stop?.aborted === true) onStop()
      else stop?.addEventListener("abort", onStop)
    })
  }

  /** Per worker: who holds it and the link's estimates, for the run's facts. */
  facts(): Record<string, string | number> {
    const f: Record<string, string | number> = { "disagg.coordinator": `${hostname()} pid ${process.pid}`, "disagg.address": this.o.transport.address }
    for (const s of this.slots.values()) {
      const p = `disagg.${s.workerId}`
      f[`${p}.host`] = s.hello === null ? "none" : `${s.hello.host} pid ${s.hello.pid} (${s.hello.executor})`
      f[`${p}.offsetNs`] = Math.round(s.offsetNs)
      f[`${p}.minRttNs`] = Number.isFinite(s.minRttNs) ? Math.round(s.minRttNs) : -1
      f[`${p}.joins`] = s.joins
      f[`${p}.losses`] = s.losses
    }
    return f
  }

  /** Tells every worker the run is over (`bye`), stops heartbeats and closes the transport. */
  async close(reason = "run finished"): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    for (const s of this.slots.values()) if (s.peer !== null && s.state === "up") this.o.transport.send(s.peer, toTransport({ t: "bye", reason }))
    this.sub.unsubscribe()
    // Give libzmq a moment to hand the byes to the sockets before the Router closes (linger is 0).
    await new Promise((r) => setTimeout(r, 50))
    await this.o.transport.close()
  }

  private onMessage(peer: PeerId, m: Message): void {
    const slot = this.byPeer.get(peer)
    if (slot !== undefined) {
      slot.lastHeardNs = monoNs()
      slot.unanswered = 0
    }
    switch (m.t) {
      case "hello":
        this.onHello(peer, m)
        return
      case "pong":
        if (slot !== undefined) this.onPong(slot, m)
        return
      case "ready":
        if (slot !== undefined && slot.state === "up" && slot.warming) {
          slot.warming = false
          this.o.log(`moska coordinator: ${slot.workerId} is ready (${this.status().state})`)
          for (const w of [...this.waiters]) w()
        }
        return
      case "done":
        if (slot !== undefined && slot.state === "up") this.listener?.done(slot.workerId, m)
        return
      case "failed":
        if (slot !== undefined && slot.state === "up") this.listener?.failed(slot.workerId, m)
        return
      default:
        return
    }
  }

  private onHello(peer: PeerId, m: Hello): void {
    const known = this.byPeer.get(peer)
    if (known !== undefined && known.state === "up") {
      // its welcome was lost or it restarted its announcing: say it again
      this.welcome(known)
      return
    }
    if (m.protocol !== PROTOCOL_VERSION) {
      this.o.transport.send(peer, toTransport({ t: "refused", reason: `protocol ${m.protocol} but this coordinator speaks ${PROTOCOL_VERSION}: run the same moska version on both` }))
      return
    }
    if (this.o.executor !== undefined && m.executor !== this.o.executor) {
      this.o.transport.send(peer, toTransport({ t: "refused", reason: `this run's workers run the ${this.o.executor} executor, not ${m.executor}: start the worker with --executor ${this.o.executor}` }))
      return
    }
    if (this.o.realLinks === true && m.role === "shared" && (m.data ?? null) === null) {
      this.o.transport.send(peer, toTransport({ t: "refused", reason: "this coordinator moves query rows and partials between the workers (--links real): start the shared worker with --data-bind ADDR" }))
      return
    }
    // Lost ids first (a restarted worker takes its predecessor's place), then the lowest waiting one.
    const free = [...this.slots.values()].filter((s) => s.role === m.role && s.state !== "up")
    const slot = free.find((s) => s.state === "lost") ?? free[0]
    if (slot === undefined) {
      const n = m.role === "unique" ? this.o.pools.unique : this.o.pools.shared
      this.o.transport.send(peer, toTransport({ t: "refused", reason: `the scenario has ${n} ${m.role} worker${n === 1 ? "" : "s"} and ${n === 1 ? "it is" : "all are"} connected` }))
      return
    }
    const rejoined = slot.state === "lost"
    if (slot.peer !== null) this.byPeer.delete(slot.peer)
    slot.peer = peer
    slot.hello = m
    slot.state = "up"
    slot.warming = m.warmsUp === true
    slot.lastHeardNs = monoNs()
    slot.unanswered = 0
    slot.joins++
    slot.samples = []
    slot.minRttNs = Number.POSITIVE_INFINITY
    this.byPeer.set(peer, slot)
    this.welcome(slot)
    this.ping(slot)
    if (this.o.realLinks === true) this.sendPeers()
    this.o.log(`moska coordinator: ${slot.workerId} ${rejoined ? "rejoined" : "joined"}: ${m.host} pid ${m.pid}, executor ${m.executor}${m.adapter >= 0 ? `, adapter ${m.adapter}` : ""}${slot.warming ? ", warming up" : ""} (${this.status().state})`)
    this.listener?.joined(slot.workerId)
    for (const w of [...this.waiters]) w()
  }

  /** Tells every unique worker where the shared workers' data sockets are. */
  private sendPeers(): void {
    const data: Record<string, string> = {}
    for (const s of this.slots.values()) if (s.role === "shared" && s.state === "up" && s.hello?.data != null) data[s.workerId] = s.hello.data
    for (const s of this.slots.values()) if (s.role === "unique" && s.state === "up" && s.peer !== null) this.o.transport.send(s.peer, toTransport({ t: "peers", data }))
  }

  /** Whether link items run as real transfers between the workers. */
  get realLinks(): boolean {
    return this.o.realLinks === true
  }

  /** Worker ids of a role, in order. */
  idsOf(role: WorkerRole): string[] {
    return [...this.slots.values()].filter((s) => s.role === role).map((s) => s.workerId)
  }

  private welcome(slot: WorkerSlot): void {
    if (slot.peer !== null) this.o.transport.send(slot.peer, toTransport({ t: "welcome", workerId: slot.workerId, scenario: this.o.scenario, heartbeatMs: this.o.heartbeatMs }))
  }

  private ping(slot: WorkerSlot): void {
    if (slot.peer === null) return
    slot.unanswered++
    this.o.transport.send(slot.peer, toTransport({ t: "ping", seq: this.pingSeq++, atNs: monoNs() }))
  }

  private onPong(slot: WorkerSlot, m: Extract<Message, { t: "pong" }>): void {
    const back = monoNs()
    const rttNs = back - m.atNs
    if (!(rttNs >= 0)) return
    slot.samples.push({ rttNs, offsetNs: m.workerNs - (m.atNs + back) / 2 })
    if (slot.samples.length > OFFSET_WINDOW) slot.samples.shift()
    let best = slot.samples[0] as { rttNs: number; offsetNs: number }
    for (const s of slot.samples) if (s.rttNs < best.rttNs) best = s
    slot.offsetNs = best.offsetNs
    slot.minRttNs = best.rttNs
  }

  private beat(): void {
    const now = monoNs()
    for (const slot of this.slots.values()) {
      if (slot.state !== "up") continue
      const silentNs = now - slot.lastHeardNs
      // Silence alone could be this process stalling (GC, a busy host): a worker is lost only once
      // several pings have also gone unanswered.
      if (silentNs > this.o.lostAfterMs * 1e6 && slot.unanswered >= LOST_AFTER_PINGS) {
        slot.state = "lost"
        slot.losses++
        const reason = `${slot.workerId} (${slot.hello?.host ?? "?"} pid ${slot.hello?.pid ?? "?"}) sent nothing for ${Math.round(silentNs / 1e6)} ms (heartbeat timeout ${this.o.lostAfterMs} ms)`
        this.o.log(`moska coordinator: lost ${reason} (degraded)`)
        this.listener?.lost(slot.workerId, reason)
      } else this.ping(slot)
    }
  }
}
