import type { Subscription } from "rxjs"
import type { Clock } from "../../core/clock.js"
import { HUB, type Transport } from "../../core/transport.js"

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
 * with `a` carrying a frame of the partials' size it asked for.
 * @example const stop = serveData(await ZmqTransport.bind("ipc:///tmp/shared-0.sock"))
 */
export const serveData = (hub: Transport): (() => Promise<void>) => {
  const bytes = new Bytes()
  const sub = hub.received.subscribe(({ peer, message }) => {
    const h = message.header
    if (h.t === "q") hub.send(peer, { header: { t: "a", i: h.i }, frames: [bytes.take(Number(h.reply) || 0)] })
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
  private readonly ends = new Map<string, { address: string; transport: Transport; sub: Subscription; waiting: Map<number, (ok: boolean) => void>; tail: Promise<unknown>; closed: boolean }>()
  private readonly bytes = new Bytes()
  private seq = 0

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
      const waiting = new Map<number, (ok: boolean) => void>()
      const sub = transport.received.subscribe(({ message }) => {
        const w = waiting.get(message.header.i as number)
        if (w !== undefined && message.header.t === "a") {
          waiting.delete(message.header.i as number)
          w(true)
        }
      })
      this.ends.set(id, { address, transport, sub, waiting, tail: Promise.resolve(), closed: false })
    }
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
          end.waiting.set(i, (ok) => (ok ? resolve() : reject(closed())))
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
    for (const w of e.waiting.values()) w(false)
    e.waiting.clear()
    await e.transport.close()
  }
}
