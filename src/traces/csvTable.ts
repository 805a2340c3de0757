import { InputFileInvalid } from "../core/errors.js"
import { splitCsvLine } from "./splitCsvLine.js"
import { quoteField } from "./quoteField.js"
import { linesOf, type TraceText } from "./textLines.js"

/**
 * Reads a CSV file (whole or streamed) with a header row and yields, for each data line, the fields of the named
 * columns (matched case-insensitively, in any order; extra columns are ignored). Throws
 * InputFileInvalid naming the line when the header lacks a column or a row is short or unquoted.
 * @example csvTable(text, "t.csv", ["TIMESTAMP", "ContextTokens"]) // [{ line: 2, fields: ["2023-...", "4808"] }]
 */
export function* csvTable(
  text: TraceText,
  file: string,
  columns: readonly string[],
): Generator<{ readonly line: number; readonly fields: readonly string[] }> {
  const lines = linesOf(text)[Symbol.iterator]()
  const first = lines.next()
  if (first.done === true) throw new InputFileInvalid({ file, message: "the file is empty (expected a CSV header)" })
  const head = first.value
  const header = splitCsvLine(head.text)
  if (header === null) throw new InputFileInvalid({ file, line: head.line, message: "unterminated quote in the header" })
  const lower = header.map((h) => h.toLowerCase())
  const index = columns.map((c) => {
    const at = lower.indexOf(c.toLowerCase())
    if (at === -1) {
      throw new InputFileInvalid({
        file,
        line: head.line,
        message: `header lacks column "${c}" (expected ${columns.map((x) => `"${x}"`).join(", ")}; got ${header.slice(0, 12).map(quoteField).join(", ")}${header.length > 12 ? ` and ${header.length - 12} more` : ""})`,
      })
    }
    return at
  })
  for (let next = lines.next(); next.done !== true; next = lines.next()) {
    const { line, text: t } = next.value
    const all = splitCsvLine(t)
    if (all === null) throw new InputFileInvalid({ file, line, message: "unterminated or misplaced quote" })
    if (all.length < header.length) {
      throw new InputFileInvalid({ file, line, message: `expected ${header.length} fields like the header, got ${all.length}` })
    }
    yield { line, fields: index.map((i) => all[i] as string) }
  }
}
