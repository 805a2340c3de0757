import { spawn } from "node:child_process"
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

export interface TransportBenchResult {
  readonly sizes: readonly number[]
  readonly rows: readonly TransportRow[]
  readonly fits: readonly TransportFit[]
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

interface Link {
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
  for (const kind of o.transports) {
    const link = await openLink(kind, o)
    const mine: TransportRow[] = []
    try {
      for (const bytes of o.sizes) {
        o.log(`bench transport: ${kind} ${bytes} B`)
        mine.push(await measure(link, kind, bytes, o))
      }
    } finally {
      await link.close()
    }
    rows.push(...mine)
    if (mine.length >= 2) fits.push(fitLink(kind, mine))
  }
  return { sizes: o.sizes, rows, fits, host: {} }
}
