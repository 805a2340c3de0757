import { afterEach, beforeEach, describe, expect, it } from "vitest"
import type { GpuContext } from "../../src/gpu/device.js"
import { gpuOps } from "../../src/gpu/gpuOps.js"
import { kvSegments, uploadKv, type GpuKv } from "../../src/gpu/kvBuffers.js"
import { bytesPerRow, decodeKv, encodeKv, type KvFormat } from "../../src/gpu/kvFormat.js"
import { sharedAttention, type SharedUnit } from "../../src/gpu/shared/sharedAttention.js"
import { uniqueAttention } from "../../src/gpu/unique/uniqueAttention.js"
import { uniqueAttentionRef } from "../../src/gpu/unique/uniqueAttentionRef.js"
import { mergeRef } from "../../src/gpu/merge/mergeRef.js"
import { EMPTY_LSE, type Partial } from "../../src/gpu/merge/partial.js"
import { makeRng, randomArray, relErr, testSeed, useGpu } from "./gpuFixture.js"

/** kvSegments reads only the binding limit and the KV's format, dim and rows: enough for planning at H200 sizes without a GPU. */
const limitOnly = (maxStorageBufferBindingSize: number) => ({ limits: { maxStorageBufferBindingSize } }) as unknown as GpuContext
const kvShape = (format: KvFormat, dim: number, rows: number) => ({ format, dim, rows }) as GpuKv
const counts = (segs: ReturnType<typeof kvSegments>): number[] => segs.map((s) => s.units)

/** The device with a smaller storage binding limit, so small jobs are bound in several segments (limits are native getters: a Proxy keeps them). */
const withLimit = (g: GpuContext, max: number): GpuContext => ({
  ...g,
  limits: new Proxy(g.limits, { get: (t, p) => (p === "maxStorageBufferBindingSize" ? max : Reflect.get(t, p, t)) }),
})

/** Runs the tests of a describe block with MOSKA_KV_SEGMENTS set to `mode`. */
const segmentMode = (mode: string): void => {
  beforeEach(() => {
    process.env.MOSKA_KV_SEGMENTS = mode
  })
  afterEach(() => {
    delete process.env.MOSKA_KV_SEGMENTS
  })
}

const H200 = 2 ** 31 - 4

describe("kvSegments fills each segment to the limit by default", () => {
  it("splits the H200 shapes as 15 + 1 and 15/15/15/15/4", () => {
    const U = 65536
    expect(counts(kvSegments(limitOnly(H200), kvShape("f16", 128, 16 * U * 8), U * 8, 16))).toEqual([15, 1])
    expect(counts(kvSegments(limitOnly(H200), kvShape("f16", 128, 64 * U * 8), U * 8, 64))).toEqual([15, 15, 15, 15, 4])
    expect(counts(kvSegments(limitOnly(H200), kvShape("f16", 128, 2 ** 20 * 8), 4096 * 8, 256))).toEqual([255, 1])
  })
  it("refuses an unknown MOSKA_KV_SEGMENTS", () => {
    try {
      process.env.MOSKA_KV_SEGMENTS = "tail"
      expect(() => kvSegments(limitOnly(H200), kvShape("f16", 128, 8), 4, 2)).toThrow(/MOSKA_KV_SEGMENTS=tail: want fill or balanced/)
    } finally {
      delete process.env.MOSKA_KV_SEGMENTS
    }
  })
})

