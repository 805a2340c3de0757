import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { cpus, tmpdir } from "node:os"
import { join } from "node:path"
import { Option, type Command } from "commander"
import type { TransportBenchResult } from "../../live/disagg/transportBench.js"
import { PACKAGE_ROOT } from "../codeVersion.js"
import { benchCommand } from "./bench.js"

const KINDS = ["in-process", "ipc", "tcp"]
// The echo peer runs the tsc-built CLI: from PACKAGE_ROOT, so the bundled CLI (dist/bundle/) finds it too.
const MAIN = join(PACKAGE_ROOT, "dist/cli/main.js")

const human = (bytes: number): string => (bytes >= 1 << 20 ? `${bytes / (1 << 20)} MiB` : bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`)

/** The results as a fixed-width table: one row per transport and size, then the fits. */
export const transportTable = (r: TransportBenchResult): string => {
  const lines = [
    "transport   size      round trips  RTT p50 µs  RTT p99 µs  RTT mean µs  throughput MiB/s (window)",
    ...r.rows.map((x) =>
      `${x.transport.padEnd(11)} ${human(x.bytes).padEnd(9)} ${String(x.roundTrips).padStart(11)} ${x.rttP50Us.toFixed(1).padStart(11)} ${x.rttP99Us.toFixed(1).padStart(11)} ${x.rttMeanUs.toFixed(1).padStart(12)}  ${(x.throughputBps / (1 << 20)).toFixed(0).padStart(8)} (${x.window})`),
    "",
    "fit: one-way time = latency + bytes / bandwidth (p50 RTT / 2); sim: --set hardware.interconnect.latencyNs=… --set hardware.interconnect.bandwidthBps=…",
    ...r.fits.map((f) => Number.isFinite(f.bandwidthBps)
      ? `${f.transport.padEnd(11)} latencyNs ${String(f.latencyNs).padStart(7)}  bandwidthBps ${f.bandwidthBps.toExponential(3).padStart(10)}  (worst size off by ${(f.maxRelErr * 100).toFixed(0)}%)`
      : `${f.transport.padEnd(11)} latencyNs ${String(f.latencyNs).padStart(7)}  bandwidthBps unbounded (time does not grow with size: frames are passed by reference)`),
    ...(r.pipelining.length === 0 ? [] : [
      "",
      `per-layer overhead on TPOT: ${r.pipelining[0]!.layers} layers, ${human(r.pipelining[0]!.layerBytes)} each way per layer, ${r.pipelining[0]!.layerComputeUs} µs of layer work (a worker thread standing in for the device queue), p50 of ${r.pipelining[0]!.steps} steps`,
      "transport   compute only ms  sequential ms  2 micro-batches ms  overhead/layer µs: sequential  pipelined",
      ...r.pipelining.map((x) => `${x.transport.padEnd(11)} ${x.computeOnlyMs.toFixed(2).padStart(15)} ${x.sequentialMs.toFixed(2).padStart(14)} ${x.pipelinedMs.toFixed(2).padStart(19)} ${x.overheadPerLayerUs.sequential.toFixed(1).padStart(30)} ${x.overheadPerLayerUs.pipelined.toFixed(1).padStart(10)}`),
    ]),
  ]
  return lines.join("\n")
}

/** `--sizes`; `usage` makes the error for a bad one (core/errors loads with the action, not at start-up). */
const sizeList = (s: string, usage: (message: string) => Error): number[] => {
  const sizes = s.split(",").map((x) => {
    const m = /^(\d+)(k|m)?$/i.exec(x.trim())
    if (m === null) throw usage(`--sizes: each size is bytes, NNk or NNm (got "${x}")`)
    return Number(m[1]) * (m[2] === undefined ? 1 : m[2].toLowerCase() === "k" ? 1024 : 1 << 20)
  })
  if (sizes.some((n) => n < 1 || n > 256 << 20)) throw usage("--sizes: each size must be from 1 byte to 256m")
  return sizes
}

/**
 * `moska bench transport [--sizes 16k,256k,1m] [--transports in-process,ipc,tcp] [--json] [--out FILE]`:
 * round-trip latency and throughput of the disaggregated deployment's transport between two
 * processes of this host (ZeroMQ over ipc:// and tcp://127.0.0.1, and the in-process adapter as a
 * floor), and the latency + bytes/bandwidth fit the sim's link model takes.
 * @example moska bench transport --out transport.json
 */
export const registerBenchTransport = (program: Command): void => {
  benchCommand(program)
    .command("transport")
    .description("round-trip latency and throughput of the disaggregated transport (ZeroMQ ipc:// and tcp://127.0.0.1, in-process) and a latency + bandwidth fit for the sim's link")
    .option("--sizes <list>", "message sizes (bytes, NNk, NNm)", "1k,16k,256k,1m")
    .option("--transports <list>", `which to measure (${KINDS.join(", ")})`, KINDS.join(","))
    .option("--round-trips <n>", "timed round trips per size at 16 KiB (scaled down for larger sizes, at least 100)", "2000")
    .option("--window <n>", "messages in flight for the throughput figure", "16")
    .option("--layers <n>", "per-layer TPOT overhead with and without pipelining: layers per step (0: skip)", "32")
    .option("--layer-bytes <size>", "... bytes each way per layer (a step's query rows out, partials back; bytes, NNk or NNm)", "128k")
    .option("--layer-compute-us <n>", "... the layer's GPU work, stood in for by a worker thread busy that long, jobs in order (µs)", "2000")
    .option("--steps <n>", "... timed steps (p50)", "10")
    .option("--json", "print the results as JSON on stdout (the table goes to stderr)")
    .option("--out <file>", "also write the JSON here")
    .addOption(new Option("--echo <addr>", "internal: be the echo peer at addr").hideHelp())
    .action(async (opts: { sizes: string; transports: string; roundTrips: string; window: string; layers: string; layerBytes: string; layerComputeUs: string; steps: string; json?: boolean; out?: string; echo?: string }) => {
      // loaded here, not at start-up (zeromq)
      const [{ UsageError }, { runEcho, runTransportBench }] = await Promise.all([import("../../core/errors.js"), import("../../live/disagg/transportBench.js")])
      if (opts.echo !== undefined) {
        await runEcho(opts.echo)
        return
      }
      const sizes = sizeList(opts.sizes, (message) => new UsageError({ message }))
      const transports = opts.transports.split(",").map((s) => s.trim())
      const bad = transports.find((t) => !KINDS.includes(t))
      if (bad !== undefined) throw new UsageError({ message: `--transports: unknown transport "${bad}" (use ${KINDS.join(", ")})` })
      const base = Number(opts.roundTrips)
      const window = Number(opts.window)
      if (!Number.isInteger(base) || base < 10) throw new UsageError({ message: `--round-trips must be an integer ≥ 10 (got "${opts.roundTrips}")` })
      if (!Number.isInteger(window) || window < 1 || window > 1024) throw new UsageError({ message: `--window must be an integer from 1 to 1024 (got "${opts.window}")` })
      const layers = Number(opts.layers)
      const [layerBytes] = sizeList(opts.layerBytes, (message) => new UsageError({ message: message.replace("--sizes", "--layer-bytes") }))
      const layerComputeUs = Number(opts.layerComputeUs)
      const steps = Number(opts.steps)
      if (!Number.isInteger(layers) || layers < 0 || layers > 1024) throw new UsageError({ message: `--layers must be an integer from 0 to 1024 (got "${opts.layers}")` })
      if (!Number.isFinite(layerComputeUs) || layerComputeUs < 0 || layerComputeUs > 1e6) throw new UsageError({ message: `--layer-compute-us must be a number from 0 to 1e6 (got "${opts.layerComputeUs}")` })
      if (!Number.isInteger(steps) || steps < 1 || steps > 1000) throw new UsageError({ message: `--steps must be an integer from 1 to 1000 (got "${opts.steps}")` })
      const dir = mkdtempSync(join(tmpdir(), "moska-bench-transport-"))
      const log = (line: string): void => void process.stderr.write(`${line}\n`)
      try {
        const r = await runTransportBench({
          sizes, transports, dir, window, log,
          ...(layers > 0 ? { pipelining: { layers, layerBytes: layerBytes!, layerComputeUs, steps } } : {}),
          echoCommand: [process.execPath, MAIN, "bench", "transport", "--echo"],
          roundTrips: (bytes) => Math.max(Math.min(base, 100), Math.round(base * Math.min(1, 16_384 / bytes) ** 0.5)),
        })
        const result: TransportBenchResult = { ...r, host: { node: process.version, platform: process.platform, arch: process.arch, cpus: cpus().length, cpu: cpus()[0]?.model ?? "unknown" } }
        const json = JSON.stringify(result, null, 1)
        if (opts.out !== undefined) writeFileSync(opts.out, `${json}\n`)
        if (opts.json === true) {
          process.stdout.write(`${json}\n`)
          log(transportTable(result))
        } else process.stdout.write(`${transportTable(result)}\n`)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
}
