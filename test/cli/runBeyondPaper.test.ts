import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { runBeyondPaper, type BeyondResult } from "../../src/cli/runBeyondPaper.js"
import { NAMED_QUERIES } from "../../src/db/namedQueries.js"
import { openTraceDb } from "../../src/db/openTraceDb.js"
import { beyondPlan, TINY_SCALE } from "../../src/sim/hw/paper/beyondPlan.js"
import { registerDevices } from "../../src/sim/hw/registerDevices.js"

const device = Either.getOrThrow(registerDevices(["data/devices/H200-cal.json"], process.cwd()))[0] as string

describe("moska repro beyond (tiny sweeps through the simulator and the trace database)", () => {
  const db = openTraceDb(":memory:")
  const points = beyondPlan(TINY_SCALE, device).filter((p) => (p.study === "load" && p.system === "moska (barrier)") || p.study === "skew")
  // One database for every run, as `--db` does, so the check against moska query's SQL can read any run.
  const results = runBeyondPaper({ points, openDb: () => ({ db, close: false }), codeVersion: "test", clock: () => 0 })
  const at = (study: string, x: number): BeyondResult => results.find((r) => r.study === study && r.x === x) as BeyondResult

  it("completes every request of every run", () => {
    expect(results).toHaveLength(points.length)
    for (const r of results) expect(r.summary.requests.completed).toBe(r.summary.requests.total)
  })

  it("raises throughput, TPOT p99 and TTFT p99 as Poisson load rises past saturation", () => {
    const light = at("load", 2)
    const heavy = at("load", 40)
    expect(heavy.summary.throughput.outputTokensPerS as number).toBeGreaterThan(3 * (light.summary.throughput.outputTokensPerS as number))
    expect(heavy.summary.latencyMs.tpot.p99 as number).toBeGreaterThan(light.summary.latencyMs.tpot.p99 as number)
    expect(heavy.summary.latencyMs.ttft.p99 as number).toBeGreaterThan(light.summary.latencyMs.ttft.p99 as number)
    expect(heavy.meanDecodeBatch).toBeGreaterThan(light.meanDecodeBatch)
  })

  it("takes its latency figures from the same views as moska query", () => {
    const r = at("load", 40)
    const row = db.prepare(NAMED_QUERIES.tpot!.sql).get({ run: r.runId }) as { p99_ms: number }
    expect(r.summary.latencyMs.tpot.p99).toBeCloseTo(row.p99_ms, 6)
  })

  it("stacks more queries on the hottest chunks and touches fewer chunks under Zipf skew", () => {
    const uniform = at("skew", 0).chunks
    const skewed = at("skew", 2).chunks
    expect(uniform).not.toBeNull()
    expect(skewed).not.toBeNull()
    expect(skewed!.maxRows).toBeGreaterThan(uniform!.maxRows)
    expect(skewed!.meanRows).toBeGreaterThan(uniform!.meanRows)
    expect(skewed!.chunksPerStep).toBeLessThan(uniform!.chunksPerStep)
  })
})
