import { detectTraceFormat, traceFormatOfFirstLine } from "./detectTraceFormat.js"
import { parseAzure } from "./parseAzure.js"
import { parseBurstGpt } from "./parseBurstGpt.js"
import { parseMooncake } from "./parseMooncake.js"
import type { TraceLine, TraceText } from "./textLines.js"
import type { TraceFormatName, TraceImport } from "./TraceImport.js"

const PARSERS: Record<TraceFormatName, (text: TraceText, file: string) => TraceImport> = {
  azure: parseAzure,
  burstgpt: parseBurstGpt,
  mooncake: parseMooncake,
}

/**
 * Imports a request trace from its text, whole or streamed line by line (`fileLines`). `format`
 * "auto" (the default) detects it from the header or first line. Synchronous and pure; throws
 * `InputFileInvalid` (src/core/errors.ts) with the file name and 1-based line of the first malformed
 * row. `file` is used only in messages.
 * @example
 * const { requests } = parseTrace(fileLines(p), { file: p }) // 12,031 for the Mooncake sample
 */
export const parseTrace = (
  text: TraceText,
  options: { readonly file: string; readonly format?: TraceFormatName | "auto" },
): TraceImport => {
  const auto = options.format === undefined || options.format === "auto"
  if (typeof text === "string") {
    return PARSERS[auto ? detectTraceFormat(text, options.file) : (options.format as TraceFormatName)](text, options.file)
  }
  // a stream is read once: take its first line to detect the format, then hand it back in front
  const it = text[Symbol.iterator]()
  const first = it.next()
  const format = auto ? traceFormatOfFirstLine(first.done === true ? undefined : first.value, options.file) : (options.format as TraceFormatName)
  function* again(): Generator<TraceLine> {
    if (first.done === true) return
    yield first.value
    for (let n = it.next(); n.done !== true; n = it.next()) yield n.value
  }
  return PARSERS[format](again(), options.file)
}
