import { describe, expect, it } from "vitest"
import { fitLink, type TransportRow } from "../../../src/live/disagg/transportBench.js"

const row = (bytes: number, oneWayNs: number): TransportRow => ({
  transport: "t", bytes, roundTrips: 1, rttP50Us: (2 * oneWayNs) / 1e3, rttP99Us: 0, rttMeanUs: 0, window: 1, throughputBps: 0,
})

describe("fitLink", () => {
  it("recovers latency and bandwidth from one-way times that follow latency + bytes / bandwidth", () => {
    const f = fitLink("t", [1024, 16_384, 262_144, 1_048_576].map((b) => row(b, 40_000 + b / 2.5)))
    expect(f.latencyNs).toBe(40_000)
    expect(f.bandwidthBps).toBeCloseTo(2.5e9, -3)
    expect(f.maxRelErr).toBeLessThan(1e-9)
  })

  it("reports how far the worst size is from a straight line", () => {
    const f = fitLink("t", [row(0, 100), row(1000, 100), row(2000, 400)])
    expect(f.maxRelErr).toBeGreaterThan(0.3)
  })
})