describe("MOSKA_KV_SEGMENTS=balanced balances the segments instead of filling each to the limit", () => {
  segmentMode("balanced")
  it("splits the H200 shapes evenly (no 1-request or 1-chunk tail)", () => {
    // One request at U = 64K, Hkv 8, D 128, f16: 128 MiB.
    const U = 65536
    expect(counts(kvSegments(limitOnly(H200), kvShape("f16", 128, 16 * U * 8), U * 8, 16))).toEqual([8, 8])
    expect(counts(kvSegments(limitOnly(H200), kvShape("f16", 128, 64 * U * 8), U * 8, 64))).toEqual([13, 13, 13, 13, 12])
    // int8 (128 bytes a row; the scales are bound whole, apart): 31 requests per segment, so 16 bind at once and 64 go as 22/21/21.
    expect(counts(kvSegments(limitOnly(H200), kvShape("int8", 128, 16 * U * 8), U * 8, 16))).toEqual([16])
    expect(counts(kvSegments(limitOnly(H200), kvShape("int8", 128, 64 * U * 8), U * 8, 64))).toEqual([22, 21, 21])
    // The shared f16 corpus: 1M tokens in 256 chunks of 4096 is exactly 2 GiB.
    expect(counts(kvSegments(limitOnly(H200), kvShape("f16", 128, 2 ** 20 * 8), 4096 * 8, 256))).toEqual([128, 128])
  })
  it("covers every unit once, in order, each segment within the limit and 256-byte aligned", () => {
    for (const [fmt, dim, unitRows, units, max] of [
      ["f16", 128, 64, 7, 6 * 64 * 256],
      ["f32", 32, 3, 50, 4096],
      ["int8", 16, 5, 37, 3000], // 80-byte units: segments start on multiples of 16 units (32 + 5)
      ["f16", 64, 1, 1000, 256 * 17],
      ["f16", 128, 64, 3, 1 << 30],
    ] as const) {
      const rowBytes = bytesPerRow(fmt, dim)
      const rows = units * unitRows - 1 // ragged last unit
      const segs = kvSegments(limitOnly(max), kvShape(fmt, dim, rows), unitRows, units)
      let next = 0
      for (const s of segs) {
        expect(s.unit0).toBe(next)
        expect(s.units).toBeGreaterThan(0)
        expect(s.offset).toBe(s.unit0 * unitRows * rowBytes)
        expect(s.offset % 256).toBe(0)
        expect(s.size).toBeLessThanOrEqual(max)
        expect(s.offset + s.size).toBeLessThanOrEqual(Math.max(rows * rowBytes, s.offset + 16))
        next += s.units
      }
      expect(next).toBe(units)
      // Balanced: as many segments as the limit needs, sizes within one aligned block of each other.
      const unitBytes = unitRows * rowBytes
      let block = 1
      while ((block * unitBytes) % 256 !== 0) block++
      const need = units * unitBytes <= max ? 1 : Math.ceil(Math.ceil(units / block) / Math.floor(max / unitBytes / block))
      expect(segs.length).toBe(need)
      const full = segs.slice(0, -1).map((s) => s.units)
      if (full.length > 0) expect(Math.max(...full) - Math.min(...full)).toBeLessThanOrEqual(block)
    }
  })
  it("7 units of which 6 fit a binding go as 4 + 3, not 6 + 1", () => {
    expect(counts(kvSegments(limitOnly(6 * 1024), kvShape("f16", 128, 7 * 4), 4, 7))).toEqual([4, 3])
  })
  it("names the limit when one unit cannot be bound, and returns one empty segment for no units", () => {
    expect(() => kvSegments(limitOnly(1000), kvShape("f16", 128, 8), 4, 2)).toThrow(/1024 bytes exceeds the 1000-byte/)
    expect(kvSegments(limitOnly(1000), kvShape("f16", 128, 0), 2, 0)).toEqual([{ unit0: 0, units: 0, offset: 0, size: 16 }])
  })
})

const gpu = useGpu()
const seed = testSeed()

