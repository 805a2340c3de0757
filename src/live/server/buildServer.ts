// Fastify (5.x, Node ≥ 20): a well-kept HTTP server with JSON-Schema body validation built in (ajv),
// so the schemas in openAiSchemas.ts are the one source of what a body may hold, and bad bodies
// become 400s before a handler runs; its hooks, `hijack()` for SSE and graceful `close()` (refuse new
// requests, wait for those in flight) are what a serving front end needs. Its per-request overhead is
// among the lowest of Node frameworks, which matters when one event loop also drives the live clock.
import { randomUUID } from "node:crypto"
import type { ServerResponse } from "node:http"
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify"
import type { RequestRow } from "../../core/trace.js"
import { byteTokenizer } from "./byteTokenizer.js"
import { openAiError } from "./openAiError.js"
import { openApiDocument, type ServedRoute } from "./openApiDocument.js"
import { openAiSchemas, type ChatBody, type CompletionBody } from "./openAiSchemas.js"
import { ServeMetrics, finishReasonOf } from "./serveMetrics.js"
import type { ServingEngine } from "./servingEngine.js"

export interface ServerOptions {
  /** The served model's id (`/v1/models`, the `model` field of responses). */
  readonly modelName: string
  /** Prompt plus output tokens a request may have (vLLM's max_model_len): more is a 400. */
  readonly maxContext: number
  readonly vocab: number
  /** `GET /version`. */
  readonly version: string
  /** `system_fingerprint` of every response: code version and where token ids come from. */
  readonly fingerprint: string
  /** The engine once the executor is ready (kernels compiled, memory filled), else null: /health is 503 until then. */
  readonly engine: () => ServingEngine | null
  /** Set once the server is shutting down: new generation requests get 503. */
  readonly stopping: () => boolean
  /**
   * Why the server cannot take requests although it is not loading or stopping, or null: a
   * disaggregated deployment waiting for its workers (`waiting for workers: unique-0, shared-0`)
   * or degraded (`degraded: shared-0 lost`). /health and new requests answer 503 with it.
   */
  readonly unready?: () => string | null
}

/** A request's prompt (token ids) and the output it asks for, or the 400 to answer. */
type Sized = { readonly promptIds: readonly number[]; readonly promptTokens: number; readonly maxTokens: number } | { readonly error: string }

const MAX_REQUEST_ID_CHARS = 256
/** OpenAI's and vLLM's default when a body gives no temperature (the webgpu decoder samples with it; 0 is greedy). */
const DEFAULT_TEMPERATURE = 1

/** The chat prompt as the byte tokenizer sees it: one `<|role|>` block per message, then the assistant's turn. */
const chatPrompt = (body: ChatBody): string =>
  body.messages.map((m) => {
    const content = typeof m.content === "string" ? m.content : (m.content ?? []).map((p) => p.text).join("")
    return `<|${m.role}|>\n${content}\n`
  }).join("") + "<|assistant|>\n"

const sized = (promptIds: readonly number[], asked: number | null | undefined, fallback: number, maxContext: number): Sized => {
  const promptTokens = promptIds.length
  if (promptTokens < 1) return { error: "the prompt must have at least one token" }
  const maxTokens = asked ?? fallback
  if (maxTokens < 1) return { error: `This model's maximum context length is ${maxContext} tokens and the prompt has ${promptTokens}: no room for output` }
  if (promptTokens + maxTokens > maxContext) {
    return { error: `This model's maximum context length is ${maxContext} tokens. However, you requested ${promptTokens + maxTokens} tokens (${promptTokens} in the prompt, ${maxTokens} for the completion). Please reduce the prompt or the completion length.` }
  }
  return { promptIds, promptTokens, maxTokens }
}

const sse = (raw: ServerResponse, data: unknown): void => {
  if (!raw.destroyed) raw.write(`data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`)
}

