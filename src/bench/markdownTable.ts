/**
 * A Markdown table of string cells, padded so it also reads as plain text: the first `leftColumns`
 * columns left-aligned (names), the rest right-aligned (numbers). What benchmark commands print last.
 * @example markdownTable(["case", "wall s"], [["mooncake", "16.1"]]) // "| case     | wall s |\n|:---------|-------:|\n| mooncake |   16.1 |"
 */
export const markdownTable = (header: readonly string[], rows: ReadonlyArray<readonly string[]>, leftColumns = 2): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((t) => (t[i] ?? "").length)))
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => (i < leftColumns ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(" | ")} |`
  const rule = `|${widths.map((w, i) => (i < leftColumns ? `:${"-".repeat(w + 1)}` : `${"-".repeat(w + 1)}:`)).join("|")}|`
  return [line(header), rule, ...rows.map(line)].join("\n")
}
