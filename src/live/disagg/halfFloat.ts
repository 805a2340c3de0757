// Node 20 has no Float16Array or Math.f16round: the data link converts in JavaScript.
const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/** IEEE binary16 bits of one f32, rounded to nearest even (overflow to ±∞, NaN kept NaN, subnormals exact). */
const halfBits = (x: number): number => {
  f32[0] = x
  const b = u32[0]!
  const sign = (b >>> 16) & 0x8000
  const exp = (b >>> 23) & 0xff
  const mant = b & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0)
  const e = exp - 112
  if (e >= 31) return sign | 0x7c00
  if (e <= 0) {
    // subnormal half: value / 2^-24, the implicit bit made explicit
    const shift = 14 - e
    if (shift > 24) return sign
    const m = mant | 0x800000
    let h = m >>> shift
    const rem = m & ((1 << shift) - 1)
    const halfway = 1 << (shift - 1)
    if (rem > halfway || (rem === halfway && (h & 1) === 1)) h++
    return sign | h
  }
  let h = (e << 10) | (mant >>> 13)
  const rem = mant & 0x1fff
  // a carry out of the mantissa steps the exponent (up to 0x7c00, ∞), which is the right rounding
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++
  return sign | h
}

let table: Float32Array | undefined
/** Every binary16 value as f32 (256 KiB, built on first decode). */
const halfTable = (): Float32Array => {
  if (table !== undefined) return table
  const t = new Float32Array(65536)
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1
    const e = (h >>> 10) & 0x1f
    const m = h & 0x3ff
    t[h] = e === 0 ? sign * m * 2 ** -24 : e === 31 ? (m === 0 ? sign * Infinity : Number.NaN) : sign * (1 + m / 1024) * 2 ** (e - 15)
  }
  table = t
  return t
}

/**
 * f32 ⇄ IEEE binary16 for tensors on the disaggregated data link (`live.disaggregatedWire: f16`):
 * query rows and partial outputs cross at half the bytes. Encoding rounds to nearest even, so
 * decode(encode(x)) is x's nearest f16 (relative error ≤ 2^-11 in the normal range).
 * @example const back = halfFloat.decode(halfFloat.encode(Float32Array.of(1, 0.1)))   // [1, 0.0999755859375]
 */
export const halfFloat = {
  encode(x: Float32Array): Uint16Array {
    const out = new Uint16Array(x.length)
    for (let i = 0; i < x.length; i++) out[i] = halfBits(x[i]!)
    return out
  },
  decode(h: Uint16Array): Float32Array {
    const t = halfTable()
    const out = new Float32Array(h.length)
    for (let i = 0; i < h.length; i++) out[i] = t[h[i]!]!
    return out
  },
}
