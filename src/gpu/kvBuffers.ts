import type { GpuContext } from "./device.js"
import { gpuOps } from "./gpuOps.js"
import { bytesPerRow, type EncodedKv, type KvFormat } from "./kvFormat.js"

/**
 * A K/V pair resident on the GPU in one format: `rows` rows of `dim` values each, plus per-row
 * scales (int8; a 16-byte dummy otherwise, so bindings stay uniform across formats).
 * @example const kv = uploadKv(gpu, encodeKv("f16", k, 128), encodeKv("f16", v, 128))
 */
export interface GpuKv {
  readonly format: KvFormat
  readonly dim: number
  readonly rows: number
  readonly k: GPUBuffer
  readonly v: GPUBuffer
  readonly ks: GPUBuffer
  readonly vs: GPUBuffer
}

export const uploadKv = (gpu: GpuContext, k: EncodedKv, v: EncodedKv): GpuKv => {
  if (k.format !== v.format || k.dim !== v.dim || k.rows !== v.rows) throw new Error("uploadKv: K and V must share format, dim and rows")
  return {
    format: k.format,
    dim: k.dim,
    rows: k.rows,
    k: gpuOps.upload(gpu, k.words, "kv.k"),
    v: gpuOps.upload(gpu, v.words, "kv.v"),
    ks: gpuOps.upload(gpu, k.scales, "kv.ks"),
    vs: gpuOps.upload(gpu, v.scales, "kv.vs"),
  }
}

/** Allocates (unfilled) K/V for `rows` rows, e.g. for the benchmark's on-GPU generator. */
export const allocKv = (gpu: GpuContext, format: KvFormat, dim: number, rows: number): GpuKv => ({
  format,
  dim,
  rows,
  k: gpuOps.buffer(gpu, rows * bytesPerRow(format, dim), "kv.k"),
  v: gpuOps.buffer(gpu, rows * bytesPerRow(format, dim), "kv.v"),
  ks: gpuOps.buffer(gpu, format === "int8" ? rows * 4 : 16, "kv.ks"),
  vs: gpuOps.buffer(gpu, format === "int8" ? rows * 4 : 16, "kv.vs"),
})

export const destroyKv = (kv: GpuKv): void => {
  for (const b of [kv.k, kv.v, kv.ks, kv.vs]) b.destroy()
}

/** Bindings of a storage buffer start at multiples of this (WebGPU's minStorageBufferOffsetAlignment everywhere we run). */
const OFFSET_ALIGN = 256

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b))

/**
 * Splits rows [0, rows) into bindable segments of whole `unitRows` blocks (a request, a chunk),
 * each at most `maxStorageBufferBindingSize` bytes and starting at a 256-byte aligned offset.
 * By default each segment is filled to the limit, a smaller one last (B = 16 requests of 128 MiB under
 * the H200's 2 GiB − 4 limit: 15 + 1). MOSKA_KV_SEGMENTS=balanced makes them as even as whole aligned
 * blocks allow (8 + 8; B = 64: 13/13/13/13/12; 256 chunks of 8 MiB: 128 + 128). Balanced was timed
 * slower on the H200 (unique f16, U = 64K: 1.296 / 4.555 ms at B = 16 / 64 against 1.126 / 4.372 ms
 * filled; docs/kernels-h200.md, session 7): the segments' dispatches run one after another, and two
 * half-size dispatches leave more of the GPU idle than one full dispatch and a small tail. Where a
 * unit's bytes are not a multiple of 256, segments start on multiples of the fewest units that are
 * (`block`), so every offset stays bindable.
 */
export const kvSegments = (gpu: GpuContext, kv: GpuKv, unitRows: number, units: number): Array<{ unit0: number; units: number; offset: number; size: number }> => {
  const rowBytes = bytesPerRow(kv.format, kv.dim)
  const unitBytes = unitRows * rowBytes
  const max = gpu.limits.maxStorageBufferBindingSize
  if (unitBytes > max) throw new Error(`one unit of ${unitBytes} bytes exceeds the ${max}-byte storage binding limit`)
  const block = units * unitBytes <= max ? Math.max(1, units) : OFFSET_ALIGN / gcd(unitBytes, OFFSET_ALIGN)
  const blocksPerSeg = Math.floor(max / unitBytes / block)
  if (blocksPerSeg < 1) throw new Error(`KV segments of whole units cannot start 256-byte aligned within the ${max}-byte binding limit (unit ${unitBytes} bytes); pick sizes whose unit bytes are a multiple of 256`)
  const blocks = Math.ceil(units / block)
  const nSeg = Math.ceil(blocks / blocksPerSeg)
  const mode = process.env.MOSKA_KV_SEGMENTS ?? "fill"
  if (mode !== "fill" && mode !== "balanced") throw new Error(`MOSKA_KV_SEGMENTS=${mode}: want fill or balanced`)
  const segs: Array<{ unit0: number; units: number; offset: number; size: number }> = []
  let u0 = 0
  for (let i = 0; i < nSeg; i++) {
    const n = Math.min(units - u0, (mode === "fill" ? blocksPerSeg : Math.floor(blocks / nSeg) + (i < blocks % nSeg ? 1 : 0)) * block)
    const offset = u0 * unitBytes
    // The last unit may be ragged (a short last chunk): never bind past the rows that exist.
    const size = Math.min(n * unitBytes, kv.rows * rowBytes - offset)
    segs.push({ unit0: u0, units: n, offset, size: Math.max(16, size) })
    u0 += n
  }
  if (segs.length === 0) segs.push({ unit0: 0, units: 0, offset: 0, size: 16 })
  return segs
}

/**
 * The k, v, ks, vs entries of a kernel's bind group: K/V bound over one segment (`kvSegments`), the per-row scales whole.
 * @example BINDINGS.group(device, layout, { q: { buffer: q }, ...kvEntries(kv, seg), po: { buffer: po } })
 */
export const kvEntries = (kv: GpuKv, seg: { readonly offset: number; readonly size: number }) => ({
  k: { buffer: kv.k, offset: seg.offset, size: seg.size },
  v: { buffer: kv.v, offset: seg.offset, size: seg.size },
  ks: { buffer: kv.ks },
  vs: { buffer: kv.vs },
})
