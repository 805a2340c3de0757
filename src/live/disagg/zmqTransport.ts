import { rmSync } from "node:fs"
import { Subject } from "rxjs"
import { Dealer, Router } from "zeromq"
import { HUB, type PeerId, type Received, type Transport, type TransportMessage } from "../../core/transport.js"

type Frame = Uint8Array

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Parses a header frame; a frame that is not a JSON object with a string `t` is refused by throwing. */
const headerOf = (frame: Frame | undefined): TransportMessage["header"] => {
  const h = JSON.parse(decoder.decode(frame ?? new Uint8Array())) as unknown
  if (typeof h !== "object" || h === null || typeof (h as { t?: unknown }).t !== "string") throw new Error("header frame is not a JSON object with a string t")
  return h as TransportMessage["header"]
}

/**
 * The `Transport` port over ZeroMQ (npm `zeromq`, libzmq's own I/O threads, no broker): a Router
 * socket on the hub (one per coordinator) and a Dealer per spoke (worker). A message is one
 * multipart ZeroMQ message: [routing id (hub side only)], the JSON header, then the raw frames,
 * each handed to libzmq as it is. zeromq allows one pending `send` per socket, so sends queue here
 * and are pumped one at a time; a Router with `mandatory` off never waits (unroutable messages are
 * dropped), a Dealer waits for its hub only while its pipe is full.
 * @example
 * const hub = await ZmqTransport.bind("ipc:///tmp/moska.sock")
 * const spoke = ZmqTransport.connect("ipc:///tmp/moska.sock")
 */
export class ZmqTransport implements Transport {
  private readonly subject = new Subject<Received>()
  readonly received = this.subject.asObservable()
  private readonly queue: Frame[][] = []
  private pumping = false
  private closed = false
  /** Hub: routing ids by the peer id they are known by (hex of the id bytes). */
  private readonly ids = new Map<PeerId, Frame>()

  private constructor(
    private readonly socket: Router | Dealer,
    readonly address: string,
    private readonly hub: boolean,
  ) {
    void this.receiveLoop()
  }

  /** A hub bound to `address` (`ipc://PATH`, `tcp://HOST:PORT`; `tcp://HOST:*` takes a free port, and `address` then names it). */
  static async bind(address: string): Promise<ZmqTransport> {
    // a short linger lets the last messages (the coordinator's byes) leave before the process exits
    const socket = new Router({ linger: 500, sendHighWaterMark: 0, receiveHighWaterMark: 0 })
    await socket.bind(address)
    return new ZmqTransport(socket, socket.lastEndpoint ?? address, true)
  }

  /** A spoke connected to the hub at `address`; libzmq reconnects by itself if the hub restarts. */
  static connect(address: string): ZmqTransport {
    const socket = new Dealer({ linger: 0, sendHighWaterMark: 0, receiveHighWaterMark: 0, reconnectInterval: 100 })
    socket.connect(address)
    return new ZmqTransport(socket, address, false)
  }

  send(peer: PeerId, message: TransportMessage): void {
    if (this.closed) return
    const parts: Frame[] = [encoder.encode(JSON.stringify(message.header)), ...message.frames]
    if (this.hub) {
      const id = this.ids.get(peer)
      if (id === undefined) return // a peer never heard from (or forgotten): as unroutable in libzmq, dropped
      parts.unshift(id)
    }
    this.queue.push(parts)
    if (!this.pumping) void this.pump()
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.queue.length = 0
    // unbindSync, not unbind: zeromq runs an async unbind off the main thread, and the socket must not
    // be used meanwhile, yet this hub's pending receive (and a blocked send) would touch it from the
    // main thread's poller: libzmq sockets are not thread-safe. The likely cause of a shared worker
    // killed by a signal between its last answer and its close (CI, session 11; not reproduced here).
    if (this.hub) {
      try {
        this.socket.unbindSync(this.address)
      } catch {
        // never bound there, or already gone with the context: nothing to release
      }
    } else {
      try {
        this.socket.disconnect(this.address)
      } catch {
        // already gone with the context (process exit): nothing to stop
      }
    }
    this.socket.close()
    this.subject.complete()
    // libzmq ends a socket's pipes asynchronously on its I/O threads; a process that exits (and so
    // terminates the context) while those handshakes are still in flight can trip libzmq's own
    // pipe-state assertion (pipe.cpp:355, seen once in CI when a test process ended right after a
    // close). Stopping the spoke's reconnects (disconnect) and giving the handshakes a moment closes cleanly.
    await new Promise((r) => setTimeout(r, 50))
    // libzmq leaves an ipc:// socket file behind when it does not unbind it itself
    if (this.hub && this.address.startsWith("ipc://")) rmSync(this.address.slice("ipc://".length), { force: true })
  }

  private async pump(): Promise<void> {
    this.pumping = true
    try {
      while (this.queue.length > 0 && !this.closed) await this.socket.send(this.queue.shift() as Frame[])
    } catch (e) {
      if (!this.closed) this.subject.error(e)
    } finally {
      this.pumping = false
    }
  }

  private async receiveLoop(): Promise<void> {
    try {
      while (!this.closed) {
        const parts = await this.socket.receive()
        let peer: PeerId = HUB
        if (this.hub) {
          const id = parts.shift() as Frame
          peer = Buffer.from(id).toString("hex")
          if (!this.ids.has(peer)) this.ids.set(peer, id)
        }
        let header: TransportMessage["header"]
        try {
          header = headerOf(parts[0])
        } catch {
          continue // not one of ours (a port scanner, a stray client): ignore rather than fail the link
        }
        this.subject.next({ peer, message: { header, frames: parts.slice(1) } })
      }
    } catch (e) {
      if (!this.closed) this.subject.error(e)
    }
  }
}
