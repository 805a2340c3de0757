import type { Command } from "commander"
// Start-up stays light: every command registers when `moska` starts, so the server (fastify,
// prom-client), effect Schema, the GPU decoder and ZeroMQ are imported only when `serve` runs.
import { UsageError } from "../../core/errors.js"
import { intFlag } from "../../core/intFlag.js"
import { disaggOptions, type DisaggFlags } from "../../live/disagg/disaggOptions.js"
import type { SafetensorsFile } from "../../gpu/decoder/safetensors.js"
import { collect } from "../collect.js"

interface ServeOptions extends DisaggFlags {
  readonly host: string
  readonly port: string
  readonly db: string
  readonly executor?: string
  readonly maxQueued: string
  readonly graceS: string
  readonly set: string[]
  readonly seed?: string
  readonly label?: string
}

const usage = (message: string): UsageError => new UsageError({ message })

/**
 * `moska serve SCENARIO [--host 127.0.0.1] [--port 8000] [--db FILE] [--executor webgpu|priced] [--max-queued N] [--grace-s S] [--bind ADDR ...]`:
 * an OpenAI-compatible server (vLLM's endpoints, SSE, errors and metric names) on the live engine
 * of the scenario's model, hardware and policy; its workload section is ignored (requests come
 * over HTTP). One live run per server start in the trace database. Binds to loopback by default;
 * `--port 0` picks a free port and the bound address is printed on stderr. With `--bind` it is the
 * coordinator of a disaggregated deployment: the pools' work runs on `moska worker` processes
 * (priced, or webgpu with `--links real`: the unique worker's decoder samples the clients' tokens),
 * and /health says 503 until they are all there and while one is lost.
 * @example moska serve scenarios/live/tiny.yaml --executor priced --port 0
 */
export const registerServe = (program: Command): void => {
  const cmd = program
    .command("serve")
    .description("serve the scenario's model over an OpenAI-compatible HTTP API (vLLM's shapes and /metrics) on the live engine; one run per start")
    .argument("<scenario>", "scenario YAML file (its workload is ignored: requests come over HTTP)")
    .option("--host <host>", "address to bind", "127.0.0.1")
    .option("--port <n>", "port to bind (0: any free port; the address is printed)", "8000")
    .option("--db <file>", "trace database", "moska.db")
    .option("--executor <kind>", "webgpu (a real decoder on the GPU) or priced (the cost model paces GPU time; token ids are seeded bytes); default: the scenario's live.executor")
    .option("--max-queued <n>", "requests that may wait for admission; past it, 503 with Retry-After", "256")
    .option("--grace-s <s>", "on SIGINT/SIGTERM, seconds requests in flight may run before they are cancelled", "10")
    .option("--seed <n>", "root seed (overrides the scenario's seed)")
    .option("--set <path=value>", "override a scenario field, value read as YAML (repeatable)", collect, [])
    .option("--label <text>", "label stored with the run")
  disaggOptions.register(cmd, "before the requests in flight are cancelled (the server stays up, degraded, until one does)")
    .action(async (file: string, opts: ServeOptions) => {
      const [
        { readFileSync }, { makeRng }, { checkCorpusFile }, { checkWeightsFile }, { openSafetensors }, { makeRouting },
        { checkDbPath }, { codeVersion, PACKAGE_ROOT }, { loadScenarioFile }, { prepareHardware }, { seedOverride }, { decoderDimsOf, prepareLiveScenario },
      ] = await Promise.all([
        import("node:fs"), import("../../core/rng.js"), import("../../gpu/decoder/corpusKv.js"), import("../../gpu/decoder/decoderWeights.js"),
        import("../../gpu/decoder/safetensors.js"), import("../../sim/routing/makeRouting.js"), import("../checkDbPath.js"), import("../codeVersion.js"),
        import("../loadScenarioFile.js"), import("../prepareHardware.js"), import("../runAndReport.js"), import("../prepareLiveScenario.js"),
      ])
      /** A safetensors file's header against what the decoder needs, before the port is bound or a device opened: a wrong file is one line, exit 2. */
      const checkFile = (path: string | undefined, check: (st: SafetensorsFile) => unknown): void => {
        if (path === undefined) return
        const st = openSafetensors(path)
        try {
          check(st)
        } finally {
          st.close()
        }
      }
      const port = intFlag("--port", opts.port, 0, 65_535)
      const maxQueued = intFlag("--max-queued", opts.maxQueued, 0, 1_000_000)
      const graceS = intFlag("--grace-s", opts.graceS, 0, 3_600)
      const log = (line: string): void => void process.stderr.write(`${line}\n`)
      const bind = disaggOptions.parse(opts, log)
      const input = loadScenarioFile(file, [...opts.set, ...seedOverride(opts.seed)])
      checkDbPath(opts.db)
      prepareHardware(input, file)
      const { scenario, resolved, live, kind } = prepareLiveScenario(input, opts.executor, "serve", bind !== undefined)
      if (bind !== undefined && kind === "webgpu") {
        const bad = (await import("../../live/disagg/webGpuDeploymentProblem.js")).webGpuDeploymentProblem(resolved, bind.realLinks, "serve")
        if (bad !== undefined) throw usage(bad)
      }
      if (kind === "webgpu") {
        checkFile(live.weights, (st) => checkWeightsFile(st, decoderDimsOf(resolved)))
        checkFile(live.corpusFile, (st) => checkCorpusFile(st, decoderDimsOf(resolved), resolved.corpus.sharedTokens))
      }
      const pkg = JSON.parse(readFileSync(`${PACKAGE_ROOT}package.json`, "utf8")) as { version?: string }
      const remote = bind === undefined ? undefined : (await import("../../live/disagg/servedDeployment.js")).servedDeployment(bind)
      await (await import("../../live/server/runServer.js")).runServer({
        scenario, resolved, live, executor: kind, host: opts.host, port, db: opts.db, maxQueued, graceMs: graceS * 1000,
        routing: makeRouting(resolved.corpus, makeRng(scenario.seed).split("router")),
        ...(kind === "webgpu" ? { dims: decoderDimsOf(resolved) } : {}),
        ...(remote === undefined ? {} : { remote }),
        label: opts.label ?? null, codeVersion: codeVersion(), version: pkg.version ?? "unknown", log,
      })
    })
}
