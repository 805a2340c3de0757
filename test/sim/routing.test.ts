import { describe, expect, it } from "vitest"
import { makeRng } from "../../src/core/rng.js"
import type { ChunkCount } from "../../src/engine/iterationWork.js"
import { randomRouting, inclusionProbabilities } from "../../src/sim/routing/randomRouting.js"
import { makeRouting } from "../../src/sim/routing/makeRouting.js"
import { traceRouting, blockToChunk } from "../../src/sim/routing/traceRouting.js"
import { histogramOfCounts } from "../../src/engine/routingModel.js"
import { run, small } from "./scenarioFixture.js"

const summarize = (hs: ChunkCount[][], maxQ: number) => {
  const meanUnits = new Float64Array(maxQ + 1)
  let rows = 0
  let touched = 0
  for (const h of hs) for (const { queries, units } of h) {
    meanUnits[queries] = (meanUnits[queries] as number) + units / hs.length
    rows += (queries * units) / hs.length
    touched += units / hs.length
  }
  return { meanUnits, rows, touched }
}

const exactHistograms = (routing: ReturnType<typeof randomRouting>, B: number, draws: number, seed: number): ChunkCount[][] => {
  const t = routing.tracker()
  const rng = makeRng(seed)
  const ids = [...Array(B).keys()]
  const out: ChunkCount[][] = []
  for (let d = 0; d < draws; d++) {
    const counts = new Int32Array(routing.chunks)
    for (const [chunk, reqs] of t.routeExact(ids, rng)) counts[chunk] = reqs.length
    out.push(histogramOfCounts(counts))
  }
  return out
}

describe("random routing", () => {
  it("exact mode gives every query exactly k distinct chunks", () => {
    const r = randomRouting({ chunks: 32, topK: 5, weights: undefined })
    const byChunk = r.tracker().routeExact([1, 2, 3], makeRng(1))
    const perRequest = new Map<number, number>()
    for (const ids of byChunk.values()) for (const id of ids) perRequest.set(id, (perRequest.get(id) ?? 0) + 1)
    expect([...perRequest.values()]).toEqual([5, 5, 5])
  })

  it("fast histograms follow the same law as exact routing (uniform)", () => {
    const N = 16
    const B = 8
    const r = randomRouting({ chunks: N, topK: 4, weights: undefined })
    const fast = summarize(Array.from({ length: 3000 }, (_, i) => r.drawHistogram(B, makeRng(100 + i))), B)
    const exact = summarize(exactHistograms(r, B, 3000, 7), B)
    expect(fast.rows).toBeCloseTo(B * 4, 0) // E[rows] = B·k
    expect(exact.rows).toBeCloseTo(B * 4, 9)
    expect(Math.abs(fast.touched - exact.touched)).toBeLessThan(0.15) // E = N(1 − (3/4)^8) = 14.4
    for (let q = 1; q <= 6; q++) expect(Math.abs((fast.meanUnits[q] as number) - (exact.meanUnits[q] as number))).toBeLessThan(0.2)
  })

  it("fast histograms follow the same law as exact routing (Zipf hot chunks)", () => {
    const route = makeRouting({ sharedTokens: 64 * 16, chunkTokens: 16, chunks: 64, topK: 8, routing: { kind: "zipf", exponent: 1.2 }, bytes: 0 }, makeRng(3))
    const B = 24
    const fast = summarize(Array.from({ length: 1500 }, (_, i) => route.drawHistogram(B, makeRng(1000 + i))), B)
    const exact = summarize(exactHistograms(route as ReturnType<typeof randomRouting>, B, 1500, 11), B)
    expect(Math.abs(fast.rows - exact.rows) / exact.rows).toBeLessThan(0.03)
    expect(Math.abs(fast.touched - exact.touched) / exact.touched).toBeLessThan(0.05)
    // The hottest chunk's rows: the largest count class carries the skew.
    const hot = (s: ReturnType<typeof summarize>) => s.meanUnits.reduce((a, u, q) => a + (q >= 16 ? u : 0), 0)
    expect(Math.abs(hot(fast) - hot(exact))).toBeLessThan(0.35)
  })

  it("solves inclusion probabilities that sum to k and keep the weights' order", () => {
    const w = Float64Array.from([8, 4, 2, 1, 1, 0.5])
    const pi = inclusionProbabilities(w, 3)
    expect(pi.reduce((a, b) => a + b, 0)).toBeCloseTo(3, 9)
    for (let j = 1; j < w.length; j++) expect(pi[j]).toBeLessThanOrEqual(pi[j - 1] as number)
    expect(inclusionProbabilities(new Float64Array(4).fill(1), 1)[0]).toBe(0.25)
  })
})

describe("trace routing", () => {
  it("maps equal block ids to the same chunk and keeps counts as requests join and leave", () => {
    const r = traceRouting({ chunks: 8, topK: 3 })
    const t = r.tracker()
    t.join(1, [0, 10, 20, 30])
    t.join(2, [0, 11])
    const c0 = blockToChunk(0, 8)
    expect(t.counts()?.[c0]).toBe(2)
    const rows = (h: ChunkCount[]) => h.reduce((a, x) => a + x.queries * x.units, 0)
    const before = t.histogram(2, makeRng(1))
    expect(before.find((h) => h.queries === 2)?.units).toBeGreaterThanOrEqual(1)
    const exact = t.routeExact([1, 2], makeRng(1))
    expect([...exact.values()].reduce((a, ids) => a + ids.length, 0)).toBe(rows(before))
    t.leave(1)
    expect(rows(t.histogram(1, makeRng(1)))).toBe(new Set([0, 11].map((b) => blockToChunk(b, 8))).size)
    t.leave(2)
    expect(t.histogram(0, makeRng(1))).toEqual([])
  })
})

describe("fast vs exact routing in a run", () => {
  it("gives close shared work and iteration times on a small scenario", () => {
    const over = (routingMode: "fast" | "exact") =>
      small({
        corpus: { sharedTokens: 262_144, chunkTokens: 16_384, topK: 4 },
        workload: { kind: "closed", concurrency: 12, requests: 36, uniqueTokens: { kind: "fixed", value: 2048 }, outputTokens: { kind: "fixed", value: 40 } },
        policy: { routingMode, prefill: false },
      })
    const fast = run(over("fast"))
    const exact = run(over("exact"))
    const sharedNs = (rows: typeof fast.sink.kernels, kind: string) => rows.filter((k) => k.kind === kind).reduce((a, k) => a + (k.endNs - k.startNs), 0)
    const sharedRows = (rows: typeof fast.sink.kernels, kind: string) => rows.filter((k) => k.kind === kind).reduce((a, k) => a + k.queries, 0)
    const fastShared = sharedNs(fast.sink.kernels, "shared.iteration")
    const exactShared = sharedNs(exact.sink.kernels, "shared.chunk")
    expect(Math.abs(fastShared - exactShared) / exactShared).toBeLessThan(0.05)
    // Stacked rows: exactly B·k per step in exact mode; drawn per chunk in fast mode, B·k on average.
    const exactRows = sharedRows(exact.sink.kernels, "shared.chunk")
    expect(Math.abs(sharedRows(fast.sink.kernels, "shared.iteration") - exactRows) / exactRows).toBeLessThan(0.03)
    expect(Math.abs(fast.result.simulatedNs - exact.result.simulatedNs) / exact.result.simulatedNs).toBeLessThan(0.03)
    expect(exact.result.iterations).toBe(fast.result.iterations)
  })
})
