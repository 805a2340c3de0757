import type { WorkerLost } from "../../core/errors.js"
import type { Scenario } from "../../core/scenario.js"
import type { RequestSpec } from "../../core/workload.js"
import { openTraceDb } from "../../db/openTraceDb.js"
import { runRecords } from "../../db/runRecords.js"
import { summarizeRun } from "../../db/summarizeRun.js"
import { poolCostModelOf } from "../../engine/poolCostModelOf.js"
import { PricedExecutor } from "../../engine/pricedExecutor.js"
import type { Resolved } from "../../engine/resolved.js"
import type { RoutingModel } from "../../engine/routingModel.js"
import type { DecoderDims } from "../../gpu/decoder/decoderDims.js"
import { LlamaDecoder } from "../../gpu/decoder/llamaDecoder.js"
import { withGpu, type GpuContext } from "../../gpu/device.js"
import type { ServedDeployment, ServedPools } from "../disagg/servedDeployment.js"
import type { LiveExecutor } from "../runLive.js"
import { ThreadedTraceSink } from "../threadedTraceSink.js"
import type { WallClock } from "../wallClock.js"
import { warmDecoder } from "../warmDecoder.js"
import { WebGpuExecutor } from "../webGpuExecutor.js"
import { buildServer } from "./buildServer.js"
import { ServingEngine } from "./servingEngine.js"
import { traceWindowNs } from "../../core/traceWindowNs.js"

/** Live settings the server uses (the scenario's `live` section, decoded with defaults). */
export interface ServeLive {
  readonly slots: number
  readonly maxContextTokens: number
  readonly prefillChunkTokens: number
  readonly backend: string
  readonly weights?: string
  readonly corpusFile?: string
}

export interface RunServerInput {
  readonly scenario: Scenario
  readonly resolved: Resolved
  readonly live: ServeLive
  readonly routing: RoutingModel
  readonly executor: "webgpu" | "priced"
  /** The decoder's dims (webgpu only). */
  readonly dims?: DecoderDims
  readonly host: string
  readonly port: number
  readonly db: string
  readonly maxQueued: number
  /** On SIGINT/SIGTERM, how long requests in flight may run before they are cancelled. */
  readonly graceMs: number
  readonly label: string | null
  readonly codeVersion: string
  readonly version: string
  /** Progress lines (stderr). */
  readonly log: (line: string) => void
  /**
   * Disaggregated (`--bind`): the pools' work runs on `moska worker` processes. The server listens
   * at once and answers 503 (`waiting for workers: …`) until every worker id is held, and again
   * (`degraded: … lost`) while one is lost; it stays up through a loss.
   */
  readonly remote?: ServedDeployment
}

/**
 * `moska serve`: one live run per server start. Inserts the run row (mode live), listens at once
 * (so `/health` answers 503 while the decoder compiles and fills memory), starts the engine on the
 * wall clock when the executor is ready, and serves until SIGINT/SIGTERM: then it refuses new
 * requests, lets those in flight finish for `graceMs`, cancels the rest (their streams end with
 * finish_reason "abort"), flushes every row through the writer thread, and marks the run
 * finished (or interrupted when something had to be cancelled). Resolves once all of that is
 * done, so the process exits 0; an engine failure marks the run failed and rejects. With `remote`
 * (`--bind`) it waits for the workers while listening (503 `waiting for workers: …`), and a
 * worker lost past `--rejoin-s` ends the requests in flight (cancelled, naming it) while the
 * server stays up, 503 `degraded: … lost` until a restarted worker takes the id; the run is then
 * marked interrupted with the loss in its error.
 * @example await runServer({ scenario, resolved, live, routing, executor: "priced", host: "127.0.0.1", port: 0, db: "serve.db", maxQueued: 256, graceMs: 10_000, label: null, codeVersion, version, log })
 */
