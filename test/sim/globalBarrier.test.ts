import { describe, expect, it } from "vitest"
import type { KernelRow } from "../../src/core/trace.js"
import type { ScenarioInput } from "../../src/core/scenario.js"
import { run, small } from "./scenarioFixture.js"

const REPLICAS = 3
const B = 8 // requests decoding on each replica
const TOP_K = 16

// 3 unique replicas + 1 shared GPU, 1M-token corpus in 64 chunks, top-16: every replica decodes
// B requests in lockstep (closed loop, no prefill, equal lengths), so every step is a full round.
const lockstep = (routingMode: "fast" | "exact", scope: "global" | "replica", over: Partial<ScenarioInput> = {}) =>
  small({
    corpus: { sharedTokens: 1_048_576, chunkTokens: 16_384, topK: TOP_K },
    hardware: { unique: { gpu: "H200", count: REPLICAS }, shared: { gpu: "H200", count: 1 } },
    workload: { kind: "closed", concurrency: REPLICAS * B, requests: REPLICAS * B, uniqueTokens: { kind: "fixed", value: 2048 }, outputTokens: { kind: "fixed", value: 12 } },
    policy: { maxBatch: B, routingMode, prefill: false, batcher: { kind: "barrier", scope } },
    ...over,
  })

/**
 * Exact mode's shared launches: a launch's per-chunk rows tile its span back to back; under the
 * global barrier the next launch waits for transfers after this one, so a gap separates launches.
 */
const launches = (rows: readonly KernelRow[]): KernelRow[][] => {
  const out: KernelRow[][] = []
  for (const k of rows) {
    if (k.kind !== "shared.chunk") continue
    const last = out[out.length - 1]
    const prev = last?.[last.length - 1]
    if (last !== undefined && prev !== undefined && prev.startNs < k.startNs && prev.endNs === k.startNs) last.push(k)
    else out.push([k])
  }
  return out
}

/** Unique decode steps per replica, in time order. */
const stepsOf = (rows: readonly KernelRow[]): KernelRow[][] =>
  Array.from({ length: REPLICAS }, (_, r) => rows.filter((k) => k.kind === "unique.iteration" && k.workerId === `unique-${r}`))

describe("global barrier across the unique replicas sharing a Shared-KV pool", () => {
  it("exact routing: one shared.chunk row per chunk per step, stacking every replica's routed queries", () => {
    const { result, sink } = run(lockstep("exact", "global"))
    expect(result.requests.completed).toBe(REPLICAS * B)
    const steps = stepsOf(sink.kernels)
    const n = steps[0]?.length ?? 0
    expect(n).toBeGreaterThanOrEqual(12)
    for (const s of steps) expect(s).toHaveLength(n) // lockstep: every replica runs the same steps
    const rounds = launches(sink.kernels)
    // One launch per lockstep step, not one per replica step.
    expect(rounds).toHaveLength(n)
    rounds.forEach((rows, i) => {
      // Each chunk appears once per step, and the step's rows sum every replica's routed queries
      // (each request routes to exactly top-k chunks).
      expect(new Set(rows.map((r) => r.chunkId)).size).toBe(rows.length)
      const queries = steps.reduce((a, s) => a + (s[i]?.queries ?? 0), 0)
      expect(rows.reduce((a, r) => a + r.queries, 0)).toBe(queries * TOP_K)
    })
    // Stacking across replicas: some chunk's batch holds more queries than one replica has.
    expect(Math.max(...rounds.flat().map((r) => r.queries))).toBeGreaterThan(B)
  })

  it("the per-replica scope keeps one launch per replica step with only that replica's queries", () => {
    const { sink } = run(lockstep("exact", "replica"))
    const chunkRows = sink.kernels.filter((k) => k.kind === "shared.chunk")
    // No chunk batch ever holds more than one replica's B queries, and every replica step reads
    // its chunks on its own: more chunk GEMMs than under the global barrier.
    expect(Math.max(...chunkRows.map((r) => r.queries))).toBeLessThanOrEqual(B)
    const global = run(lockstep("exact", "global")).sink.kernels.filter((k) => k.kind === "shared.chunk")
    expect(chunkRows.length).toBeGreaterThan(2 * global.length)
    expect(chunkRows.reduce((a, r) => a + r.queries, 0)).toBe(global.reduce((a, r) => a + r.queries, 0))
  })

  it("fast routing: one shared launch per lockstep step, drawn for all replicas' queries", () => {
    const { sink } = run(lockstep("fast", "global"))
    const n = stepsOf(sink.kernels)[0]?.length ?? 0
    const rounds = sink.kernels.filter((k) => k.kind === "shared.iteration")
    expect(rounds).toHaveLength(n)
    // Stacked rows are drawn per chunk (Bin(3B, k/N) each): B·k per replica on average.
    const mean = rounds.reduce((a, k) => a + k.queries, 0) / rounds.length
    expect(Math.abs(mean - REPLICAS * B * TOP_K) / (REPLICAS * B * TOP_K)).toBeLessThan(0.1)
    expect(run(lockstep("fast", "replica")).sink.kernels.filter((k) => k.kind === "shared.iteration")).toHaveLength(REPLICAS * n)
  })

  it("trace routing: fast (summed per-chunk counts) and exact stack the same rows per step", () => {
    const blocks = (i: number) => [i % 5, 100 + (i % 7), 200 + i, 300 + (i % 3)]
    const traceRequests = Array.from({ length: REPLICAS * B }, (_, i) => ({ id: i, arrivalNs: 0 as never, uniqueTokens: 2048, outputTokens: 12, blocks: blocks(i) }))
    const over = { workload: { kind: "trace", path: "t.jsonl" }, corpus: { sharedTokens: 1_048_576, chunkTokens: 16_384, topK: TOP_K, routing: { kind: "trace" } } } as const
    const fast = run(lockstep("fast", "global", over), { traceRequests })
    const exact = run(lockstep("exact", "global", over), { traceRequests })
    const fastRows = fast.sink.kernels.filter((k) => k.kind === "shared.iteration").map((k) => k.queries)
    const exactRows = launches(exact.sink.kernels).map((rows) => rows.reduce((a, r) => a + r.queries, 0))
    expect(fastRows.length).toBeGreaterThan(0)
    expect(fastRows).toEqual(exactRows)
  })

  it("throughput of disaggregated moska with the global barrier ≥ the per-replica barrier's", () => {
    for (const mode of ["fast", "exact"] as const) {
      const tput = (scope: "global" | "replica") => {
        const { result } = run(lockstep(mode, scope, { workload: { kind: "closed", concurrency: REPLICAS * B, requests: REPLICAS * B * 3, uniqueTokens: { kind: "fixed", value: 2048 }, outputTokens: { kind: "uniform", min: 8, max: 24 } } }))
        return result.outputTokens / result.simulatedNs
      }
      const global = tput("global")
      const replica = tput("replica")
      // The pool reads each touched chunk once per step instead of once per replica step.
      expect(global, mode).toBeGreaterThanOrEqual(replica)
      expect(global / replica, mode).toBeGreaterThan(1.5)
    }
  })

  it("is deterministic with several replicas, Poisson arrivals and prefill", () => {
    const s = small({ hardware: { unique: { gpu: "H200", count: REPLICAS } }, corpus: { sharedTokens: 262_144, chunkTokens: 16_384, topK: 4, routing: { kind: "zipf", exponent: 1.1 } } })
    const a = run(s)
    const b = run(s)
    expect(a.result.requests.completed).toBe(40)
    expect(b.result).toEqual(a.result)
    expect(b.sink.kernels).toEqual(a.sink.kernels)
  })
})
