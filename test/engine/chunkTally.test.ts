import { describe, expect, it } from "vitest"
import type { ScenarioInput } from "../../src/core/scenario.js"
import type { ChunkStats, KernelRow } from "../../src/core/trace.js"
import { ChunkTally } from "../../src/engine/chunkTally.js"
import { run, small } from "../sim/scenarioFixture.js"

const REPLICAS = 3
const B = 8
const TOP_K = 16

const blocks = (i: number) => [i % 5, 100 + (i % 7), 200 + i, 300 + (i % 3), 400 + (i % 11)]
const traceRequests = Array.from({ length: 60 }, (_, i) => ({ id: i, arrivalNs: (i * 3_000_000) as never, uniqueTokens: 2048, outputTokens: 6 + (i % 13), blocks: blocks(i) }))

const scenario = (routingMode: "fast" | "exact", over: Partial<ScenarioInput> = {}) =>
  small({
    corpus: { sharedTokens: 1_048_576, chunkTokens: 16_384, topK: TOP_K, routing: { kind: "trace" } },
    hardware: { unique: { gpu: "H200", count: REPLICAS }, shared: { gpu: "H200", count: 1 } },
    workload: { kind: "trace", path: "t.jsonl" },
    policy: { maxBatch: B, routingMode },
    ...over,
  })

const byChunk = (s: ChunkStats | undefined) => new Map((s?.chunks ?? []).map((c) => [c.chunkId, c]))

/** Exact mode's kernel rows per chunk: rows stacked and GEMMs. */
const fromKernelRows = (rows: readonly KernelRow[]) => {
  const m = new Map<number, { rows: number; gemms: number }>()
  for (const k of rows) {
    if (k.kind !== "shared.chunk" || k.chunkId === null) continue
    const e = m.get(k.chunkId) ?? { rows: 0, gemms: 0 }
    e.rows += k.queries
    e.gemms++
    m.set(k.chunkId, e)
  }
  return m
}

describe("per-chunk facts of a run (chunk_stats) without exact routing", () => {
  for (const scope of ["global", "replica"] as const) {
    it(`trace routing, barrier scope ${scope}: fast mode counts the rows and GEMMs per chunk that exact mode's chunk rows show`, () => {
      const over = { policy: { maxBatch: B, batcher: { kind: "barrier", scope } } } as const
      const fast = run(scenario("fast", { ...over, policy: { ...over.policy, routingMode: "fast" } }), { traceRequests })
      const exact = run(scenario("exact", { ...over, policy: { ...over.policy, routingMode: "exact" } }), { traceRequests })
      const want = fromKernelRows(exact.sink.kernels)
      expect(want.size).toBeGreaterThan(5)
      const got = byChunk(fast.sink.chunks)
      expect([...got.keys()].sort((a, b) => a - b)).toEqual([...want.keys()].sort((a, b) => a - b))
      for (const [chunk, w] of want) {
        expect(got.get(chunk), `chunk ${chunk}`).toEqual({ chunkId: chunk, rows: w.rows, gemms: w.gemms, basis: "counted" })
      }
      // exact mode tallies its own batches the same way
      expect(byChunk(exact.sink.chunks)).toEqual(got)
      // GEMM sizes account for every stacked row
      const sized = (fast.sink.chunks?.gemmSizes ?? []).reduce((a, g) => a + g.rows * g.gemms, 0)
      expect(sized).toBe([...want.values()].reduce((a, w) => a + w.rows, 0))
      const fastShared = fast.sink.kernels.filter((k) => k.kind === "shared.iteration").reduce((a, k) => a + k.queries, 0)
      expect(sized).toBe(fastShared)
    })
  }

  it("a window batcher's cap splits hot chunks into GEMMs of at most maxRows rows", () => {
    const maxRows = 3
    const { sink } = run(scenario("fast", { policy: { maxBatch: B, batcher: { kind: "window", windowNs: 200_000, maxRows } } }), { traceRequests })
    const stats = sink.chunks as ChunkStats
    expect(Math.max(...stats.gemmSizes.map((g) => g.rows))).toBe(maxRows)
    const sized = stats.gemmSizes.reduce((a, g) => a + g.rows * g.gemms, 0)
    expect(sized).toBe(stats.chunks.reduce((a, c) => a + c.rows, 0))
    expect(stats.gemmSizes.reduce((a, g) => a + g.gemms, 0)).toBe(stats.chunks.reduce((a, c) => a + (c.gemms ?? 0), 0))
  })

  it("colocated moska (no Shared-KV pool) tallies on the unique workers, fast equal to exact", () => {
    const colocated = (mode: "fast" | "exact") => run(scenario(mode, { hardware: { unique: { gpu: "H200", count: 2 } } }), { traceRequests }).sink.chunks
    const fast = colocated("fast")
    expect(fast?.chunks.length).toBeGreaterThan(5)
    expect(byChunk(fast)).toEqual(byChunk(colocated("exact")))
  })

  it("a random law gives expected rows per chunk: topK times the queries of every batch", () => {
    const { sink } = run(small({ hardware: { unique: { gpu: "H200", count: 2 }, shared: { gpu: "H200", count: 1 } }, corpus: { sharedTokens: 262_144, chunkTokens: 16_384, topK: 4, routing: { kind: "zipf", exponent: 1.1 } } }))
    const stats = sink.chunks as ChunkStats
    expect(stats.chunks.every((c) => c.basis === "expected")).toBe(true)
    const queries = sink.kernels.filter((k) => k.kind === "unique.iteration").reduce((a, k) => a + k.queries, 0)
    expect(stats.chunks.reduce((a, c) => a + c.rows, 0)).toBeCloseTo(4 * queries, 6)
    // zipf: the hottest chunk stacks several times the coldest's rows; a chunk is attended at most once per batch
    const rows = stats.chunks.map((c) => c.rows)
    expect(Math.max(...rows)).toBeGreaterThan(3 * Math.min(...rows))
    const batches = sink.kernels.filter((k) => k.kind === "shared.iteration").length
    for (const c of stats.chunks) expect(c.gemms ?? Infinity).toBeLessThanOrEqual(batches + 1e-9)
    // realized GEMM sizes are the drawn histograms the pool priced
    expect(stats.gemmSizes.reduce((a, g) => a + g.rows * g.gemms, 0)).toBe(sink.kernels.filter((k) => k.kind === "shared.iteration").reduce((a, k) => a + k.queries, 0))
  })

  it("folds repeated count arrays lazily: a repeat is counted, a new array starts a new run", () => {
    const t = new ChunkTally(4, () => new Float64Array(4))
    const a = Int32Array.from([2, 0, 5, 1])
    t.counted(0, a, 4)
    t.counted(0, a, 4)
    t.counted(1, a, 4)
    t.counted(0, Int32Array.from([1, 1, 0, 0]), 4)
    const s = t.finish()
    expect(s.chunks).toEqual([
      { chunkId: 0, rows: 7, gemms: 4, basis: "counted" },
      { chunkId: 1, rows: 1, gemms: 1, basis: "counted" },
      { chunkId: 2, rows: 15, gemms: 6, basis: "counted" }, // 5 rows over a cap of 4: two GEMMs each time
      { chunkId: 3, rows: 3, gemms: 3, basis: "counted" },
    ])
    expect(s.gemmSizes).toEqual([{ rows: 1, gemms: 8 }, { rows: 2, gemms: 3 }, { rows: 4, gemms: 3 }])
  })
})
