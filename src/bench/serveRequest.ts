/** One benchmark request as the load generator sends it. */
export interface ServeBenchRequest {
  /** Prompt length in tokens (from the trace or the random lengths): what `total_input_tokens` counts when the server reports no usage. */
  readonly promptLen: number
  /** Prompt token ids (completions endpoints take them as-is, so the server sees exactly `promptLen` tokens). */
  readonly promptIds: readonly number[]
  readonly outputLen: number
}

/** What one request measured, in the fields `vllm bench serve` keeps per request (times in seconds, as its result JSON stores them). */
export interface ServeBenchOutcome {
  readonly success: boolean
  /** Prompt tokens: the server's `usage.prompt_tokens` when it sent one, else the request's `promptLen`. */
  readonly promptLen: number
  /** Output tokens: the usage chunk's `completion_tokens`, else the number of content chunks. */
  readonly outputTokens: number
  /** Send to the first chunk with content. */
  readonly ttftS: number
  /** Gaps between consecutive content chunks. */
  readonly itlS: readonly number[]
  /** Send to the last content chunk. */
  readonly latencyS: number
  readonly error: string
}

export interface ServeRequestTarget {
  /** The endpoint's full URL, e.g. `http://127.0.0.1:8000/v1/completions`. */
  readonly url: string
  readonly chat: boolean
  readonly model: string
  readonly ignoreEos: boolean
  /** Sent as the `x-request-id` header. */
  readonly requestId: string
}

/** The prompt as chat text: the ids as bytes (printable ASCII in the generator's prompts), so a byte-level tokenizer sees `promptLen` tokens. */
const promptText = (ids: readonly number[]): string => String.fromCharCode(...ids)

const payloadOf = (t: ServeRequestTarget, r: ServeBenchRequest): Record<string, unknown> => {
  const common = { model: t.model, temperature: 0, stream: true, stream_options: { include_usage: true }, ...(t.ignoreEos ? { ignore_eos: true } : {}) }
  return t.chat
    ? { ...common, messages: [{ role: "user", content: promptText(r.promptIds) }], max_completion_tokens: r.outputLen }
    : { ...common, prompt: r.promptIds, max_tokens: r.outputLen }
}

/** The text a chunk adds: completions' `choices[0].text`, chat's `choices[0].delta.content`; "" when it carries none (role-only, usage). */
const contentOf = (chunk: Record<string, unknown>, chat: boolean): string => {
  const choices = chunk.choices
  if (!Array.isArray(choices) || choices.length === 0) return ""
  const c = choices[0] as Record<string, unknown>
  const v = chat ? (c.delta as Record<string, unknown> | undefined)?.content : c.text
  return typeof v === "string" ? v : ""
}

const errorText = (e: unknown): string => {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause
  const base = e instanceof Error ? e.message : String(e)
  return cause === undefined ? base : `${base} (${cause.code ?? cause.message ?? "unknown cause"})`
}

/**
 * Sends one streaming request to an OpenAI-compatible completions or chat endpoint (Node's fetch)
 * and times it as `vllm bench serve` does: the clock starts before the request is sent, TTFT is
 * the first SSE chunk with content (a role-only or empty chunk does not count), ITL the gaps
 * between content chunks, latency the last content chunk. Output tokens come from the usage chunk
 * (`stream_options.include_usage`); a server that sends none is counted one token per content
 * chunk. Never throws: a refused, failed or empty response is an outcome with `success: false`.
 * @example const o = await sendServeRequest({ url: "http://127.0.0.1:8000/v1/completions", chat: false, model: "m", ignoreEos: true, requestId: "b-0" }, { promptLen: 3, promptIds: [72, 105, 33], outputLen: 8 })
 */
export const sendServeRequest = async (t: ServeRequestTarget, r: ServeBenchRequest): Promise<ServeBenchOutcome> => {
  const failed = (error: string): ServeBenchOutcome => ({ success: false, promptLen: r.promptLen, outputTokens: 0, ttftS: 0, itlS: [], latencyS: 0, error })
  const st = performance.now()
  let res: Response
  try {
    res = await fetch(t.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", "x-request-id": t.requestId },
      body: JSON.stringify(payloadOf(t, r)),
    })
  } catch (e) {
    return failed(errorText(e))
  }
  if (!res.ok || res.body === null) {
    const text = await res.text().catch(() => "")
    let message = text.slice(0, 300)
    try {
      const j = JSON.parse(text) as { message?: unknown; error?: { message?: unknown } }
      const m = j.message ?? j.error?.message
      if (typeof m === "string") message = m
    } catch {
      // not JSON: keep the text
    }
    return failed(`HTTP ${res.status}: ${message}`.replace(/\s+/g, " "))
  }
  let ttftS = 0
  let first = true
  let last = st
  let chunks = 0
  let usageOutput: number | undefined
  let usagePrompt: number | undefined
  const itlS: number[] = []
  const decoder = new TextDecoder()
  let buf = ""
  const onEvent = (event: string, at: number): void => {
    for (const line of event.split(/\r?\n/)) {
      if (!line.startsWith("data:")) continue
      const data = line.slice(5).trim()
      if (data === "" || data === "[DONE]") continue
      let chunk: Record<string, unknown>
      try {
        chunk = JSON.parse(data) as Record<string, unknown>
      } catch {
        continue
      }
      const usage = chunk.usage as { completion_tokens?: unknown; prompt_tokens?: unknown } | null | undefined
      if (usage != null) {
        if (typeof usage.completion_tokens === "number") usageOutput = usage.completion_tokens
        if (typeof usage.prompt_tokens === "number") usagePrompt = usage.prompt_tokens
      }
      if (contentOf(chunk, t.chat) === "") continue
      chunks++
      if (first) {
        first = false
        ttftS = (at - st) / 1000
      } else itlS.push((at - last) / 1000)
      last = at
    }
  }
  try {
    for await (const bytes of res.body as AsyncIterable<Uint8Array>) {
      const at = performance.now()
      buf += decoder.decode(bytes, { stream: true })
      for (let end = buf.search(/\r?\n\r?\n/); end >= 0; end = buf.search(/\r?\n\r?\n/)) {
        const sep = /\r?\n\r?\n/.exec(buf.slice(end)) as RegExpExecArray
        onEvent(buf.slice(0, end), at)
        buf = buf.slice(end + sep[0].length)
      }
    }
    if (buf.trim() !== "") onEvent(buf, performance.now())
  } catch (e) {
    return failed(`the stream broke after ${chunks} content chunks: ${errorText(e)}`)
  }
  if (first) return failed("no chunk with content before the stream ended")
  return { success: true, promptLen: usagePrompt ?? r.promptLen, outputTokens: usageOutput ?? chunks, ttftS, itlS, latencyS: (last - st) / 1000, error: "" }
}
