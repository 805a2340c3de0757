import { Schema as S } from "effect"
import { Scenario as ScenarioSchema, type Scenario, type ScenarioInput } from "../../src/core/scenario.js"
import { MemorySink } from "../../src/sim/memorySink.js"
import { runSimulation, type SimulationInput, type SimulationResult } from "../../src/sim/runSimulation.js"

/** A small scenario: Poisson arrivals, 256K-token corpus in 16 chunks of 16K, top-4. */
export const small = (over: Partial<ScenarioInput> = {}): Scenario => {
  const base: ScenarioInput = {
    name: "small",
    workload: { kind: "poisson", ratePerS: 200, requests: 40, uniqueTokens: { kind: "fixed", value: 2048 }, outputTokens: { kind: "uniform", min: 4, max: 24 } },
    corpus: { sharedTokens: 262_144, chunkTokens: 16_384, topK: 4 },
  }
  return S.decodeUnknownSync(ScenarioSchema)({ ...base, ...over })
}
export type { Scenario }

export const run = (scenario: Scenario, extra: Partial<SimulationInput> = {}): { result: SimulationResult; sink: MemorySink } => {
  const sink = new MemorySink()
  const result = runSimulation({ scenario, sink, ...extra })
  return { result, sink }
}
