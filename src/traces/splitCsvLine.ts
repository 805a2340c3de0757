/**
 * Splits one CSV record into fields (RFC 4180 quoting: `"a,b"` and doubled `""` inside quotes).
 * Fields are trimmed. Records spanning lines are not supported: trace files never have them, and a
 * line-per-record reader keeps error line numbers exact. Returns null on an unterminated quote.
 * @example splitCsvLine('1.5,"GPT-4",10') // ["1.5", "GPT-4", "10"]
 */
export const splitCsvLine = (line: string): string[] | null => {
  const fields: string[] = []
  let i = 0
  for (;;) {
    let field = ""
    while (line[i] === " ") i++
    if (line[i] === '"') {
      i++
      for (;;) {
        if (i >= line.length) return null
        const c = line[i] as string
        if (c === '"') {
          if (line[i + 1] === '"') {
            field += '"'
            i += 2
          } else {
            i++
            break
          }
        } else {
          field += c
          i++
        }
      }
      const comma = line.indexOf(",", i)
      const rest = comma === -1 ? line.slice(i) : line.slice(i, comma)
      if (rest.trim() !== "") return null
      fields.push(field)
      if (comma === -1) return fields
      i = comma + 1
    } else {
      const comma = line.indexOf(",", i)
      fields.push((comma === -1 ? line.slice(i) : line.slice(i, comma)).trim())
      if (comma === -1) return fields
      i = comma + 1
    }
  }
}
