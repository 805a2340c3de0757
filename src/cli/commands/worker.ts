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
  readonly tokensOut?: string
}

/**
 * `moska worker --role unique|shared --connect ADDR [--adapter N] [--executor priced|webgpu] [--tokens-out FILE]`:
 * one worker process of a disaggregated deployment. It announces itself to the coordinator (`moska
 * live SCENARIO --bind ADDR`), takes the worker id and the scenario it is given, runs that worker's
 * work items on its own clock and exits 0 when the coordinator says the run is over. `priced`: the
 * cost model paces its GPU time. `webgpu`: it opens a device once welcomed; a unique worker runs
 * the scenario's decoder (the corpus's centroids only) and gets each layer's shared attention from
 * its shared worker over the data link (`--links real`), a shared worker holds the corpus and
 * answers those layers; each says `ready` once set up and warmed.
 * @example moska worker --role shared --connect ipc:///tmp/moska.sock --executor webgpu
 */
export const registerWorker = (program: Command): void => {
  program
    .command("worker")
    .description("run one Unique-KV or Shared-KV worker process of a disaggregated deployment, connected to a coordinator (moska live --bind)")
    .requiredOption("--role <role>", "unique or shared: which pool of the coordinator's scenario this process serves")
    .requiredOption("--connect <addr>", "the coordinator's address (ipc://PATH or tcp://HOST:PORT)")
    .option("--adapter <n>", "GPU adapter index it announces (the webgpu executor opens the backend's high-performance adapter); -1: none", "-1")
    .option("--executor <kind>", "priced (the cost model paces the worker's GPU time) or webgpu (a real device: the decoder's unique half, or the shared corpus's attention)", "priced")
    .option("--tokens-out <file>", "webgpu unique workers: write the token ids each request generated, as JSON { requestId: [ids] }, when the run ends")
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
      if (opts.executor !== "priced" && opts.executor !== "webgpu") throw usage(`--executor must be priced or webgpu (got "${opts.executor}")`)
      if (opts.tokensOut !== undefined && (opts.executor !== "webgpu" || opts.role !== "unique")) throw usage("--tokens-out is for webgpu unique workers (they sample the tokens)")
      const webgpu = opts.executor === "webgpu"
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
      // webgpu: one device for the process's life, opened at the welcome (the scenario names the backend)
      let gpuScope: import("effect/Scope").CloseableScope | undefined
      const tokens = opts.tokensOut === undefined ? undefined : new (await import("../../live/tokenLog.js")).TokenLog()
      let end: import("../../live/disagg/runWorker.js").WorkerEnd
      try {
        end = await runWorker({
          transport: ZmqTransport.connect(address), role, adapter, executorName: opts.executor, host: hostname(), pid: process.pid,
          helloMs, lostAfterMs, log, interrupted: () => signal, ...(data === undefined ? {} : { data }), warmsUp: webgpu,
          makeExecutor: (raw, workerId, clock, links) => {
            const scenario = Either.getOrThrowWith(decodeScenario(raw, "the coordinator's scenario"), (e) => new Error(messageOf(e)))
            prepareHardware(scenario, "the coordinator's scenario")
            const resolved = resolveScenario(scenario)
            const pool = role === "shared" ? resolved.shared : resolved.unique
            if (pool === null) throw new Error(`the scenario has no ${role} pool`)
            if (!workerId.startsWith(`${role}-`)) throw new Error(`given ${workerId}, but this is a ${role} worker`)
            if (!webgpu) return new PricedExecutor(clock, poolCostModelOf(resolved))
            return (async () => {
              const [{ Effect, Scope }, { acquireGpu }, { decoderDimsOf, prepareLiveScenario }, { webGpuWorker }] = await Promise.all([
                import("effect"), import("../../gpu/device.js"), import("../prepareLiveScenario.js"), import("../../live/disagg/webGpuWorker.js"),
              ])
              const { live } = prepareLiveScenario(scenario, "webgpu", "live", true)
              gpuScope = Effect.runSync(Scope.make())
              const gpu = await Effect.runPromise(Scope.extend(acquireGpu(process.env.MOSKA_WEBGPU_BACKEND ?? live.backend), gpuScope))
              log(`moska worker: ${workerId} on ${gpu.name}`)
              return webGpuWorker({
                gpu, role, workerId, clock, links, modelOf: poolCostModelOf(resolved), log, sharedWorkers: resolved.shared?.workers ?? 0, wire: live.disaggregatedWire,
                // the decoder `moska live` builds for the same scenario (runLiveAndReport), so both runs compute alike
                decoder: {
                  dims: decoderDimsOf(resolved), slots: live.slots, maxContext: live.maxContextTokens, system: resolved.system, seed: scenario.seed,
                  maxBatchTokens: Math.max(live.slots, live.prefillChunkTokens), memoryBudgetBytes: (role === "shared" ? pool : resolved.unique).capacityBytes,
                  corpus: { tokens: resolved.corpus.sharedTokens, chunkTokens: resolved.corpus.chunkTokens, topK: resolved.corpus.topK },
                  // read by the unique worker's decoder only (the shared server ignores it)
                  sharedPortSteps: live.disaggregatedPrefill === "remote" ? "all" : "decode",
                  // both sides: the unique decoder's lanes and the shared server's requests in flight
                  microBatches: live.disaggregatedMicroBatches,
                  ...(live.weights === undefined ? {} : { weightsFile: live.weights }),
                  ...(live.corpusFile === undefined ? {} : { corpusFile: live.corpusFile }),
                },
                executor: {
                  layers: resolved.model.layers, qHeads: resolved.model.qHeads, kvHeads: resolved.model.kvHeads, vocab: resolved.model.vocab, seed: scenario.seed,
                  prefillChunkTokens: live.prefillChunkTokens, ...(tokens === undefined ? {} : { onToken: tokens.add }),
                },
              })
            })()
          },
        })
      } finally {
        if (gpuScope !== undefined) {
          const { Effect, Exit, Scope } = await import("effect")
          await Effect.runPromise(Scope.close(gpuScope, Exit.void))
        }
      }
      if (tokens !== undefined && opts.tokensOut !== undefined) tokens.write(opts.tokensOut)
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
