import { describe, expect, it } from "vitest"
import { gpuOps } from "../../src/gpu/gpuOps.js"
import { uploadKv } from "../../src/gpu/kvBuffers.js"
import { decodeKv, encodeKv, KV_FORMATS } from "../../src/gpu/kvFormat.js"
import { sharedAttention, type SharedUnit } from "../../src/gpu/shared/sharedAttention.js"
import { int8MmaBlocker } from "../../src/gpu/sharedInt8/int8Mma.js"
import { makeRng, randomArray, relErr, testSeed, useGpu } from "./gpuFixture.js"
import { runSharedVsRef } from "./sharedPlanFixture.js"

const gpu = useGpu()
const seed = testSeed()

// Ragged corpus (last chunk 100 of 300 tokens), a unit with no rows, units with 8, 20 and 70 stacked rows.
const B = 5
const S = 1000
const Hkv = 2
const Hq = 8
const D = 32
const C = 300
const UNITS: SharedUnit[] = [
  { chunk: 0, kvHead: 1, rows: [4, 5, 6, 7, 36, 37, 38, 39] },
  { chunk: 3, kvHead: 0, rows: Array.from({ length: 20 }, (_, i) => (i % 5) * 8 + (i % 4)) },
  { chunk: 2, kvHead: 1, rows: [] },
  { chunk: 1, kvHead: 1, rows: Array.from({ length: 70 }, (_, i) => (i % 5) * 8 + 4 + (i % 4)) },
]

describe(`shared stacked attention matches the float64 reference per (chunk, KV head) unit (seed ${seed})`, () => {
  for (const fmt of KV_FORMATS)
    for (const splits of [1, 3])
      it(`writes every partial of every stacked row for ${fmt} KV with ${splits} key split(s), ragged last chunk`, async () => {
        const rng = makeRng(seed).split(`${fmt}${splits}`)
        const q = randomArray(rng, B * Hq * D)
        const ek = encodeKv(fmt, randomArray(rng, S * Hkv * D), D)
        const ev = encodeKv(fmt, randomArray(rng, S * Hkv * D), D)
        const g = gpu()
        // 16-row tiles: the 64-row variant takes minutes to compile on lavapipe; the H200 bench checks it.
        const plan = await sharedAttention(g, { q: gpuOps.upload(g, q), kv: uploadKv(g, ek, ev), tokens: S, kvHeads: Hkv, chunkTokens: C, units: UNITS, splits, rowsPerThread: 1 })
        // D = 32: the int8 tensor-core kernel (D = 128 only) must not be picked; the f32 kernel runs.
        expect(plan.kernel).toBe("f32")
        const { got, want } = await runSharedVsRef(g, plan, "shared", { q, k: decodeKv(ek), v: decodeKv(ev), tokens: S, kvHeads: Hkv, dim: D, chunkTokens: C, units: UNITS })
        expect(relErr(got, want)).toBeLessThan(1e-5)
      })
})

describe("the int8 tensor-core path is picked only where it can run", () => {
  it("names why it cannot run (format, head dim, device) and otherwise falls back to the f32 kernel", () => {
    const g = gpu()
    expect(int8MmaBlocker(g, { format: "f16", dim: 128 })).toMatch(/KV format f16/)
    expect(int8MmaBlocker(g, { format: "int8", dim: 64 })).toMatch(/head dim 64/)
    const onDevice = int8MmaBlocker(g, { format: "int8", dim: 128 })
    // lavapipe has no subgroup matrices: the reason must say so; an H200 runs the path (checked in the bench).
    if (!g.int8SubgroupMatrix) expect(onDevice).toMatch(/subgroup matrices/)
    else expect(onDevice).toBeUndefined()
  })
})

describe("shared attention partials that cannot be bound at once", () => {
  it("are refused with CapacityExceeded before any GPU work, not a lost device", async () => {
    const g = gpu()
    const rng = makeRng(seed).split("capacity")
    const ek = encodeKv("f32", randomArray(rng, S * Hkv * D), D)
    const ev = encodeKv("f32", randomArray(rng, S * Hkv * D), D)
    const q = gpuOps.upload(g, randomArray(rng, B * Hq * D))
    const kv = uploadKv(g, ek, ev)
    // 98 stacked rows × 12 splits × D × 4 bytes = 150528 B of partials, over a 128 KiB binding limit
    // (the KV still binds, one 76800-byte chunk per segment).
    const small = { ...g, limits: { ...g.limits, maxStorageBufferBindingSize: 131072 } }
    const job = { q, kv, tokens: S, kvHeads: Hkv, chunkTokens: C, units: UNITS, splits: 12, rowsPerThread: 1 as const }
    await expect(sharedAttention(small, job)).rejects.toMatchObject({ _tag: "CapacityExceeded", needBytes: 150528, capacityBytes: 131072 })
    // The same job under the device's own limit plans normally.
    await expect(sharedAttention(g, job)).resolves.toMatchObject({ slots: 1176 })
  })
})
