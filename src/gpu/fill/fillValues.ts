import type { KvFormat } from "../kvFormat.js"

// The JS twin of FILL_HASH_WGSL (lowbias32, wrapping u32 arithmetic).
const hash = (x0: number): number => {
  let x = x0 >>> 0
  x ^= x >>> 16
  x = Math.imul(x, 0x7feb352d) >>> 0
  x ^= x >>> 15
  x = Math.imul(x, 0x846ca68b) >>> 0
  x ^= x >>> 16
  return x >>> 0
}

/**
 * The values the GPU fill kernel writes for `rows` [row0, row0 + count) of width `dim`, as the
 * kernels read them (int8 already scaled by 1/128). Lets a benchmark check sampled outputs.
 * @example const k = fillValues("f16", 7, 0, 4096, 128)
 */
export const fillValues = (format: KvFormat, seed: number, row0: number, count: number, dim: number): Float64Array =>
  fillRowValues(format, seed, Array.from({ length: count }, (_, i) => row0 + i), dim)

/** Like fillValues, for an arbitrary list of rows (e.g. one KV head's rows, strided). */
export const fillRowValues = (format: KvFormat, seed: number, rows: ArrayLike<number>, dim: number): Float64Array => {
  const count = rows.length
  const out = new Float64Array(count * dim)
  for (let r = 0; r < count; r++) {
    const rh = hash((Math.imul(rows[r]!, 0x9e3779b1) ^ seed) >>> 0)
    for (let d = 0; d < dim; d++) {
      const h = hash((rh + d) >>> 0)
      out[r * dim + d] = format === "int8" ? ((h & 255) - 128) / 128 : ((h & 1023) - 512) / 512
    }
  }
  return out
}
