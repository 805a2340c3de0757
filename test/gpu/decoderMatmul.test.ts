import { describe, expect, it } from "vitest"
import type { BindingLayout } from "../../src/gpu/bindings.js"
import { DecoderRef } from "../../src/gpu/decoder/decoderRef.js"
import { DenseMatmul } from "../../src/gpu/decoder/denseMatmul.js"
import { GEMM_BINDINGS, GEMM_ROW_TILES, GEMM_TN, gemmWgsl } from "../../src/gpu/decoder/gemm.wgsl.js"
import { MATVEC_BINDINGS, matvecColsPerWorkgroup, matvecWgsl, matvecWorkgroupBytes, type MatvecRows } from "../../src/gpu/decoder/matvec.wgsl.js"
import { gpuOps } from "../../src/gpu/gpuOps.js"
import { LlamaDecoder } from "../../src/gpu/decoder/llamaDecoder.js"
import { tinyConfig } from "./decoderTiny.js"
import { makeRng, randomArray, relErr, testSeed, useGpu } from "./gpuFixture.js"

const gpu = useGpu()
const seed = testSeed()

type Names = "x" | "w" | "y" | "counts" | "params"
interface Kernel { pipeline: GPUComputePipeline; bindings: BindingLayout<Names>; workgroups(nPart: number, rows: number): [number, number] }
interface Case { rows: number; K: number; N: number; acc: boolean }

const ROWS = [1, 3, 8, 17, 70]
const KS = [4, 36, 260]
const NS = [1, 65, 300]
const cases = (rows: readonly number[], ks: readonly number[] = KS): Case[] => rows.flatMap((r) => ks.flatMap((K) => NS.flatMap((N) => [false, true].map((acc) => ({ rows: r, K, N, acc })))))

// The weight is a part at output column n0 of a wider y (ldy = n0 + N + 3), as the decoder splits weights by rows.
const N0 = 5
const EXTRA_ROWS = 2
const NAN = Number.NaN

/**
 * Runs one product on the GPU with every buffer guarded: x rows past `rows`, W rows past the part and
 * all of y are NaN (y's product range holds random values instead when `acc`), and the row count is
 * read through countWord 1 (word 0 holds a decoy). Returns the max error over the tolerance, and
 * whether every element outside the product range kept its NaN.
 */
const runCase = async (kern: Kernel, c: Case, label: string): Promise<{ worst: number; untouched: boolean; finite: boolean }> => {
  const g = gpu()
  const rng = makeRng(seed).split(label)
  const { rows, K, N } = c
  const ldy = N0 + N + 3
  const x = new Float32Array((rows + EXTRA_ROWS) * K).fill(NAN)
  x.set(randomArray(rng, rows * K))
  const w = new Float32Array((N + 1) * K).fill(NAN)
  w.set(randomArray(rng, N * K))
  const y0 = new Float32Array((rows + EXTRA_ROWS) * ldy).fill(NAN)
  if (c.acc) for (let r = 0; r < rows; r++) for (let j = 0; j < N; j++) y0[r * ldy + N0 + j] = rng.float() * 2 - 1
  const bx = gpuOps.upload(g, x, "x")
  const bw = gpuOps.upload(g, w, "w")
  const by = gpuOps.upload(g, y0, "y")
  const counts = gpuOps.upload(g, Uint32Array.of(999, rows, 0, 0), "counts")
  const params = gpuOps.uniform(g, [K, ldy, N0, N, c.acc ? 1 : 0, 1, 0, 0])
  try {
    const group = kern.bindings.group(g.device, kern.bindings.layout(g.device), { x: { buffer: bx }, w: { buffer: bw }, y: { buffer: by }, counts: { buffer: counts }, params: { buffer: params } })
    await gpuOps.submit(g, label, [{ pipeline: kern.pipeline, group, workgroups: kern.workgroups(N, rows) }])
    const y = await gpuOps.readF32(g, by, y0.length)
    let worst = 0
    let untouched = true
    let finite = true
    for (let r = 0; r < rows + EXTRA_ROWS; r++)
      for (let jj = 0; jj < ldy; jj++) {
        const o = r * ldy + jj
        const j = jj - N0
        if (r >= rows || j < 0 || j >= N) {
          untouched &&= Number.isNaN(y[o]!)
          continue
        }
        let ref = c.acc ? y0[o]! : 0
        let mag = Math.abs(ref)
        for (let k = 0; k < K; k++) {
          const p = x[r * K + k]! * w[j * K + k]!
          ref += p
          mag += Math.abs(p)
        }
        if (!Number.isFinite(y[o]!)) finite = false
        // f32 dot product of K terms plus the add: |err| ≤ (K + 1)·u·Σ|terms| (u = 2^-24), a rigorous bound; a dropped or doubled term is off by ~Σ/K, orders above it for K ≤ 260.
        worst = Math.max(worst, Math.abs(y[o]! - ref) / ((K + 2) * 2 ** -24 * mag + 1e-30))
      }
    return { worst, untouched, finite }
  } finally {
    for (const b of [bx, bw, by, counts, params]) b.destroy()
  }
}

