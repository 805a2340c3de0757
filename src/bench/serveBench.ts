import { serveResult, type Goodput, type ServeMetric } from "./serveResult.js"
import { sendServeRequest, type ServeBenchOutcome, type ServeBenchRequest } from "./serveRequest.js"

export interface ServeBenchOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:8000`. */
  readonly baseUrl: string
  /** `/v1/completions` or `/v1/chat/completions`. */
  readonly endpoint: string
  /** The model to ask for; default: the first of the server's `GET /v1/models`. */
  readonly model?: string
  readonly requests: readonly ServeBenchRequest[]
  /** Send offset of each request, ms from the start. */
  readonly arrivalsMs: readonly number[]
  /** At most this many requests in flight (a request due while all are busy waits, and its clock starts when it is sent); null: no limit. */
  readonly maxConcurrency: number | null
  readonly ignoreEos: boolean
  readonly metrics: readonly ServeMetric[]
  readonly percentiles: readonly number[]
  readonly goodput: Goodput | null
  /** `x-request-id` of request i is `${requestIdPrefix}${i}`. */
  readonly requestIdPrefix: string
  /** The run's settings, echoed into the result as vLLM does. */
  readonly echo: Readonly<Record<string, unknown>>
}

export interface ServeBenchReport {
  /** vLLM's result JSON: run settings, summary fields, then the per-request lists. */
  readonly result: Record<string, unknown>
  readonly outcomes: readonly ServeBenchOutcome[]
}

/** The server could not be reached, or named no model: one line, before any request is sent. */
export class ServeUnreachable extends Error {}

const modelsOf = async (baseUrl: string): Promise<string[]> => {
  let res: Response
  try {
    res = await fetch(`${baseUrl}/v1/models`)
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause
    throw new ServeUnreachable(`cannot reach ${baseUrl} (${cause?.code ?? cause?.message ?? String(e)}); is the server running?`)
  }
  if (!res.ok) throw new ServeUnreachable(`${baseUrl}/v1/models answered HTTP ${res.status}; is this an OpenAI-compatible server?`)
  const j = (await res.json().catch(() => ({}))) as { data?: Array<{ id?: unknown }> }
  return (j.data ?? []).map((m) => m.id).filter((id): id is string => typeof id === "string")
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Runs a serving benchmark the way `vllm bench serve` does: checks the server (`GET /v1/models`,
 * which also names the model when none is given), sends each request at its offset from one start
 * instant (timers aimed at absolute times, so a late timer does not push the later ones back), at
 * most `maxConcurrency` at once, streams every response, and summarises over the wall time from the
 * start to the last response (src/bench/serveResult.ts has the definitions).
 * @example const { result } = await runServeBench({ baseUrl: "http://127.0.0.1:8000", endpoint: "/v1/completions", requests, arrivalsMs, maxConcurrency: null, ignoreEos: true, metrics: ["ttft", "tpot", "itl"], percentiles: [99], goodput: null, requestIdPrefix: "bench-", echo: {} })
 */
export const runServeBench = async (o: ServeBenchOptions): Promise<ServeBenchReport> => {
  const models = await modelsOf(o.baseUrl)
  const model = o.model ?? models[0]
  if (model === undefined) throw new ServeUnreachable(`${o.baseUrl}/v1/models lists no model; pass --model`)
  const chat = o.endpoint.endsWith("/chat/completions")
  const url = `${o.baseUrl}${o.endpoint}`

  let free = o.maxConcurrency ?? Number.POSITIVE_INFINITY
  const queued: Array<() => void> = []
  const acquire = (): Promise<void> => {
    if (free > 0) {
      free--
      return Promise.resolve()
    }
    return new Promise((resolve) => queued.push(resolve))
  }
  const release = (): void => {
    const next = queued.shift()
    if (next !== undefined) next()
    else free++
  }

  const outcomes: Array<Promise<ServeBenchOutcome>> = []
  const start = performance.now()
  for (let i = 0; i < o.requests.length; i++) {
    const due = start + (o.arrivalsMs[i] ?? 0)
    const wait = due - performance.now()
    if (wait > 0) await sleep(wait)
    const req = o.requests[i] as ServeBenchRequest
    outcomes.push(acquire().then(async () => {
      try {
        return await sendServeRequest({ url, chat, model, ignoreEos: o.ignoreEos, requestId: `${o.requestIdPrefix}${i}` }, req)
      } finally {
        release()
      }
    }))
  }
  const done = await Promise.all(outcomes)
  const durationS = (performance.now() - start) / 1000
  const summary = serveResult({ outcomes: done, durationS, metrics: o.metrics, percentiles: o.percentiles, goodput: o.goodput })
  return {
    outcomes: done,
    result: {
      date: new Date().toISOString(),
      endpoint_type: chat ? "openai-chat" : "openai",
      model_id: model,
      num_prompts: o.requests.length,
      max_concurrency: o.maxConcurrency,
      ...o.echo,
      ...summary,
      input_lens: done.map((d) => d.promptLen),
      output_lens: done.map((d) => (d.success ? d.outputTokens : 0)),
      ttfts: done.map((d) => d.ttftS),
      itls: done.map((d) => d.itlS),
      errors: done.map((d) => d.error),
    },
  }
}
