import { describe, expect, it } from "vitest"
import { InputFileInvalid, ScenarioInvalid, TraceWriteFailed } from "../../src/core/errors.js"
import { exitCodeOf, MAX_LISTED_ISSUES, messageOf } from "../../src/cli/exit.js"

describe("messageOf", () => {
  it("lists at most MAX_LISTED_ISSUES problems of a scenario and says how many more there are", () => {
    const issues = Array.from({ length: 10_000 }, (_, i) => ({ path: `k${i}`, message: "is not a known field" }))
    const lines = messageOf(new ScenarioInvalid({ source: "x.yaml", issues })).split("\n")
    expect(lines).toHaveLength(MAX_LISTED_ISSUES + 1)
    expect(lines[0]).toBe("x.yaml: k0: is not a known field")
    expect(lines[MAX_LISTED_ISSUES]).toBe(`x.yaml: … and ${(10_000 - MAX_LISTED_ISSUES).toLocaleString("en-US")} more problems (fix these first, then check again with moska scenario check)`)
  })

  it("keeps every problem on its own line, even when a value holds line breaks", () => {
    const m = messageOf(new InputFileInvalid({ file: "t.csv", line: 3, message: "bad\nvalue\r\u2028here" }))
    expect(m).toBe("t.csv:3: bad value here")
    expect(messageOf(new ScenarioInvalid({ source: "x.yaml", issues: [{ path: "a\nb", message: "c\nd" }] }))).toBe("x.yaml: a b: c d")
  })

  it("names the database file when the trace database cannot be written", () => {
    const e = new TraceWriteFailed({ file: "runs/moska.db", message: "unable to open database file" })
    expect(messageOf(e)).toBe("runs/moska.db: cannot write the trace database (unable to open database file)")
    expect(exitCodeOf(e)).toBe(1)
  })
})
