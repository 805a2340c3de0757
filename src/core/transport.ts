import type { Observable } from "rxjs"

/** Who a message came from or goes to: on a hub, the peer's id as the transport names it; on a spoke, always `HUB`. */
export type PeerId = string

/** The only peer a spoke (a worker's end of a link) talks to. */
export const HUB: PeerId = "hub"

/**
 * One message between moska processes: a small JSON header (what the message is) and raw byte
 * frames (tensors: query rows, partials), sent as they are, never re-encoded.
 */
export interface TransportMessage {
  /** JSON-serialisable; `t` names the message type (see src/live/disagg/protocol.ts). */
  readonly header: { readonly t: string; readonly [field: string]: unknown }
  readonly frames: readonly Uint8Array[]
}

/** A message as it arrived. */
export interface Received {
  readonly peer: PeerId
  readonly message: TransportMessage
}

/**
 * Port: one end of a message link between moska processes (or within one, for tests). A hub binds
 * and hears from many peers, each named by the id its first message arrived with; a spoke connects
 * to one hub. Messages between two ends arrive whole and in the order sent; delivery to a peer
 * that is gone is dropped silently, so liveness is the protocol's job (heartbeats), not the
 * transport's. Adapters: ZeroMQ (Router hub, Dealer spokes) and in-process (src/live/disagg/).
 * @example
 * hub.received.subscribe(({ peer, message }) => hub.send(peer, { header: { t: "pong" }, frames: message.frames }))
 * spoke.send(HUB, { header: { t: "ping" }, frames: [new Uint8Array(16_384)] })
 */
export interface Transport {
  /** The address this end bound or connected to (`ipc://…`, `tcp://…`, `inproc:…`). */
  readonly address: string
  /** Queues a message for `peer` (a spoke ignores `peer`: it has only the hub). Never blocks. */
  send(peer: PeerId, message: TransportMessage): void
  /** Every message this end receives; errors when the socket fails, completes on `close`. */
  readonly received: Observable<Received>
  /** Stops receiving, drops what is unsent and releases the socket. */
  close(): Promise<void>
}
