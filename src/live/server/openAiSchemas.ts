/**
 * JSON Schemas of the request bodies of `POST /v1/completions` and `/v1/chat/completions`, as
 * fastify validates them (ajv, with type coercion off so `"max_tokens": "5"` is a 400 as in vLLM).
 * Fields vLLM accepts that moska does not act on (top_p, stop, logprobs, ...) pass through
 * unchecked, so existing clients work unchanged; `n` must be 1 (one choice per request).
 * @example fastify.post("/v1/completions", { schema: { body: openAiSchemas(256).completion } }, handler)
 */
export const openAiSchemas = (vocab: number) => {
  const nullable = (type: string, extra: Record<string, unknown> = {}) => ({ type: [type, "null"], ...extra })
  const common = {
    model: { type: "string" },
    max_tokens: nullable("integer", { minimum: 1 }),
    temperature: nullable("number", { minimum: 0, maximum: 2 }),
    seed: nullable("integer", { minimum: -(2 ** 53 - 1), maximum: 2 ** 53 - 1 }),
    ignore_eos: { type: "boolean" },
    stream: nullable("boolean"),
    stream_options: {
      type: ["object", "null"],
      properties: { include_usage: nullable("boolean"), continuous_usage_stats: nullable("boolean") },
    },
    n: nullable("integer", { minimum: 1, maximum: 1 }),
  }
  const completion = {
    type: "object",
    required: ["prompt"],
    properties: {
      ...common,
      prompt: {
        anyOf: [
          { type: "string", minLength: 1 },
          { type: "array", minItems: 1, items: { type: "integer", minimum: 0, maximum: vocab - 1 } },
        ],
      },
    },
  } as const
  const part = { type: "object", required: ["type", "text"], properties: { type: { const: "text" }, text: { type: "string" } } }
  const chat = {
    type: "object",
    required: ["messages"],
    properties: {
      ...common,
      max_completion_tokens: nullable("integer", { minimum: 1 }),
      messages: {
        type: "array",
        minItems: 1,
        items: {
          type: "object",
          required: ["role"],
          properties: {
            role: { type: "string", enum: ["system", "developer", "user", "assistant", "tool"] },
            content: { anyOf: [{ type: "string" }, { type: "null" }, { type: "array", items: part }] },
          },
        },
      },
    },
  } as const
  return { completion, chat }
}

/** A decoded completions body (after schema validation). */
export interface CompletionBody {
  readonly model?: string
  readonly prompt: string | readonly number[]
  readonly max_tokens?: number | null
  readonly temperature?: number | null
  readonly seed?: number | null
  readonly ignore_eos?: boolean
  readonly stream?: boolean | null
  readonly stream_options?: { readonly include_usage?: boolean | null } | null
}

/** A decoded chat completions body (after schema validation). */
export interface ChatBody extends Omit<CompletionBody, "prompt"> {
  readonly messages: ReadonlyArray<{ readonly role: string; readonly content?: string | null | ReadonlyArray<{ readonly type: "text"; readonly text: string }> }>
  readonly max_completion_tokens?: number | null
}
