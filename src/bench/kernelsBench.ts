import type { GpuContext } from "../gpu/device.js"
import { fillKv, fillPasses } from "../gpu/fill/fill.js"
import { fillRowValues } from "../gpu/fill/fillValues.js"
import { gpuOps, type Pass } from "../gpu/gpuOps.js"
import { allocKv, destroyKv, kvSegments, type GpuKv } from "../gpu/kvBuffers.js"
import { bytesPerRow, type KvFormat } from "../gpu/kvFormat.js"
import { attendRef } from "../gpu/merge/attendRef.js"
import { mergePass } from "../gpu/merge/merge.js"
import { mergeRef } from "../gpu/merge/mergeRef.js"
import { EMPTY_LSE, type Partial } from "../gpu/merge/partial.js"
import { routedUnits } from "../gpu/moska/routedUnits.js"
import { routerPass } from "../gpu/router/router.js"
import { sharedAttention } from "../gpu/shared/sharedAttention.js"
import { perRequestAttention } from "../gpu/unique/perRequestAttention.js"
import { uniqueAttention } from "../gpu/unique/uniqueAttention.js"
import { measureCeilings, type Ceilings } from "./kernelsCeilings.js"
import { timePasses } from "./kernelsTiming.js"
import { relErr } from "../gpu/relErr.js"

export interface BenchRow {
  readonly key: string
  readonly kv: KvFormat
  readonly ms: number
  readonly bytes: number
  readonly flops: number
  readonly GBps: number
  readonly TFLOPs: number
  /** ‖out − ref‖/‖ref‖ on the sampled rows, or null when not checked. */
  readonly err: number | null
  readonly errNote: string
  readonly anchorMs?: number
  readonly note?: string
}

export interface KernelsBenchResult {
  readonly device: string
  readonly ceilings: Ceilings
  readonly shape: Record<string, number>
  readonly rows: BenchRow[]
}

export interface KernelsBenchOptions {
  readonly quick: boolean
  readonly formats: readonly KvFormat[]
  readonly anchor?: { rows: Record<string, { ms: number }> }
  /** Run only these kernel groups (unique, shared, moska, perreq); default all. */
  readonly only?: readonly string[]
  /**
   * Unique-attention context lengths to time (each × B = 16, 64); default MOSKA_BENCH_UNIQUE_U (comma-separated,
   * e.g. 61440,65536: at 60K a request's f16 K is 120 MiB, so B = 16 binds in one segment; at 64K it takes two),
   * else the shape's U alone.
   */
  readonly uniqueTokens?: readonly number[]
  readonly log: (line: string) => void
}

const Hq = 32
const Hkv = 8
const D = 128
const G = Hq / Hkv
const SEED_Q = 11
const SEED_K = 101
const SEED_C = 555

const f32Rows = async (gpu: GpuContext, rows: number, seed: number): Promise<GPUBuffer> => {
  const b = gpuOps.buffer(gpu, rows * D * 4, "bench.f32")
  const dummy = gpuOps.buffer(gpu, 16, "bench.noscales")
  await gpuOps.submit(gpu, "fill", await fillPasses(gpu, b, dummy, "f32", D, rows, seed))
  dummy.destroy()
  return b
}

/**
 * An environment variable as a comma-separated list of positive multiples of `step`, or undefined when unset:
 * MOSKA_BENCH_UNIQUE_U (unique context lengths, step 128), MOSKA_BENCH_SHARED_B (stacked batch sizes of the
 * shared and per-request rows) and MOSKA_BENCH_SHARED_S (corpus sizes of those rows, multiples of four chunks
 * (4096 tokens, 1024 with --quick), for the top-25% rows; default 1M, 16K with --quick); more shapes give `moska calibrate` enough points per class.
 */
const positiveListEnv = (name: string, step: number): number[] | undefined => {
  const e = process.env[name]
  if (e === undefined || e.trim() === "") return undefined
  const us = e.split(",").map((x) => Number(x.trim()))
  const bad = us.find((u) => !Number.isInteger(u) || u <= 0 || u % step !== 0)
  if (bad !== undefined) throw new Error(`${name}=${e}: want comma-separated positive integers${step > 1 ? `, multiples of ${step}` : ""}`)
  return us
}

