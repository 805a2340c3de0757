/**
 * Seeded, splittable random numbers. Every actor or stream takes its own child via `split(label)`,
 * so adding a consumer never shifts another consumer's sequence (the child depends only on the
 * parent's seed and the label, not on how many numbers the parent has drawn).
 * @example const r = makeRng(42).split("router"); r.float()
 */
export interface Rng {
  /** Uniform in [0, 1), 53 bits. */
  float(): number
  /** Uniform 32-bit unsigned integer. */
  u32(): number
  /** Uniform integer in [0, n). */
  int(n: number): number
  /** Child stream named `label`; same parent seed and label give the same child. */
  split(label: string): Rng
  /** The 128-bit state's seed words, for run metadata. */
  readonly seedWords: readonly [number, number, number, number]
}

// FNV-1a over the label, mixed with the parent's seed words through splitmix32.
const fnv1a = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}
const splitmix32 = (a: number): (() => number) => () => {
  a = (a + 0x9e3779b9) | 0
  let t = a ^ (a >>> 16)
  t = Math.imul(t, 0x21f0aaad)
  t ^= t >>> 15
  t = Math.imul(t, 0x735a2d97)
  t ^= t >>> 15
  return t >>> 0
}

class Xoshiro128 implements Rng {
  private s0: number
  private s1: number
  private s2: number
  private s3: number
  readonly seedWords: readonly [number, number, number, number]
  constructor(words: readonly [number, number, number, number]) {
    this.seedWords = words
    ;[this.s0, this.s1, this.s2, this.s3] = words
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1 // xoshiro must not start at all zeros
  }
  u32(): number {
    // xoshiro128** (Blackman & Vigna)
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0
    const t = this.s1 << 9
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = rotl(this.s3, 11)
    return result
  }
  float(): number {
    const hi = this.u32() >>> 5 // 27 bits
    const lo = this.u32() >>> 6 // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992
  }
  int(n: number): number {
    if (!(n > 0) || !Number.isInteger(n)) throw new RangeError(`Rng.int needs a positive integer bound (got ${n})`)
    return Math.floor(this.float() * n)
  }
  split(label: string): Rng {
    const mix = splitmix32((this.seedWords[0] ^ fnv1a(label)) >>> 0)
    const a = mix() ^ this.seedWords[1]
    const b = mix() ^ this.seedWords[2]
    const c = mix() ^ this.seedWords[3]
    const d = mix() ^ fnv1a(`${label}#`)
    return new Xoshiro128([a >>> 0, b >>> 0, c >>> 0, d >>> 0])
  }
}
const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k))

/** Root generator of a run. `seed` is any safe integer. */
export const makeRng = (seed: number): Rng => {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer (got ${seed})`)
  const lo = seed >>> 0
  const hi = Math.floor(seed / 4294967296) >>> 0
  const mix = splitmix32(lo ^ Math.imul(hi, 0x9e3779b1))
  return new Xoshiro128([mix(), mix(), mix(), mix()])
}
