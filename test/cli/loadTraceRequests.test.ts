import { Either } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { loadTraceRequests } from "../../src/cli/loadTraceRequests.js"
import { InputFileInvalid, ScenarioInvalid } from "../../src/core/errors.js"
import { makeRng } from "../../src/core/rng.js"
import { loadScenarioText } from "../../src/core/scenarioLoader.js"
import { makeWorkload } from "../../src/sim/workload/makeWorkload.js"

const trace = (): string => {
  const file = join(mkdtempSync(join(tmpdir(), "moska-trace-")), "t.jsonl")
  writeFileSync(file, ['{"timestamp": 0, "input_length": 10, "output_length": 2}', '{"timestamp": 1000, "input_length": 10, "output_length": 2}', ""].join("\n"))
  return file
}
const scenario = (file: string, timeScale: string) =>
  Either.getOrThrow(loadScenarioText(`workload: {kind: trace, path: ${JSON.stringify(file)}, timeScale: ${timeScale}}\n`, { source: "s.yaml" }))

describe("workload.timeScale is checked where the arrival times are derived", () => {
  it("loadTraceRequests refuses a timeScale that stretches the arrivals past 2^53 ns, naming the file and field", () => {
    const file = trace()
    let err: unknown
    try {
      loadTraceRequests(scenario(file, "1e300"))
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(InputFileInvalid)
    expect((err as InputFileInvalid).file).toBe(file)
    expect((err as InputFileInvalid).message).toMatch(/^workload\.timeScale: stretches the trace's 1\.000 s of arrivals to .* use a timeScale ≤ 9\.01e\+6 \(got 1e\+300\)$/)
    expect(loadTraceRequests(scenario(file, "9e6"))).toHaveLength(2)
  })

  it("makeWorkload refuses it too, before handing out any request", () => {
    const file = trace()
    const requests = loadTraceRequests(scenario(file, "1"))!
    expect(() => makeWorkload(scenario(file, "1e300").workload, makeRng(1), requests)).toThrow(ScenarioInvalid)
    const ok = makeWorkload(scenario(file, "2").workload, makeRng(1), requests)
    expect(ok.kind === "open" ? [ok.next()?.arrivalNs, ok.next()?.arrivalNs] : []).toEqual([0, 2_000_000_000])
  })
})