describe(`unique attention bound in several KV segments gives the unsegmented result (seed ${seed})`, () => {
  segmentMode("balanced")
  // B = 7 requests of U = 128 tokens × Hkv 2 × D 32: a request is 16 KiB f16 / 32 KiB f32 / 8 KiB int8.
  const B = 7
  const U = 128
  const Hkv = 2
  const Hq = 4
  const D = 32
  const lens = [128, 0, 77, 128, 1, 100, 128]
  for (const fmt of ["f16", "int8", "f32"] as const)
    it(`${fmt}: 3 requests per binding (3 + 2 + 2) matches one binding bit for bit and the float64 reference`, async () => {
      const rng = makeRng(seed).split(`seg-${fmt}`)
      const q = randomArray(rng, B * Hq * D)
      const ek = encodeKv(fmt, randomArray(rng, B * U * Hkv * D), D)
      const ev = encodeKv(fmt, randomArray(rng, B * U * Hkv * D), D)
      const g = gpu()
      const kv = uploadKv(g, ek, ev)
      const reqBytes = U * Hkv * bytesPerRow(fmt, D)
      const small = withLimit(g, 3 * reqBytes + 100)
      expect(counts(kvSegments(small, kv, U * Hkv, B))).toEqual([3, 2, 2])
      const job = { q: gpuOps.upload(g, q), kv, lens: gpuOps.upload(g, new Uint32Array(lens)), requests: B, tokens: U, kvHeads: Hkv, qHeads: Hq, splitLen: 128 }
      const run = async (ctx: GpuContext) => {
        const plan = await uniqueAttention(ctx, job)
        const slots = B * Hq * plan.nsplit
        gpuOps.poison(g, plan.po, slots * D * 4)
        gpuOps.poison(g, plan.pl, slots * 4)
        await gpuOps.submit(g, "unique", plan.passes)
        return { passes: plan.passes.length, po: await gpuOps.readF32(g, plan.po, slots * D), pl: await gpuOps.readF32(g, plan.pl, slots) }
      }
      const one = await run(g)
      const seg = await run(small)
      expect(one.passes).toBe(1)
      expect(seg.passes).toBe(3)
      expect(seg.po.every(Number.isFinite) && seg.pl.every(Number.isFinite), "a partial was left unwritten (NaN poison)").toBe(true)
      // The same workgroups read the same rows through a different binding offset: identical bits.
      expect(Array.from(seg.po)).toEqual(Array.from(one.po))
      expect(Array.from(seg.pl)).toEqual(Array.from(one.pl))
      // And right: one split per request here, so the partials are the outputs.
      const ref = uniqueAttentionRef({ q, k: decodeKv(ek), v: decodeKv(ev), lens, requests: B, tokens: U, qHeads: Hq, kvHeads: Hkv, dim: D })
      const got: Partial[] = Array.from({ length: B * Hq }, (_, r) => mergeRef([{ o: Float64Array.from(seg.po.subarray(r * D, (r + 1) * D)), lse: seg.pl[r]! <= EMPTY_LSE / 2 ? -Infinity : seg.pl[r]! }], D))
      const o = (ps: Partial[]) => ps.flatMap((p) => [...p.o])
      expect(relErr(o(got), o(ref))).toBeLessThan(fmt === "int8" ? 2e-2 : 1e-5)
    })
})

describe(`shared attention over a corpus bound in several KV segments gives the unsegmented result (seed ${seed})`, () => {
  segmentMode("balanced")
  it("f16, 7 chunks of which 3 fit a binding (3 + 2 + 2), ragged last chunk", async () => {
    const S = 7 * 64 - 20
    const C = 64
    const Hkv = 2
    const D = 32
    const Hq = 8
    const units: SharedUnit[] = Array.from({ length: 7 }, (_, c) => ({ chunk: c, kvHead: c % Hkv, rows: [0, 1, 2, 3, 8 + (c % 4)] }))
    const rng = makeRng(seed).split("seg-shared")
    const q = randomArray(rng, 2 * Hq * D)
    const ek = encodeKv("f16", randomArray(rng, S * Hkv * D), D)
    const ev = encodeKv("f16", randomArray(rng, S * Hkv * D), D)
    const g = gpu()
    const kv = uploadKv(g, ek, ev)
    const small = withLimit(g, 3 * C * Hkv * bytesPerRow("f16", D) + 64)
    expect(counts(kvSegments(small, kv, C * Hkv, 7))).toEqual([3, 2, 2])
    const job = { q: gpuOps.upload(g, q), kv, tokens: S, kvHeads: Hkv, chunkTokens: C, units, splits: 1, rowsPerThread: 1 as const }
    const run = async (ctx: GpuContext) => {
      const plan = await sharedAttention(ctx, job)
      gpuOps.poison(g, plan.po, plan.slots * D * 4)
      gpuOps.poison(g, plan.pl, plan.slots * 4)
      await gpuOps.submit(g, "shared", plan.passes)
      return { passes: plan.passes.length, po: await gpuOps.readF32(g, plan.po, plan.slots * D), pl: await gpuOps.readF32(g, plan.pl, plan.slots) }
    }
    const one = await run(g)
    const seg = await run(small)
    expect(seg.passes).toBeGreaterThan(one.passes)
    expect(seg.po.every(Number.isFinite) && seg.pl.every(Number.isFinite), "a partial was left unwritten (NaN poison)").toBe(true)
    expect(Array.from(seg.po)).toEqual(Array.from(one.po))
    expect(Array.from(seg.pl)).toEqual(Array.from(one.pl))
  })
})
