import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { LINK_PRESETS, type GpuSpec } from "../../../../src/core/hardware.js"
import { renderPaperReport } from "../../../../src/cli/renderPaperReport.js"
import { loadDeviceFile } from "../../../../src/sim/hw/deviceFile.js"
import { binomialHistogram, DEFAULT_ASSUMPTIONS, systemPoint, type Assumptions } from "../../../../src/sim/hw/paper/paperModel.js"
import { paperReport } from "../../../../src/sim/hw/paper/paperRepro.js"

const cal: GpuSpec = Either.getOrThrow(loadDeviceFile("data/devices/H200-cal.json"))
const base: Assumptions = { gpu: cal, ...DEFAULT_ASSUMPTIONS }
const M = 2 ** 20

describe("paper reproduction assumptions", () => {
  it("lets the sparse baseline reach cascade: a quarter of the chunks stacked, so cascade gets faster", () => {
    const dense = systemPoint("cascade", 4 * M, base)
    const sparse = systemPoint("cascade", 4 * M, { ...base, sparseBaseline: true })
    expect(sparse.tokensPerS).toBeGreaterThan(1.5 * dense.tokensPerS)
  })

  it("spreads binomial routing over counts that add up to the expected touched chunks and the routed queries", () => {
    const B = 64, chunks = 256, k = 64
    const h = binomialHistogram(B, chunks, k)
    const touched = h.reduce((s, b) => s + b.units, 0)
    expect(touched).toBe(Math.round(chunks * (1 - (1 - k / chunks) ** B)))
    const queries = h.reduce((s, b) => s + b.units * b.queries, 0)
    expect(queries / (B * k)).toBeGreaterThan(0.97)
    expect(queries / (B * k)).toBeLessThan(1.03)
    expect(h.length).toBeGreaterThan(5)
  })

  it("charges prefill, KV growth, bf16 attention math and a slower link against moska's throughput, never for it", () => {
    const at = (a: Partial<Assumptions>) => systemPoint("moska-disaggregated", 16 * M, { ...base, ...a }).tokensPerSPerGpu
    const d = at({})
    expect(at({ lifecycle: { outputTokens: 1024, prefill: true, kvGrowth: false } })).toBeLessThan(0.95 * d)
    expect(at({ lifecycle: { outputTokens: 1024, prefill: false, kvGrowth: true } })).toBeLessThanOrEqual(d)
    expect(at({ attentionMath: "bf16" })).toBeLessThan(0.8 * d)
    expect(at({ link: LINK_PRESETS["ib-ndr"] })).toBeLessThanOrEqual(d)
  })

  it("makes multi-GPU baseline replicas pay all-reduces only when asked (one GPU pays none)", () => {
    const ideal = systemPoint("prefix", 8 * M, base)
    const tp = systemPoint("prefix", 8 * M, { ...base, replicaAllReduce: true })
    expect(ideal.uniqueGpusPerReplica).toBeGreaterThan(1)
    expect(tp.stepS).toBeGreaterThan(ideal.stepS)
    expect(systemPoint("cascade", M, { ...base, replicaAllReduce: true }).stepS).toBe(systemPoint("cascade", M, base).stepS)
  })
})

describe("paper reproduction report", () => {
  const r = paperReport({ gpus: [cal], crossover: [] })

  it("states every assumption the review named, and gives every ratio both GPU counts", () => {
    const text = r.assumptions.map((a) => a.assumption).join("\n")
    for (const s of ["decode-only steady state", "expected-value routing", "NVLink 4", "ideal summed devices", "FP8 efficiency borrowed from bf16"]) expect(text).toContain(s)
    const x = r.ratios.find((q) => q.sharedTokens === M && q.system === "moska-disaggregated" && q.baseline === "private")!
    expect(x.gpus.moska).toBeGreaterThan(x.gpus.baseline)
    expect(x.perGpu).toBeCloseTo((x.perDeployment * x.gpus.baseline) / x.gpus.moska, 6)
  })

  it("adds one sensitivity row per newly explicit assumption, starting from the defaults", () => {
    const labels = r.explicit.map((e) => e.label)
    for (const s of ["with prefill", "with KV growth", "with binomial routing", "with a realistic link", "all-reduces", "bf16 math"]) expect(labels.some((l) => l.includes(s))).toBe(true)
    const defaults = r.explicit[0]!
    const grid = r.sensitivity.find((s) => !s.sparseBaseline && !s.sparseTensor && s.nodeMix === "balanced" && s.overlap)!
    expect(defaults.maxRatio.prefix!.perGpu).toBeCloseTo(grid.maxRatio.prefix!.perGpu, 9)
  })

  it("renders the assumptions, equal-GPU ratios and the new rows in the Markdown the command prints", () => {
    const md = renderPaperReport(r, cal.name)
    expect(md).toContain("## Assumptions")
    expect(md).toContain("per GPU (equal GPU counts)")
    expect(md).toContain("10 vs 1")
    expect(md).toContain("## Assumptions made explicit: one at a time")
    expect(md).toContain("cascade has no per-request routing")
  })
})
