import { Subject } from "rxjs"
import { HUB, type PeerId, type Received, type Transport, type TransportMessage } from "../../core/transport.js"

/** One end of an in-process link. */
class InProcessEnd implements Transport {
  readonly subject = new Subject<Received>()
  readonly received = this.subject.asObservable()
  closed = false

  constructor(
    readonly address: string,
    private readonly deliver: (peer: PeerId, message: TransportMessage) => void,
  ) {}

  send(peer: PeerId, message: TransportMessage): void {
    if (!this.closed) this.deliver(peer, message)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.subject.complete()
  }
}

/** A hub and the spokes connected to it, all in this process. */
export interface InProcessLink {
  readonly hub: Transport
  /** A new spoke; the hub knows it as `spoke-N` from its first message on. */
  connect(): Transport
}

/**
 * The `Transport` port within one process, for tests and single-process runs: same contract as
 * the ZeroMQ adapter (whole messages, in order, dropped when the other end is closed), delivered
 * on a microtask so a sender never re-enters its receiver. Frames are passed by reference, so a
 * sender must not reuse a buffer it has sent (the ZeroMQ adapter copies; this one does not).
 * @example
 * const link = inProcessLink("inproc:test")
 * const worker = link.connect()
 * link.hub.received.subscribe(({ peer }) => link.hub.send(peer, { header: { t: "welcome" }, frames: [] }))
 */
export const inProcessLink = (address: string): InProcessLink => {
  const spokes = new Map<PeerId, InProcessEnd>()
  const hub: InProcessEnd = new InProcessEnd(address, (peer, message) => {
    const to = spokes.get(peer)
    if (to !== undefined) queueMicrotask(() => { if (!to.closed) to.subject.next({ peer: HUB, message }) })
  })
  let n = 0
  return {
    hub,
    connect: () => {
      const id = `spoke-${n++}`
      const spoke = new InProcessEnd(address, (_peer, message) => {
        queueMicrotask(() => { if (!hub.closed) hub.subject.next({ peer: id, message }) })
      })
      spokes.set(id, spoke)
      return spoke
    },
  }
}
