import { describe, expect, it } from "vitest"
import { gpuOps } from "../../src/gpu/gpuOps.js"
import { uploadKv } from "../../src/gpu/kvBuffers.js"
import { decodeKv, encodeKv, KV_FORMATS, type KvFormat } from "../../src/gpu/kvFormat.js"
import { mergeRef } from "../../src/gpu/merge/mergeRef.js"
import { EMPTY_LSE, type Partial } from "../../src/gpu/merge/partial.js"
import { uniqueAttention } from "../../src/gpu/unique/uniqueAttention.js"
import { uniqueAttentionRef } from "../../src/gpu/unique/uniqueAttentionRef.js"
import { lanesFit, uniqueLanesWgsl } from "../../src/gpu/unique/uniqueLanes.wgsl.js"
import { makeRng, randomArray, relErr, testSeed, useGpu } from "./gpuFixture.js"

const gpu = useGpu()
const seed = testSeed()

interface Shape { B: number; U: number; Hkv: number; Hq: number; D: number; lens: number[]; splitLen?: number }
const SHAPES: Shape[] = [
  { B: 3, U: 300, Hkv: 2, Hq: 8, D: 32, lens: [300, 0, 77], splitLen: 128 },
  { B: 2, U: 520, Hkv: 1, Hq: 1, D: 16, lens: [519, 260], splitLen: 384 },
  { B: 1, U: 33, Hkv: 3, Hq: 6, D: 64, lens: [33] },
]
// int8 quantizes the query row too (dot4I8Packed), so its error against the decoded-KV reference is larger.
const TOL: Record<KvFormat, number> = { f32: 1e-5, f16: 1e-5, int8: 2e-2 }

const runUnique = async (fmt: KvFormat, s: Shape, rngLabel: string) => {
  const rng = makeRng(seed).split(rngLabel)
  const q = randomArray(rng, s.B * s.Hq * s.D)
  const k = randomArray(rng, s.B * s.U * s.Hkv * s.D)
  const v = randomArray(rng, s.B * s.U * s.Hkv * s.D)
  const ek = encodeKv(fmt, k, s.D)
  const ev = encodeKv(fmt, v, s.D)
  const g = gpu()
  const kv = uploadKv(g, ek, ev)
  const plan = await uniqueAttention(g, { q: gpuOps.upload(g, q), kv, lens: gpuOps.upload(g, new Uint32Array(s.lens)), requests: s.B, tokens: s.U, kvHeads: s.Hkv, qHeads: s.Hq, splitLen: s.splitLen })
  const slots = s.B * s.Hq * plan.nsplit
  gpuOps.poison(g, plan.po, slots * s.D * 4)
  gpuOps.poison(g, plan.pl, slots * 4)
  await gpuOps.submit(g, "unique", plan.passes)
  const po = await gpuOps.readF32(g, plan.po, slots * s.D)
  const pl = await gpuOps.readF32(g, plan.pl, slots)
  const merged: Partial[] = []
  for (let row = 0; row < s.B * s.Hq; row++) {
    const parts: Partial[] = []
    for (let sp = 0; sp < plan.nsplit; sp++) {
      const slot = row * plan.nsplit + sp
      parts.push({ o: Float64Array.from(po.subarray(slot * s.D, (slot + 1) * s.D)), lse: pl[slot]! <= EMPTY_LSE / 2 ? -Infinity : pl[slot]! })
    }
    merged.push(mergeRef(parts, s.D))
  }
  const refInput = { q, lens: s.lens, requests: s.B, tokens: s.U, qHeads: s.Hq, kvHeads: s.Hkv, dim: s.D }
  const ref = uniqueAttentionRef({ ...refInput, k: decodeKv(ek), v: decodeKv(ev) })
  const exact = uniqueAttentionRef({ ...refInput, k: Float64Array.from(k), v: Float64Array.from(v) })
  return { po, pl, merged, ref, exact, variant: plan.variant }
}

const flat = (ps: Partial[], key: "o" | "lse"): number[] => ps.flatMap((p) => (key === "o" ? [...p.o] : Number.isFinite(p.lse) ? [p.lse] : [0]))

describe(`unique attention (flash-decoding split-K) matches the float64 reference (seed ${seed})`, () => {
  for (const fmt of KV_FORMATS)
    SHAPES.forEach((s, i) =>
      it(`writes every partial and matches for ${fmt} KV, B=${s.B} U=${s.U} Hkv=${s.Hkv} Hq=${s.Hq} D=${s.D} lens=${s.lens.join("/")}`, async () => {
        const { po, pl, merged, ref, exact, variant } = await runUnique(fmt, s, `${fmt}${i}`)
        // The lane-group kernel is the default wherever a key row fits one subgroup.
        const g = gpu()
        expect(variant).toBe(lanesFit(s.D, fmt, g.features.has("subgroups"), g.subgroupMinSize) ? "lanes" : "tile")
        expect(po.every(Number.isFinite), "a partial output was left unwritten (NaN)").toBe(true)
        expect(pl.every(Number.isFinite), "a partial LSE was left unwritten (NaN)").toBe(true)
        // Requests with no valid keys give the identity partial.
        ref.forEach((r, j) => expect(merged[j]!.lse === -Infinity, `row ${j} emptiness`).toBe(r.lse === -Infinity))
        expect(relErr(flat(merged, "o"), flat(ref, "o"))).toBeLessThan(TOL[fmt])
        expect(relErr(flat(merged, "lse"), flat(ref, "lse"))).toBeLessThan(TOL[fmt])
        // The format's own error against the unquantized inputs.
        const formatErr = relErr(flat(merged, "o"), flat(exact, "o"))
        expect(formatErr).toBeLessThan({ f32: 1e-5, f16: 3e-3, int8: 3e-2 }[fmt])
      }),
    )
})

