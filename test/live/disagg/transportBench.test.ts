import { describe, expect, it } from "vitest"
import { Subject } from "rxjs"
import type { Transport, TransportMessage } from "../../../src/core/transport.js"
import { fitLink, measurePipelining, type TransportRow } from "../../../src/live/disagg/transportBench.js"

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

describe("measurePipelining", () => {
  it("two interleaved micro-batches hide a round trip shorter than the other's layer work (on the stand-in device queue, a worker thread); one batch pays it every layer", async () => {
    // a peer that answers 20 ms after each send, hearing it at once (as another process does); the
    // answer is read when the bench's event loop is next free, as a reply is
    const received = new Subject<{ peer: string; message: TransportMessage }>()
    const hub = {
      received: received.asObservable(),
      send: (peer: string, m: TransportMessage) => void setTimeout(() => received.next({ peer, message: { header: { t: "echo", i: m.header.i }, frames: m.frames } }), 20),
    } as unknown as Transport
    const r = await measurePipelining({ hub, peer: "echo", close: async () => undefined }, "delayed", { layers: 6, layerBytes: 1024, layerComputeUs: 48_000, steps: 3 })
    // (large times: wake-ups on a loaded 2-core host are late by milliseconds)
    expect(r.computeOnlyMs).toBeGreaterThanOrEqual(6 * 48)
    // each of 6 layers waits ≥ 20 ms for its reply after its work
    expect(r.overheadPerLayerUs.sequential).toBeGreaterThan(18_000)
    // the reply lands while the other micro-batch's 24 ms half runs: ideally only the last one's is not hidden (20 ms a
    // step); late wake-ups on a loaded host add a few ms a layer to the pipelined step's many hand-offs, so: ≥ 8 of 20 ms hidden
    expect(r.pipelinedMs).toBeLessThan(r.sequentialMs - 6 * 8)
  })
})
