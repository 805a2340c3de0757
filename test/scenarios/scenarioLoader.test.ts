import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { applyOverrides } from "../../src/core/applyOverrides.js"
import { ScenarioInvalid } from "../../src/core/errors.js"
import { loadScenarioText } from "../../src/core/scenarioLoader.js"

const W = "workload: {kind: poisson, ratePerS: 2, requests: 10}\n"

/** The one-line messages a bad scenario produces, as the CLI prints them. */
const lines = (text: string, overrides: string[] = []): string[] => {
  const r = loadScenarioText(text, { source: "x.yaml", overrides })
  if (Either.isRight(r)) throw new Error("expected the scenario to be invalid")
  return r.left.issues.map((i) => `${r.left.source}: ${i.path}: ${i.message}`)
}

describe("loadScenarioText", () => {
  it("applies every documented default to a minimal scenario", () => {
    const s = Either.getOrThrow(loadScenarioText(W, { source: "x.yaml" }))
    expect(s).toMatchObject({
      name: "unnamed", seed: 1, model: "llama-3.1-8b", system: "moska", trace: "kernels",
      precision: { kv: "fp8", weights: "fp8", math: "fp8" },
      corpus: { sharedTokens: 1_048_576, chunkTokens: 16_384, sparsity: 0.75, routing: { kind: "uniform" } },
      workload: { kind: "poisson", ratePerS: 2, requests: 10, uniqueTokens: { kind: "fixed", value: 65_536 }, outputTokens: { kind: "fixed", value: 256 } },
      policy: { maxBatch: 256, batcher: { kind: "barrier" }, routingMode: "fast", disaggregated: true },
    })
    expect(s.untilS).toBeUndefined()
  })

  it("fills defaults inside a partly given nested mapping", () => {
    const s = Either.getOrThrow(loadScenarioText(`${W}corpus: {routing: {kind: zipf}}\nhardware: {unique: {count: 4}}\n`, { source: "x.yaml" }))
    expect(s.corpus).toEqual({ sharedTokens: 1_048_576, chunkTokens: 16_384, sparsity: 0.75, routing: { kind: "zipf", exponent: 1 } })
    expect(s.hardware.unique).toEqual({ gpu: "H200", count: 4, memoryFraction: 0.9 })
  })

  it.each([
    [`${W}corpus: {chunkTokens: 0}`, "x.yaml: corpus.chunkTokens: must be a positive multiple of 16 (got 0)"],
    [`${W}corpus: {chunkTokens: 17}`, "x.yaml: corpus.chunkTokens: must be a positive multiple of 16 (got 17)"],
    [`${W}corpus: {sparsity: 1}`, "x.yaml: corpus.sparsity: must be a number ≥ 0 and < 1 (got 1)"],
    [`${W}model: llama-9`, 'x.yaml: model: must be one of "llama-3.1-8b", "llama-3.1-70b", a mapping (key: value) (got "llama-9")'],
    [`${W}system: vllm`, 'x.yaml: system: must be one of "private", "prefix", "cascade", "moska" (got "vllm")'],
    ["workload: {kind: foo}", 'x.yaml: workload.kind: must be one of "poisson", "gamma", "closed", "trace" (got "foo")'],
    ["workload: {kind: poisson, ratePerS: 0, requests: 3}", "x.yaml: workload.ratePerS: must be a positive finite number (got 0)"],
    ["workload: {kind: closed, concurrency: 2.5, requests: 3}", "x.yaml: workload.concurrency: must be a positive integer (got 2.5)"],
    [`${W}hardware: {unique: {memoryFraction: 1.5}}`, "x.yaml: hardware.unique.memoryFraction: must be a number > 0 and ≤ 1 (got 1.5)"],
    [`${W}policy: {batcher: {kind: window, windowNs: 1000}}`, "x.yaml: policy.batcher.maxRows: is required: a positive integer"],
    [`${W}seed: -1`, "x.yaml: seed: must be a non-negative integer (got -1)"],
    [`${W}untilS: .inf`, "x.yaml: untilS: must be a positive finite number (got Infinity)"],
    [`${W}model: {name: m, layers: 2, hidden: 8, qHeads: 3, kvHeads: 2, headDim: 4, ffn: 8, vocab: 10, params: 100}`, "x.yaml: model: qHeads must be a multiple of kvHeads (got 3 and 2)"],
    [`${W}corpus: {topk: 4}`, "x.yaml: corpus.topk: is not a known field (allowed: sharedTokens, chunkTokens, sparsity, topK, routing)"],
    ["seed: 3", "x.yaml: workload: is required: a mapping (key: value)"],
    ["- 1\n- 2\n", "x.yaml: (top level): must be a mapping (key: value) (got [1,2])"],
    ["workload: [1\n", "x.yaml: line 2: Flow sequence in block collection must be sufficiently indented and end with a ]"],
  ])("reports one line for a bad field: %s", (text, expected) => {
    expect(lines(text)).toEqual([expected])
  })

  it("reports every bad field at once, one line each", () => {
    expect(lines("workload: {kind: poisson, ratePerS: -1, requests: 1.5, burst: 1}\nbogus: 2\n")).toEqual([
      "x.yaml: bogus: is not a known field (allowed: name, description, seed, model, precision, hardware, corpus, workload, system, policy, trace, traceWindowMs, live, untilS)",
      "x.yaml: workload.burst: is not a known field (allowed: kind, ratePerS, requests, uniqueTokens, outputTokens)",
      "x.yaml: workload.ratePerS: must be a positive finite number (got -1)",
      "x.yaml: workload.requests: must be a positive integer ≤ 10000000 (a larger run takes hours and writes tens of GB of rows; split it over several runs with different seeds) (got 1.5)",
    ])
  })
})

describe("--set overrides", () => {
  it("parse values as YAML and create missing mappings", () => {
    const s = Either.getOrThrow(loadScenarioText(W, {
      source: "x.yaml",
      overrides: ["workload.ratePerS=5.5", "corpus.sharedTokens=16777216", "corpus.routing={kind: zipf, exponent: 1.2}", "system=cascade", "policy.overlap=false"],
    }))
    expect(s.workload).toMatchObject({ ratePerS: 5.5 })
    expect(s.corpus.sharedTokens).toBe(16_777_216)
    expect(s.corpus.routing).toEqual({ kind: "zipf", exponent: 1.2 })
    expect(s.system).toBe("cascade")
    expect(s.policy.overlap).toBe(false)
  })

  it("are validated like the file, naming the field", () => {
    expect(lines(W, ["corpus.chunkTokens=100"])).toEqual(["x.yaml: corpus.chunkTokens: must be a positive multiple of 16 (got 100)"])
  })

  it("reject malformed overrides and paths through scalars", () => {
    expect(() => applyOverrides({ model: "llama-3.1-8b" }, ["model.layers=3"])).toThrow(ScenarioInvalid)
    expect(lines(`model: llama-3.1-8b\n${W}`, ["model.layers=3", "seed", "a..b=1"])).toEqual([
      '--set: model.layers: cannot set a field inside model, which is "llama-3.1-8b"',
      "--set: seed: expected path=value, e.g. workload.ratePerS=5 or corpus.routing.kind=zipf",
      "--set: a..b=1: expected path=value, e.g. workload.ratePerS=5 or corpus.routing.kind=zipf",
    ])
  })

  it("leave the input untouched", () => {
    const raw = { workload: { kind: "poisson" } }
    applyOverrides(raw, ["workload.ratePerS=3"])
    expect(raw).toEqual({ workload: { kind: "poisson" } })
  })
})
