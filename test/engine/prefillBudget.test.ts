import { describe, expect, it } from "vitest"
import { run, small } from "../sim/scenarioFixture.js"

// policy.prefillTokenBudget: prefill steps take whole requests up to the budget, and while anyone
// decodes, a decode iteration runs between two prefill steps.
describe("prefill token budget", () => {
  const scenario = (budget?: number) => small({
    workload: { kind: "poisson", ratePerS: 2000, requests: 40, uniqueTokens: { kind: "fixed", value: 2048 }, outputTokens: { kind: "fixed", value: 32 } },
    policy: { disaggregated: false, ...(budget === undefined ? {} : { prefillTokenBudget: budget }) },
  })

  it("caps each prefill step at the budget and never runs two prefill steps back to back while requests decode", () => {
    const { result, sink } = run(scenario(4096))
    expect(result.requests.completed).toBe(40)
    const rows = sink.kernels.filter((k) => k.workerId === "unique-0").sort((a, b) => a.startNs - b.startNs)
    const prefills = rows.filter((k) => k.kind === "unique.prefill")
    expect(prefills.length).toBeGreaterThanOrEqual(20)
    for (const p of prefills) expect(p.queries).toBeLessThanOrEqual(2)
    let decodedBefore = false
    for (let i = 1; i < rows.length; i++) {
      if ((rows[i - 1] as { kind: string }).kind === "unique.iteration") decodedBefore = true
      const both = (rows[i - 1] as { kind: string }).kind === "unique.prefill" && (rows[i] as { kind: string }).kind === "unique.prefill"
      // back-to-back prefills only before the first decode iteration could run
      if (decodedBefore) expect(both).toBe(false)
    }
  })

  it("without a budget, every admitted prompt goes in one step (the behaviour golden summaries hold)", () => {
    const { sink } = run(scenario())
    const prefills = sink.kernels.filter((k) => k.kind === "unique.prefill")
    expect(Math.max(...prefills.map((p) => p.queries))).toBeGreaterThan(2)
  })
})
