import { detectTraceFormat } from "./detectTraceFormat.js"
import { parseAzure } from "./parseAzure.js"
import { parseBurstGpt } from "./parseBurstGpt.js"
import { parseMooncake } from "./parseMooncake.js"
import type { TraceFormatName, TraceImport } from "./TraceImport.js"

const PARSERS: Record<TraceFormatName, (text: string, file: string) => TraceImport> = {
  azure: parseAzure,
  burstgpt: parseBurstGpt,
  mooncake: parseMooncake,
}

/**
 * Imports a request trace from its text. `format` "auto" (the default) detects it from the header
 * or first line. Synchronous and pure; throws `InputFileInvalid` (src/core/errors.ts) with the file
 * name and 1-based line of the first malformed row. `file` is used only in messages.
 * @example
 * const { requests } = parseTrace(readFileSync(p, "utf8"), { file: p }) // 12,031 for the Mooncake sample
 */
export const parseTrace = (
  text: string,
  options: { readonly file: string; readonly format?: TraceFormatName | "auto" },
): TraceImport => {
  const format = options.format === undefined || options.format === "auto" ? detectTraceFormat(text, options.file) : options.format
  return PARSERS[format](text, options.file)
}
