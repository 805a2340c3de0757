import { Either } from "effect"
import { afterEach, describe, expect, it, vi } from "vitest"
import { loadScenarioText } from "../../src/core/scenarioLoader.js"

const W = "workload: {kind: poisson, ratePerS: 2, requests: 10}\n"

/** `path: message` of every issue of an invalid scenario. */
const issues = (text: string, overrides: string[] = []): string[] => {
  const r = loadScenarioText(text, { source: "x.yaml", overrides })
  if (Either.isRight(r)) throw new Error("expected the scenario to be invalid")
  return r.left.issues.map((i) => `${i.path}: ${i.message}`)
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe("loadScenarioText on YAML that only fails when read", () => {
  it("reports an unresolved alias on its line instead of throwing", () => {
    expect(issues(`${W}seed: *nope\n`)).toEqual(["line 2: alias *nope refers to no anchor &nope defined before it"])
  })

  it("refuses an alias bomb without expanding it", () => {
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x]", ...["b", "c", "d", "e", "f", "g"].map((k, i, ks) => `${k}: &${k} [${Array(9).fill(`*${i === 0 ? "a" : ks[i - 1]}`).join(", ")}]`)].join("\n")
    const [only, ...rest] = issues(`${W}${bomb}\n`)
    expect(rest).toEqual([])
    expect(only).toMatch(/^\(document\): aliases expand to too many nodes/)
  })

  it("refuses a list used as a key, and Node prints no warning", () => {
    const warn = vi.spyOn(process, "emitWarning")
    expect(issues(`${W}? [a, b]\n: 1\n`)).toEqual(["line 2: a key must be a plain name, not a list or mapping (write key: value)"])
    expect(warn).not.toHaveBeenCalled()
  })

  it("refuses an unknown tag instead of reading it as a string", () => {
    expect(issues(`${W}seed: !foo 5\n`)).toEqual(["line 2: Unresolved tag: !foo"])
  })
})

describe("scenario limits: sizes and times a run cannot simulate are input errors naming the field", () => {
  it.each([
    [["workload.ratePerS=1e-320"], /^workload\.ratePerS: is too low for 10 requests: .* use ratePerS ≥ 0\.0000111 or fewer requests \(got 1e-320\)$/],
    [["untilS=1e308"], /^untilS: must be at most 9000000 s \(simulated time is integer ns, exact up to 2\^53 ns, about 104 days; got 1e\+308\)$/],
    [["hardware.unique.count=2000000000"], /^hardware\.unique\.count: must be a positive integer ≤ 4096 \(each replica .*\(got 2000000000\)$/],
    [["hardware.shared.count=5000"], /^hardware\.shared\.count: must be a positive integer ≤ 4096/],
    [["workload.requests=2000000000"], /^workload\.requests: must be a positive integer ≤ 10000000 \(a larger run takes hours/],
    [["workload={kind: closed, concurrency: 4, requests: 20000000}"], /^workload\.requests: must be a positive integer ≤ 10000000/],
    [["workload={kind: gamma, ratePerS: 1, cv: 1e200, requests: 5}"], /^workload\.cv: must be a number from 0\.001 to 100/],
    [["workload={kind: gamma, ratePerS: 1, cv: 1e-200, requests: 5}"], /^workload\.cv: must be a number from 0\.001 to 100/],
    [["policy.batcher={kind: window, windowNs: 1e300, maxRows: 4}"], /^policy\.batcher\.windowNs: must be a non-negative integer of ns ≤ 1000000000000/],
    [["hardware.interconnect.bandwidthBps=1e-300"], /^hardware\.interconnect\.bandwidthBps: must be a finite number of bytes\/s ≥ 1000000/],
    [["hardware.interconnect.latencyNs=1e300"], /^hardware\.interconnect\.latencyNs: must be a non-negative integer of ns ≤ 1000000000000/],
  ])("%s", (overrides, expected) => {
    const got = issues(W, overrides)
    expect(got).toHaveLength(1)
    expect(got[0]).toMatch(expected)
  })

  it("accepts the largest values inside the limits", () => {
    const r = loadScenarioText(W, { source: "x.yaml", overrides: ["untilS=9000000", "hardware.unique.count=4096", "workload.requests=10000000", "workload.ratePerS=11.2"] })
    expect(Either.isRight(r)).toBe(true)
  })
})

describe("cross-field rules", () => {
  it("a uniform distribution's max must not be below its min", () => {
    expect(issues(W, ["workload.uniqueTokens={kind: uniform, min: 100, max: 10}"])).toEqual([
      "workload.uniqueTokens.max: must be ≥ min (got min 100, max 10); swap them",
    ])
    expect(Either.isRight(loadScenarioText(W, { source: "x.yaml", overrides: ["workload.outputTokens={kind: uniform, min: 7, max: 7}"] }))).toBe(true)
  })

  it("topK may not exceed the chunk count, nor chunkTokens the corpus", () => {
    expect(issues(W, ["corpus={sharedTokens: 65536, chunkTokens: 16384, topK: 100}"])).toEqual([
      "corpus.topK: must be at most the chunk count 4 (sharedTokens 65536 / chunkTokens 16384, rounded up; got 100)",
    ])
    expect(issues(W, ["corpus.chunkTokens=2097152"])).toEqual([
      "corpus.chunkTokens: must be at most sharedTokens (got chunkTokens 2097152, sharedTokens 1048576); a chunk is a slice of the corpus",
    ])
    expect(issues(W, ["corpus={sharedTokens: 65536, chunkTokens: 131072, topK: 2}"])).toHaveLength(2)
    expect(Either.isRight(loadScenarioText(W, { source: "x.yaml", overrides: ["corpus={sharedTokens: 65536, chunkTokens: 16384, topK: 4}"] }))).toBe(true)
  })
})
