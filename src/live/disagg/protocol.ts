import type { KernelCost } from "../../core/costModel.js"
import type { KernelSpec } from "../../core/kernels.js"
import type { TransportMessage } from "../../core/transport.js"

/** Bumped whenever a message changes shape; a worker of another version is refused with both numbers. */
export const PROTOCOL_VERSION = 2

/** A worker's role: which pool of the scenario it serves. */
export type WorkerRole = "unique" | "shared"

/**
 * The messages of a disaggregated deployment, all as transport headers (`t` names the type).
 * Between workers (`--links real`), on each shared worker's data socket: `q` (a layer's query rows as
 * a raw frame, from a unique worker) answered by `a` (the partials, a raw frame of the asked size).
 * From a WebGPU unique worker, `q` carries a real layer (`SharedQuery`: the plan in the header, the
 * query rows, f32 or f16 (`wire`), and u32 stacked rows as frames) and `a` the partials (o, in the
 * query's format, and f32 lse frames, or `error`).
 * worker → coordinator: `hello` (until welcomed, again after the coordinator went quiet), `ready`
 * (a worker that warms up once welcomed: its device is set up), `pong`, `done`, `failed`.
 * coordinator → worker: `welcome` (its worker id and the scenario), `refused`, `ping`, `work`, `peers`, `bye`.
 */
export type Message =
  | {
      readonly t: "hello"
      readonly protocol: number
      readonly role: WorkerRole
      /** The GPU adapter index it drives (`--adapter`), or -1 for the priced executor. */
      readonly adapter: number
      readonly executor: string
      readonly host: string
      readonly pid: number
      /** Work items it runs at once: 1 (a device runs its items back to back). */
      readonly capacity: number
      /** A shared worker's data socket (where unique workers send query rows), or null. */
      readonly data: string | null
      /** It sets up a device once welcomed (webgpu) and says `ready` when done; until then its id counts as missing. */
      readonly warmsUp?: boolean
    }
  | { readonly t: "ready" }
  | { readonly t: "welcome"; readonly workerId: string; readonly scenario: unknown; readonly heartbeatMs: number }
  | { readonly t: "refused"; readonly reason: string }
  | { readonly t: "ping"; readonly seq: number; readonly atNs: number }
  | { readonly t: "pong"; readonly seq: number; readonly atNs: number; readonly workerNs: number }
  | {
      readonly t: "work"
      readonly seq: number
      readonly workerId: string
      readonly label: string
      readonly kernels: readonly KernelSpec[]
      readonly chunkId?: number
      readonly queries: number
      /**
       * A link item run as a real transfer by the unique worker that gets it: `messages` exchanges
       * (one per layer) with shared worker `to`, each sending its share of `sendBytes` and getting
       * its share of `replyBytes` back.
       */
      readonly link?: { readonly to: string; readonly sendBytes: number; readonly replyBytes: number; readonly messages: number }
      /** A unique worker's step: its phase and requests, for an executor that runs it for real (the engine's StepPayload). */
      readonly step?: WireStep
    }
  | {
      readonly t: "done"
      readonly seq: number
      /** On the worker's own clock (ns since it started). */
      readonly startNs: number
      readonly endNs: number
      readonly flops: number
      readonly bytes: number
      readonly costs: readonly KernelCost[]
      readonly gpuNs?: number
      readonly predictedNs?: number
      /** A webgpu unique worker's step: the tokens it sampled, as [request id, index, token id] (a server streams them to its clients). */
      readonly tokens?: ReadonlyArray<readonly [number, number, number]>
    }
  | { readonly t: "failed"; readonly seq: number; readonly message: string }
  | { readonly t: "bye"; readonly reason: string }
  /** The shared workers' data sockets, by worker id, for unique workers (sent whenever one joins). */
  | { readonly t: "peers"; readonly data: Readonly<Record<string, string>> }

/** A StepPayload as it crosses: what a real executor reads of each request. */
export interface WireStep {
  readonly phase: "prefill" | "decode"
  readonly requests: ReadonlyArray<{
    readonly id: number
    readonly uniqueTokens: number
    readonly outputTokens: number
    /** A served request's prompt ids, temperature and seed as its client sent them (prefill only; absent: the worker's seeded ones). */
    readonly input?: { readonly promptIds?: readonly number[]; readonly temperature?: number; readonly seed?: number }
  }>
}

/**
 * A data-link `q` header for a real layer (the frames: f32 query rows, u32 stacked rows): the plan
 * of `SharedRequest` with units as [chunk, kvHead, rows] triples.
 */
export interface SharedQuery {
  readonly t: "q"
  readonly i: number
  readonly layer: number
  readonly units: ReadonlyArray<readonly [number, number, number]>
  readonly splits: number
  readonly rowTile: 16 | 64
  readonly merge: boolean
  /**
   * How the query rows and the partial outputs cross: "f16" (binary16, half the bytes) or "f32"
   * (absent: f32). The shared worker answers in the format it was asked in; lse and the stacked
   * row indices stay 32-bit (an lse of magnitude ~10 in f16 would be off by up to 0.4% after exp).
   */
  readonly wire?: "f16" | "f32"
}

const TYPES = new Set(["hello", "welcome", "refused", "ping", "pong", "work", "done", "failed", "bye", "peers", "ready"])

/** A header as a protocol message, or null for one this version does not know (ignored by the receiver). */
export const messageOf = (m: TransportMessage): Message | null => (TYPES.has(m.header.t) ? (m.header as unknown as Message) : null)

/** A protocol message as a transport message (no frames). */
export const toTransport = (m: Message): TransportMessage => ({ header: m, frames: [] })
