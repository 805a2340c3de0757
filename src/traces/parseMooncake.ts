import { InputFileInvalid } from "../core/errors.js"
import { assembleRequests, type TraceRow } from "./assembleRequests.js"
import type { TraceImport } from "./TraceImport.js"
import { textLines } from "./textLines.js"

const isCount = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0

/**
 * Mooncake JSONL: one object per line, `{"timestamp": ms, "input_length": n, "output_length": n,
 * "hash_ids": [..]}`. input_length becomes unique tokens, output_length output tokens, and hash_ids
 * (512-token prefix-block hashes; equal ids mean reusable KV) become `blocks`, which drive routing
 * when `corpus.routing.kind` is `trace`. hash_ids may be absent; other keys are ignored.
 * @example parseMooncake('{"timestamp": 0, "input_length": 6758, "output_length": 500, "hash_ids": [0, 1]}\n', "m.jsonl")
 */
export const parseMooncake = (text: string, file: string): TraceImport => {
  const rows: TraceRow[] = []
  for (const { line, text: t } of textLines(text)) {
    let o: unknown
    try {
      o = JSON.parse(t)
    } catch (e) {
      throw new InputFileInvalid({ file, line, message: `not valid JSON (${(e as Error).message})` })
    }
    if (typeof o !== "object" || o === null || Array.isArray(o)) {
      throw new InputFileInvalid({ file, line, message: "expected a JSON object per line" })
    }
    const r = o as Record<string, unknown>
    const ts = r.timestamp
    if (typeof ts !== "number" || !Number.isFinite(ts) || ts < 0) {
      throw new InputFileInvalid({ file, line, message: `timestamp must be non-negative milliseconds (got ${JSON.stringify(ts)})` })
    }
    if (!isCount(r.input_length)) {
      throw new InputFileInvalid({ file, line, message: `input_length must be a non-negative integer (got ${JSON.stringify(r.input_length)})` })
    }
    if (!isCount(r.output_length)) {
      throw new InputFileInvalid({ file, line, message: `output_length must be a non-negative integer (got ${JSON.stringify(r.output_length)})` })
    }
    const ids = r.hash_ids
    if (ids !== undefined && !(Array.isArray(ids) && ids.every(isCount))) {
      throw new InputFileInvalid({ file, line, message: "hash_ids must be an array of non-negative integers" })
    }
    rows.push({
      atNs: Math.round(ts * 1_000_000),
      uniqueTokens: r.input_length,
      outputTokens: r.output_length,
      ...(ids !== undefined ? { blocks: ids as number[] } : {}),
    })
  }
  return assembleRequests("mooncake", rows)
}
