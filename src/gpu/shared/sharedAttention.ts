import { CapacityExceeded } from "../../core/errors.js"
import type { GpuContext } from "../device.js"
import { gpuOps, type Pass } from "../gpuOps.js"
import { kvEntries, kvSegments, type GpuKv } from "../kvBuffers.js"
import { f16MmaBlocker } from "../sharedF16/f16Mma.js"
import { f16Options } from "../sharedF16/f16Options.js"
import { sharedF16Wgsl, type SharedF16Options } from "../sharedF16/sharedF16.wgsl.js"
import { int8MmaBlocker } from "../sharedInt8/int8Mma.js"
import { wsmKnob } from "../sharedInt8/wsmKnob.js"
import { SHARED_INT8_BINDINGS, sharedInt8Wgsl, sharedInt8WorkgroupBytes, type SharedInt8Options } from "../sharedInt8/sharedInt8.wgsl.js"
import { SHARED_BINDINGS, SHARED_ITEM_WORDS, SHARED_KEY_TILE, sharedWgsl, sharedWorkgroupBytes, type SharedVariant } from "./shared.wgsl.js"

/** Profiling-only phases the int8 kernel can leave out (MOSKA_SHARED_INT8_ABLATE). */
const ABLATIONS = ["stage", "s", "softmax", "pv", "rescale"] as const
const ablation = (v: string | undefined): { ablate?: (typeof ABLATIONS)[number] } => {
  if (v === undefined) return {}
  const a = ABLATIONS.find((x) => x === v)
  if (a === undefined) throw new Error(`MOSKA_SHARED_INT8_ABLATE=${v}: want one of ${ABLATIONS.join(", ")}`)
  return { ablate: a }
}

/**
 * Options of the narrow int8 kernel: K/V staged through workgroup memory with padded S/O rows and 64-row
 * tiles where the device has the workgroup memory for it, else the unstaged kernel. Prefetching the next
 * tile into registers, 32-row tiles and 8-subgroup workgroups were not faster on the H200 (docs/kernels-h200.md,
 * sweeps 7-15).
 * Tuning knobs (docs/kernels-h200.md): MOSKA_SHARED_INT8_STAGE=none|kv, MOSKA_SHARED_INT8_PREFETCH=1,
 * MOSKA_SHARED_INT8_ROWS=32|64, MOSKA_SHARED_INT8_THREADS=256, MOSKA_SHARED_INT8_ST=1 (Sᵀ = K·Qᵀ), MOSKA_SHARED_INT8_PSTRIDE=80,
 * MOSKA_SHARED_INT8_OSTRIDE (O row stride in words, 128..136), MOSKA_SHARED_INT8_WSM=vec4 (workgroup tiles as
 * array<vec4<u32>>, SharedInt8Options.wsm), MOSKA_SGM_SPELLING=legacy; for profiling only
 * (wrong results) MOSKA_SHARED_INT8_ABLATE=stage|s|softmax|pv|rescale leaves one phase of the key loop out.
 */
