import { readFileSync } from "node:fs"
import type { Command } from "commander"
// The server (fastify, prom-client) is imported when `serve` runs: every command registers at start-up.
import * as S from "effect/Schema"
import { UsageError } from "../../core/errors.js"
import { makeRng } from "../../core/rng.js"
import { Live, type Scenario } from "../../core/scenario.js"
import { checkCorpusFile } from "../../gpu/decoder/corpusKv.js"
import { checkDecoderDims } from "../../gpu/decoder/decoderDims.js"
import { checkWeightsFile } from "../../gpu/decoder/decoderWeights.js"
import { openSafetensors, type SafetensorsFile } from "../../gpu/decoder/safetensors.js"
import { resolveScenario } from "../../sim/resolve.js"
import { makeRouting } from "../../sim/routing/makeRouting.js"
import { checkDbPath } from "../checkDbPath.js"
import { codeVersion, PACKAGE_ROOT } from "../codeVersion.js"
import { collect } from "../collect.js"
import { loadScenarioFile } from "../loadScenarioFile.js"
import { prepareHardware } from "../prepareHardware.js"
import { seedOverride } from "../runAndReport.js"
import { decoderDimsOf, prepareLiveScenario } from "../prepareLiveScenario.js"

interface ServeOptions {
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

/** A safetensors file's header against what the decoder needs, before the port is bound or a device opened: a wrong file is one line, exit 2. */
const checkFile = (file: string | undefined, check: (st: SafetensorsFile) => unknown): void => {
  if (file === undefined) return
  const st = openSafetensors(file)
  try {
    check(st)
  } finally {
    st.close()
  }
}

const intOption = (name: string, value: string, min: number, max: number): number => {
  const n = Number(value)
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) throw usage(`${name} must be an integer from ${min} to ${max} (got "${value}")`)
  return n
}

/**
 * `moska serve SCENARIO [--host 127.0.0.1] [--port 8000] [--db FILE] [--executor webgpu|priced] [--max-queued N] [--grace-s S]`:
 * an OpenAI-compatible server (vLLM's endpoints, SSE, errors and metric names) on the live engine
 * of the scenario's model, hardware and policy; its workload section is ignored (requests come
 * over HTTP). One live run per server start in the trace database. Binds to loopback by default;
 * `--port 0` picks a free port and the bound address is printed on stderr.
 * @example moska serve scenarios/live/tiny.yaml --executor priced --port 0
 */
export const registerServe = (program: Command): void => {
  program
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
    .action(async (file: string, opts: ServeOptions) => {
      const port = intOption("--port", opts.port, 0, 65_535)
      const maxQueued = intOption("--max-queued", opts.maxQueued, 0, 1_000_000)
      const graceS = intOption("--grace-s", opts.graceS, 0, 3_600)
      const input = loadScenarioFile(file, [...opts.set, ...seedOverride(opts.seed)])
      checkDbPath(opts.db)
      prepareHardware(input, file)
      const { scenario, resolved, live, kind } = prepareLiveScenario(input, opts.executor, "serve")
      if (kind === "webgpu") {
        checkFile(live.weights, (st) => checkWeightsFile(st, decoderDimsOf(resolved)))
        checkFile(live.corpusFile, (st) => checkCorpusFile(st, decoderDimsOf(resolved), resolved.corpus.sharedTokens))
      }
      const pkg = JSON.parse(readFileSync(`${PACKAGE_ROOT}package.json`, "utf8")) as { version?: string }
      await (await import("../../live/server/runServer.js")).runServer({
        scenario, resolved, live, executor: kind, host: opts.host, port, db: opts.db, maxQueued, graceMs: graceS * 1000,
        routing: makeRouting(resolved.corpus, makeRng(scenario.seed).split("router")),
        ...(kind === "webgpu" ? { dims: decoderDimsOf(resolved) } : {}),
        label: opts.label ?? null, codeVersion: codeVersion(), version: pkg.version ?? "unknown",
        log: (line) => process.stderr.write(`${line}\n`),
      })
    })
}
