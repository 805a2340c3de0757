import { describe, expect, it } from "vitest"
import { LlamaDecoder, type DecoderConfig } from "../../src/gpu/decoder/llamaDecoder.js"
import type { SharedReply, SharedRequest } from "../../src/gpu/decoder/sharedPort.js"
import { SharedServer } from "../../src/gpu/decoder/sharedServer.js"
import { sharedAnswer, sharedQuery, sharedReplyOf, sharedRequestOf, wireOf } from "../../src/live/disagg/dataLinks.js"
import { tinyConfig } from "./decoderTiny.js"
import { relErr, useGpu } from "./gpuFixture.js"

const gpu = useGpu()

interface Trace {
  readonly tokens: number[][]
  readonly logits: Float32Array[]
}

/**
 * Requests A (slot 3, prefilled in chunks of 9 and 4 tokens) and B (slot 1, 6 tokens, in the same
 * call as A's second chunk), then three greedy decode steps of both: the sampled tokens and
 * logits of every sampling step.
 */
const run = async (cfg: DecoderConfig): Promise<Trace> => {
  const dec = await LlamaDecoder.create(gpu(), cfg)
  const tokens: number[][] = []
  const logits: Float32Array[] = []
  try {
    const a = Int32Array.from({ length: 13 }, (_, i) => (i * 37 + 5) % 256)
    const b = Int32Array.from({ length: 6 }, (_, i) => (i * 91 + 200) % 256)
    await dec.prefill([{ slot: 3, tokens: a.subarray(0, 9), start: 0, sample: false, temperature: 0, seed: 0 }])
    const r = await dec.prefill([
      { slot: 1, tokens: b, start: 0, sample: true, temperature: 0, seed: 0 },
      { slot: 3, tokens: a.subarray(9), start: 9, sample: true, temperature: 0, seed: 0 },
    ])
    tokens.push([...r.tokens])
    logits.push(await dec.readLogits())
    let pos = [6, 13]
    for (let step = 0; step < 3; step++) {
      const last = tokens.at(-1)!
      const d = await dec.decode([
        { slot: 1, token: last[0]!, position: pos[0]!, temperature: 0, seed: 0 },
        { slot: 3, token: last[1]!, position: pos[1]!, temperature: 0, seed: 0 },
      ])
      tokens.push([...d.tokens])
      logits.push(await dec.readLogits())
      pos = [pos[0]! + 1, pos[1]! + 1]
    }
  } finally {
    dec.destroy()
  }
  return { tokens, logits }
}