export const runServer = async (input: RunServerInput): Promise<void> => {
  const { scenario, resolved, live } = input
  const t0 = Date.now()
  const db = openTraceDb(input.db)
  const runId = runRecords.insertRun(db, {
    mode: "live", system: scenario.system, scenarioName: scenario.name, scenarioJson: JSON.stringify({ ...scenario, live }),
    seed: scenario.seed, startedAt: new Date(t0).toISOString(), codeVersion: input.codeVersion,
    hardware: JSON.stringify({ ...scenario.hardware, live: { executor: input.executor, serve: true } }), label: input.label,
  })
  const sink = new ThreadedTraceSink({ file: input.db, run: { runId }, level: scenario.trace, windowNs: traceWindowNs(scenario) })
  let serving = null as ServingEngine | null
  let stopping = false
  const tokens = input.executor === "webgpu" ? "decoder" : "seeded"
  const { app, metrics } = buildServer({
    modelName: resolved.model.name, maxContext: live.maxContextTokens, vocab: resolved.model.vocab, version: input.version,
    // no model behind the priced executor: its token ids are seeded bytes, and the fingerprint says so
    fingerprint: `moska-${input.codeVersion}-${tokens === "decoder" ? "webgpu" : "priced-seeded-bytes"}`,
    engine: () => serving, stopping: () => stopping,
    ...(input.remote === undefined ? {} : { unready: () => (input.remote as ServedDeployment).unready() }),
  })

  let signalled: (s: NodeJS.Signals) => void = () => undefined
  const signal = new Promise<NodeJS.Signals>((resolve) => (signalled = resolve))
  let firstSignal: NodeJS.Signals | null = null
  const onSignal = (s: NodeJS.Signals): void => {
    if (firstSignal !== null) process.exit(s === "SIGINT" ? 130 : 143) // a second signal stops at once
    firstSignal = s
    stopping = true
    input.log(`moska: ${s}: refusing new requests, finishing ${serving?.running ?? 0} running and ${serving?.waiting ?? 0} waiting (up to ${input.graceMs / 1000} s)`)
    signalled(s)
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)

  /** Losses no worker replaced in time, for the run's row. */
  const losses: string[] = []
  const wallS = (): number => (Date.now() - t0) / 1000
  const finish = (status: "finished" | "interrupted" | "failed", error: string | null): void => {
    const summary = status === "failed" ? null : summarizeRun(db, runId)
    runRecords.finishRun(db, runId, {
      status, finishedAt: new Date().toISOString(), wallS: wallS(),
      simulatedNs: serving?.clock.now() ?? null, events: serving?.clock.events ?? null, error,
      summaryJson: summary === null ? null : JSON.stringify({ runId, mode: "live", serve: true, ...summary, engine: serving?.facts() ?? {} }),
    })
  }

  const admits = (spec: RequestSpec): string | null =>
    spec.uniqueTokens + spec.outputTokens > live.maxContextTokens
      ? `needs ${spec.uniqueTokens + spec.outputTokens} tokens of context but a live KV slot holds ${live.maxContextTokens} (live.maxContextTokens)`
      : null

  const serve = async (gpu: GpuContext | null): Promise<void> => {
    let decoder: LlamaDecoder | null = null
    if (gpu !== null) {
      const corpusOn = resolved.system !== "private" || resolved.corpus.sharedTokens > 0
      decoder = await LlamaDecoder.create(gpu, {
        dims: input.dims as DecoderDims, slots: live.slots, maxContext: live.maxContextTokens, system: resolved.system, seed: scenario.seed,
        maxBatchTokens: Math.max(live.slots, live.prefillChunkTokens), memoryBudgetBytes: resolved.unique.capacityBytes,
        corpus: corpusOn ? { tokens: resolved.corpus.sharedTokens, chunkTokens: resolved.corpus.chunkTokens, topK: resolved.corpus.topK } : null,
        ...(live.weights === undefined ? {} : { weightsFile: live.weights }),
        ...(live.corpusFile === undefined ? {} : { corpusFile: live.corpusFile }),
      })
      await warmDecoder(decoder, live.slots)
    }
    let pools: ServedPools | null = null
    if (input.remote !== undefined && !stopping) {
      const opening = input.remote.open({ scenario, resolved, kind: input.executor })
      // A signal during the wait ends it: the deployment is closed below, which rejects `opening`.
      opening.catch(() => undefined)
      pools = await Promise.race([opening, signal.then(() => null)])
    }
    if (stopping) {
      decoder?.destroy()
      await app.close() // stopped before serving: nothing is in flight, and a listening socket would hold the process
      return
    }
    const modelOf = poolCostModelOf(resolved)
    let engine: ServingEngine | null = null
    // A worker lost past --rejoin-s: its steps wait for a rejoin, so the requests whose work it held
    // fail now (their clients get the reason, their rows are committed) rather than hang; the
    // others go on, and the server stays up.
    const onLost = (lost: WorkerLost): void => {
      const n = engine?.failLostWorker(lost.workerId, `WorkerLost: ${lost.message}`) ?? 0
      losses.push(`${lost.message}; ${n} request${n === 1 ? "" : "s"} in flight failed`)
      input.log(`moska: ${lost.workerId} is lost and no worker took its place: ${n} request${n === 1 ? "" : "s"} in flight failed; new requests get 503 until a worker takes ${lost.workerId}`)
    }
    const makeExecutor = (clock: WallClock): LiveExecutor =>
      pools !== null
        ? pools.executor(clock, modelOf, onLost, input.executor === "webgpu" ? {
            // the workers' decoder samples; the clients' prompts go to it with their prefill steps
            onToken: (id, index, token) => engine?.recordDecoderToken(id, index, token),
            requestInput: (id) => engine?.requestInput(id),
          } : undefined)
        : decoder === null
        ? new PricedExecutor(clock, modelOf)
        : new WebGpuExecutor({
            clock, decoder, modelOf, layers: resolved.model.layers, qHeads: resolved.model.qHeads, kvHeads: resolved.model.kvHeads,
            vocab: resolved.model.vocab, seed: scenario.seed, prefillChunkTokens: live.prefillChunkTokens, temperature: 0,
            onToken: (id, index, token) => engine?.recordDecoderToken(id, index, token),
            // the client's prompt ids, temperature and seed (a request the server did not submit falls back to seeded ones)
            requestInput: (id) => engine?.requestInput(id),
          }, live.slots)
    engine = new ServingEngine({ scenario, resolved, sink, routing: input.routing, executor: makeExecutor, maxQueued: input.maxQueued, tokens, admits, onWork: (d) => metrics.work(d) })
    const running = engine.run()
    serving = engine
    input.log(`moska: ready: ${resolved.model.name} on the ${input.executor} executor (run ${runId}, db ${input.db})`)
    // Serve until a signal, or until the engine fails (then the error is the run's outcome).
    const failed = await Promise.race([signal.then(() => null), running.then(() => null, (e: unknown) => ({ e }))])
    if (failed !== null) throw failed.e
    const closing = app.close() // stops listening at once; resolves when the open responses have ended
    // A lost worker's steps cannot finish: waiting out the grace for them would only delay the exit.
    const degraded = input.remote?.status().state === "degraded"
    if (degraded) input.log("moska: a worker is lost: requests in flight are cancelled without a grace period")
    await engine.stop(degraded ? 0 : input.graceMs)
    await running
    // Every request has ended; as each response finishes, its keep-alive socket turns idle and is
    // closed here (fastify closes only the sockets idle when close() began), or the last ones would
    // hold the process for the keep-alive timeout.
    const sweep = setInterval(() => app.server.closeIdleConnections(), 20)
    await closing.finally(() => clearInterval(sweep))
  }

  try {
    const addr = await app.listen({ host: input.host, port: input.port })
    input.log(`moska: listening on ${addr} (POST /v1/completions, /v1/chat/completions; GET /v1/models, /health, /metrics)`)
    // with remote workers the device is theirs: this process opens none
    if (input.executor === "webgpu" && input.remote === undefined) await withGpu((gpu) => serve(gpu), process.env.MOSKA_WEBGPU_BACKEND ?? live.backend)
    else await serve(null)
    await sink.close()
    const cancelled = serving?.cancelledAtStopCount ?? 0
    const notes = [...(cancelled > 0 ? [`stopped by ${firstSignal ?? "a signal"}; ${cancelled} requests in flight cancelled`] : []), ...losses]
    // Requests cut short by a lost worker make the run interrupted, as a stop that cancels does.
    const status = notes.length > 0 ? "interrupted" : "finished"
    finish(status, notes.length > 0 ? notes.join("; ") : null)
    input.log(`moska: run ${runId} ${status}: ${serving?.counts.completed ?? 0} requests completed, ${cancelled} cancelled at shutdown; rows in ${input.db}`)
  } catch (e) {
    stopping = true
    await app.close().catch(() => undefined)
    await sink.close().catch(() => undefined)
    finish("failed", e instanceof Error ? e.message : String(e))
    throw e
  } finally {
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
    // the workers hear `bye` and exit 0; a wait for them still under way ends
    await input.remote?.close(firstSignal === null ? "the server stopped" : `the server stopped (${firstSignal})`).catch(() => undefined)
    db.close()
  }
}