const int8Options = (gpu: GpuContext): SharedInt8Options => {
  const env = process.env
  const spelling = env.MOSKA_SGM_SPELLING === "legacy" ? "legacy" : gpu.sgmSpelling
  const oStride = Number(env.MOSKA_SHARED_INT8_OSTRIDE ?? 136)
  if (!Number.isInteger(oStride) || oStride < 128 || oStride > 136) throw new Error(`MOSKA_SHARED_INT8_OSTRIDE=${env.MOSKA_SHARED_INT8_OSTRIDE}: want an integer in 128..136`)
  const staged: SharedInt8Options = { stage: "kv", spelling, prefetch: env.MOSKA_SHARED_INT8_PREFETCH === "1", oStride, rows: env.MOSKA_SHARED_INT8_ROWS === "32" ? 32 : 64, transposeS: env.MOSKA_SHARED_INT8_ST === "1", pStride: env.MOSKA_SHARED_INT8_PSTRIDE === "80" ? 80 : 64, threads: env.MOSKA_SHARED_INT8_THREADS === "256" ? 256 : 128, ...wsmKnob("MOSKA_SHARED_INT8_WSM"), ...ablation(env.MOSKA_SHARED_INT8_ABLATE) }
  const limit = gpu.limits.maxComputeWorkgroupStorageSize
  const fits = sharedInt8WorkgroupBytes(staged) <= limit
  if (!fits && env.MOSKA_SHARED_INT8_STAGE === "kv") throw new Error(`MOSKA_SHARED_INT8_* options need ${sharedInt8WorkgroupBytes(staged)} B of workgroup memory; the device allows ${limit}`)
  return env.MOSKA_SHARED_INT8_STAGE === "none" || !fits ? { ...staged, stage: "none", prefetch: false, rows: 64, pStride: 64, threads: 128 } : staged
}

/** Pipeline-cache key of the f16 tensor-core kernel (exported so a test can supply an emulated pipeline under it). */
export const sharedF16PipelineKey = (kvHeads: number, o: SharedF16Options): string => `shared-f16-mma:${kvHeads}:${JSON.stringify(o)}`

/** MOSKA_SHARED_SPLITS: key splits per unit for tuning runs (default: sharedShape's rule). */
const splitsOverride = (): number | undefined => {
  const v = process.env.MOSKA_SHARED_SPLITS
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) throw new Error(`MOSKA_SHARED_SPLITS=${v}: want a positive integer`)
  return n
}

/** The query rows (global row index b·Hq + hq) stacked onto one (chunk, KV head) unit. */
export interface SharedUnit {
  readonly chunk: number
  readonly kvHead: number
  readonly rows: readonly number[]
}

export interface SharedJob {
  /** Queries f32 [B·Hq, D]. */
  readonly q: GPUBuffer
  /** Shared K/V, rows laid out [S, Hkv]. */
  readonly kv: GpuKv
  readonly tokens: number
  readonly kvHeads: number
  readonly chunkTokens: number
  readonly units: readonly SharedUnit[]
  /** Key splits per unit; default: enough for ~1024 workgroups when rows are few. */
  readonly splits?: number
  /** Write partials into these buffers from slot `slotBase` on (so one merge sees unique and shared partials). */
  readonly out?: { readonly po: GPUBuffer; readonly pl: GPUBuffer; readonly slotBase: number }
  /** Force a row-tile variant (tests); default by mean rows per unit. */
  readonly rowsPerThread?: 1 | 4
  /** Use the int8 tensor-core kernel when it can run (default true; see sharedInt8/int8Mma.ts). */
  readonly int8Mma?: boolean
  /** Use the f16 tensor-core kernel when it can run (default true; see sharedF16/f16Mma.ts). */
  readonly f16Mma?: boolean
}

export interface SharedPlan {
  readonly passes: Pass[]
  readonly po: GPUBuffer
  readonly pl: GPUBuffer
  /** Partial slot of (unit u, stacked row i, split s) = unitSlot0[u] + s · rows_u + i (slotBase included). */
  readonly unitSlot0: Uint32Array
  readonly splits: number
  readonly slots: number
  readonly variant: SharedVariant
  readonly workgroups: number
  /** Stacked rows per work item. */
  readonly rowTile: number
  /** Which kernel runs: f32 math (SIMT), int8 or f16 subgroup matrices (tensor cores). */
  readonly kernel: string
}

