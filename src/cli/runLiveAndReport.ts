import { UsageError } from "../core/errors.js"
import type { Scenario } from "../core/scenario.js"
import { makeRng } from "../core/rng.js"
import { openTraceDb } from "../db/openTraceDb.js"
import { runRecords } from "../db/runRecords.js"
import { summarizeRun } from "../db/summarizeRun.js"
import { poolCostModelOf } from "../engine/poolCostModelOf.js"
import { PricedExecutor } from "../engine/pricedExecutor.js"
import type { Resolved } from "../engine/resolved.js"
import { withGpu, type GpuContext } from "../gpu/device.js"
import { checkCorpusFile } from "../gpu/decoder/corpusKv.js"
import { checkWeightsFile } from "../gpu/decoder/decoderWeights.js"
import { LlamaDecoder } from "../gpu/decoder/llamaDecoder.js"
import { openSafetensors, type SafetensorsFile } from "../gpu/decoder/safetensors.js"
import { runLive, LiveInterrupted, type LiveExecutor, type LiveResult } from "../live/runLive.js"
import { ThreadedTraceSink } from "../live/threadedTraceSink.js"
import type { WallClock } from "../live/wallClock.js"
import { TokenLog } from "../live/tokenLog.js"
import { warmDecoder } from "../live/warmDecoder.js"
import { WebGpuExecutor } from "../live/webGpuExecutor.js"
import { makeRouting } from "../sim/routing/makeRouting.js"
import { makeWorkload } from "../sim/workload/makeWorkload.js"
import { codeVersion } from "./codeVersion.js"
import type { RunReport } from "./executeRun.js"
import { loadTraceRequests } from "./loadTraceRequests.js"
import { decoderDimsOf, prepareLiveScenario, type ExecutorKind } from "./prepareLiveScenario.js"
import { prepareHardware } from "./prepareHardware.js"
import { humanSummary, type RunOptions } from "./runAndReport.js"
import type { RemoteDeployment } from "../live/disagg/remoteDeployment.js"
import { traceWindowNs } from "../core/traceWindowNs.js"

export interface LiveReport extends RunReport {
  readonly live: {
    readonly executor: ExecutorKind
    readonly lagNs: LiveResult["lag"]
    readonly facts: Readonly<Record<string, number | string | boolean>>
  }
}

const usage = (message: string): UsageError => new UsageError({ message })

const checkFile = (file: string | undefined, check: (st: SafetensorsFile) => unknown): void => {
  if (file === undefined) return
  const st = openSafetensors(file)
  try {
    check(st)
  } finally {
    st.close()
  }
}

/**
 * The body of `moska live` and `moska replay --live`: validates everything before a device or
 * the database is touched, opens the device and fills weights and corpus (webgpu), inserts the run
 * row (mode live), runs the graph on the wall clock with rows written by a thread, then reads the
 * summary back from the same views as sim. SIGINT/SIGTERM stop the run between callbacks: rows so
 * far are kept and the run is marked interrupted (exit 130/143); a failure marks it failed.
 * @example await runLiveAndReport(scenario, { set: [], db: "live.db", json: true, source: "scenarios/live/tiny.yaml" })
 */