const readRows = async (gpu: GpuContext, buf: GPUBuffer, row0: number, rows: number): Promise<Float32Array> => new Float32Array(await gpuOps.read(gpu, buf, rows * D * 4, row0 * D * 4))

const toPartial = (o: Float32Array, lse: number): Partial => ({ o: Float64Array.from(o), lse: lse <= EMPTY_LSE / 2 ? -Infinity : lse })


/** Reference partials for the G query rows of (request b, KV head h) over tokens [t0, t1) of a KV laid out [*, T, Hkv]. */
const refGroup = (fmt: KvFormat, b: number, h: number, reqRow0: number, t0: number, t1: number, seedK: number): Partial[] => {
  const q = fillRowValues("f32", SEED_Q, Array.from({ length: G }, (_, g) => b * Hq + h * G + g), D)
  const parts: Partial[][] = Array.from({ length: G }, () => [])
  const BLOCK = 8192
  for (let s = t0; s < t1; s += BLOCK) {
    const e = Math.min(t1, s + BLOCK)
    const rows = Array.from({ length: e - s }, (_, i) => (reqRow0 + s + i) * Hkv + h)
    const k = fillRowValues(fmt, seedK, rows, D)
    const v = fillRowValues(fmt, seedK + 1, rows, D)
    const idx = Array.from({ length: e - s }, (_, i) => i)
    for (let g = 0; g < G; g++) parts[g]!.push(attendRef(q, g * D, k, v, idx, D, 1 / Math.sqrt(D)))
  }
  return parts.map((p) => mergeRef(p, D))
}

const mergeSplits = async (gpu: GpuContext, po: GPUBuffer, pl: GPUBuffer, rows: number, nsplit: number): Promise<{ pass: Pass; out: GPUBuffer; lse: GPUBuffer }> => {
  const offs = Uint32Array.from({ length: rows + 1 }, (_, r) => r * nsplit)
  const slots = Uint32Array.from({ length: rows * nsplit }, (_, i) => i)
  const out = gpuOps.buffer(gpu, rows * D * 4, "bench.out")
  const lse = gpuOps.buffer(gpu, rows * 4, "bench.lse")
  return { pass: await mergePass(gpu, { po, pl, slots, offs, dim: D, out, lse }), out, lse }
}

/**
 * `moska bench kernels`: every kernel at Llama-3.1-8B layer shapes (Hq 32, Hkv 8, D 128) on
 * GPU-generated data, timed against copy/GEMM ceilings measured in the same run, with the error
 * of sampled outputs against float64 references on the same (exactly representable) values.
 * @example const res = await runKernelsBench(gpu, { quick: false, formats: ["f16"], log: console.log })
 */