/** Tile variant and key splits the host will use for `job` (so callers can size partial buffers first). */
export const sharedShape = (
  gpu: GpuContext,
  job: Omit<SharedJob, "q" | "out">,
): { variant: SharedVariant; splits: number; splitKeys: number; rows: number; rowTile: number; i8: SharedInt8Options | undefined; h16: SharedF16Options | undefined } => {
  const { kv, chunkTokens: C, units } = job
  const D = kv.dim
  const totalRows = units.reduce((a, u) => a + u.rows.length, 0)
  const meanRows = units.length === 0 ? 0 : totalRows / units.length
  // The int8 tensor-core kernel works on 64-key tiles of 64 (or 32) rows.
  // i8: the int8 tensor-core kernel's options, when it runs (its MOSKA_SHARED_INT8_* knobs are read only then).
  // h16: the f16 tensor-core kernel's options, when it runs (f16 KV, or int8 KV with MOSKA_SHARED_INT8_F16=1,
  // which then takes precedence over the int8 kernel; its MOSKA_SHARED_F16_* knobs are read only then).
  const h16 = job.f16Mma !== false && f16MmaBlocker(gpu, kv) === undefined ? f16Options(gpu, kv.format) : undefined
  const i8 = h16 === undefined && job.int8Mma !== false && int8MmaBlocker(gpu, kv) === undefined ? int8Options(gpu) : undefined
  const mma = i8 !== undefined || h16 !== undefined
  const RI: 1 | 4 = mma ? 4 : (job.rowsPerThread ?? (meanRows >= 32 ? 4 : 1))
  const RT = i8?.rows ?? h16?.rows ?? 16 * RI
  const wgLimit = gpu.limits.maxComputeWorkgroupStorageSize
  const dk: 16 | 32 = D % 32 === 0 && sharedWorkgroupBytes({ dim: D, format: kv.format, rowsPerThread: RI, dk: 32 }) <= wgLimit ? 32 : 16
  const variant: SharedVariant = { dim: D, format: kv.format, rowsPerThread: RI, dk }
  if (!mma && sharedWorkgroupBytes(variant) > wgLimit) throw new Error(`shared attention needs ${sharedWorkgroupBytes(variant)} B of workgroup memory; the device allows ${wgLimit}`)
  const tiles = units.reduce((a, u) => a + Math.ceil(u.rows.length / RT), 0)
  const maxSplits = Math.max(1, Math.ceil(C / (4 * SHARED_KEY_TILE)))
  const splits = job.splits ?? splitsOverride() ?? Math.min(maxSplits, Math.max(1, Math.ceil(1024 / Math.max(1, tiles))))
  const splitKeys = Math.ceil(Math.ceil(C / splits) / SHARED_KEY_TILE) * SHARED_KEY_TILE
  return { variant, splits, splitKeys, rows: totalRows, rowTile: RT, i8, h16 }
}

/**
 * Host of shared (stacked) attention: turns routed units into work items (row tiles × key
 * splits), one pass per bindable KV segment of whole chunks.
 * @example const plan = await sharedAttention(gpu, { q, kv, tokens: S, kvHeads: 8, chunkTokens: 4096, units })
 */