/**
 * The OpenAI-compatible HTTP front end of `moska serve`, in the shapes vLLM serves: completions and
 * chat completions (SSE streaming with one chunk per token, `finish_reason` on the last token's
 * chunk, an optional usage chunk, then `[DONE]`; or one JSON body), `/v1/models`, `/health`,
 * `/version` and Prometheus `/metrics`. Errors use vLLM's body; a full admission queue is a 503
 * with `Retry-After`; a client that disconnects cancels its request. It never listens by itself:
 * the caller does (`app.listen`), so tests can use `app.inject` or a real socket alike.
 * @example const { app } = buildServer({ modelName, maxContext: 128, vocab: 256, version, fingerprint, engine: () => serving, stopping: () => false }); await app.listen({ host: "127.0.0.1", port: 0 })
 */
export const buildServer = (o: ServerOptions): { readonly app: FastifyInstance; readonly metrics: ServeMetrics } => {
  const app = Fastify({
    logger: false,
    bodyLimit: 1 << 20,
    // wrong types are errors, not coerced (vLLM rejects "max_tokens": "5"); unknown fields are kept, not stripped
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false } },
  })
  const metrics = new ServeMetrics(o.modelName, {
    get running() {
      return o.engine()?.running ?? 0
    },
    get waiting() {
      return o.engine()?.waiting ?? 0
    },
    get kvCacheUsage() {
      return o.engine()?.kvCacheUsage ?? 0
    },
    lagStats: () => o.engine()?.lagStats() ?? { n: 0, meanNs: 0, p50Ns: 0, p99Ns: 0, maxNs: 0 },
  })
  app.addHook("onClose", async () => metrics.close())
  const schemas = openAiSchemas(o.vocab)
  // Every route as fastify registers it, with the body schema it validates: /openapi.json is built from these.
  const routes: ServedRoute[] = []
  app.addHook("onRoute", (r) => {
    const config = (r.config ?? {}) as { summary?: string; produces?: string[] }
    const body = (r.schema as { body?: unknown } | undefined)?.body
    for (const method of [r.method].flat()) {
      routes.push({ method, url: r.url, summary: config.summary ?? "", produces: config.produces ?? [], ...(body === undefined ? {} : { body }) })
    }
  })
  const doc = (summary: string, produces: readonly string[] = ["application/json"]) => ({ summary, produces })

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    const code = err.validation !== undefined ? 400 : err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500
    void reply.code(code).send(openAiError(code, err.message))
  })
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(openAiError(404, `Not Found: ${req.method} ${req.url.split("?")[0] ?? ""}`))
  })

  const unavailable = (reply: FastifyReply, message: string): FastifyReply =>
    reply.code(503).header("retry-after", "1").send(openAiError(503, message))

  const generate = async (kind: "completion" | "chat", req: FastifyRequest, reply: FastifyReply, body: CompletionBody | ChatBody, size: Sized) => {
    if (body.model !== undefined && body.model !== o.modelName) {
      return reply.code(404).send(openAiError(404, `The model \`${body.model}\` does not exist (this server serves \`${o.modelName}\`).`))
    }
    if ("error" in size) return reply.code(400).send(openAiError(400, size.error))
    const why = o.stopping() ? null : (o.unready?.() ?? null)
    if (why !== null) {
      metrics.refusedBefore(why.startsWith("degraded") ? "degraded" : "not_ready")
      return unavailable(reply, `${why}; retry once GET /health answers 200`)
    }
    const engine = o.engine()
    if (engine === null || o.stopping()) {
      metrics.refusedBefore(engine === null ? "not_ready" : "stopping")
      return unavailable(reply, engine === null ? "the engine is still loading; retry once GET /health answers 200" : "the server is shutting down")
    }
    const header = req.headers["x-request-id"]
    const externalId = typeof header === "string" && header.length > 0 ? header.slice(0, MAX_REQUEST_ID_CHARS) : undefined
    const id = `${kind === "chat" ? "chatcmpl" : "cmpl"}-${externalId ?? randomUUID().replaceAll("-", "")}`
    const created = Math.floor(Date.now() / 1000)
    const stream = body.stream === true
    const includeUsage = body.stream_options?.include_usage === true
    const { maxTokens, promptTokens, promptIds } = size
    const decoder = byteTokenizer.decoder()
    const raw = reply.raw
    let text = ""
    let arrivalNs = 0
    let prevAtNs = 0
    let headed = false
    let lastSent = false
    let ended = false
    const head = (): void => {
      if (headed) return
      headed = true
      reply.hijack()
      raw.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive",
        ...(externalId === undefined ? {} : { "x-request-id": externalId }),
      })
    }
    let firstDelta = true
    // the role rides on the first token's chunk: a role-only chunk would start vllm bench's TTFT early
    const delta = (piece: string) => {
      if (!firstDelta) return { content: piece }
      firstDelta = false
      return { role: "assistant", content: piece }
    }
    const choice = (piece: string, finish: string | null) =>
      kind === "chat"
        ? { index: 0, delta: delta(piece), logprobs: null, finish_reason: finish }
        : { index: 0, text: piece, logprobs: null, finish_reason: finish, stop_reason: null }
    const chunk = (choices: unknown[], usage?: unknown) => ({
      id, object: kind === "chat" ? "chat.completion.chunk" : "text_completion", created, model: o.modelName, system_fingerprint: o.fingerprint, choices,
      ...(usage === undefined ? {} : { usage }),
    })
    const usageOf = (row: RequestRow) => ({ prompt_tokens: promptTokens, completion_tokens: row.outputTokens, total_tokens: promptTokens + row.outputTokens })

    const outcome = await new Promise<{ readonly row: RequestRow } | { readonly refused: "stopping" | "queue_full" | "not_ready" }>((resolve) => {
      const result = engine.submit({
        promptTokens, maxTokens, promptIds, temperature: body.temperature ?? DEFAULT_TEMPERATURE,
        ...(body.seed == null ? {} : { seed: body.seed }), ...(externalId === undefined ? {} : { externalId }),
      }, {
        onToken: (t) => {
          metrics.token(t.index, t.atNs, prevAtNs, arrivalNs)
          prevAtNs = t.atNs
          let piece = decoder.push(t.token)
          const last = t.index === maxTokens - 1
          if (last) piece += decoder.end()
          if (!stream) {
            text += piece
            return
          }
          head()
          lastSent = last
          sse(raw, chunk([choice(piece, last ? "length" : null)]))
        },
        onEnd: (r) => {
          ended = true
          metrics.ended(r)
          resolve({ row: r })
        },
      })
      if (!result.ok) {
        metrics.refusedBefore(result.why)
        resolve({ refused: result.why })
        return
      }
      arrivalNs = result.arrivalNs
      prevAtNs = arrivalNs
      // A client that goes away before its request ends cancels it and frees its KV.
      raw.on("close", () => {
        if (!ended) engine.cancel(result.requestId, "client disconnected")
      })
    })

    if ("refused" in outcome) {
      return outcome.refused === "queue_full"
        ? unavailable(reply, "the admission queue is full (--max-queued); retry later")
        : unavailable(reply, outcome.refused === "stopping" ? "the server is shutting down" : "the engine is not running")
    }
    const row = outcome.row
    if (row.status === "rejected" && !headed) {
      return reply.code(400).send(openAiError(400, row.reason ?? "the request was rejected at admission"))
    }
    const finish = finishReasonOf(row)
    // failed (a lost worker held its step): an error response that gives the reason, as vLLM
    // answers a request its engine could not finish, rather than a short completion
    const failure = row.status === "failed" ? openAiError(500, row.reason ?? "the request failed") : null
    if (failure !== null && !headed) return reply.code(500).send(failure)
    if (!stream) {
      const tail = decoder.end()
      const c = kind === "chat"
        ? { index: 0, message: { role: "assistant", content: text + tail }, logprobs: null, finish_reason: finish, stop_reason: null }
        : { index: 0, text: text + tail, logprobs: null, finish_reason: finish, stop_reason: null }
      if (externalId !== undefined) void reply.header("x-request-id", externalId)
      return reply.send({
        id, object: kind === "chat" ? "chat.completion" : "text_completion", created, model: o.modelName, system_fingerprint: o.fingerprint,
        choices: [c], usage: usageOf(row),
      })
    }
    head()
    // ended early (cancelled at shutdown, failed): the last chunk says so; a failure then sends an
    // error event (`{"error": {...}}`, which OpenAI clients raise on) with the reason
    if (!lastSent) sse(raw, chunk([choice(decoder.end(), finish)]))
    if (failure !== null) sse(raw, { error: failure })
    if (includeUsage) sse(raw, chunk([], usageOf(row)))
    sse(raw, "[DONE]")
    raw.end()
    return reply
  }

  app.post("/v1/completions", { schema: { body: schemas.completion }, config: doc("Complete a prompt (text or token ids); stream: true answers SSE, one chunk per token, then data: [DONE]", ["application/json", "text/event-stream"]) }, async (req, reply) => {
    const body = req.body as CompletionBody
    const promptIds = typeof body.prompt === "string" ? byteTokenizer.encode(body.prompt) : body.prompt
    // OpenAI's and vLLM's default for completions
    return generate("completion", req, reply, body, sized(promptIds, body.max_tokens, 16, o.maxContext))
  })

  app.post("/v1/chat/completions", { schema: { body: schemas.chat }, config: doc("Answer a chat; stream: true answers SSE, one chunk per token, then data: [DONE]", ["application/json", "text/event-stream"]) }, async (req, reply) => {
    const body = req.body as ChatBody
    const promptIds = byteTokenizer.encode(chatPrompt(body))
    // vLLM's default for chat: whatever room the context leaves
    return generate("chat", req, reply, body, sized(promptIds, body.max_completion_tokens ?? body.max_tokens, o.maxContext - promptIds.length, o.maxContext))
  })

  app.get("/v1/models", { config: doc("The served model (one), with its max_model_len") }, async () => ({
    object: "list",
    data: [{ id: o.modelName, object: "model", created: Math.floor(Date.now() / 1000), owned_by: "moska", root: o.modelName, parent: null, max_model_len: o.maxContext }],
  }))

  app.get("/health", { config: doc("200 once the engine is running (kernels compiled, memory filled; with --bind, every worker held), 503 before, while a worker is lost and while stopping", []) }, async (_req, reply) => {
    const why = o.stopping() ? null : (o.unready?.() ?? null)
    if (why !== null) return reply.code(503).send(openAiError(503, why))
    const engine = o.engine()
    if (engine === null || !engine.clock.running || o.stopping()) {
      return reply.code(503).send(openAiError(503, engine === null ? "loading" : "stopping"))
    }
    return reply.code(200).send("")
  })

  app.get("/version", { config: doc("The server's version") }, async () => ({ version: o.version }))

  app.get("/metrics", { config: doc("Prometheus text: vLLM's metric names, labels and buckets, and moska's own", ["text/plain"]) }, async (_req, reply) => reply.header("content-type", metrics.contentType).send(await metrics.text()))

  let openapi: unknown
  app.get("/openapi.json", { config: doc("This document: OpenAPI 3.1, request bodies in the JSON Schemas the server validates them with") }, async () => {
    openapi ??= openApiDocument({
      title: `moska serve (${o.modelName})`, version: o.version, routes,
      description: "An OpenAI-compatible server in vLLM's shapes on moska's live engine. Fields vLLM accepts that moska does not act on pass through unchecked.",
    })
    return openapi
  })

  return { app, metrics }
}
