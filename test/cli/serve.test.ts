import Database from "better-sqlite3"
import { spawn, spawnSync, type ChildProcess } from "node:child_process"
import { existsSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import Fastify from "fastify"
import fc from "fast-check"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { spawnServer } from "../../src/live/server/spawnServer.js"
import { buildIfStale } from "./buildIfStale.js"

// `moska serve` end to end: the built binary on an ephemeral loopback port, real HTTP with Node's
// fetch, the priced executor (no GPU) on the tiny shipped scenario, rows read back from SQLite.
const ROOT = fileURLToPath(new URL("../../", import.meta.url))
const MAIN = join(ROOT, "dist/cli/main.js")
const TINY = "scenarios/live/tiny.yaml"
// The same scenario with an 8B model: ~4 ms per priced decode step, so requests last long enough
// to queue behind one another, to be disconnected from, and to be in flight at SIGTERM.
const SLOW = ["--set", "model=llama-3.1-8b", "--set", "live.maxContextTokens=4096", "--set", "policy.maxBatch=1"]

interface Server {
  readonly url: string
  readonly db: string
  readonly child: ChildProcess
  readonly exit: Promise<number | null>
  stderr(): string
}

const start = async (args: readonly string[], executor: "priced" | "webgpu" = "priced"): Promise<Server> => {
  const db = join(mkdtempSync(join(tmpdir(), "moska-serve-")), "serve.db")
  const s = await spawnServer(MAIN, [TINY, "--executor", executor, "--port", "0", "--db", db, ...args], ROOT)
  return { ...s, db }
}

const post = (s: Server, path: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  fetch(`${s.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body), ...(signal === undefined ? {} : { signal }) })

/** The `data:` payloads of an SSE body, in order. */
const events = (text: string): string[] =>
  text.split("\n\n").filter((e) => e.length > 0).map((e) => {
    expect(e.startsWith("data: ")).toBe(true)
    return e.slice("data: ".length)
  })

const waitFor = async <T>(f: () => T | undefined, what: string, ms = 10_000): Promise<T> => {
  const until = Date.now() + ms
  for (;;) {
    const v = f()
    if (v !== undefined) return v
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const readDb = <T>(file: string, f: (d: Database.Database) => T): T => {
  const d = new Database(file, { readonly: true })
  try {
    return f(d)
  } finally {
    d.close()
  }
}

beforeAll(() => buildIfStale(ROOT), 300_000) // a no-op after test/globalSetup.ts built dist/

describe("moska serve --executor priced", () => {
  let s: Server
  let completed = 0
  let generated = 7 + 2 + 5 + 4 + 3 // the tokens of the requests below whose lengths are written out
  beforeAll(async () => {
    s = await start([])
  }, 60_000)
  afterAll(() => {
    if (s.child.exitCode === null) s.child.kill("SIGKILL")
  })

  it("answers /health, /v1/models and /version", async () => {
    expect((await fetch(`${s.url}/health`)).status).toBe(200)
    const models = await (await fetch(`${s.url}/v1/models`)).json() as { object: string; data: Array<{ id: string; max_model_len: number }> }
    expect(models.object).toBe("list")
    expect(models.data.map((m) => m.id)).toEqual(["tiny-llama"])
    expect(models.data[0]?.max_model_len).toBe(128)
    const v = await (await fetch(`${s.url}/version`)).json() as { version: string }
    expect(v.version).toMatch(/^\d+\.\d+\.\d+/)
  })

  it("completes a prompt in one JSON body with exactly max_tokens tokens and keeps the x-request-id", async () => {
    const r = await post(s, "/v1/completions", { model: "tiny-llama", prompt: "Hello, moska", max_tokens: 7, temperature: 0, seed: 3, ignore_eos: true }, { "x-request-id": "req-json-1" })
    expect(r.status).toBe(200)
    expect(r.headers.get("x-request-id")).toBe("req-json-1")
    const j = await r.json() as Record<string, any>
    completed++
    expect(j.object).toBe("text_completion")
    expect(j.id).toBe("cmpl-req-json-1")
    expect(j.system_fingerprint).toContain("priced-seeded-bytes")
    expect(j.choices).toHaveLength(1)
    expect(j.choices[0].finish_reason).toBe("length")
    expect(Buffer.byteLength(j.choices[0].text as string)).toBe(7) // seeded printable bytes, one per token
    expect(j.usage).toEqual({ prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 })
  })

  it("accepts a prompt of token ids", async () => {
    const j = await (await post(s, "/v1/completions", { prompt: [72, 105, 33], max_tokens: 2 })).json() as Record<string, any>
    completed++
    expect(j.usage).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 })
  })

  it("streams a completion: one chunk per token, finish_reason on the last, a usage chunk, then [DONE]", async () => {
    const r = await post(s, "/v1/completions", { prompt: "stream me", max_tokens: 5, stream: true, stream_options: { include_usage: true } })
    expect(r.status).toBe(200)
    expect(r.headers.get("content-type")).toContain("text/event-stream")
    const data = events(await r.text())
    completed++
    expect(data.at(-1)).toBe("[DONE]")
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as Record<string, any>)
    const tokenChunks = chunks.filter((c) => c.choices.length > 0)
    expect(tokenChunks).toHaveLength(5)
    expect(tokenChunks.map((c) => c.choices[0].finish_reason)).toEqual([null, null, null, null, "length"])
    for (const c of tokenChunks) expect(c.choices[0].text).toHaveLength(1)
    const usage = chunks.at(-1) as Record<string, any>
    expect(usage.choices).toEqual([])
    expect(usage.usage).toEqual({ prompt_tokens: 9, completion_tokens: 5, total_tokens: 14 })
  })

  it("answers a chat completion in one body and as a stream whose first chunk already carries a token", async () => {
    const messages = [{ role: "system", content: "be brief" }, { role: "user", content: [{ type: "text", text: "hi" }] }]
    const j = await (await post(s, "/v1/chat/completions", { messages, max_completion_tokens: 4 })).json() as Record<string, any>
    completed++
    expect(j.object).toBe("chat.completion")
    expect(j.choices[0].message.role).toBe("assistant")
    expect(j.choices[0].message.content).toHaveLength(4)
    expect(j.choices[0].finish_reason).toBe("length")
    expect(j.usage.completion_tokens).toBe(4)

    const r = await post(s, "/v1/chat/completions", { messages, max_tokens: 3, stream: true })
    const data = events(await r.text())
    completed++
    expect(data.at(-1)).toBe("[DONE]")
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as Record<string, any>)
    expect(chunks).toHaveLength(3) // no usage chunk unless asked, no role-only chunk
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true)
    expect(chunks[0]?.choices[0].delta.role).toBe("assistant")
    for (const c of chunks) expect(c.choices[0].delta.content).toHaveLength(1)
    expect(chunks.map((c) => c.choices[0].finish_reason)).toEqual([null, null, "length"])
  })

  it("streams a completion and a chat completion to the official openai client", async () => {
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "unused", maxRetries: 0 })
    const stream = await client.completions.create({ model: "tiny-llama", prompt: "hello openai", max_tokens: 6, stream: true, stream_options: { include_usage: true } })
    let text = ""
    let usage: OpenAI.CompletionUsage | undefined
    const finishes: Array<string | null> = []
    for await (const c of stream) {
      for (const choice of c.choices) {
        text += choice.text
        finishes.push(choice.finish_reason)
      }
      if (c.usage) usage = c.usage
    }
    completed++
    expect(Buffer.byteLength(text)).toBe(6)
    expect(finishes.at(-1)).toBe("length")
    expect(usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 6, total_tokens: 18 })

    const chat = await client.chat.completions.create({ model: "tiny-llama", messages: [{ role: "user", content: "hi" }], max_completion_tokens: 5, stream: true })
    let content = ""
    let role: string | undefined
    let finish: string | null = null
    for await (const c of chat) {
      const choice = c.choices[0]
      if (choice === undefined) continue
      role ??= choice.delta.role
      content += choice.delta.content ?? ""
      finish = choice.finish_reason
    }
    completed++
    generated += 6 + 5
    expect(role).toBe("assistant")
    expect(Buffer.byteLength(content)).toBe(5)
    expect(finish).toBe("length")
  })

  it("serves an OpenAPI 3.1 document of every route, whose body schemas accept and reject what the server does", async () => {
    const doc = await (await fetch(`${s.url}/openapi.json`)).json() as Record<string, any>
    expect(doc.openapi).toBe("3.1.0")
    expect(Object.keys(doc.paths).sort()).toEqual(["/health", "/metrics", "/openapi.json", "/v1/chat/completions", "/v1/completions", "/v1/models", "/version"])
    expect(Object.keys(doc.paths["/v1/completions"])).toEqual(["post"])
    expect(doc.paths["/v1/models"].get.responses["200"].content).toHaveProperty("application/json")
    // The document's body schemas, compiled by a validator of their own (a bare fastify with the server's ajv options), judge samples as the server does.
    const judge = Fastify({ ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false } } })
    for (const path of ["/v1/completions", "/v1/chat/completions"]) {
      const op = doc.paths[path].post
      expect(op.responses).toHaveProperty("400")
      judge.post(path, { schema: { body: op.requestBody.content["application/json"].schema } }, async () => ({ ok: true }))
    }
    const samples: Array<[string, unknown]> = [
      ["/v1/completions", { prompt: "ab", max_tokens: 2 }],
      ["/v1/completions", { prompt: [65, 66], max_tokens: 1, n: 1, stream: false, top_p: 0.9, stop: ["x"] }],
      ["/v1/completions", { prompt: "x", max_tokens: 1, temperature: 2, seed: -4, ignore_eos: true, stream_options: null }],
      ["/v1/completions", { prompt: 5, max_tokens: 1 }],
      ["/v1/completions", { prompt: "x", max_tokens: "5" }],
      ["/v1/completions", { prompt: "x", max_tokens: 1, n: 2 }],
      ["/v1/completions", { prompt: "x", max_tokens: 1, temperature: 2.5 }],
      ["/v1/completions", { prompt: [], max_tokens: 1 }],
      ["/v1/completions", { prompt: "", max_tokens: 1 }],
      ["/v1/completions", { prompt: [1, 2, 256], max_tokens: 1 }],
      ["/v1/completions", { prompt: "x", max_tokens: 1, stream: "yes" }],
      ["/v1/completions", { prompt: "x", max_tokens: 1.5 }],
      ["/v1/completions", [1, 2]],
      ["/v1/chat/completions", { messages: [{ role: "user", content: "hi" }], max_tokens: 2 }],
      ["/v1/chat/completions", { messages: [{ role: "system", content: null }, { role: "user", content: [{ type: "text", text: "a" }] }], max_completion_tokens: 1 }],
      ["/v1/chat/completions", { messages: [], max_tokens: 1 }],
      ["/v1/chat/completions", { messages: [{ role: "robot", content: "x" }], max_tokens: 1 }],
      ["/v1/chat/completions", { messages: [{ content: "x" }], max_tokens: 1 }],
      ["/v1/chat/completions", { messages: [{ role: "user", content: [{ type: "image_url", text: "x" }] }], max_tokens: 1 }],
      ["/v1/chat/completions", { messages: [{ role: "user", content: "x" }], max_completion_tokens: 0 }],
    ]
    let accepted = 0
    for (const [path, body] of samples) {
      const server = await post(s, path, body)
      const expected = (await judge.inject({ method: "POST", url: path, payload: JSON.stringify(body), headers: { "content-type": "application/json" } })).statusCode
      expect(server.status, `${path} ${JSON.stringify(body)}`).toBe(expected === 200 ? 200 : 400)
      if (server.status === 200) {
        const u = ((await server.json()) as Record<string, any>).usage
        accepted++
        generated += u.completion_tokens as number
      } else await server.text()
    }
    completed += accepted
    expect(accepted).toBe(5)
    await judge.close()
  })

  it("answers bad input with vLLM's error body and keeps serving", async () => {
    const bad: Array<[unknown, number, RegExp]> = [
      ["{not json", 400, /JSON/],
      [{ prompt: "x", max_tokens: "5" }, 400, /max_tokens/],
      [{ prompt: "x", max_tokens: 0 }, 400, /max_tokens/],
      [{ prompt: "x", max_tokens: -3 }, 400, /max_tokens/],
      [{ prompt: "x", max_tokens: 1_000_000 }, 400, /maximum context length is 128/],
      [{ max_tokens: 2 }, 400, /prompt/],
      [{ prompt: [1, 2, 999] }, 400, /prompt/],
      [{ prompt: "x", temperature: -1 }, 400, /temperature/],
      [{ prompt: "x", model: "gpt-4" }, 404, /gpt-4/],
    ]
    for (const [body, code, message] of bad) {
      const r = await post(s, "/v1/completions", body)
      expect(r.status, JSON.stringify(body)).toBe(code)
      const j = await r.json() as Record<string, unknown>
      expect(j).toMatchObject({ object: "error", param: null, code, type: code === 400 ? "BadRequestError" : "NotFoundError" })
      expect(j.message).toMatch(message)
    }
    const chat = await post(s, "/v1/chat/completions", { messages: [] })
    expect(chat.status).toBe(400)
    expect((await fetch(`${s.url}/health`)).status).toBe(200)
  })

  it("answers 1,000 generated malformed requests with 4xx, and none of them reaches the engine", async () => {
    const notJson = fc.string({ maxLength: 40 }).filter((t) => {
      try {
        JSON.parse(t)
        return false
      } catch {
        return true
      }
    }).map((t) => ({ text: t }))
    const notObject = fc.oneof(fc.integer(), fc.double(), fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.jsonValue(), { maxLength: 4 })).map((v) => ({ text: JSON.stringify(v) }))
    // a body that would be fine but for one field
    const wrong: Record<string, fc.Arbitrary<unknown>> = {
      max_tokens: fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 200, max: 2 ** 40 }), fc.double({ min: 1.01, max: 50, noInteger: true, noNaN: true }), fc.string(), fc.boolean()),
      temperature: fc.oneof(fc.double({ max: -0.001, noNaN: true, noDefaultInfinity: true }), fc.double({ min: 2.001, max: 1e9, noNaN: true }), fc.string(), fc.array(fc.integer())),
      n: fc.oneof(fc.integer({ min: 2, max: 100 }), fc.integer({ max: 0 }), fc.string()),
      stream: fc.oneof(fc.string(), fc.integer(), fc.object()),
      seed: fc.oneof(fc.string(), fc.double({ noInteger: true, noNaN: true, min: -1e6, max: 1e6 }), fc.constant(2 ** 60)),
      prompt: fc.oneof(fc.integer(), fc.constant(""), fc.constant([]), fc.array(fc.integer({ min: 256 }), { minLength: 1, maxLength: 3 }), fc.array(fc.integer({ max: -1 }), { minLength: 1, maxLength: 3 }), fc.object(), fc.array(fc.string(), { minLength: 1, maxLength: 2 })),
      model: fc.string({ minLength: 1 }).filter((m) => m !== "tiny-llama"),
      stream_options: fc.oneof(fc.string(), fc.integer(), fc.record({ include_usage: fc.oneof(fc.string(), fc.integer()) })),
    }
    const oneBad = fc.constantFrom(...Object.keys(wrong)).chain((key) =>
      (wrong[key] as fc.Arbitrary<unknown>).map((v) => ({ text: JSON.stringify({ prompt: "ok", max_tokens: 2, [key]: v }) })))
    const chatBad = fc.oneof(
      fc.constant({ messages: [] }),
      fc.record({ messages: fc.array(fc.record({ role: fc.string().filter((r) => !["system", "developer", "user", "assistant", "tool"].includes(r)), content: fc.string() }), { minLength: 1, maxLength: 3 }) }),
      fc.record({ messages: fc.oneof(fc.string(), fc.integer(), fc.object()) }),
    ).map((b) => ({ text: JSON.stringify({ max_tokens: 1, ...b }), chat: true }))
    await fc.assert(fc.asyncProperty(fc.oneof(notJson, notObject, oneBad, chatBad), async (c: { text: string; chat?: boolean }) => {
      const r = await post(s, c.chat === true ? "/v1/chat/completions" : "/v1/completions", c.text)
      const j = await r.json() as Record<string, unknown>
      expect([400, 404], `${r.status} for ${c.text}`).toContain(r.status)
      expect(j).toMatchObject({ object: "error", code: r.status })
      expect(String(j.message)).not.toContain("\n")
    }), { numRuns: 1000, seed: 1309 })
    expect((await fetch(`${s.url}/health`)).status).toBe(200)
    // the SIGTERM test below finds exactly `completed` rows: none of these entered the engine
  })

  it("exposes vLLM's metric names on /metrics and counts the requests served", async () => {
    const text = await (await fetch(`${s.url}/metrics`)).text()
    for (const name of ["vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:time_to_first_token_seconds_bucket", "vllm:inter_token_latency_seconds_bucket",
      "vllm:e2e_request_latency_seconds_bucket", "vllm:request_queue_time_seconds_bucket", "vllm:generation_tokens_total", "vllm:prompt_tokens_total",
      "vllm:kv_cache_usage_perc", "moska:clock_lag_p99_seconds", "moska:event_loop_delay_p99_seconds", "moska:gpu_busy_seconds_total", "moska:shared_steps_total",
      "moska:shared_chunk_gemms_total", "moska:shared_chunk_rows_total"]) {
      expect(text).toContain(name)
    }
    const value = (re: RegExp): number => Number((re.exec(text) ?? [])[1])
    expect(value(/^vllm:request_success_total\{model_name="tiny-llama",engine="0",finished_reason="length"\} (\d+)$/m)).toBe(completed)
    expect(value(/^vllm:e2e_request_latency_seconds_count\{model_name="tiny-llama",engine="0"\} (\d+)$/m)).toBe(completed)
    expect(value(/^vllm:generation_tokens_total\{model_name="tiny-llama",engine="0"\} (\d+)$/m)).toBe(generated)
    expect(text).toMatch(/vllm:time_to_first_token_seconds_bucket\{le="0.001",model_name="tiny-llama",engine="0"\}/)
    // nothing in flight between tests: no KV held
    expect(value(/^vllm:kv_cache_usage_perc\{model_name="tiny-llama",engine="0"\} (\S+)$/m)).toBe(0)
    expect(value(/^moska:gpu_busy_seconds_total\{model_name="tiny-llama",engine="0",worker="unique-0"\} (\S+)$/m)).toBeGreaterThan(0)
    const gemms = value(/^moska:shared_chunk_gemms_total\{[^}]*\} (\S+)$/m)
    expect(gemms).toBeGreaterThan(0)
    expect(value(/^moska:shared_chunk_rows_total\{[^}]*\} (\S+)$/m)).toBeGreaterThanOrEqual(gemms)
  })

  it("stops on SIGTERM: exit 0, the run finished, every request's row in the database with its x-request-id", async () => {
    s.child.kill("SIGTERM")
    expect(await s.exit).toBe(0)
    readDb(s.db, (d) => {
      expect(d.prepare("SELECT mode, status FROM runs").all()).toEqual([{ mode: "live", status: "finished" }])
      const rows = d.prepare("SELECT status, output_tokens, requested_tokens FROM requests").all() as Array<{ status: string; output_tokens: number; requested_tokens: number }>
      expect(rows).toHaveLength(completed)
      for (const r of rows) expect(r).toMatchObject({ status: "completed", output_tokens: r.requested_tokens })
      expect(d.prepare("SELECT e.external_id, r.output_tokens FROM request_external_ids e JOIN requests r USING (run_id, request_id)").all())
        .toEqual([{ external_id: "req-json-1", output_tokens: 7 }])
      expect(d.prepare("SELECT count(*) FROM tokens").pluck().get()).toBe(generated)
    })
  })
})

describe("moska serve --executor webgpu (lavapipe without a GPU)", () => {
  let s: Server
  beforeAll(async () => {
    s = await start([], "webgpu")
  }, 300_000)
  afterAll(() => {
    if (s.child.exitCode === null) s.child.kill("SIGKILL")
  })

  // the decoded text (bytes ≥ 128 that form no UTF-8 come out as U+FFFD) of a deterministic model: equal or not, the same every run
  const complete = async (body: Record<string, unknown>): Promise<string> => {
    const r = await post(s, "/v1/completions", { max_tokens: 16, ...body })
    expect(r.status).toBe(200)
    const j = await r.json() as Record<string, any>
    expect(j.system_fingerprint).toContain("webgpu")
    expect(j.usage.completion_tokens).toBe(16)
    return j.choices[0].text as string
  }

  it("decodes the client's prompt: the same prompt greedily gives the same tokens, as text or as ids; another prompt other tokens", async () => {
    const a = await complete({ prompt: "The quick brown fox", temperature: 0, seed: 1 })
    const b = await complete({ prompt: "The quick brown fox", temperature: 0, seed: 2 }) // greedy: the seed does not matter
    const ids = await complete({ prompt: [...Buffer.from("The quick brown fox")], temperature: 0 })
    const other = await complete({ prompt: "Lorem ipsum dolor sit amet", temperature: 0 })
    expect(b).toEqual(a)
    expect(ids).toEqual(a)
    expect(other).not.toEqual(a)
  })

  it("samples at the client's temperature with the client's seed", async () => {
    const greedy = await complete({ prompt: "sample me", temperature: 0 })
    const hot1 = await complete({ prompt: "sample me", temperature: 2, seed: 11 })
    const hot1again = await complete({ prompt: "sample me", temperature: 2, seed: 11 })
    const hot2 = await complete({ prompt: "sample me", temperature: 2, seed: 12 })
    expect(hot1again).toEqual(hot1)
    expect(hot1).not.toEqual(greedy)
    expect(hot2).not.toEqual(hot1)
  })
})

describe("moska serve --executor webgpu checks its files first", () => {
  it("refuses a missing or malformed weights file in one line, exit 2, before binding a port or opening a device", () => {
    const dir = mkdtempSync(join(tmpdir(), "moska-serve-weights-"))
    const junk = join(dir, "junk.safetensors")
    writeFileSync(junk, Buffer.from("not a safetensors file at all"))
    for (const [weights, message] of [[join(dir, "missing.safetensors"), /missing\.safetensors.*cannot open/], [junk, /junk\.safetensors.*not a safetensors file/]] as const) {
      const db = join(dir, "serve.db")
      const r = spawnSync(process.execPath, [MAIN, "serve", TINY, "--executor", "webgpu", "--port", "0", "--db", db, "--set", `live.weights=${weights}`], { cwd: ROOT, encoding: "utf8" })
      expect(r.status, r.stderr).toBe(2)
      expect(r.stderr.trim().split("\n")).toHaveLength(1)
      expect(r.stderr).toMatch(message)
      expect(r.stderr).not.toContain("listening")
      expect(existsSync(db)).toBe(false)
    }
  })
})

describe("moska serve under load and on shutdown", () => {
  let s: Server
  beforeAll(async () => {
    s = await start([...SLOW, "--max-queued", "2", "--grace-s", "0"])
  }, 60_000)
  afterAll(() => {
    if (s.child.exitCode === null) s.child.kill("SIGKILL")
  })

  it("answers 503 with Retry-After past --max-queued, and completes every request it accepted", async () => {
    const rs = await Promise.all(Array.from({ length: 8 }, () => post(s, "/v1/completions", { prompt: "queue", max_tokens: 100 })))
    const codes = rs.map((r) => r.status)
    const refused = rs.filter((r) => r.status === 503)
    expect(refused.length, codes.join(",")).toBeGreaterThan(0)
    for (const r of refused) {
      expect(r.headers.get("retry-after")).toBe("1")
      expect(await r.json()).toMatchObject({ object: "error", code: 503, type: "ServiceUnavailableError" })
    }
    for (const r of rs.filter((x) => x.status !== 503)) {
      expect(r.status).toBe(200)
      expect(((await r.json()) as Record<string, any>).usage.completion_tokens).toBe(100)
    }
  })

  it("cancels a streamed request whose client disconnects, with the tokens it had", async () => {
    const abort = new AbortController()
    const r = await post(s, "/v1/completions", { prompt: "bye", max_tokens: 3000, stream: true }, { "x-request-id": "gone-1" }, abort.signal)
    const reader = (r.body as ReadableStream<Uint8Array>).getReader()
    await reader.read() // the first token arrived
    abort.abort()
    const row = await waitFor(() => readDb(s.db, (d) => d.prepare(
      "SELECT r.status, r.output_tokens, r.reason FROM requests r JOIN request_external_ids e USING (run_id, request_id) WHERE e.external_id = 'gone-1'",
    ).get() as { status: string; output_tokens: number; reason: string } | undefined), "the cancelled row")
    expect(row.status).toBe("cancelled")
    expect(row.reason).toBe("client disconnected")
    expect(row.output_tokens).toBeGreaterThan(0)
    expect(row.output_tokens).toBeLessThan(3000)
  })

  it("on SIGTERM cancels what is in flight (finish_reason abort), exits 0 and marks the run interrupted", async () => {
    const pending = post(s, "/v1/completions", { prompt: "long", max_tokens: 3000 }, { "x-request-id": "at-sigterm" })
    // in flight once /metrics says it runs (a 3000-token request takes ~12 s here)
    let kvWhileRunning = Number.NaN
    for (let i = 0; i < 200; i++) {
      const m = await (await fetch(`${s.url}/metrics`)).text()
      if (/^vllm:num_requests_running\{[^}]*\} 1$/m.test(m)) {
        kvWhileRunning = Number((/^vllm:kv_cache_usage_perc\{[^}]*\} (\S+)$/m.exec(m) ?? [])[1])
        break
      }
      await new Promise((r) => setTimeout(r, 25))
    }
    s.child.kill("SIGTERM")
    const j = await (await pending).json() as Record<string, any>
    expect(j.choices[0].finish_reason).toBe("abort")
    expect(j.usage.completion_tokens).toBeLessThan(3000)
    expect(await s.exit).toBe(0)
    readDb(s.db, (d) => {
      expect(d.prepare("SELECT status FROM runs").pluck().get()).toBe("interrupted")
      const row = d.prepare("SELECT r.status, r.reason FROM requests r JOIN request_external_ids e USING (run_id, request_id) WHERE e.external_id = 'at-sigterm'").get()
      expect(row).toMatchObject({ status: "cancelled", reason: expect.stringContaining("stopped") })
      // the gauge held the one running request's reservation (prompt + max_tokens) of the KV budget the run recorded
      const engine = (JSON.parse(d.prepare("SELECT summary_json FROM runs").pluck().get() as string) as { engine: Record<string, number> }).engine
      const prompt = d.prepare("SELECT r.unique_tokens FROM requests r JOIN request_external_ids e USING (run_id, request_id) WHERE e.external_id = 'at-sigterm'").pluck().get() as number
      expect(prompt).toBe(4)
      expect(kvWhileRunning).toBeCloseTo(((prompt + 3000) * (engine.kvBytesPerToken as number)) / ((engine.kvBudgetBytesPerWorker as number) * (engine.uniqueWorkers as number)), 6)
    })
  })
})