export const sharedAttention = async (gpu: GpuContext, job: SharedJob): Promise<SharedPlan> => {
  const { kv, tokens: S, kvHeads: Hkv, chunkTokens: C, units } = job
  const D = kv.dim
  const nChunks = Math.ceil(S / C)
  const { variant, splits, splitKeys, rowTile: RT, i8, h16 } = sharedShape(gpu, job)
  const RI = variant.rowsPerThread
  const dk = variant.dk

  const rowList: number[] = []
  const unitSlot0 = new Uint32Array(units.length)
  const segs = kvSegments(gpu, kv, C * Hkv, nChunks)
  const segOf = (chunk: number): number => segs.findIndex((s) => chunk >= s.unit0 && chunk < s.unit0 + s.units)
  const itemsBySeg: number[][] = segs.map(() => [])
  const base = job.out?.slotBase ?? 0
  let slot = base
  units.forEach((u, ui) => {
    if (u.chunk < 0 || u.chunk >= nChunks) throw new Error(`unit chunk ${u.chunk} outside [0, ${nChunks})`)
    const n = u.rows.length
    unitSlot0[ui] = slot
    const rowBase = rowList.length
    rowList.push(...u.rows)
    const seg = segOf(u.chunk)
    const chunkStart = u.chunk * C
    const chunkLen = Math.min(C, S - chunkStart)
    for (let s = 0; s < splits; s++) {
      const from = Math.min(chunkLen, s * splitKeys)
      const to = Math.min(chunkLen, from + splitKeys)
      for (let r0 = 0; r0 < n; r0 += RT) {
        itemsBySeg[seg]!.push(rowBase + r0, Math.min(RT, n - r0), chunkStart - segs[seg]!.unit0 * C + from, to - from, u.kvHead, slot + s * n + r0, 0, 0)
      }
    }
    slot += splits * n
  })
  // The kernel binds all partials at once, so they must fit one storage binding (many splits × many rows may not).
  const maxBinding = gpu.limits.maxStorageBufferBindingSize
  if (job.out === undefined && slot * D * 4 > maxBinding) throw new CapacityExceeded({ what: `shared-attention partials (${slot} slots: rows × ${splits} key splits)`, needBytes: slot * D * 4, capacityBytes: maxBinding })
  const po = job.out?.po ?? gpuOps.buffer(gpu, slot * D * 4, "shared.po")
  const pl = job.out?.pl ?? gpuOps.buffer(gpu, slot * 4, "shared.pl")
  // Only the unstaged int8 kernel matrix-loads K/V as i8 from storage; the others read 16-byte vectors.
  const B = i8?.stage === "none" ? SHARED_INT8_BINDINGS : SHARED_BINDINGS
  const pipeline = i8
    ? await gpuOps.pipeline(gpu, `shared-int8-mma:${Hkv}:${JSON.stringify(i8)}`, B, sharedInt8Wgsl(Hkv, i8))
    : h16
      ? await gpuOps.pipeline(gpu, sharedF16PipelineKey(Hkv, h16), B, sharedF16Wgsl(Hkv, h16))
      : await gpuOps.pipeline(gpu, `shared:${D}:${kv.format}:${RI}:${dk}`, B, sharedWgsl(variant))
  const rows = gpuOps.upload(gpu, new Uint32Array(rowList), "shared.rows")
  const layout = B.layout(gpu.device)
  const passes: Pass[] = []
  let workgroups = 0
  segs.forEach((seg, i) => {
    const words = itemsBySeg[i]!
    const nitems = words.length / SHARED_ITEM_WORDS
    if (nitems === 0) return
    workgroups += nitems
    const items = gpuOps.upload(gpu, new Uint32Array(words), "shared.items")
    const params = gpuOps.uniform(gpu, [Hkv, nitems, gpuOps.f32Bits(1 / Math.sqrt(D)), seg.unit0 * C * Hkv])
    const group = B.group(gpu.device, layout, {
      q: { buffer: job.q },
      rows: { buffer: rows },
      items: { buffer: items },
      ...kvEntries(kv, seg),
      po: { buffer: po },
      pl: { buffer: pl },
      params: { buffer: params },
    })
    passes.push({ pipeline, group, workgroups: gpuOps.grid(gpu, nitems) })
  })
  return { passes, po, pl, unitSlot0, splits, slots: slot - base, variant, workgroups, rowTile: RT, kernel: h16 ? `f16-mma-r${h16.rows}-o${h16.oParts}${h16.wsm === "vec4" ? "-v4" : ""}${h16.kv === "int8" ? "-i8" : ""}${h16.oAcc === "lazy" ? `-lazy${h16.lazyO ? `-${h16.lazyO}` : ""}` : ""}${h16.vLoad === "early" ? "-vearly" : ""}` : !i8 ? "f32" : `${i8.stage === "none" ? "int8-mma" : `int8-mma-staged${i8.prefetch ? "-prefetch" : ""}-o${i8.oStride}-r${i8.rows}`}${i8.wsm === "vec4" ? "-v4" : ""}` }
}