export const runLiveAndReport = async (input: Scenario, opts: RunOptions & { readonly source: string; readonly executor?: string; readonly remote?: RemoteDeployment; readonly tokensOut?: string }): Promise<void> => {
  const traceRequests = loadTraceRequests(input)
  prepareHardware(input, opts.source)
  const { scenario, resolved, live, kind } = prepareLiveScenario(input, opts.executor, "live", opts.remote !== undefined) // exit 2, nothing written
  const maxContext = live.maxContextTokens
  // With --bind the workers open the devices (a webgpu worker each); this process opens none.
  const localGpu = kind === "webgpu" && opts.remote === undefined
  if (opts.tokensOut !== undefined && !localGpu) throw usage("--tokens-out needs the webgpu executor in this process (with --bind, give it to the unique workers)")
  const tokenLog = opts.tokensOut === undefined ? undefined : new TokenLog()
  if (kind === "webgpu") {
    // Files are checked before a device is opened: a wrong shape is one line, with no GPU set-up noise.
    checkFile(live.weights, (st) => checkWeightsFile(st, decoderDimsOf(resolved)))
    checkFile(live.corpusFile, (st) => checkCorpusFile(st, decoderDimsOf(resolved), resolved.corpus.sharedTokens))
  }
  const rng = makeRng(scenario.seed)
  const source = makeWorkload(scenario.workload, rng.split("workload"), traceRequests)
  const routing = makeRouting(resolved.corpus, rng.split("router"))
  const modelOf = poolCostModelOf(resolved)
  // Disaggregated (moska live --bind): wait for the worker processes before anything is written.
  const remote = opts.remote === undefined ? null : await opts.remote.open({ scenario, resolved, kind })

  const body = async (gpu: GpuContext | null): Promise<void> => {
    let decoder: LlamaDecoder | null = null
    let warmNs = 0
    if (gpu !== null) {
      const corpusOn = resolved.system !== "private" || resolved.corpus.sharedTokens > 0
      decoder = await LlamaDecoder.create(gpu, {
        dims: decoderDimsOf(resolved), slots: live.slots, maxContext, system: resolved.system, seed: scenario.seed,
        maxBatchTokens: Math.max(live.slots, live.prefillChunkTokens), memoryBudgetBytes: resolved.unique.capacityBytes,
        corpus: corpusOn ? { tokens: resolved.corpus.sharedTokens, chunkTokens: resolved.corpus.chunkTokens, topK: resolved.corpus.topK } : null,
        ...(live.weights === undefined ? {} : { weightsFile: live.weights }),
        ...(live.corpusFile === undefined ? {} : { corpusFile: live.corpusFile }),
      })
      warmNs = await warmDecoder(decoder, live.slots)
    }
    const t0 = Date.now()
    const db = openTraceDb(opts.db)
    const runId = runRecords.insertRun(db, {
      mode: "live", system: scenario.system, scenarioName: scenario.name, scenarioJson: JSON.stringify({ ...scenario, live }),
      seed: scenario.seed, startedAt: new Date(t0).toISOString(), codeVersion: codeVersion(),
      hardware: JSON.stringify({ ...scenario.hardware, live: { executor: kind, device: gpu?.name ?? null } }), label: opts.label ?? null,
    })
    const sink = new ThreadedTraceSink({ file: opts.db, run: { runId }, level: scenario.trace, windowNs: traceWindowNs(scenario) })
    let signal: string | null = null
    const onSignal = (s: NodeJS.Signals): void => {
      if (signal !== null) {
        // a second signal stops at once: the run's row says so, since nothing after this can
        runRecords.interruptOwn(db, new Date().toISOString(), `stopped at once by a second ${s}; rows not yet committed (the last ~50 ms) are lost`)
        process.exit(s === "SIGINT" ? 130 : 143)
      }
      signal = s
    }
    process.on("SIGINT", onSignal)
    process.on("SIGTERM", onSignal)
    const wallS = (): number => (Date.now() - t0) / 1000
    const makeExecutor = (clock: WallClock): LiveExecutor =>
      remote !== null
        ? remote.executor(clock, modelOf)
        : decoder === null
        ? new PricedExecutor(clock, modelOf)
        : new WebGpuExecutor({
            clock, decoder, modelOf, layers: resolved.model.layers, qHeads: resolved.model.qHeads, kvHeads: resolved.model.kvHeads,
            vocab: resolved.model.vocab, seed: scenario.seed, prefillChunkTokens: live.prefillChunkTokens, temperature: 0, ...(tokenLog === undefined ? {} : { onToken: tokenLog.add }),
          }, live.slots)
    try {
      let result: LiveResult
      try {
        result = await runLive({
          scenario, resolved, sink, source, routing, executor: makeExecutor, interrupted: () => signal,
          ...(kind !== "webgpu" ? {} : { admits: (spec) => spec.uniqueTokens + spec.outputTokens > maxContext ? `needs ${spec.uniqueTokens + spec.outputTokens} tokens of context but a live KV slot holds ${maxContext} (live.maxContextTokens)` : null }),
        })
      } catch (e) {
        await sink.close().catch(() => undefined)
        runRecords.finishRun(db, runId, {
          status: e instanceof LiveInterrupted ? "interrupted" : "failed", finishedAt: new Date().toISOString(), wallS: wallS(),
          error: e instanceof Error ? e.message : String(e),
        })
        if (e instanceof LiveInterrupted) {
          process.stderr.write(`moska: run ${runId} interrupted by ${e.signal}; its rows so far are in ${opts.db}\n`)
          process.exitCode = e.signal === "SIGINT" ? 130 : 143
          return
        }
        throw e
      }
      await sink.close()
      if (tokenLog !== undefined && opts.tokensOut !== undefined) tokenLog.write(opts.tokensOut)
      const summary = summarizeRun(db, runId)
      const report: LiveReport = {
        runId, mode: "live", system: scenario.system, scenario: scenario.name, seed: scenario.seed, ...summary,
        simulatedS: result.elapsedNs / 1e9, wallS: wallS(), events: result.events, iterations: result.iterations,
        engine: { requests: result.requests, outputTokens: result.outputTokens, config: result.config },
        live: { executor: kind, lagNs: result.lag, facts: { device: gpu?.name ?? "none", warmUpS: warmNs / 1e9 } },
      }
      runRecords.finishRun(db, runId, {
        status: "finished", finishedAt: new Date().toISOString(), wallS: report.wallS, simulatedNs: result.elapsedNs,
        events: result.events, summaryJson: JSON.stringify({ ...report, wallS: undefined }),
      })
      if (opts.json === true) process.stdout.write(`${JSON.stringify(report)}\n`)
      else {
        process.stderr.write(`${humanSummary(report, opts.db).replace(" s simulated in ", " s live (wall clock) in ")}\n`)
        process.stderr.write(`  live       executor ${kind}, clock lag p50 ${(result.lag.p50Ns / 1e6).toFixed(3)} ms, p99 ${(result.lag.p99Ns / 1e6).toFixed(3)} ms, max ${(result.lag.maxNs / 1e6).toFixed(3)} ms\n`)
      }
    } finally {
      process.off("SIGINT", onSignal)
      process.off("SIGTERM", onSignal)
      db.close()
    }
  }
  let ok = false
  try {
    if (localGpu) await withGpu((gpu) => body(gpu), process.env.MOSKA_WEBGPU_BACKEND ?? live.backend)
    else await body(null)
    ok = true
  } finally {
    await remote?.close(ok ? "run finished" : "run failed")
  }
}
