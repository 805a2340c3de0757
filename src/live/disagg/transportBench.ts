import { spawn } from "node:child_process"
import { Worker } from "node:worker_threads"
import { firstValueFrom, filter, type Subscription } from "rxjs"
import { HUB, type PeerId, type Transport } from "../../core/transport.js"
import { inProcessLink } from "./inProcessTransport.js"
import { ZmqTransport } from "./zmqTransport.js"

/** One message size on one transport. */
export interface TransportRow {
  readonly transport: string
  readonly bytes: number
  readonly roundTrips: number
  readonly rttP50Us: number
  readonly rttP99Us: number
  readonly rttMeanUs: number
  /** Messages kept in flight for the throughput figure. */
  readonly window: number
  /** Payload bytes per second each way with `window` messages in flight (each is echoed back). */
  readonly throughputBps: number
}

/** A least-squares fit of one-way time = latency + bytes / bandwidth over a transport's p50 round trips / 2. */
export interface TransportFit {
  readonly transport: string
  readonly latencyNs: number
  readonly bandwidthBps: number
  /** Largest |fit − measured| / measured over the sizes. */
  readonly maxRelErr: number
}

/**
 * A decode step's per-layer exchanges on one transport, against a stand-in for the GPU's layer
 * work (a worker thread busy for `layerComputeUs` per layer, jobs in order, as one device queue): the step's
 * time with each layer waiting for its round trip, and with two micro-batches (half the compute
 * and half the bytes each) interleaved so one's round trip overlaps the other's compute; per-layer
 * overhead = (step − compute alone) / layers. p50 over `steps` steps each.
 */
export interface PipeliningRow {
  readonly transport: string
  readonly layers: number
  /** Bytes each way per layer for the whole step (each micro-batch sends half). */
  readonly layerBytes: number
  readonly layerComputeUs: number
  readonly steps: number
  readonly computeOnlyMs: number
  readonly sequentialMs: number
  readonly pipelinedMs: number
  readonly overheadPerLayerUs: { readonly sequential: number; readonly pipelined: number }
}

export interface TransportBenchResult {
  readonly sizes: readonly number[]
  readonly rows: readonly TransportRow[]
  readonly fits: readonly TransportFit[]
  /** With `pipelining`: one row per transport. */
  readonly pipelining: readonly PipeliningRow[]
  /** Node, platform, cores: the figures are this host's. */
  readonly host: Readonly<Record<string, string | number>>
}

export interface TransportBenchOptions {
  readonly sizes: readonly number[]
  /** Which to measure: `in-process`, `ipc`, `tcp`. */
  readonly transports: readonly string[]
  /** Folder for the ipc:// socket. */
  readonly dir: string
  /** argv that starts the echo peer with the address appended (`node dist/cli/main.js bench transport --echo`). */
  readonly echoCommand: readonly string[]
  /** Round trips timed per size (fewer for large sizes: `roundTrips(bytes)`). */
  readonly roundTrips: (bytes: number) => number
  readonly window: number
  readonly log: (line: string) => void
  /** The per-layer TPOT overhead with and without pipelining (`PipeliningRow`); absent: not measured. */
  readonly pipelining?: { readonly layers: number; readonly layerBytes: number; readonly layerComputeUs: number; readonly steps: number }
}

const monoNs = (): number => Number(process.hrtime.bigint())

const quantile = (sorted: readonly number[], q: number): number => {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[i] as number
}

const payload = (n: number): Uint8Array => {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = (i * 131 + (i >> 11)) & 0xff
  return b
}

/** The far end: echoes every `rt` message with its frames; spoken to through the same Transport port. */
export const runEcho = async (address: string): Promise<void> => {
  const t = ZmqTransport.connect(address)
  let heard = false
  const done = new Promise<void>((resolve) => {
    t.received.subscribe(({ message }) => {
      heard = true
      if (message.header.t === "bye") resolve()
      else t.send(HUB, { header: { t: "echo", i: message.header.i }, frames: message.frames })
    })
    process.stdin.on("end", () => resolve()) // the bench went away
    process.stdin.resume()
  })
  // A Router learns a peer only from what the peer sends: announce until the bench answers.
  const timer = setInterval(() => { if (!heard) t.send(HUB, { header: { t: "ready" }, frames: [] }) }, 50)
  t.send(HUB, { header: { t: "ready" }, frames: [] })
  await done
  clearInterval(timer)
  await t.close()
}

/** A hub end and the echo peer behind it (exported for tests that bring their own echo). */
export interface Link {
  readonly hub: Transport
  readonly peer: PeerId
  close(): Promise<void>
}

