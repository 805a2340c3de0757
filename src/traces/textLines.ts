/** One non-blank line of a trace and its 1-based number in the file. */
export interface TraceLine {
  readonly line: number
  readonly text: string
}

/** A trace's lines: `textLines` of a whole text, or `fileLines` streamed from a file. */
export type TraceText = string | Iterable<TraceLine>

/** The lines of `text`, whole or streamed. */
export const linesOf = (text: TraceText): Iterable<TraceLine> => (typeof text === "string" ? textLines(text) : text)

/**
 * The lines of a text file with their 1-based numbers, skipping blank lines (a trailing newline,
 * or blank lines between JSONL records). A leading byte-order mark is dropped.
 * @example textLines("a\n\nb\n") // [{ line: 1, text: "a" }, { line: 3, text: "b" }]
 */
export const textLines = (text: string): TraceLine[] => {
  const raw = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  const out: Array<{ line: number; text: string }> = []
  const parts = raw.split("\n")
  for (let i = 0; i < parts.length; i++) {
    const t = (parts[i] as string).replace(/\r$/, "")
    if (t.trim() !== "") out.push({ line: i + 1, text: t })
  }
  return out
}
