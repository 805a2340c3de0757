import fc from "fast-check"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { fileLines } from "../../src/traces/fileLines.js"
import { parseTrace } from "../../src/traces/parseTrace.js"
import { textLines } from "../../src/traces/textLines.js"

const dir = mkdtempSync(join(tmpdir(), "moska-lines-"))
let n = 0
const file = (text: string): string => {
  const p = join(dir, `t${n++}.txt`)
  writeFileSync(p, text)
  return p
}

describe("fileLines", () => {
  it("yields exactly textLines' lines for any text and chunk size (CRLF, blank lines, BOM, multi-byte characters split across chunks)", () => {
    const piece = fc.constantFrom("a", "x,1,2", "é", "😀", "\n", "\r\n", "\r", " ", "\n\n", '{"timestamp": 1}')
    fc.assert(
      fc.property(fc.boolean(), fc.array(piece, { maxLength: 40 }), fc.integer({ min: 1, max: 9 }), (bom, pieces, chunk) => {
        const text = `${bom ? "\ufeff" : ""}${pieces.join("")}`
        expect([...fileLines(file(text), chunk)]).toEqual(textLines(text))
      }),
      { seed: 20_261_202, numRuns: 300 },
    )
  })

  it("imports a streamed trace to the same requests as its whole text, errors on the same line", () => {
    const text = '{"timestamp": 0, "input_length": 10, "output_length": 2}\n\n{"timestamp": 5, "input_length": 7, "output_length": 3, "hash_ids": [1, 2]}\r\n'
    expect(parseTrace(fileLines(file(text), 16), { file: "m.jsonl" })).toEqual(parseTrace(text, { file: "m.jsonl" }))
    const csv = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n1,ChatGPT,10,2,12,x\n2,ChatGPT,ten,2,12,x\n"
    const whole = (() => { try { parseTrace(csv, { file: "b.csv" }) } catch (e) { return e } })()
    const streamed = (() => { try { parseTrace(fileLines(file(csv), 5), { file: "b.csv" }) } catch (e) { return e } })()
    expect(streamed).toEqual(whole)
    expect((whole as { line: number }).line).toBe(3)
  })
})
