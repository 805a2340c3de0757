import { InputFileInvalid } from "../core/errors.js"
import { assembleRequests, type TraceRow } from "./assembleRequests.js"
import { csvTable } from "./csvTable.js"
import { decimalSecondsToNs } from "./decimalToNs.js"
import { parseCount } from "./parseCount.js"
import type { TraceImport } from "./TraceImport.js"
import { quoteField } from "./quoteField.js"

/**
 * BurstGPT CSV (`Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type`; v3 adds
 * `Session ID,Elapsed time`, which are ignored). Timestamp is seconds from the trace start;
 * Request tokens become unique tokens, Response tokens output tokens. Rows with 0 response tokens
 * are failed requests in BurstGPT: they are skipped and counted in `skipped`, not replayed.
 * @example parseBurstGpt("Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n5,ChatGPT,472,18,490,Conversation log\n", "b.csv")
 */
export const parseBurstGpt = (text: string, file: string): TraceImport => {
  const table = csvTable(text, file, ["Timestamp", "Request tokens", "Response tokens"])
  const rows: TraceRow[] = []
  for (const { line, fields } of table) {
    const [stamp, req, resp] = fields as [string, string, string]
    const atNs = decimalSecondsToNs(stamp)
    if (atNs === null) {
      throw new InputFileInvalid({
        file,
        line,
        message: `Timestamp must be non-negative seconds from the trace start, at most 9007199 (about 104 days of simulated time; got ${quoteField(stamp)})`,
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