describe(`unique attention, lane-group kernel with the serial group merge (MOSKA_UNIQUE_EPILOGUE=serial, seed ${seed})`, () => {
  it("matches the float64 reference for every format", async () => {
    process.env.MOSKA_UNIQUE_EPILOGUE = "serial"
    try {
      for (const fmt of KV_FORMATS) {
        const { merged, ref, variant } = await runUnique(fmt, SHAPES[0]!, `serial${fmt}`)
        const g = gpu()
        expect(variant).toBe(lanesFit(SHAPES[0]!.D, fmt, g.features.has("subgroups"), g.subgroupMinSize) ? "lanes-serial" : "tile")
        expect(relErr(flat(merged, "o"), flat(ref, "o"))).toBeLessThan(TOL[fmt])
        expect(relErr(flat(merged, "lse"), flat(ref, "lse"))).toBeLessThan(TOL[fmt])
      }
    } finally {
      delete process.env.MOSKA_UNIQUE_EPILOGUE
    }
  })
})

describe(`unique attention, lane-group kernel with split-major workgroup order (MOSKA_UNIQUE_ORDER=splits, seed ${seed})`, () => {
  it("matches the float64 reference for every format", async () => {
    process.env.MOSKA_UNIQUE_ORDER = "splits"
    try {
      for (const fmt of KV_FORMATS)
        for (const [i, s] of SHAPES.entries()) {
          const { merged, ref } = await runUnique(fmt, s, `order${fmt}${i}`)
          expect(relErr(flat(merged, "o"), flat(ref, "o"))).toBeLessThan(TOL[fmt])
          expect(relErr(flat(merged, "lse"), flat(ref, "lse"))).toBeLessThan(TOL[fmt])
        }
    } finally {
      delete process.env.MOSKA_UNIQUE_ORDER
    }
  })
})

describe(`unique attention, lane-group kernel with V loads after the softmax (MOSKA_UNIQUE_VLOAD=late, seed ${seed})`, () => {
  it("moves the V loads past the softmax and still matches the float64 reference for every format", async () => {
    const early = uniqueLanesWgsl(128, 4, "f16", 128, 32, true, false)
    const late = uniqueLanesWgsl(128, 4, "f16", 128, 32, true, true)
    const at = (w: string, re: RegExp): number => w.search(re)
    expect(at(early, /let vw0 = v\[/)).toBeLessThan(at(early, /let valid = /))
    expect(at(late, /let vw0 = v\[/)).toBeGreaterThan(at(late, /pb\[3\] = p/))
    process.env.MOSKA_UNIQUE_VLOAD = "late"
    try {
      // The first shape only (ragged and empty requests, several splits): each lane-kernel variant is a fresh lavapipe compile.
      const s = SHAPES[0]!
      for (const fmt of KV_FORMATS) {
        const { merged, ref, variant } = await runUnique(fmt, s, `vlate${fmt}`)
        const g = gpu()
        expect(variant).toBe(lanesFit(s.D, fmt, g.features.has("subgroups"), g.subgroupMinSize) ? "lanes" : "tile")
        expect(relErr(flat(merged, "o"), flat(ref, "o"))).toBeLessThan(TOL[fmt])
        expect(relErr(flat(merged, "lse"), flat(ref, "lse"))).toBeLessThan(TOL[fmt])
      }
      process.env.MOSKA_UNIQUE_VLOAD = "soon"
      await expect(runUnique("f16", SHAPES[0]!, "vbad")).rejects.toThrow(/MOSKA_UNIQUE_VLOAD=soon: want early or late/)
    } finally {
      delete process.env.MOSKA_UNIQUE_VLOAD
    }
  }, 900_000)
})

describe(`unique attention with the key-per-thread tile kernel (MOSKA_UNIQUE_KERNEL=tile, seed ${seed})`, () => {
  it("matches the float64 reference for f16 and int8 KV", async () => {
    process.env.MOSKA_UNIQUE_KERNEL = "tile"
    try {
      for (const fmt of ["f16", "int8"] as const) {
        const { merged, ref, variant } = await runUnique(fmt, SHAPES[0]!, `tile${fmt}`)
        expect(variant).toBe("tile")
        expect(relErr(flat(merged, "o"), flat(ref, "o"))).toBeLessThan(TOL[fmt])
      }
    } finally {
      delete process.env.MOSKA_UNIQUE_KERNEL
    }
  })
})

describe(`unique attention with coalesced scoring (opt-in variant, seed ${seed})`, () => {
  it("matches the float64 reference when key rows are scored by column lanes and subgroup shuffles", async () => {
    process.env.MOSKA_UNIQUE_COALESCED = "1"
    process.env.MOSKA_UNIQUE_KERNEL = "tile"
    try {
      for (const fmt of ["f32", "f16"] as const) {
        const { merged, ref } = await runUnique(fmt, SHAPES[0]!, `co${fmt}`)
        expect(relErr(flat(merged, "o"), flat(ref, "o"))).toBeLessThan(1e-5)
      }
    } finally {
      delete process.env.MOSKA_UNIQUE_COALESCED
      delete process.env.MOSKA_UNIQUE_KERNEL
    }
  })
})
