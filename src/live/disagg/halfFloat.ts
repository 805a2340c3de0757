// Node 20 has no Float16Array or Math.f16round: the data link converts in JavaScript, on the
// f32 bits directly (a Uint32Array view of the input, no per-element typed-array round trip).

/** IEEE binary16 bits of one f32 given as its bits, rounded to nearest even (overflow to ±∞, NaN kept NaN, subnormals exact). */
const halfOfBits = (b: number): number => {
  const sign = (b >>> 16) & 0x8000
  const a = b & 0x7fffffff
  // |x| in [2^-14, 65520): rebase the exponent, add just under half an ulp plus the kept lsb (ties to even), shift
  if (a >= 0x38800000 && a < 0x477ff000) return sign | ((a - 0x38000000 + 0xfff + ((a >>> 13) & 1)) >>> 13)
  const exp = (b >>> 23) & 0xff
  const mant = b & 0x7fffff
  const e = exp - 112
  if (e > 0 && e < 31) {
    // normal half (the common case); a carry out of the mantissa steps the exponent, up to 0x7c00 (∞): the right rounding
    const h = (e << 10) | (mant >>> 13)
    const rem = mant & 0x1fff
    return sign | (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1) ? h + 1 : h)
  }
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0)
  if (e >= 31) return sign | 0x7c00
  // subnormal half: value / 2^-24, the implicit bit made explicit
  const shift = 14 - e
  if (shift > 24) return sign
  const m = mant | 0x800000
  const h = m >>> shift
  const rem = m & ((1 << shift) - 1)
  const halfway = 1 << (shift - 1)
  return sign | (rem > halfway || (rem === halfway && (h & 1) === 1) ? h + 1 : h)
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
    const bits = new Uint32Array(x.buffer, x.byteOffset, x.length)
    const out = new Uint16Array(x.length)
    for (let i = 0; i < bits.length; i++) out[i] = halfOfBits(bits[i]!)
    return out
  },
  decode(h: Uint16Array): Float32Array {
    const t = halfTable()
    const out = new Float32Array(h.length)
    for (let i = 0; i < h.length; i++) out[i] = t[h[i]!]!
    return out
  },
}
