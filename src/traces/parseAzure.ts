import { InputFileInvalid } from "../core/errors.js"
import { assembleRequests, type TraceRow } from "./assembleRequests.js"
import { csvTable } from "./csvTable.js"
import { decimalSecondsToNs } from "./decimalToNs.js"
import { parseCount } from "./parseCount.js"
import type { TraceImport } from "./TraceImport.js"
import type { TraceText } from "./textLines.js"
import { quoteField } from "./quoteField.js"

const STAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2}(?:\.\d*)?)(Z|[+-]\d{2}:?\d{2})?$/

/**
 * A wall-clock timestamp as integer ns since the Unix epoch, split in two numbers so that 2023
 * dates keep their 100-ns ticks exact (epoch ns exceed 2^53). Null when malformed.
 */
const stampNs = (text: string): { readonly s: number; readonly ns: number } | null => {
  const m = STAMP.exec(text)
  if (m === null) return null
  const [, y, mo, d, h, mi, sec, tz] = m as unknown as string[]
  const secNs = decimalSecondsToNs(sec as string)
  if (secNs === null) return null
  const wholeSec = Math.floor(secNs / 1e9)
  const date = new Date(0)
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999.
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d))
  date.setUTCHours(Number(h), Number(mi), wholeSec, 0)
  const ms = date.getTime()
  // Date rolls 2023-02-30 over to March and month 13 into the next year: reject dates that do not
  // round-trip, and year 0000 (no such year in the Gregorian calendar).
  if (
    Number(y) < 1 || date.getUTCFullYear() !== Number(y) || date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d) ||
    Number(h) > 23 || Number(mi) > 59 || wholeSec > 59
  ) return null
  let offsetS = 0
  if (tz !== undefined && tz !== "Z") {
    const t = tz.replace(":", "")
    const zh = Number(t.slice(1, 3))
    const zm = Number(t.slice(3, 5))
    // real zones run from -12:00 to +14:00
    if (zh > 14 || zm > 59 || zh * 60 + zm > 14 * 60) return null
    offsetS = (tz[0] === "-" ? -1 : 1) * (zh * 3600 + zm * 60)
  }
  return { s: ms / 1000 - offsetS, ns: secNs - wholeSec * 1e9 }
}

/**
 * Azure LLM inference trace, 2023 or 2024 (`TIMESTAMP,ContextTokens,GeneratedTokens`, timestamps
 * like `2023-11-16 18:17:03.9799600`, optionally with a `Z` or `+00:00` zone; no zone means UTC).
 * ContextTokens become the request's unique tokens, GeneratedTokens its output tokens; arrivals
 * are integer ns after the earliest row.
 * @example parseAzure("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,4808,10\n", "a.csv")
 */
export const parseAzure = (text: TraceText, file: string): TraceImport => {
  const table = csvTable(text, file, ["TIMESTAMP", "ContextTokens", "GeneratedTokens"])
  const rows: TraceRow[] = []
  let base: number | null = null
  for (const { line, fields } of table) {
    const [stamp, ctx, gen] = fields as [string, string, string]
    const t = stampNs(stamp)
    if (t === null) {
      throw new InputFileInvalid({
        file,
        line,
        message: `TIMESTAMP must be a real date and time like 2023-11-16 18:17:03.9799600, optionally with a zone from -12:00 to +14:00 (got ${quoteField(stamp)})`,
      })
    }
    base ??= t.s
    const uniqueTokens = parseCount(ctx)
    if (uniqueTokens === null) throw new InputFileInvalid({ file, line, message: `ContextTokens must be a non-negative integer (got ${quoteField(ctx)})` })
    const outputTokens = parseCount(gen)
    if (outputTokens === null) throw new InputFileInvalid({ file, line, message: `GeneratedTokens must be a non-negative integer (got ${quoteField(gen)})` })
    const atNs = (t.s - base) * 1e9 + t.ns
    if (!Number.isSafeInteger(atNs)) {
      throw new InputFileInvalid({ file, line, message: `TIMESTAMP is more than 104 days from the first row's (got ${quoteField(stamp)}); a trace may span at most 2^53 ns of simulated time` })
    }
    rows.push({ atNs, uniqueTokens, outputTokens, line })
  }
  return assembleRequests("azure", rows, { file, column: "TIMESTAMP" })
}
