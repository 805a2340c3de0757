import { InputFileInvalid } from "../core/errors.js"
import { assembleRequests, MAX_TRACE_SPAN_NS, type TraceRow } from "./assembleRequests.js"
import type { TraceImport } from "./TraceImport.js"
import { linesOf, type TraceText } from "./textLines.js"

const isCount = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0

/** A field's value for a message: JSON, shortened; a missing field says so. */
const shown = (x: unknown): string => {
  if (x === undefined) return "nothing"
  const s = JSON.stringify(x) ?? String(x)
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}

/** Largest timestamp, ms, whose ns value is still an exact integer. */
const MAX_TIMESTAMP_MS = Math.floor(MAX_TRACE_SPAN_NS / 1_000_000)
const FIELDS = "each line needs timestamp, input_length and output_length"

/**
 * Mooncake JSONL: one object per line, `{"timestamp": ms, "input_length": n, "output_length": n,
 * "hash_ids": [..]}`. input_length becomes unique tokens, output_length output tokens, and hash_ids
 * (512-token prefix-block hashes; equal ids mean reusable KV) become `blocks`, which drive routing
 * when `corpus.routing.kind` is `trace`. hash_ids may be absent; other keys are ignored. Timestamps
 * are ms on any origin (the trace start, or the epoch): arrivals are rebased on the earliest row,
 * and rows may lie at most MAX_TIMESTAMP_MS (2^53 ns, about 104 days) apart.
 * @example parseMooncake('{"timestamp": 0, "input_length": 6758, "output_length": 500, "hash_ids": [0, 1]}\n', "m.jsonl")
 */
export const parseMooncake = (text: TraceText, file: string): TraceImport => {
  const rows: TraceRow[] = []
  let originMs: number | undefined
  for (const { line, text: t } of linesOf(text)) {
    let o: unknown
    try {
      o = JSON.parse(t)
    } catch (e) {
      throw new InputFileInvalid({ file, line, message: `not valid JSON (${(e as Error).message.split("\n")[0]})` })
    }
    if (typeof o !== "object" || o === null || Array.isArray(o)) {
      throw new InputFileInvalid({ file, line, message: `expected a JSON object per line (${FIELDS})` })
    }
    const r = o as Record<string, unknown>
    for (const k of ["timestamp", "input_length", "output_length"]) {
      if (!Object.hasOwn(r, k)) throw new InputFileInvalid({ file, line, message: `${k} is missing (${FIELDS})` })
    }
    const ts = r.timestamp
    if (typeof ts !== "number" || !Number.isFinite(ts) || ts < 0) {
      throw new InputFileInvalid({ file, line, message: `timestamp must be non-negative milliseconds (got ${shown(ts)})` })
    }
    // ms from the first row's, so epoch timestamps and slices from late in a trace read exactly;
    // assembleRequests rebases on the earliest row and refuses a span over 104 days
    originMs ??= ts
    if (!(Math.abs(ts - originMs) <= MAX_TIMESTAMP_MS)) {
      throw new InputFileInvalid({
        file,
        line,
        message: `timestamp is more than ${MAX_TIMESTAMP_MS} ms (about 104 days) from the first row's (got ${shown(ts)}); a trace may span at most 2^53 ns of simulated time`,
      })
    }
    if (!isCount(r.input_length)) {
      throw new InputFileInvalid({ file, line, message: `input_length must be a non-negative integer (got ${shown(r.input_length)})` })
    }
    if (!isCount(r.output_length)) {
      throw new InputFileInvalid({ file, line, message: `output_length must be a non-negative integer (got ${shown(r.output_length)})` })
    }
    const ids = r.hash_ids
    if (ids !== undefined && !(Array.isArray(ids) && ids.every(isCount))) {
      throw new InputFileInvalid({ file, line, message: `hash_ids must be an array of non-negative integers (got ${shown(ids)})` })
    }
    rows.push({
      atNs: Math.round((ts - originMs) * 1_000_000),
      uniqueTokens: r.input_length,
      outputTokens: r.output_length,
      ...(ids !== undefined ? { blocks: ids as number[] } : {}),
      line,
    })
  }
  return assembleRequests("mooncake", rows, { file, column: "timestamp" })
}
