import { InputFileInvalid } from "../core/errors.js"
import { assembleRequests, type TraceRow } from "./assembleRequests.js"
import { csvTable } from "./csvTable.js"
import { decimalSecondsParts, decimalSecondsToNs } from "./decimalToNs.js"
import { parseCount } from "./parseCount.js"
import type { TraceImport } from "./TraceImport.js"
import type { TraceText } from "./textLines.js"
import { quoteField } from "./quoteField.js"

/**
 * BurstGPT CSV (`Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type`; v3 adds
 * `Session ID,Elapsed time`, which are ignored). Timestamp is seconds from the trace start (any
 * day: arrivals are rebased on the earliest row);
 * Request tokens become unique tokens, Response tokens output tokens. Rows with 0 response tokens
 * are failed requests in BurstGPT: they are skipped and counted in `skipped`, not replayed.
 * @example parseBurstGpt("Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n5,ChatGPT,472,18,490,Conversation log\n", "b.csv")
 */
export const parseBurstGpt = (text: TraceText, file: string): TraceImport => {
  const table = csvTable(text, file, ["Timestamp", "Request tokens", "Response tokens"])
  const rows: TraceRow[] = []
  // Times are taken from the first row's whole second, so a slice from late in the trace (BurstGPT
  // runs past day 104, where absolute ns stop being exact doubles) reads exactly; assembleRequests
  // rebases on the earliest row and refuses a slice that itself spans more than 104 days.
  let originS: number | undefined
  for (const { line, fields } of table) {
    const [stamp, req, resp] = fields as [string, string, string]
    const parts = decimalSecondsParts(stamp)
    originS ??= parts?.wholeS
    const atNs = parts === null ? null : decimalSecondsToNs(stamp, originS)
    if (atNs === null) {
      throw new InputFileInvalid({
        file,
        line,
        message: parts === null
          ? `Timestamp must be non-negative decimal seconds, whole part below 2^53 (got ${quoteField(stamp)})`
          : `Timestamp is more than 104 days from the first row's (got ${quoteField(stamp)}); a trace may span at most 2^53 ns of simulated time`,
      })
    }
    const uniqueTokens = parseCount(req)
    if (uniqueTokens === null) throw new InputFileInvalid({ file, line, message: `Request tokens must be a non-negative integer (got ${quoteField(req)})` })
    const outputTokens = parseCount(resp)
    if (outputTokens === null) throw new InputFileInvalid({ file, line, message: `Response tokens must be a non-negative integer (got ${quoteField(resp)})` })
    rows.push({ atNs, uniqueTokens, outputTokens, line })
  }
  return assembleRequests("burstgpt", rows, { file, column: "Timestamp" })
}
