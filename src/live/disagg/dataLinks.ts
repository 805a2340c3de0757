import type { Subscription } from "rxjs"
import type { Clock } from "../../core/clock.js"
import { HUB, type Transport, type TransportMessage } from "../../core/transport.js"
import type { SharedReply, SharedRequest } from "../../gpu/decoder/sharedPort.js"
import { halfFloat } from "./halfFloat.js"
import type { SharedQuery } from "./protocol.js"

/** A frame's bytes as an ArrayBuffer of their own (a received frame may sit at any offset of a larger buffer). */
const own = (f: Uint8Array | undefined): ArrayBuffer => {
  const b = new Uint8Array(f?.byteLength ?? 0)
  if (f !== undefined) b.set(f)
  return b.buffer
}
const bytesOf = (a: Float32Array | Uint32Array | Uint16Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)

/** How tensors cross the data link (`live.disaggregatedWire`). */
export type WireFormat = "f16" | "f32"

const tensorFrame = (x: Float32Array, wire: WireFormat): Uint8Array => bytesOf(wire === "f16" ? halfFloat.encode(x) : x)
const tensorOf = (f: Uint8Array | undefined, wire: WireFormat): Float32Array => (wire === "f16" ? halfFloat.decode(new Uint16Array(own(f))) : new Float32Array(own(f)))

/** A `q` header and frames for a real layer (see protocol's SharedQuery); f16 query rows with `wire` "f16". */
export const sharedQuery = (i: number, req: SharedRequest, wire: WireFormat = "f32"): TransportMessage => {
  const header: SharedQuery = { t: "q", i, layer: req.layer, units: req.units.map((u) => [u.chunk, u.kvHead, u.rows] as const), splits: req.splits, rowTile: req.rowTile, merge: req.merge, ...(wire === "f16" ? { wire } : {}) }
  return { header: header as unknown as TransportMessage["header"], frames: [tensorFrame(req.q, wire), bytesOf(req.rows)] }
}

/** The format a `q` message asks in (and its answer comes back in). */
export const wireOf = (m: TransportMessage): WireFormat => ((m.header as unknown as Partial<SharedQuery>).wire === "f16" ? "f16" : "f32")

/** The `a` answering query `i` with a reply: o in the query's format, lse f32. */
export const sharedAnswer = (i: number, r: SharedReply, wire: WireFormat): TransportMessage => ({ header: { t: "a", i }, frames: [tensorFrame(r.o, wire), bytesOf(r.lse)] })

/** The SharedReply an `a` message carries, for a query sent in `wire`. */
export const sharedReplyOf = (m: TransportMessage, wire: WireFormat): SharedReply => ({ o: tensorOf(m.frames[0], wire), lse: new Float32Array(own(m.frames[1])) })

/** The SharedRequest a `q` message carries, or undefined for a byte-pattern exchange (no `layer`). */
export const sharedRequestOf = (m: TransportMessage): SharedRequest | undefined => {
  const h = m.header as unknown as Partial<SharedQuery>
  if (typeof h.layer !== "number") return undefined
  return {
    layer: h.layer, q: tensorOf(m.frames[0], wireOf(m)), rows: new Uint32Array(own(m.frames[1])),
    units: (h.units ?? []).map(([chunk, kvHead, rows]) => ({ chunk, kvHead, rows })), splits: Number(h.splits), rowTile: h.rowTile === 64 ? 64 : 16, merge: h.merge === true,
  }
}

/** A reusable byte pattern of at least `n` bytes (sent as query rows / partials: the sizes are real, the values are not read). */
class Bytes {
  private buf = new Uint8Array(0)
  take(n: number): Uint8Array {
    if (this.buf.byteLength < n) {
      const b = new Uint8Array(Math.max(n, this.buf.byteLength * 2))
      for (let i = 0; i < b.byteLength; i++) b[i] = (i * 131 + (i >> 11)) & 0xff
      this.buf = b
    }
    return this.buf.subarray(0, n)
  }
}

/**
 * A shared worker's data socket: answers each `q` (a unique worker's query rows for one layer)
 * with `a` carrying a frame of the partials' size it asked for; a `q` carrying a real layer (a
 * WebGPU unique worker's) goes to `attend` (the worker's SharedServer) and `a` carries its o and
 * lse, or `error` when it failed or this worker has no shared attention to run.
 * @example const stop = serveData(await ZmqTransport.bind("ipc:///tmp/shared-0.sock"), (req) => server.attend(req))
 */
export const serveData = (hub: Transport, attend?: (req: SharedRequest) => Promise<SharedReply>): (() => Promise<void>) => {
  const bytes = new Bytes()
  const sub = hub.received.subscribe(({ peer, message }) => {
    const h = message.header
    if (h.t !== "q") return
    const req = sharedRequestOf(message)
    if (req === undefined) {
      hub.send(peer, { header: { t: "a", i: h.i }, frames: [bytes.take(Number(h.reply) || 0)] })
      return
    }
    if (attend === undefined) {
      hub.send(peer, { header: { t: "a", i: h.i, error: "this shared worker runs no shared attention (start it with --executor webgpu)" }, frames: [] })
      return
    }
    attend(req).then(
      (r) => hub.send(peer, sharedAnswer(Number(h.i), r, wireOf(message))),
      (e: unknown) => hub.send(peer, { header: { t: "a", i: h.i, error: e instanceof Error ? e.message : String(e) }, frames: [] }),
    )
  })
  return async () => {
    sub.unsubscribe()
    await hub.close()
  }
}

