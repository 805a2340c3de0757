/**
 * KV storage formats on the GPU. A KV tensor is a list of rows (one token's D-vector for one KV
 * head), each stored as `D / elemsPerVec` vec4<u32> words:
 * - `f32`: the float bits;
 * - `f16`: two halves per u32 (element 2i in the low half), read with `unpack2x16float`, so it runs
 *   without `shader-f16` (the H200 adapter lacks it);
 * - `int8`: four signed bytes per u32 (element 4i in the lowest byte) with one f32 scale per row
 *   (a block = one head's D-vector of one token: x ≈ scale · q, scale = max|x| / 127), read with
 *   `unpack4xI8` or multiplied with `dot4I8Packed`.
 * @example const enc = encodeKv("f16", keys, 128); const back = decodeKv(enc)
 */
export const KV_FORMATS = ["f32", "f16", "int8"] as const
export type KvFormat = (typeof KV_FORMATS)[number]

export interface EncodedKv {
  readonly format: KvFormat
  readonly dim: number
  readonly rows: number
  /** Packed words, `rows · wordsPerRow(format, dim)` of them. */
  readonly words: Uint32Array
  /** Per-row scales (int8 only; empty otherwise). */
  readonly scales: Float32Array
}

export const elemsPerWord: Record<KvFormat, number> = { f32: 1, f16: 2, int8: 4 }
/** Elements per vec4<u32> load. */
export const elemsPerVec = (f: KvFormat): number => 4 * elemsPerWord[f]
export const wordsPerRow = (f: KvFormat, dim: number): number => dim / elemsPerWord[f]
export const bytesPerRow = (f: KvFormat, dim: number): number => wordsPerRow(f, dim) * 4

/** Head dims the kernels accept: a multiple of 16 (one vec4<u32> of int8) up to 256. */
export const checkHeadDim = (dim: number): string | undefined =>
  Number.isInteger(dim) && dim >= 16 && dim <= 256 && dim % 16 === 0 ? undefined : `head dim must be a multiple of 16 between 16 and 256 (got ${dim})`

const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/** IEEE binary16 bits of `x`, round to nearest even (what a GPU's f32→f16 conversion does). */
export const toHalf = (x: number): number => {
  f32[0] = x
  const b = u32[0]!
  const sign = (b >>> 16) & 0x8000
  const exp = (b >>> 23) & 0xff
  let mant = b & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0)
  let e = exp - 127 + 15
  if (e >= 31) return sign | 0x7c00
  if (e <= 0) {
    if (e < -10) return sign
    mant |= 0x800000
    const shift = 14 - e
    const half = 1 << (shift - 1)
    let m = mant >>> shift
    const rest = mant & ((1 << shift) - 1)
    if (rest > half || (rest === half && (m & 1) === 1)) m++
    return sign | m
  }
  let m = mant >>> 13
  const rest = mant & 0x1fff
  if (rest > 0x1000 || (rest === 0x1000 && (m & 1) === 1)) {
    m++
    if (m === 0x400) {
      m = 0
      e++
      if (e >= 31) return sign | 0x7c00
    }
  }
  return sign | (e << 10) | m
}

export const fromHalf = (h: number): number => {
  const s = h & 0x8000 ? -1 : 1
  const e = (h >>> 10) & 0x1f
  const m = h & 0x3ff
  if (e === 0) return s * m * 2 ** -24
  if (e === 31) return m === 0 ? s * Infinity : NaN
  return s * (1 + m / 1024) * 2 ** (e - 15)
}

/** Encodes `rows × dim` values (row-major) into `format`. */
export const encodeKv = (format: KvFormat, values: ArrayLike<number>, dim: number): EncodedKv => {
  const rows = Math.floor(values.length / dim)
  const wpr = wordsPerRow(format, dim)
  const words = new Uint32Array(rows * wpr)
  const scales = new Float32Array(format === "int8" ? rows : 0)
  if (format === "f32") words.set(new Uint32Array(Float32Array.from(values).buffer))
  else if (format === "f16") {
    for (let i = 0; i < rows * wpr; i++) words[i] = (toHalf(values[2 * i]!) | (toHalf(values[2 * i + 1]!) << 16)) >>> 0
  } else {
    for (let r = 0; r < rows; r++) {
      let amax = 0
      for (let d = 0; d < dim; d++) amax = Math.max(amax, Math.abs(values[r * dim + d]!))
      const scale = Math.fround(amax > 0 ? amax / 127 : 1)
      scales[r] = scale
      for (let w = 0; w < wpr; w++) {
        let word = 0
        for (let j = 0; j < 4; j++) {
          const q = Math.max(-127, Math.min(127, Math.round(values[r * dim + 4 * w + j]! / scale)))
          word |= (q & 0xff) << (8 * j)
        }
        words[r * wpr + w] = word >>> 0
      }
    }
  }
  return { format, dim, rows, words, scales }
}

/** The values the GPU sees, in float64 (what the references compute on). */
export const decodeKv = (enc: EncodedKv): Float64Array => {
  const { format, dim, rows, words, scales } = enc
  const out = new Float64Array(rows * dim)
  if (format === "f32") out.set(new Float32Array(words.buffer, words.byteOffset, rows * dim))
  else if (format === "f16") {
    for (let i = 0; i < words.length; i++) {
      out[2 * i] = fromHalf(words[i]! & 0xffff)
      out[2 * i + 1] = fromHalf(words[i]! >>> 16)
    }
  } else {
    const wpr = dim / 4
    for (let r = 0; r < rows; r++)
      for (let w = 0; w < wpr; w++) {
        const word = words[r * wpr + w]!
        for (let j = 0; j < 4; j++) out[r * dim + 4 * w + j] = ((word << (24 - 8 * j)) >> 24) * scales[r]!
      }
  }
  return out
}

/**
 * WGSL for one format: `unpackVec(w) -> array<f32, E>` turns one vec4<u32> load into E values
 * (before the row scale, which int8 applies separately).
 */
export const kvWgsl = (f: KvFormat): string => {
  const E = elemsPerVec(f)
  if (f === "f32") return `fn unpackVec(w: vec4<u32>) -> array<f32, 4> { let x = bitcast<vec4<f32>>(w); return array<f32, 4>(x.x, x.y, x.z, x.w); }`
  if (f === "f16")
    return `fn unpackVec(w: vec4<u32>) -> array<f32, 8> {
  let a = unpack2x16float(w.x); let b = unpack2x16float(w.y); let c = unpack2x16float(w.z); let d = unpack2x16float(w.w);
  return array<f32, 8>(a.x, a.y, b.x, b.y, c.x, c.y, d.x, d.y); }`
  return `fn unpackVec(w: vec4<u32>) -> array<f32, ${E}> {
  let a = vec4<f32>(unpack4xI8(w.x)); let b = vec4<f32>(unpack4xI8(w.y)); let c = vec4<f32>(unpack4xI8(w.z)); let d = vec4<f32>(unpack4xI8(w.w));
  return array<f32, 16>(a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w, c.x, c.y, c.z, c.w, d.x, d.y, d.z, d.w); }`
}
