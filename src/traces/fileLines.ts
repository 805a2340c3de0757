import { closeSync, openSync, readSync } from "node:fs"
import { StringDecoder } from "node:string_decoder"
import type { TraceLine } from "./textLines.js"

/** Bytes read per call: large enough to amortize the calls, small next to any trace worth streaming. */
const CHUNK_BYTES = 1 << 20

/**
 * The lines of a file (or of a file descriptor, such as 0 for standard input) read in chunks, with
 * their 1-based numbers, as `textLines` gives them for the whole text: blank lines skipped, `\r`
 * before `\n` dropped, a leading byte-order mark dropped. A trace is never held whole in memory, so
 * files past V8's largest string (about 512 MiB, smaller than the full BurstGPT CSV) import too.
 * UTF-8 characters split across chunks are joined by a StringDecoder. Read errors propagate.
 * Iterate it once: a descriptor cannot be read twice.
 * @example for (const { line, text } of fileLines("trace.jsonl")) ...
 */
export function* fileLines(source: string | number, chunkBytes = CHUNK_BYTES): Generator<TraceLine> {
  const fd = typeof source === "number" ? source : openSync(source, "r")
  const decoder = new StringDecoder("utf8")
  const buf = Buffer.allocUnsafe(chunkBytes)
  let carry = ""
  let line = 0
  let first = true
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, chunkBytes, null)
      let text = n === 0 ? carry + decoder.end() : carry + decoder.write(buf.subarray(0, n))
      if (first && text.length > 0) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
        first = false
      }
      const parts = text.split("\n")
      // the last part may continue in the next chunk, unless the file has ended
      carry = n === 0 ? "" : (parts.pop() as string)
      for (const p of parts) {
        line++
        const t = p.endsWith("\r") ? p.slice(0, -1) : p
        if (t.trim() !== "") yield { line, text: t }
      }
      if (n === 0) return
    }
  } finally {
    if (typeof source !== "number") closeSync(fd)
  }
}
