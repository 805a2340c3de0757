import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { attendRef } from "../../src/gpu/merge/attendRef.js"
import { mergeRef } from "../../src/gpu/merge/mergeRef.js"
import { moskaAttentionCpu } from "../../src/gpu/moska/moskaAttentionCpu.js"
import { moskaAttentionGpu } from "../../src/gpu/moska/moskaAttentionGpu.js"
import type { MoskaProblem } from "../../src/gpu/moska/moskaProblem.js"
import type { KvFormat } from "../../src/gpu/kvFormat.js"
import { makeRng, randomArray, relErr, testSeed, useGpu } from "./gpuFixture.js"

const gpu = useGpu()
const seed = testSeed()

const problem = (label: string, x: { B: number; Hq: number; Hkv: number; D: number; S: number; U: number; C: number; K: number; lens: number[]; format: KvFormat }): MoskaProblem => {
  const rng = makeRng(seed).split(label)
  return {
    B: x.B, Hq: x.Hq, Hkv: x.Hkv, D: x.D, S: x.S, U: x.U,
    q: randomArray(rng, x.B * x.Hq * x.D, 2),
    sharedK: randomArray(rng, x.S * x.Hkv * x.D), sharedV: randomArray(rng, x.S * x.Hkv * x.D),
    uniqueK: randomArray(rng, x.B * x.U * x.Hkv * x.D), uniqueV: randomArray(rng, x.B * x.U * x.Hkv * x.D),
    uniqueLen: Int32Array.from(x.lens), chunkTokens: x.C, topK: x.K, format: x.format,
  }
}

/** Dense softmax attention over shared ∪ unique keys, float64. */
const denseRef = (p: MoskaProblem): { o: number[]; lse: number[] } => {
  const G = p.Hq / p.Hkv
  const o: number[] = []
  const lse: number[] = []
  for (let b = 0; b < p.B; b++)
    for (let hq = 0; hq < p.Hq; hq++) {
      const h = Math.floor(hq / G)
      const kAll: number[] = []
      const vAll: number[] = []
      for (let t = 0; t < p.S; t++) for (let d = 0; d < p.D; d++) (kAll.push(p.sharedK[(t * p.Hkv + h) * p.D + d]!), vAll.push(p.sharedV[(t * p.Hkv + h) * p.D + d]!))
      for (let t = 0; t < p.uniqueLen[b]!; t++) for (let d = 0; d < p.D; d++) (kAll.push(p.uniqueK[((b * p.U + t) * p.Hkv + h) * p.D + d]!), vAll.push(p.uniqueV[((b * p.U + t) * p.Hkv + h) * p.D + d]!))
      const n = kAll.length / p.D
      const r = attendRef(p.q, (b * p.Hq + hq) * p.D, kAll, vAll, Array.from({ length: n }, (_, i) => i), p.D, 1 / Math.sqrt(p.D))
      o.push(...r.o)
      lse.push(r.lse)
    }
  return { o, lse }
}

describe(`MoSKA layer: router + shared + unique + merge (seed ${seed})`, () => {
  it("with top-k all equals dense softmax attention over shared and unique keys, on the GPU and the CPU references", async () => {
    const p = problem("dense", { B: 3, Hq: 8, Hkv: 2, D: 16, S: 700, U: 150, C: 256, K: 3, lens: [150, 0, 41], format: "f32" })
    const want = denseRef(p)
    const cpu = moskaAttentionCpu(p)
    const g = await moskaAttentionGpu(gpu(), p)
    expect(relErr([...cpu.out], want.o)).toBeLessThan(1e-6)
    expect(relErr([...cpu.lse], want.lse)).toBeLessThan(1e-6)
    expect(relErr([...g.out], want.o)).toBeLessThan(1e-5)
    expect(relErr([...g.lse], want.lse)).toBeLessThan(1e-5)
  })

  for (const format of ["f32", "f16", "int8"] as const)
    it(`with top-k routing matches the float64 pipeline for ${format} KV (same chunks chosen)`, async () => {
      const p = problem(`topk${format}`, { B: 4, Hq: 4, Hkv: 1, D: 32, S: 1000, U: 64, C: 128, K: 2, lens: [64, 10, 0, 33], format })
      const cpu = moskaAttentionCpu(p)
      const g = await moskaAttentionGpu(gpu(), p)
      expect([...g.chunks]).toEqual([...cpu.chunks])
      expect(g.out.every(Number.isFinite) && g.lse.every(Number.isFinite)).toBe(true)
      expect(relErr([...g.out], [...cpu.out])).toBeLessThan(format === "int8" ? 3e-2 : 1e-5)
    })

  it("a request with no unique tokens and top-k 0 attends nothing: o = 0, lse = -inf, no NaN", async () => {
    const p = problem("empty", { B: 2, Hq: 2, Hkv: 1, D: 16, S: 64, U: 16, C: 32, K: 0, lens: [0, 16], format: "f32" })
    const g = await moskaAttentionGpu(gpu(), p)
    expect([...g.lse.subarray(0, 2)]).toEqual([-Infinity, -Infinity])
    expect(g.out.subarray(0, 32).every((x) => x === 0)).toBe(true)
    expect(Number.isFinite(g.lse[2]!) && g.out.every(Number.isFinite)).toBe(true)
  })
})

describe("LSE merge property", () => {
  it("merging partials computed over any split of the keys equals attention over all keys", () => {
    const D = 8
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 60, maxLength: 60 }), fc.integer(), (n, groups, s) => {
        const rng = makeRng(s)
        const q = randomArray(rng, D, 3)
        const k = randomArray(rng, n * D, 3)
        const v = randomArray(rng, n * D)
        const all = attendRef(q, 0, k, v, Array.from({ length: n }, (_, i) => i), D, 0.5)
        const parts = [0, 1, 2, 3, 4].map((gi) => attendRef(q, 0, k, v, Array.from({ length: n }, (_, i) => i).filter((i) => groups[i] === gi), D, 0.5))
        const m = mergeRef(parts, D)
        return Math.abs(m.lse - all.lse) < 1e-9 && relErr([...m.o], [...all.o]) < 1e-9
      }),
      { seed: 42, numRuns: 200 },
    )
  })
})
