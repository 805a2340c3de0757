import { InputFileInvalid } from "../core/errors.js"
import { splitCsvLine } from "./splitCsvLine.js"
import { quoteField } from "./quoteField.js"
import { textLines } from "./textLines.js"

/**
 * Reads a CSV file with a header row and yields, for each data line, the fields of the named
 * columns (matched case-insensitively, in any order; extra columns are ignored). Throws
 * InputFileInvalid naming the line when the header lacks a column or a row is short or unquoted.
 * @example csvTable(text, "t.csv", ["TIMESTAMP", "ContextTokens"]) // [{ line: 2, fields: ["2023-...", "4808"] }]
 */
export const csvTable = (
  text: string,
  file: string,
  columns: readonly string[],
): Array<{ readonly line: number; readonly fields: readonly string[] }> => {
  const lines = textLines(text)
  const head = lines[0]
  if (head === undefined) throw new InputFileInvalid({ file, message: "the file is empty (expected a CSV header)" })
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
  const out: Array<{ line: number; fields: string[] }> = []
  for (let k = 1; k < lines.length; k++) {
    const { line, text: t } = lines[k] as { line: number; text: string }
    const all = splitCsvLine(t)
    if (all === null) throw new InputFileInvalid({ file, line, message: "unterminated or misplaced quote" })
    if (all.length < header.length) {
      throw new InputFileInvalid({ file, line, message: `expected ${header.length} fields like the header, got ${all.length}` })
    }
    out.push({ line, fields: index.map((i) => all[i] as string) })
  }
  return out
}
