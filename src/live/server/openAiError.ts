/** The error body vLLM's OpenAI-compatible server answers with (clients such as `openai` read `message`). */
export interface OpenAiErrorBody {
  readonly object: "error"
  readonly message: string
  readonly type: string
  readonly param: null
  readonly code: number
}

const TYPE_OF: Readonly<Record<number, string>> = {
  400: "BadRequestError",
  404: "NotFoundError",
  413: "BadRequestError",
  415: "BadRequestError",
  503: "ServiceUnavailableError",
}

/**
 * An OpenAI-style error body for HTTP status `code`, with a one-line message.
 * @example openAiError(400, "max_tokens must be at least 1, got 0") // { object: "error", type: "BadRequestError", code: 400, ... }
 */
export const openAiError = (code: number, message: string): OpenAiErrorBody => ({
  object: "error",
  message: message.replace(/\s*\n\s*/g, " ").trim(),
  type: TYPE_OF[code] ?? (code >= 500 ? "InternalServerError" : "BadRequestError"),
  param: null,
  code,
})