export interface LinkExchange {
  readonly to: string
  readonly sendBytes: number
  readonly replyBytes: number
  readonly messages: number
}

/**
 * A unique worker's ends of its links to the shared workers' data sockets. `exchange` runs a
 * link item for real: `messages` round trips (one per layer, each waiting for the last: the
 * layers are not pipelined), each sending its share of the query bytes and getting its share of
 * the partial bytes back; exchanges on one link run one at a time, as a device's items do. Times
 * are this worker's clock.
 * @example const links = new DataLinks(clock, ZmqTransport.connect); links.setPeers({ "shared-0": addr })
 */
export class DataLinks {
  private readonly ends = new Map<string, { address: string; transport: Transport; sub: Subscription; waiting: Map<number, (m: TransportMessage | null) => void>; tail: Promise<unknown>; closed: boolean }>()
  private readonly bytes = new Bytes()
  private seq = 0
  private readonly arrivals = new Set<() => void>()
  /** Bytes of real layers sent (query and row frames) and received (partials), for the link items. */
  readonly moved = { sent: 0, received: 0 }

  constructor(
    private readonly clock: Clock,
    private readonly connect: (address: string) => Transport,
  ) {}

  /** Connects to every shared worker named (again if its address changed: it restarted). */
  setPeers(data: Readonly<Record<string, string>>): void {
    for (const [id, address] of Object.entries(data)) {
      const old = this.ends.get(id)
      if (old?.address === address) continue
      if (old !== undefined) void this.drop(id)
      const transport = this.connect(address)
      const waiting = new Map<number, (m: TransportMessage | null) => void>()
      const sub = transport.received.subscribe(({ message }) => {
        const w = waiting.get(message.header.i as number)
        if (w !== undefined && message.header.t === "a") {
          waiting.delete(message.header.i as number)
          w(message)
        }
      })
      this.ends.set(id, { address, transport, sub, waiting, tail: Promise.resolve(), closed: false })
    }
    for (const a of [...this.arrivals]) a()
  }

  /**
   * One layer's shared attention on shared worker `to` (a WebGPU unique worker's SharedPort):
   * the plan and rows go out, the partials come back. Waits for `to`'s address if it has not
   * arrived yet (the unique worker may be welcomed first); fails when the link closes or the
   * shared side answers with an error. `wire` "f16" sends the query rows and gets the partial
   * outputs back as binary16 (half the bytes; `moved` counts the bytes that crossed).
   */
  async attend(to: string, req: SharedRequest, wire: WireFormat = "f32"): Promise<SharedReply> {
    let end = this.ends.get(to)
    while (end === undefined) {
      await new Promise<void>((resolve) => {
        const a = (): void => {
          this.arrivals.delete(a)
          resolve()
        }
        this.arrivals.add(a)
      })
      end = this.ends.get(to)
    }
    const e = end
    const i = this.seq++
    const msg = sharedQuery(i, req, wire)
    const reply = await new Promise<TransportMessage>((resolve, reject) => {
      if (e.closed) {
        reject(new Error(`the data link to ${to} closed (its worker restarted or left)`))
        return
      }
      e.waiting.set(i, (m) => (m === null ? reject(new Error(`the data link to ${to} closed (its worker restarted or left)`)) : resolve(m)))
      e.transport.send(HUB, msg)
    })
    this.moved.sent += msg.frames.reduce((a, f) => a + f.byteLength, 0)
    if (typeof reply.header.error === "string") throw new Error(`${to} could not attend layer ${req.layer}: ${reply.header.error}`)
    this.moved.received += reply.frames.reduce((a, f) => a + f.byteLength, 0)
    return sharedReplyOf(reply, wire)
  }

  exchange(link: LinkExchange): Promise<{ startNs: number; endNs: number }> {
    const end = this.ends.get(link.to)
    if (end === undefined) return Promise.reject(new Error(`no data link to ${link.to} (its address has not arrived)`))
    const run = async (): Promise<{ startNs: number; endNs: number }> => {
      const startNs = this.clock.now()
      const send = Math.ceil(link.sendBytes / link.messages)
      const reply = Math.ceil(link.replyBytes / link.messages)
      for (let k = 0; k < link.messages; k++) {
        const i = this.seq++
        await new Promise<void>((resolve, reject) => {
          const closed = (): Error => new Error(`the data link to ${link.to} closed (its worker restarted or left)`)
          // the link may have been replaced while this exchange waited its turn
          if (end.closed) {
            reject(closed())
            return
          }
          end.waiting.set(i, (m) => (m !== null ? resolve() : reject(closed())))
          end.transport.send(HUB, { header: { t: "q", i, reply }, frames: [this.bytes.take(send)] })
        })
      }
      return { startNs, endNs: this.clock.now() }
    }
    const p = end.tail.then(run, run)
    end.tail = p.catch(() => undefined)
    return p
  }

  async close(): Promise<void> {
    for (const id of [...this.ends.keys()]) await this.drop(id)
  }

  private async drop(id: string): Promise<void> {
    const e = this.ends.get(id)
    if (e === undefined) return
    this.ends.delete(id)
    e.closed = true
    e.sub.unsubscribe()
    // exchanges waiting on it fail now, rather than never (their item is sent again by the coordinator)
    for (const w of e.waiting.values()) w(null)
    e.waiting.clear()
    await e.transport.close()
  }
}