const expectCase = async (kern: Kernel, c: Case, name: string): Promise<void> => {
  const label = `${name} rows ${c.rows} K ${c.K} N ${c.N} acc ${c.acc} seed ${seed}`
  const res = await runCase(kern, c, label)
  expect(res.finite, label).toBe(true)
  expect(res.untouched, `${label}: wrote outside its rows / part columns`).toBe(true)
  expect(res.worst, label).toBeLessThanOrEqual(1)
}

const matvec = async (rm: MatvecRows): Promise<Kernel> => ({
  pipeline: await gpuOps.pipeline(gpu(), `decoder.matvec:${rm}`, MATVEC_BINDINGS, matvecWgsl(rm)),
  bindings: MATVEC_BINDINGS,
  workgroups: (nPart) => gpuOps.grid(gpu(), Math.ceil(nPart / matvecColsPerWorkgroup(rm))),
})

describe(`decoder dense kernels against a float64 product (NaN-guarded buffers, part offset n0 = ${N0}; error within (K + 2)·2^-24·Σ|x·w|)`, () => {
  it("matvec (decode rows): the variant for rows 1, 3 and 8, and the 16-row variant on 3 rows (also K 1028: several K steps per lane)", async () => {
    const wide = matvecWorkgroupBytes(16) <= gpu().limits.maxComputeWorkgroupStorageSize
    const runs: Array<[number, MatvecRows]> = [[1, 1], [3, 4], [8, 8]]
    if (wide) runs.push([3, 16])
    for (const [rows, rm] of runs) {
      const kern = await matvec(rm)
      for (const c of cases([rows], [...KS, 1028])) await expectCase(kern, c, `matvec:${rm}`)
    }
  })

  for (const bm of GEMM_ROW_TILES)
    it(`GEMM with ${bm}-row tiles: rows ${ROWS.join(", ")}`, async () => {
      const kern: Kernel = { pipeline: await gpuOps.pipeline(gpu(), `decoder.gemm:${bm}`, GEMM_BINDINGS, gemmWgsl(bm)), bindings: GEMM_BINDINGS, workgroups: (nPart, rows) => [Math.ceil(nPart / GEMM_TN), Math.ceil(rows / bm)] }
      for (const c of cases(ROWS)) await expectCase(kern, c, `gemm:${bm}`)
    })

  it("DenseMatmul picks matvec up to 16 rows (8 where workgroup memory is 16 KiB), the GEMM above, the scalar tiled kernel for K % 4 != 0 (and that one is right too)", async () => {
    const mm = await DenseMatmul.create(gpu(), 70, [36, 37])
    const sixteen = matvecWorkgroupBytes(16) <= gpu().limits.maxComputeWorkgroupStorageSize ? "decoder.matvec:16" : "decoder.gemm:32"
    expect([1, 2, 3, 8, 16, 17, 32, 33, 70].map((r) => mm.pick(r, 36).key)).toEqual(["decoder.matvec:1", "decoder.matvec:2", "decoder.matvec:4", "decoder.matvec:8", sixteen, "decoder.gemm:32", "decoder.gemm:32", "decoder.gemm:64", "decoder.gemm:64"])
    expect([1, 5, 17, 70].map((r) => mm.pick(r, 37).family)).toEqual(["tiled", "tiled", "tiled", "tiled"])
    const small = await DenseMatmul.create(gpu(), 4, [36])
    expect(() => small.pick(5, 36)).toThrow(/not compiled/)
    for (const rows of [3, 70]) for (const c of cases([rows], [37])) await expectCase(mm.pick(rows, 37), c, "tiled")
  })

  // decoder.test.ts prefills at most 10 rows (matvec); here whole prefills run through both GEMM tiles and decode through matvec.
  it("the decoder with GEMM prefills (40 rows: 64-row tiles; 20 rows: 32-row tiles) and a matvec decode step gives the float64 reference's logits", async () => {
    const cfg = tinyConfig("prefix", { corpus: null, maxBatchTokens: 64 })
    const dec = await LlamaDecoder.create(gpu(), cfg)
    const ref = DecoderRef.synthetic(cfg)
    try {
      const a = Int32Array.from({ length: 40 }, (_, i) => (i * 53 + 3) % 256)
      const b = Int32Array.from({ length: 20 }, (_, i) => (i * 29 + 100) % 256)
      const ra = await dec.prefill([{ slot: 0, tokens: a, start: 0, sample: true, temperature: 0, seed: 0 }])
      // Same tolerance as decoder.test.ts: f32 products over K ≤ 256 against float64 are ~1e-6 off.
      expect(relErr([...(await dec.readLogits())], [...ref.forward(0, a, 0).logits.at(-1)!])).toBeLessThan(1e-4)
      const rb = await dec.prefill([{ slot: 2, tokens: b, start: 0, sample: true, temperature: 0, seed: 0 }])
      expect(relErr([...(await dec.readLogits())], [...ref.forward(2, b, 0).logits.at(-1)!])).toBeLessThan(1e-4)
      await dec.decode([
        { slot: 0, token: ra.tokens[0]!, position: 40, temperature: 0, seed: 0 },
        { slot: 2, token: rb.tokens[0]!, position: 20, temperature: 0, seed: 0 },
      ])
      const want = [...ref.forward(0, [ra.tokens[0]!], 40).logits[0]!, ...ref.forward(2, [rb.tokens[0]!], 20).logits[0]!]
      expect(relErr([...(await dec.readLogits())], want)).toBeLessThan(1e-4)
    } finally {
      dec.destroy()
    }
  })
})
