import { InputFileInvalid } from "../core/errors.js"
import { splitCsvLine } from "./splitCsvLine.js"
import { textLines, type TraceLine } from "./textLines.js"
import type { TraceFormatName } from "./TraceImport.js"

/**
 * Guesses a trace's format from its first non-blank line: a JSON object is Mooncake JSONL; a CSV
 * header with TIMESTAMP/ContextTokens/GeneratedTokens is Azure; one with Request tokens/Response
 * tokens is BurstGPT. Throws InputFileInvalid when none matches.
 * @example detectTraceFormat("TIMESTAMP,ContextTokens,GeneratedTokens\n...", "a.csv") // "azure"
 */
export const detectTraceFormat = (text: string, file: string): TraceFormatName =>
  traceFormatOfFirstLine(textLines(text.slice(0, 65_536))[0], file)

/** The same guess from the first non-blank line alone (undefined: the file is empty), for streamed traces. */
export const traceFormatOfFirstLine = (first: TraceLine | undefined, file: string): TraceFormatName => {
  if (first === undefined) throw new InputFileInvalid({ file, message: "the trace file is empty" })
  if (first.text.trimStart().startsWith("{")) return "mooncake"
  const cols = (splitCsvLine(first.text) ?? []).map((c) => c.toLowerCase())
  if (["timestamp", "contexttokens", "generatedtokens"].every((c) => cols.includes(c))) return "azure"
  if (["timestamp", "request tokens", "response tokens"].every((c) => cols.includes(c))) return "burstgpt"
  throw new InputFileInvalid({
    file,
    line: first.line,
    message:
      "unknown trace format: expected an Azure CSV header (TIMESTAMP,ContextTokens,GeneratedTokens), " +
      "a BurstGPT CSV header (Timestamp,Model,Request tokens,Response tokens,...) or Mooncake JSONL ({\"timestamp\": ...})",
  })
}