const openLink = async (kind: string, o: TransportBenchOptions): Promise<Link> => {
  if (kind === "in-process") {
    const link = inProcessLink("inproc:bench")
    const spoke = link.connect()
    const sub = spoke.received.subscribe(({ message }) => spoke.send(HUB, { header: { t: "echo", i: message.header.i }, frames: message.frames }))
    const ready = firstValueFrom(link.hub.received)
    spoke.send(HUB, { header: { t: "ready" }, frames: [] })
    const peer = (await ready).peer
    return { hub: link.hub, peer, close: async () => { sub.unsubscribe(); await spoke.close(); await link.hub.close() } }
  }
  const hub = await ZmqTransport.bind(kind === "ipc" ? `ipc://${o.dir}/bench.sock` : "tcp://127.0.0.1:*")
  const [cmd, ...args] = o.echoCommand as [string, ...string[]]
  const child = spawn(cmd, [...args, hub.address], { stdio: ["pipe", "ignore", "inherit"] })
  const ready = await firstValueFrom(hub.received.pipe(filter((r) => r.message.header.t === "ready")))
  return {
    hub, peer: ready.peer,
    close: async () => {
      hub.send(ready.peer, { header: { t: "bye" }, frames: [] })
      await new Promise((r) => setTimeout(r, 50))
      child.stdin?.end()
      await new Promise((r) => child.once("close", r))
      await hub.close()
    },
  }
}

/** Sequential round trips (one in flight), then `window` in flight for throughput. */
const measure = async (link: Link, kind: string, bytes: number, o: TransportBenchOptions): Promise<TransportRow> => {
  const frame = payload(bytes)
  let waiting: ((i: number) => void) | null = null
  const sub: Subscription = link.hub.received.subscribe(({ message }) => {
    if (message.header.t === "echo") waiting?.(message.header.i as number)
  })
  const send = (i: number): void => link.hub.send(link.peer, { header: { t: "rt", i }, frames: [frame] })
  const one = (i: number): Promise<number> => new Promise<number>((resolve) => {
    waiting = resolve
    send(i)
  })
  const n = o.roundTrips(bytes)
  for (let i = 0; i < Math.max(10, n / 10); i++) await one(i) // warm-up: connection, buffers, JIT
  const rtts: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = monoNs()
    await one(i)
    rtts.push(monoNs() - t0)
  }
  // throughput: keep `window` messages in flight until n have come back
  const total = n
  let sent = 0
  let back = 0
  const t0 = monoNs()
  await new Promise<void>((resolve) => {
    waiting = () => {
      back++
      if (back === total) resolve()
      else if (sent < total) send(sent++)
    }
    while (sent < Math.min(o.window, total)) send(sent++)
  })
  const elapsedNs = monoNs() - t0
  sub.unsubscribe()
  rtts.sort((a, b) => a - b)
  const mean = rtts.reduce((a, b) => a + b, 0) / rtts.length
  return {
    transport: kind, bytes, roundTrips: n,
    rttP50Us: quantile(rtts, 0.5) / 1e3, rttP99Us: quantile(rtts, 0.99) / 1e3, rttMeanUs: mean / 1e3,
    window: o.window, throughputBps: (total * bytes) / (elapsedNs / 1e9),
  }
}

/**
 * A stand-in for one device queue: a worker thread that runs each job (busy for its ns) in the
 * order sent, so layer work does not hold this event loop, which meanwhile sends and reads
 * messages, as the decoder's host does while its GPU runs.
 */
const deviceQueue = (): { run: (ns: number) => Promise<void>; close: () => Promise<number> } => {
  const w = new Worker(
    `const { parentPort } = require("node:worker_threads")
     parentPort.on("message", ({ i, ns }) => { const until = process.hrtime.bigint() + BigInt(ns); while (process.hrtime.bigint() < until) {} parentPort.postMessage(i) })`,
    { eval: true },
  )
  const done = new Map<number, () => void>()
  let seq = 0
  w.on("message", (i: number) => {
    done.get(i)?.()
    done.delete(i)
  })
  return {
    run: (ns) => new Promise<void>((resolve) => {
      const i = seq++
      done.set(i, resolve)
      w.postMessage({ i, ns: Math.round(ns) })
    }),
    close: () => w.terminate(),
  }
}

