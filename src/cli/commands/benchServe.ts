import { existsSync, statSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import type { Command } from "commander"
import { SERVE_METRICS, type ServeMetric } from "../../bench/serveResult.js"
import type { ServeArrivals, ServeLengths } from "../../bench/serveWorkload.js"
import { benchCommand } from "./bench.js"

interface BenchServeOptions {
  readonly url?: string
  readonly endpoint: string
  readonly model?: string
  readonly trace?: string
  readonly traceFormat: string
  readonly useTraceArrivals?: boolean
  readonly traceTimeScale?: string
  readonly randomInputLen?: string
  readonly randomOutputLen?: string
  readonly randomRangeRatio: string
  readonly requestRate?: string
  readonly burstiness: string
  readonly maxConcurrency?: string
  readonly numPrompts?: string
  readonly percentileMetrics: string
  readonly metricPercentiles: string
  readonly goodput?: string[]
  readonly saveResult?: string
  readonly seed: string
  readonly ignoreEos?: boolean
  readonly requestIdPrefix: string
  readonly json?: boolean
}

/**
 * `moska bench serve --url URL (--trace FILE | --random-input-len N --random-output-len N) ...`:
 * a load generator for any OpenAI-compatible server, measured and reported as `vllm bench serve`
 * does (src/bench/serveBench.ts), with seeded prompts and arrivals (`--seed`). Every flag is
 * checked before a request is sent; an unreachable server is one line, exit 1.
 * @example moska bench serve --url http://127.0.0.1:8000 --random-input-len 64 --random-output-len 16 --num-prompts 200 --request-rate 8 --save-result out.json
 */
export const registerBenchServe = (program: Command): void => {
  benchCommand(program)
    .command("serve")
    .description("load-test an OpenAI-compatible server (moska serve, vLLM, ...) as `vllm bench serve` does: TTFT, TPOT, ITL, E2E latency and throughput, its result fields")
    .option("--url <url>", "the server's base URL, e.g. http://127.0.0.1:8000")
    .option("--endpoint <path>", "/v1/completions (prompts as token ids) or /v1/chat/completions (prompts as text)", "/v1/completions")
    .option("--model <name>", "model to ask for (default: the first of GET /v1/models)")
    .option("--trace <file>", "request lengths (and, with --use-trace-arrivals, arrival times) from a trace: Azure LLM CSV, BurstGPT CSV, Mooncake JSONL")
    .option("--trace-format <f>", "auto, azure, burstgpt or mooncake", "auto")
    .option("--use-trace-arrivals", "send at the trace's own arrival times instead of --request-rate")
    .option("--trace-time-scale <x>", "with --use-trace-arrivals: multiply the trace's gaps by x (0.5 = twice as fast)")
    .option("--random-input-len <n>", "random prompts of n tokens")
    .option("--random-output-len <n>", "ask for n output tokens")
    .option("--random-range-ratio <r>", "random lengths uniform in len·[1 − r, 1 + r]", "0")
    .option("--request-rate <r>", "requests per second (inf: all at once)", undefined)
    .option("--burstiness <b>", "gamma shape of the gaps: 1 is Poisson, lower is burstier", "1")
    .option("--max-concurrency <n>", "at most n requests in flight")
    .option("--num-prompts <n>", "requests to send (default: every row of --trace, or 1000)")
    .option("--percentile-metrics <list>", `comma-separated, of ${SERVE_METRICS.join(", ")}`, "ttft,tpot,itl")
    .option("--metric-percentiles <list>", "comma-separated percentiles, e.g. 50,90,99", "99")
    .option("--goodput <slo...>", "METRIC:MS bounds (ttft, tpot, e2el) a request must meet to count in request_goodput")
    .option("--save-result <file>", "write the result JSON (vLLM's field names) to this file")
    .option("--seed <s>", "seed of the prompts, random lengths and arrival gaps", "0")
    .option("--ignore-eos", "send ignore_eos: true (vLLM's extension), so servers generate exactly the lengths asked")
    .option("--request-id-prefix <p>", "x-request-id of request i is <p><i>", "bench-serve-")
    .option("--json", "print the result JSON on stdout (the table goes to stderr)")
    .action(async (opts: BenchServeOptions) => {
      // loaded here, not at start-up
      const [{ goodputOf, intOf, listOf, positiveOf, readTrace, usage }, { makeRng }, { serveWorkload }] = await Promise.all([
        import("../benchServeOptions.js"), import("../../core/rng.js"), import("../../bench/serveWorkload.js"),
      ])
      if (opts.url === undefined) throw usage("bench serve needs --url (the server's base URL, e.g. http://127.0.0.1:8000)")
      let base: URL
      try {
        base = new URL(opts.url)
      } catch {
        throw usage(`--url is not a URL (got "${opts.url}")`)
      }
      if (base.protocol !== "http:" && base.protocol !== "https:") throw usage(`--url must be http:// or https:// (got "${opts.url}")`)
      const baseUrl = opts.url.replace(/\/+$/, "").replace(/\/v1$/, "")
      if (!/^\/v1\/(chat\/)?completions$/.test(opts.endpoint)) throw usage(`--endpoint must be /v1/completions or /v1/chat/completions (got "${opts.endpoint}")`)

      const random = opts.randomInputLen !== undefined || opts.randomOutputLen !== undefined
      if (opts.trace !== undefined && random) throw usage("bench serve takes --trace or --random-input-len/--random-output-len, not both")
      if (opts.trace === undefined && !random) throw usage("bench serve needs --trace FILE or --random-input-len N --random-output-len N")
      if (random && (opts.randomInputLen === undefined || opts.randomOutputLen === undefined)) throw usage("--random-input-len and --random-output-len go together")
      if (opts.useTraceArrivals === true && opts.trace === undefined) throw usage("--use-trace-arrivals needs --trace")
      if (opts.useTraceArrivals === true && opts.requestRate !== undefined) throw usage("--use-trace-arrivals and --request-rate exclude each other")
      if (opts.traceTimeScale !== undefined && opts.useTraceArrivals !== true) throw usage("--trace-time-scale applies with --use-trace-arrivals only")
      const rate = opts.requestRate === undefined || opts.requestRate === "inf" ? Number.POSITIVE_INFINITY : positiveOf("--request-rate", opts.requestRate)
      const burstiness = positiveOf("--burstiness", opts.burstiness)
      const maxConcurrency = opts.maxConcurrency === undefined ? null : intOf("--max-concurrency", opts.maxConcurrency, 1)
      const numPrompts = opts.numPrompts === undefined ? undefined : intOf("--num-prompts", opts.numPrompts, 1)
      const metrics = listOf(opts.percentileMetrics)
      const badMetric = metrics.find((m) => !(SERVE_METRICS as readonly string[]).includes(m))
      if (badMetric !== undefined || metrics.length === 0) throw usage(`--percentile-metrics: unknown metric "${badMetric ?? ""}" (use ${SERVE_METRICS.join(", ")})`)
      const percentiles = listOf(opts.metricPercentiles).map((p) => {
        const n = Number(p)
        if (!Number.isFinite(n) || n <= 0 || n > 100) throw usage(`--metric-percentiles: each must be a number in (0, 100] (got "${p}")`)
        return n
      })
      if (percentiles.length === 0) throw usage("--metric-percentiles needs at least one percentile")
      const goodput = goodputOf(opts.goodput)
      const seed = Number(opts.seed)
      if (!/^-?\d+$/.test(opts.seed) || !Number.isSafeInteger(seed)) throw usage(`--seed must be an integer (got "${opts.seed}")`)
      const rangeRatio = Number(opts.randomRangeRatio)
      if (!Number.isFinite(rangeRatio) || rangeRatio < 0 || rangeRatio >= 1) throw usage(`--random-range-ratio must be in [0, 1) (got "${opts.randomRangeRatio}")`)
      const timeScale = opts.traceTimeScale === undefined ? 1 : positiveOf("--trace-time-scale", opts.traceTimeScale)
      if (opts.saveResult !== undefined) {
        const dir = dirname(opts.saveResult)
        if (!existsSync(dir) || !statSync(dir).isDirectory()) throw usage(`--save-result: no such directory ${dir}`)
      }

      const lengths: ServeLengths = opts.trace !== undefined
        ? { kind: "trace", specs: readTrace(opts.trace, opts.traceFormat), n: numPrompts ?? Number.POSITIVE_INFINITY }
        : {
            kind: "random", rangeRatio, n: numPrompts ?? 1000,
            inputLen: intOf("--random-input-len", opts.randomInputLen as string, 1), outputLen: intOf("--random-output-len", opts.randomOutputLen as string, 1),
          }
      const arrivals: ServeArrivals = opts.useTraceArrivals === true ? { kind: "trace", timeScale } : { kind: "rate", rate, burstiness }
      const { requests, arrivalsMs } = serveWorkload(lengths, arrivals, makeRng(seed))

      const { runServeBench } = await import("../../bench/serveBench.js")
      const { serveTable } = await import("../../bench/serveTable.js")
      const { result } = await runServeBench({
        baseUrl, endpoint: opts.endpoint, ...(opts.model === undefined ? {} : { model: opts.model }), requests, arrivalsMs, maxConcurrency,
        ignoreEos: opts.ignoreEos === true, metrics: metrics as ServeMetric[], percentiles, goodput, requestIdPrefix: opts.requestIdPrefix,
        echo: {
          base_url: baseUrl, endpoint: opts.endpoint, dataset: opts.trace ?? "random", seed,
          request_rate: Number.isFinite(rate) && opts.useTraceArrivals !== true ? rate : opts.useTraceArrivals === true ? "trace" : "inf",
          burstiness, ...(opts.useTraceArrivals === true ? { trace_time_scale: timeScale } : {}), goodput,
        },
      })
      const table = serveTable(result, metrics as ServeMetric[], percentiles)
      if (opts.saveResult !== undefined) writeFileSync(opts.saveResult, `${JSON.stringify(result)}\n`)
      if (opts.json === true) {
        process.stdout.write(`${JSON.stringify(result)}\n`)
        process.stderr.write(`${table}\n`)
      } else process.stdout.write(`${table}\n`)
    })
}
