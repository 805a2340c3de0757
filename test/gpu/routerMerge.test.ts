import { describe, expect, it } from "vitest"
import { gpuOps } from "../../src/gpu/gpuOps.js"
import { mergePass } from "../../src/gpu/merge/merge.js"
import { mergeRef } from "../../src/gpu/merge/mergeRef.js"
import { EMPTY_LSE, type Partial } from "../../src/gpu/merge/partial.js"
import { routerPass } from "../../src/gpu/router/router.js"
import { routerRef, routerScoresRef } from "../../src/gpu/router/routerRef.js"
import { makeRng, randomArray, relErr, testSeed, useGpu } from "./gpuFixture.js"

const gpu = useGpu()
const seed = testSeed()

describe(`router kernel (seed ${seed})`, () => {
  for (const [B, Hq, Hkv, D, N, K] of [
    [3, 8, 2, 16, 37, 5],
    [2, 4, 4, 32, 300, 300],
    [1, 6, 3, 16, 9, 0],
  ] as const)
    it(`picks the top-${K} of ${N} chunks per (request, KV head), best first, like the float64 reference (B=${B} Hq=${Hq} Hkv=${Hkv} D=${D})`, async () => {
      const rng = makeRng(seed).split(`router${N}`)
      const q = randomArray(rng, B * Hq * D)
      const centroids = randomArray(rng, N * Hkv * D)
      const g = gpu()
      const r = await routerPass(g, { q: gpuOps.upload(g, q), centroids: gpuOps.upload(g, centroids), requests: B, qHeads: Hq, kvHeads: Hkv, dim: D, chunks: N, topK: K })
      gpuOps.poison(g, r.out, B * Hkv * K * 4)
      await gpuOps.submit(g, "router", [r.pass])
      const got = await gpuOps.readI32(g, r.out, B * Hkv * K)
      const input = { q, centroids, requests: B, qHeads: Hq, kvHeads: Hkv, dim: D, chunks: N, topK: K }
      const want = routerRef(input)
      const scores = routerScoresRef(input)
      // f32 scoring may swap chunks whose float64 scores are within rounding; anything else must agree.
      for (let u = 0; u < B * Hkv; u++)
        for (let k = 0; k < K; k++) {
          const a = got[u * K + k]!
          const b = want[u * K + k]!
          if (a !== b) expect(Math.abs(scores[u * N + a]! - scores[u * N + b]!), `unit ${u} rank ${k}: chunk ${a} vs ${b}`).toBeLessThan(1e-5)
        }
    })

  it("breaks exact ties toward the lower chunk id", async () => {
    const D = 16
    const N = 6
    const q = new Float32Array(4 * D).fill(0.5)
    const centroids = new Float32Array(N * D)
    for (const c of [1, 3, 4]) centroids.fill(1, c * D, (c + 1) * D) // chunks 1, 3, 4 tie for best
    const g = gpu()
    const r = await routerPass(g, { q: gpuOps.upload(g, q), centroids: gpuOps.upload(g, centroids), requests: 1, qHeads: 4, kvHeads: 1, dim: D, chunks: N, topK: 4 })
    await gpuOps.submit(g, "router", [r.pass])
    expect([...(await gpuOps.readI32(g, r.out, 4))]).toEqual([1, 3, 4, 0])
  })
})

describe(`merge kernel (seed ${seed})`, () => {
  it("merges n-way partials exactly and leaves rows with no (or only empty) partials at o = 0, lse = -inf", async () => {
    const rng = makeRng(seed).split("merge")
    const D = 48
    const nSlots = 40
    const po = randomArray(rng, nSlots * D)
    const pl = Float32Array.from({ length: nSlots }, (_, i) => (i % 7 === 3 ? EMPTY_LSE : rng.float() * 20 - 10))
    // rows: several random selections, one empty list, one list of only empty partials
    const lists: number[][] = [[0, 1, 2], [5], [], [3, 10], [7, 8, 9, 11, 12, 13, 14, 15], [3, 17]]
    const offs = new Uint32Array(lists.length + 1)
    lists.forEach((l, i) => (offs[i + 1] = offs[i]! + l.length))
    const g = gpu()
    const out = gpuOps.buffer(g, lists.length * D * 4)
    const lse = gpuOps.buffer(g, lists.length * 4)
    gpuOps.poison(g, out, lists.length * D * 4)
    gpuOps.poison(g, lse, lists.length * 4)
    const pass = await mergePass(g, { po: gpuOps.upload(g, po), pl: gpuOps.upload(g, pl), slots: new Uint32Array(lists.flat()), offs, dim: D, out, lse })
    await gpuOps.submit(g, "merge", [pass])
    const o = await gpuOps.readF32(g, out, lists.length * D)
    const l = await gpuOps.readF32(g, lse, lists.length)
    expect(o.every(Number.isFinite)).toBe(true)
    lists.forEach((list, r) => {
      const parts: Partial[] = list.map((s) => ({ o: Float64Array.from(po.subarray(s * D, (s + 1) * D)), lse: pl[s]! <= EMPTY_LSE / 2 ? -Infinity : pl[s]! }))
      const want = mergeRef(parts, D)
      if (want.lse !== -Infinity) expect(relErr([...o.subarray(r * D, (r + 1) * D)], [...want.o]), `row ${r}`).toBeLessThan(1e-5)
      if (want.lse === -Infinity) {
        expect(l[r]).toBe(-Infinity)
        expect(o.subarray(r * D, (r + 1) * D).every((x) => x === 0)).toBe(true)
      } else expect(Math.abs(l[r]! - want.lse)).toBeLessThan(1e-5)
    })
  })
})