/** PipeliningRow for one transport (see there). */
export const measurePipelining = async (link: Link, kind: string, p: NonNullable<TransportBenchOptions["pipelining"]>): Promise<PipeliningRow> => {
  const waiting = new Map<number, () => void>()
  const sub: Subscription = link.hub.received.subscribe(({ message }) => {
    if (message.header.t !== "echo") return
    const w = waiting.get(message.header.i as number)
    waiting.delete(message.header.i as number)
    w?.()
  })
  let seq = 0
  const frames = new Map<number, Uint8Array>()
  const frame = (n: number): Uint8Array => frames.get(n) ?? (frames.set(n, payload(n)), frames.get(n)!)
  const rt = (bytes: number): Promise<void> => new Promise<void>((resolve) => {
    const i = seq++
    waiting.set(i, resolve)
    link.hub.send(link.peer, { header: { t: "rt", i }, frames: [frame(bytes)] })
  })
  const C = p.layerComputeUs * 1e3
  const device = deviceQueue()
  const chain = async (share: number): Promise<void> => {
    for (let l = 0; l < p.layers; l++) {
      await device.run(C * share)
      await rt(Math.max(1, Math.round(p.layerBytes * share)))
    }
  }
  const modes: Array<() => Promise<void>> = [
    async () => {
      for (let l = 0; l < p.layers; l++) await device.run(C)
    },
    () => chain(1),
    async () => void (await Promise.all([chain(0.5), chain(0.5)])),
  ]
  // the modes take turns, step by step, so a change in the host's load meets all three alike
  const times: number[][] = modes.map(() => [])
  try {
    for (const f of modes) await f() // warm-up
    for (let i = 0; i < p.steps; i++)
      for (const [m, f] of modes.entries()) {
        const t0 = monoNs()
        await f()
        times[m]!.push(monoNs() - t0)
      }
  } finally {
    sub.unsubscribe()
    await device.close()
  }
  const [computeOnlyMs, sequentialMs, pipelinedMs] = times.map((ts) => quantile([...ts].sort((x, y) => x - y), 0.5) / 1e6) as [number, number, number]
  const over = (ms: number): number => ((ms - computeOnlyMs) * 1e3) / p.layers
  return { transport: kind, ...p, computeOnlyMs, sequentialMs, pipelinedMs, overheadPerLayerUs: { sequential: over(sequentialMs), pipelined: over(pipelinedMs) } }
}

/** Least squares of one-way time (p50 RTT / 2) on bytes. */
export const fitLink = (transport: string, rows: readonly TransportRow[]): TransportFit => {
  const xs = rows.map((r) => r.bytes)
  const ys = rows.map((r) => (r.rttP50Us * 1e3) / 2)
  const n = xs.length
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let sxy = 0
  let sxx = 0
  for (let i = 0; i < n; i++) {
    sxy += ((xs[i] as number) - mx) * ((ys[i] as number) - my)
    sxx += ((xs[i] as number) - mx) ** 2
  }
  const slope = sxx > 0 ? sxy / sxx : 0 // ns per byte
  const latencyNs = Math.max(0, my - slope * mx)
  const bandwidthBps = slope > 0 ? 1e9 / slope : Number.POSITIVE_INFINITY
  let maxRelErr = 0
  for (let i = 0; i < n; i++) {
    const fit = latencyNs + (xs[i] as number) * slope
    maxRelErr = Math.max(maxRelErr, Math.abs(fit - (ys[i] as number)) / (ys[i] as number))
  }
  return { transport, latencyNs: Math.round(latencyNs), bandwidthBps, maxRelErr }
}

/**
 * Measures the transports between two processes of this host (the echo peer is a child process;
 * `in-process` is the same port within one event loop, as a floor): round-trip latency with one
 * message in flight, and throughput with `window` in flight, for each size; then fits one-way
 * time = latency + bytes / bandwidth, the form of the sim's link model (TransferSpec priced by
 * `interconnect.latencyNs` and `interconnect.bandwidthBps`).
 * @example const r = await runTransportBench({ sizes: [16384], transports: ["ipc"], dir, echoCommand, roundTrips: () => 500, window: 16, log })
 */
export const runTransportBench = async (o: TransportBenchOptions): Promise<TransportBenchResult> => {
  const rows: TransportRow[] = []
  const fits: TransportFit[] = []
  const pipelining: PipeliningRow[] = []
  for (const kind of o.transports) {
    const link = await openLink(kind, o)
    const mine: TransportRow[] = []
    try {
      for (const bytes of o.sizes) {
        o.log(`bench transport: ${kind} ${bytes} B`)
        mine.push(await measure(link, kind, bytes, o))
      }
      if (o.pipelining !== undefined) {
        o.log(`bench transport: ${kind} ${o.pipelining.layers} layers with and without pipelining`)
        pipelining.push(await measurePipelining(link, kind, o.pipelining))
      }
    } finally {
      await link.close()
    }
    rows.push(...mine)
    if (mine.length >= 2) fits.push(fitLink(kind, mine))
  }
  return { sizes: o.sizes, rows, fits, pipelining, host: {} }
}