describe("LlamaDecoder with its shared attention behind a SharedPort (tiny dims, MoSKA top-2 of 4 chunks)", () => {
  it("prefill (chunked) and 3 decode steps sample the same tokens, with logits within 1e-5, as the local decoder when the shared side merges; bit for bit when every partial comes back; every layer of every step asks the port once", async () => {
    const cfg = tinyConfig("moska")
    const local = await run(cfg)
    const server = await SharedServer.create(gpu(), cfg)
    try {
      for (const sharedMerge of ["shared", "unique"] as const) {
        const asked: SharedRequest[] = []
        const sizes: number[] = []
        const remote = await run({ ...cfg, sharedMerge, sharedPort: (req) => (asked.push(req), server.attend(req).then((r) => (sizes.push(r.lse.length), r))) })
        expect(remote.tokens).toEqual(local.tokens)
        if (sharedMerge === "unique") expect(remote.logits).toEqual(local.logits)
        else local.logits.forEach((l, i) => expect(relErr([...remote.logits[i]!], [...l])).toBeLessThan(1e-5))
        // 2 prefill calls + 3 decode steps, 2 layers each
        expect(asked.map((r) => r.layer)).toEqual([0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
        expect(asked.every((r) => r.merge === (sharedMerge === "shared"))).toBe(true)
        // a decode step of 2 requests: 2 rows × 4 q heads of 32 floats, each (row, KV head) on top-2 chunks (2 q heads per KV head)
        const d = asked.at(-1)!
        expect(d.q.length).toBe(2 * 4 * 32)
        expect(d.rows.length).toBe(2 * 2 * 2 * 2)
        // merged: one partial per query row; else one per stacked row and key range
        expect(sizes.at(-1)).toBe(sharedMerge === "shared" ? 2 * 4 : d.rows.length * d.splits)
      }
      expect(server.requests).toBe(20)
    } finally {
      server.destroy()
    }
  })

  it("sharedPortSteps decode: prefill attends the local corpus replica, only decode steps ask the port; bit for bit with every partial back, same tokens and logits within 5e-4 with f16 rows and partials on the wire", async () => {
    const cfg = tinyConfig("moska")
    const local = await run(cfg)
    const server = await SharedServer.create(gpu(), cfg)
    try {
      const asked: SharedRequest[] = []
      const exact = await run({ ...cfg, sharedMerge: "unique", sharedPortSteps: "decode", sharedPort: (req) => (asked.push(req), server.attend(req)) })
      expect(exact.logits).toEqual(local.logits)
      expect(exact.tokens).toEqual(local.tokens)
      // 3 decode steps of 2 layers; the 2 prefill calls asked nothing
      expect(asked.map((r) => r.layer)).toEqual([0, 1, 0, 1, 0, 1])
      expect(asked.every((r) => r.q.length === 2 * 4 * 32)).toBe(true)
      // the data link's own encoding both ways, as a unique and a shared worker use it
      let wireBytes = 0
      const viaF16 = (req: SharedRequest): Promise<SharedReply> => {
        const m = sharedQuery(7, req, "f16")
        wireBytes += m.frames[0]!.byteLength
        const got = sharedRequestOf(m)!
        return server.attend(got).then((r) => sharedReplyOf(sharedAnswer(7, r, wireOf(m)), "f16"))
      }
      const half = await run({ ...cfg, sharedPortSteps: "decode", sharedPort: viaF16 })
      expect(half.tokens).toEqual(local.tokens)
      local.logits.forEach((l, i) => expect(relErr([...half.logits[i]!], [...l])).toBeLessThan(5e-4))
      // the prefill logits do not touch the wire
      expect(half.logits[0]).toEqual(local.logits[0])
      expect(wireBytes).toBe(3 * 2 * 2 * 4 * 32 * 2)
    } finally {
      server.destroy()
    }
  })

  it("microBatches 2: each decode step goes out as two micro-batches (one request each), both in flight at the shared server at once; same tokens and logits within 1e-5 as the local decoder, prefill unchanged", async () => {
    const cfg = tinyConfig("moska")
    const local = await run(cfg)
    const server = await SharedServer.create(gpu(), { ...cfg, microBatches: 2 })
    try {
      const asked: SharedRequest[] = []
      let inFlight = 0
      let most = 0
      const port = (req: SharedRequest): Promise<SharedReply> => {
        asked.push(req)
        most = Math.max(most, ++inFlight)
        return server.attend(req).finally(() => inFlight--)
      }
      const piped = await run({ ...cfg, sharedPortSteps: "decode", microBatches: 2, sharedPort: port })
      expect(piped.tokens).toEqual(local.tokens)
      // the prefill step is one batch on the local replica: bit for bit
      expect(piped.logits[0]).toEqual(local.logits[0])
      local.logits.forEach((l, i) => expect(relErr([...piped.logits[i]!], [...l])).toBeLessThan(1e-5))
      // 3 decode steps × 2 layers × 2 micro-batches, each of one request (4 q heads of 32 floats); layer l of both before layer l + 1 of either
      expect(asked.map((r) => r.layer)).toEqual([0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1])
      expect(asked.every((r) => r.q.length === 4 * 32)).toBe(true)
      expect(most).toBe(2)
      expect(server.maxInFlight).toBe(2)
      // every port step pipelined too (prefill of 2 requests stays one batch: only decode steps split)
      const all = await run({ ...cfg, microBatches: 2, sharedPort: (req) => server.attend(req) })
      expect(all.tokens).toEqual(local.tokens)
      local.logits.forEach((l, i) => expect(relErr([...all.logits[i]!], [...l])).toBeLessThan(1e-5))
    } finally {
      server.destroy()
    }
  })

  it("microBatches 2 needs a sharedPort", async () => {
    await expect(LlamaDecoder.create(gpu(), { ...tinyConfig("moska", { poison: false }), microBatches: 2 })).rejects.toMatchObject({ issues: [{ path: "microBatches", message: expect.stringContaining("needs a sharedPort") }] })
  })

  it("holds only the corpus centroids, not its K/V, when the shared attention is remote", async () => {
    const cfg = tinyConfig("moska", { poison: false })
    const server = await SharedServer.create(gpu(), cfg)
    const local = await LlamaDecoder.create(gpu(), cfg)
    const remote = await LlamaDecoder.create(gpu(), { ...cfg, sharedPort: (req) => server.attend(req) })
    try {
      // 2 layers × K and V × 256 tokens × 2 KV heads × 32 f32 fewer (the query readback is far smaller)
      expect(local.bytes - remote.bytes).toBeGreaterThan(2 * 2 * 256 * 2 * 32 * 4 - 32 * 4 * 32 * 4)
    } finally {
      local.destroy()
      remote.destroy()
      server.destroy()
    }
  })

  it("a failing port fails the step with its reason, and the shared server refuses a plan that does not fit its corpus", async () => {
    const cfg = tinyConfig("moska", { poison: false })
    const dec = await LlamaDecoder.create(gpu(), { ...cfg, sharedPort: () => Promise.reject(new Error("link to shared-0 closed")) })
    const server = await SharedServer.create(gpu(), cfg)
    try {
      await expect(dec.prefill([{ slot: 0, tokens: Int32Array.of(1, 2, 3), start: 0, sample: true, temperature: 0, seed: 0 }])).rejects.toThrow("link to shared-0 closed")
      await expect(server.attend({ layer: 0, q: new Float32Array(32), rows: Uint32Array.of(0), units: [{ chunk: 4, kvHead: 0, rows: 1 }], splits: 1, rowTile: 16, merge: false })).rejects.toThrow("chunk 4 is outside the corpus's [0, 4)")
      await expect(server.attend({ layer: 2, q: new Float32Array(32), rows: Uint32Array.of(0), units: [{ chunk: 0, kvHead: 0, rows: 1 }], splits: 1, rowTile: 16, merge: false })).rejects.toThrow("layer 2 is outside [0, 2)")
    } finally {
      dec.destroy()
      server.destroy()
    }
  })
})