export const runKernelsBench = async (gpu: GpuContext, opts: KernelsBenchOptions): Promise<KernelsBenchResult> => {
  const { log, quick } = opts
  const U = quick ? 2048 : 65536
  const S = quick ? 16384 : 1 << 20
  const C = quick ? 1024 : 4096
  const N = S / C
  const want = (g: string): boolean => opts.only === undefined || opts.only.includes(g)
  const UNIQUE_B = !want("unique") ? [] : quick ? [2] : [16, 64]
  const UNIQUE_U = opts.uniqueTokens ?? positiveListEnv("MOSKA_BENCH_UNIQUE_U", 128) ?? [U]
  const SHARED_B = !want("shared") && !want("perreq") ? [] : quick ? [4, 16] : (positiveListEnv("MOSKA_BENCH_SHARED_B", 1) ?? [16, 64, 256])
  // Corpus sizes of the shared rows: at one S every shape of a class reads the same KV bytes (twins for the
  // fidelity split), so calibrating the shared kernel needs several.
  const SHARED_S = positiveListEnv("MOSKA_BENCH_SHARED_S", 4 * C) ?? [S]
  const rows: BenchRow[] = []
  const ceilings = await measureCeilings(gpu, quick)
  log(`device: ${gpu.name}; subgroup-matrix int8: ${gpu.int8SubgroupMatrix}, f16: ${gpu.f16SubgroupMatrix}; shader-f16: ${gpu.features.has("shader-f16")}`)
  log(`ceilings: copy ${ceilings.copyGBps.toFixed(0)} GB/s (read+write), read ${ceilings.readGBps.toFixed(0)} GB/s (reduction, best of ${ceilings.readSweep.map((r) => `${r.wg}x${r.unroll} ${r.GBps.toFixed(0)}`).join(", ")}), f32 GEMM ${ceilings.gemmF32TFLOPs.toFixed(1)} TFLOP/s`)
  const add = (r: Omit<BenchRow, "GBps" | "TFLOPs" | "anchorMs">): void => {
    const anchorMs = opts.anchor?.rows[r.key]?.ms
    const row: BenchRow = { ...r, GBps: r.bytes / r.ms / 1e6, TFLOPs: r.flops / r.ms / 1e9, ...(anchorMs !== undefined ? { anchorMs } : {}) }
    rows.push(row)
    log(`${row.key} [${row.kv}]: ${row.ms.toFixed(3)} ms, ${row.GBps.toFixed(0)} GB/s, ${row.TFLOPs.toFixed(2)} TFLOP/s, err ${row.err === null ? "-" : row.err.toExponential(2)}${anchorMs !== undefined ? `, ours/anchor ${(row.ms / anchorMs).toFixed(2)}` : ""}`)
  }

  for (const fmt of opts.formats) {
    // Unique attention: flash-decoding splits + the merge kernel as the reduce.
    for (const B of UNIQUE_B) for (const U of UNIQUE_U) {
      const kv = allocKv(gpu, fmt, D, B * U * Hkv)
      await fillKv(gpu, kv, SEED_K)
      const q = await f32Rows(gpu, B * Hq, SEED_Q)
      const lens = gpuOps.upload(gpu, new Uint32Array(B).fill(U))
      const plan = await uniqueAttention(gpu, { q, kv, lens, requests: B, tokens: U, kvHeads: Hkv, qHeads: Hq })
      const m = await mergeSplits(gpu, plan.po, plan.pl, B * Hq, plan.nsplit)
      gpuOps.poison(gpu, m.out, B * Hq * D * 4)
      const ms = await timePasses(gpu, [...plan.passes, m.pass])
      const b = B - 1
      const h = Hkv - 1
      const got = await readRows(gpu, m.out, b * Hq + h * G, G)
      const ref = refGroup(fmt, b, h, b * U, 0, U, SEED_K)
      add({ key: `unique U=${U} B=${B}`, kv: fmt, ms, bytes: 2 * B * U * Hkv * bytesPerRow(fmt, D), flops: 4 * B * Hq * U * D, err: relErr(got, ref.flatMap((p) => [...p.o])), errNote: `request ${b}, KV head ${h} (${G} rows), all ${U} keys`, note: `${plan.nsplit} splits of ${plan.splitLen}` })
      destroyKv(kv)
      for (const x of [q, lens, plan.po, plan.pl, m.out, m.lse]) x.destroy()
    }

    // Shared attention over one corpus (each corpus size S in turn); MoSKA end to end; the per-request baseline on the same KV.
    for (const S of SHARED_S) {
      const N = S / C
      const kv: GpuKv = allocKv(gpu, fmt, D, S * Hkv)
      await fillKv(gpu, kv, SEED_K)
      const centroids = await f32Rows(gpu, N * Hkv, SEED_C)
      for (const B of SHARED_B) {
        const q = await f32Rows(gpu, B * Hq, SEED_Q)
        let denseOut: Float32Array | undefined
        for (const K of want("shared") ? [N, N / 4] : []) {
          const label = K === N ? "dense" : "top25"
          const router = await routerPass(gpu, { q, centroids, requests: B, qHeads: Hq, kvHeads: Hkv, dim: D, chunks: N, topK: K })
          await gpuOps.submit(gpu, "router", [router.pass])
          const chunks = await gpuOps.readI32(gpu, router.out, B * Hkv * K)
          const { units, where } = routedUnits(chunks, B, Hq, Hkv, K)
          const plan = await sharedAttention(gpu, { q, kv, tokens: S, kvHeads: Hkv, chunkTokens: C, units })
          const offs = new Uint32Array(B * Hq + 1)
          const slots: number[] = []
          for (let b = 0; b < B; b++)
            for (let hq = 0; hq < Hq; hq++) {
              const h = Math.floor(hq / G)
              for (let k = 0; k < K; k++) {
                const w = where[(b * Hkv + h) * K + k]!
                const n = units[w.unit]!.rows.length
                for (let s = 0; s < plan.splits; s++) slots.push(plan.unitSlot0[w.unit]! + s * n + w.row + (hq % G))
              }
              offs[b * Hq + hq + 1] = slots.length
            }
          const out = gpuOps.buffer(gpu, B * Hq * D * 4)
          const lse = gpuOps.buffer(gpu, B * Hq * 4)
          gpuOps.poison(gpu, out, B * Hq * D * 4)
          const merge = await mergePass(gpu, { po: plan.po, pl: plan.pl, slots: new Uint32Array(slots), offs, dim: D, out, lse })
          const ms = await timePasses(gpu, [...plan.passes, merge])
          // Error: two sampled units, first and last stacked row, partials merged over splits on the host.
          let e2 = 0
          let n2 = 0
          for (const ui of [0, units.length - 1]) {
            const u = units[ui]!
            const n = u.rows.length
            for (const i of [0, n - 1]) {
              const parts: Partial[] = []
              for (let s = 0; s < plan.splits; s++) {
                const slot = plan.unitSlot0[ui]! + s * n + i
                parts.push(toPartial(await readRows(gpu, plan.po, slot, 1), new Float32Array(await gpuOps.read(gpu, plan.pl, 4, slot * 4))[0]!))
              }
              const got = mergeRef(parts, D)
              const row = u.rows[i]!
              const b = Math.floor(row / Hq)
              const g = row % G
              const ref = refGroup(fmt, b, u.kvHead, 0, u.chunk * C, Math.min(S, (u.chunk + 1) * C), SEED_K)[g]!
              for (let d = 0; d < D; d++) {
                e2 += (got.o[d]! - ref.o[d]!) ** 2
                n2 += ref.o[d]! ** 2
              }
            }
          }
          const touched = new Set(units.map((u) => u.chunk)).size
          add({ key: `shared ${label} S=${S} B=${B}`, kv: fmt, ms, bytes: 2 * touched * C * Hkv * bytesPerRow(fmt, D), flops: 4 * B * Hq * K * C * D, err: Math.sqrt(e2 / n2), errNote: "2 units × 2 stacked rows, partials over one chunk", note: `${plan.kernel} kernel, ${units.length} units, ${plan.rowTile}-row tiles, ${plan.splits} splits, ${plan.workgroups} workgroups` })
          if (K === N) denseOut = await gpuOps.readF32(gpu, out, B * Hq * D)
          if (want("moska")) add({ key: `moska ${label} S=${S} B=${B}`, kv: fmt, ms: await timePasses(gpu, [router.pass, ...plan.passes, merge]), bytes: 2 * touched * C * Hkv * bytesPerRow(fmt, D), flops: 4 * B * Hq * K * C * D, err: null, errNote: "router + shared + merge; host bucketing of the router's choice not timed" })
          for (const x of [router.out, plan.po, plan.pl, out, lse]) x.destroy()
        }
        // Per-request baseline: every request streams the whole corpus.
        if (!want("perreq")) {
          q.destroy()
          continue
        }
        const lens = gpuOps.upload(gpu, new Uint32Array(B).fill(S))
        const pr = await perRequestAttention(gpu, { q, kv, lens, requests: B, tokens: S, kvHeads: Hkv, qHeads: Hq })
        const m = await mergeSplits(gpu, pr.po, pr.pl, B * Hq, pr.nsplit)
        gpuOps.poison(gpu, m.out, B * Hq * D * 4)
        const ms = await timePasses(gpu, [...pr.passes, m.pass], 150, 3)
        const all = await gpuOps.readF32(gpu, m.out, B * Hq * D)
        // Check: the baseline equals MoSKA dense on every row (both are dense attention over S).
        add({ key: `perreq S=${S} B=${B}`, kv: fmt, ms, bytes: B * 2 * S * Hkv * bytesPerRow(fmt, D), flops: 4 * B * Hq * S * D, err: denseOut === undefined ? null : relErr(all, denseOut), errNote: "vs MoSKA dense output, all rows", note: `${pr.nsplit} splits` })
        for (const x of [q, lens, pr.po, pr.pl, m.out, m.lse]) x.destroy()
      }
      destroyKv(kv)
      centroids.destroy()
    }
  }
  return { device: gpu.name, ceilings, shape: { Hq, Hkv, D, U, S, chunkTokens: C }, rows }
}
