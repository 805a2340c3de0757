import { describe, expect, it } from "vitest"
import { disaggregatedUniqueWork, iterationWork, prefillWork, type BatchState } from "../../src/engine/iterationWork.js"
import { resolveScenario } from "../../src/sim/resolve.js"
import { workOf } from "../../src/sim/roofline.js"
import { small } from "../sim/scenarioFixture.js"

const batch: BatchState = { decoding: 16, unique: { count: 16, totalTokens: 16 * 4096, maxTokens: 4096 }, histogram: [{ queries: 4, units: 8 }, { queries: 8, units: 4 }] }
const kinds = (specs: readonly { kind: string }[]) => specs.map((s) => s.kind)
const total = (specs: Parameters<typeof workOf>[0][]) => specs.reduce((a, s) => a + workOf(s).bytes, 0)

describe("iterationWork", () => {
  it("prices private and prefix as per-request attention over unique plus shared context", () => {
    for (const system of ["private", "prefix"] as const) {
      const r = resolveScenario(small({ system }))
      const w = iterationWork(r, batch)
      expect(kinds(w.unique)).toEqual(["gemm", "decodeAttention"])
      const att = w.unique[1]
      expect(att?.kind === "decodeAttention" && att.totalTokens).toBe(16 * 4096 + 16 * 262_144)
      expect(w.shared).toEqual([])
    }
  })

  it("prices cascade as unique attention plus every chunk attended by all queries, on the unique worker", () => {
    const w = iterationWork(resolveScenario(small({ system: "cascade" })), batch)
    expect(kinds(w.unique)).toEqual(["gemm", "decodeAttention", "sharedAttention", "merge"])
    const sh = w.unique[2]
    expect(sh?.kind === "sharedAttention" && sh.histogram).toEqual([{ queries: 16, units: 16 * 8 }])
  })

  it("prices disaggregated moska with shared attention on the Shared-KV side and q/o transfers per layer", () => {
    const r = resolveScenario(small())
    const w = iterationWork(r, batch)
    expect(kinds(w.unique)).toEqual(["gemm", "router", "decodeAttention", "merge"])
    expect(kinds(w.shared)).toEqual(["sharedAttention", "merge"])
    const sh = w.shared[0]
    expect(sh?.kind === "sharedAttention" && sh.histogram).toEqual([{ queries: 4, units: 64 }, { queries: 8, units: 32 }])
    expect(w.toShared[0]?.messages).toBe(32)
    // ≈ 16.1 KiB per layer per token for q + o + lse (MODEL-NOTES), plus 4 B per routed chunk id.
    const perTokenPerLayer = ((w.toShared[0]?.bytes ?? 0) + (w.fromShared[0]?.bytes ?? 0)) / 16 / 32
    expect(perTokenPerLayer).toBe(8192 + 4 * 4 + 8192 + 128)
    // One layer of a per-layer step is 1/32 of the iteration.
    const one = iterationWork(r, batch, 1)
    expect(total([...one.unique]) * 32).toBeCloseTo(total([...w.unique]), -3)
  })

  it("builds the disaggregated unique side alone as iterationWork builds it, whatever the histogram", () => {
    const r = resolveScenario(small())
    for (const decoding of [0, 1, 16, 300])
      for (const layers of [32, 8])
        for (const histogram of [[], [{ queries: 0, units: 3 }], batch.histogram]) {
          const state = { decoding, unique: { count: decoding, totalTokens: decoding * 777, maxTokens: 999 }, histogram }
          expect(disaggregatedUniqueWork(r, decoding, state.unique, layers)).toEqual(iterationWork(r, state, layers).unique)
        }
  })

  it("keeps shared attention on the unique worker when moska is not disaggregated, and skips it with no routed queries", () => {
    const r = resolveScenario(small({ policy: { disaggregated: false } }))
    expect(kinds(iterationWork(r, batch).unique)).toEqual(["gemm", "router", "decodeAttention", "sharedAttention", "merge"])
    expect(kinds(iterationWork(r, { ...batch, histogram: [] }).unique)).toEqual(["gemm", "router", "decodeAttention", "merge"])
  })

  it("prices nothing for an empty batch, and prefill as dense plus causal attention per prompt", () => {
    const r = resolveScenario(small())
    expect(iterationWork(r, { ...batch, decoding: 0 }).unique).toEqual([])
    const p = prefillWork(r, [1000, 3000])
    expect(kinds(p)).toEqual(["gemm", "sharedAttention", "sharedAttention"])
    expect(p[0]?.kind === "gemm" && p[0].m).toBe(4000)
    // Causal: about half of U² query-key pairs per prompt.
    expect(workOf(p[1] as never).flops).toBe(4 * 1000 * 500 * 128 * 32 * 32)
  })
})
