import { hostname } from "node:os"
import type { Command } from "commander"
import { messageOf } from "../exit.js"

interface WorkerCliOptions {
  readonly role: string
  readonly connect: string
  readonly adapter: string
  readonly executor: string
  readonly heartbeatMs: string
  readonly lostAfterMs: string
  readonly dataBind?: string
}

/**
 * `moska worker --role unique|shared --connect ADDR [--adapter N] [--executor priced]`: one worker
 * process of a disaggregated deployment. It announces itself to the coordinator (`moska live
 * SCENARIO --bind ADDR`), takes the worker id and the scenario it is given, runs that worker's
 * work items on its own clock and exits 0 when the coordinator says the run is over. The priced
 * executor is the only one today: the WebGPU decoder runs MoSKA colocated on one device.
 * @example moska worker --role shared --connect ipc:///tmp/moska.sock
 */
export const registerWorker = (program: Command): void => {
  program
    .command("worker")
    .description("run one Unique-KV or Shared-KV worker process of a disaggregated deployment, connected to a coordinator (moska live --bind)")
    .requiredOption("--role <role>", "unique or shared: which pool of the coordinator's scenario this process serves")
    .requiredOption("--connect <addr>", "the coordinator's address (ipc://PATH or tcp://HOST:PORT)")
    .option("--adapter <n>", "GPU adapter index (for the webgpu executor, not available yet); -1: none", "-1")
    .option("--executor <kind>", "priced (the cost model paces the worker's GPU time)", "priced")
    .option("--heartbeat-ms <ms>", "how often to announce itself until welcomed", "250")
    .option("--lost-after-ms <ms>", "the coordinator silent this long: announce again", "3000")
    .option("--data-bind <addr>", "shared workers: where unique workers send query rows when the coordinator runs --links real (default with an ipc:// --connect: beside its socket)")
    .action(async (opts: WorkerCliOptions) => {
      // loaded here, not at start-up
      const [Either, { UsageError }, { intFlag }, { decodeScenario }, { poolCostModelOf }, { PricedExecutor }, { checkAddress }, { runWorker }, { ZmqTransport }, { prepareHardware }, { resolveScenario }] = await Promise.all([
        import("effect/Either"), import("../../core/errors.js"), import("../../core/intFlag.js"), import("../../core/scenarioLoader.js"), import("../../engine/poolCostModelOf.js"), import("../../engine/pricedExecutor.js"),
        import("../../live/disagg/checkAddress.js"), import("../../live/disagg/runWorker.js"), import("../../live/disagg/zmqTransport.js"), import("../prepareHardware.js"), import("../../sim/resolve.js"),
      ])
      const usage = (message: string): Error => new UsageError({ message })
      if (opts.role !== "unique" && opts.role !== "shared") throw usage(`--role must be unique or shared (got "${opts.role}")`)
      if (opts.executor !== "priced") throw usage(`--executor must be priced (got "${opts.executor}"): the WebGPU decoder runs MoSKA colocated on one device, so a webgpu worker would need its unique and shared halves split first`)
      const address = checkAddress("--connect", opts.connect)
      const adapter = intFlag("--adapter", opts.adapter, -1, 64)
      const helloMs = intFlag("--heartbeat-ms", opts.heartbeatMs, 10, 60_000)
      const lostAfterMs = intFlag("--lost-after-ms", opts.lostAfterMs, 50, 3_600_000)
      const role = opts.role
      const dataAddress = role !== "shared" ? null
        : opts.dataBind !== undefined ? checkAddress("--data-bind", opts.dataBind)
        : address.startsWith("ipc://") ? `${address}.data-${process.pid}` : null
      const data = role === "unique" ? { connect: (a: string) => ZmqTransport.connect(a) }
        : dataAddress === null ? undefined : await ZmqTransport.bind(dataAddress).then((hub) => ({ hub, address: hub.address }))
      let signal: string | null = null
      const onSignal = (s: NodeJS.Signals): void => {
        if (signal !== null) process.exit(s === "SIGINT" ? 130 : 143)
        signal = s
      }
      process.on("SIGINT", onSignal)
      process.on("SIGTERM", onSignal)
      const log = (line: string): void => void process.stderr.write(`${line}\n`)
      log(`moska worker: ${role} worker pid ${process.pid} connecting to ${address}`)
      const end = await runWorker({
        transport: ZmqTransport.connect(address), role, adapter, executorName: opts.executor, host: hostname(), pid: process.pid,
        helloMs, lostAfterMs, log, interrupted: () => signal, ...(data === undefined ? {} : { data }),
        makeExecutor: (raw, workerId, clock) => {
          const scenario = Either.getOrThrowWith(decodeScenario(raw, "the coordinator's scenario"), (e) => new Error(messageOf(e)))
          prepareHardware(scenario, "the coordinator's scenario")
          const resolved = resolveScenario(scenario)
          const pool = role === "shared" ? resolved.shared : resolved.unique
          if (pool === null) throw new Error(`the scenario has no ${role} pool`)
          if (!workerId.startsWith(`${role}-`)) throw new Error(`given ${workerId}, but this is a ${role} worker`)
          return new PricedExecutor(clock, poolCostModelOf(resolved))
        },
      })
      process.off("SIGINT", onSignal)
      process.off("SIGTERM", onSignal)
      switch (end.kind) {
        case "bye":
          log(`moska worker: the coordinator ended the run (${end.reason})`)
          return
        case "refused":
          throw new Error(`the coordinator refused this worker: ${end.reason}`)
        case "signal":
          log(`moska worker: stopped by ${end.signal}`)
          process.exitCode = end.signal === "SIGINT" ? 130 : 143
      }
    })
}
