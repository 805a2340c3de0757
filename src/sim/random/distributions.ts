import type { Rng } from "../../core/rng.js"

/**
 * Samplers over a split `Rng`, all exact up to floating point (no normal approximations), so
 * fast and exact routing draw from the same laws. Each consumes a deterministic number of draws
 * for a given state, which keeps runs reproducible.
 * @example binomial(rng.split("router"), 1024, 0.25)
 */

/** Standard normal by the Marsaglia polar method (one value per call; the twin is discarded for simplicity). */
export const standardNormal = (rng: Rng): number => {
  for (;;) {
    const u = 2 * rng.float() - 1
    const v = 2 * rng.float() - 1
    const s = u * u + v * v
    if (s > 0 && s < 1) return u * Math.sqrt((-2 * Math.log(s)) / s)
  }
}

/** Exponential with the given mean. */
export const exponential = (rng: Rng, mean: number): number => -Math.log(1 - rng.float()) * mean

/** Gamma(shape, scale = 1) by Marsaglia-Tsang (shape < 1 through the u^(1/shape) boost). */
export const gamma = (rng: Rng, shape: number): number => {
  if (shape < 1) return gamma(rng, shape + 1) * Math.pow(1 - rng.float(), 1 / shape)
  const d = shape - 1 / 3
  const c = 1 / Math.sqrt(9 * d)
  for (;;) {
    let x: number
    let v: number
    do {
      x = standardNormal(rng)
      v = 1 + c * x
    } while (v <= 0)
    v = v * v * v
    const u = 1 - rng.float()
    if (u < 1 - 0.0331 * x * x * x * x) return d * v
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v
  }
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; ~15 significant digits). */
export const logGamma = (x: number): number => {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x)
  const g = 7
  const c = LANCZOS
  x -= 1
  let a = c[0] as number
  const t = x + g + 0.5
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (x + i)
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a)
}
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
]

// ln(n!) for small n from a table grown on demand (binomial draws need three per call).
const LOG_FACT_TABLE_MAX = 1 << 20
let logFactTable = new Float64Array([0, 0])
/** ln(n!) for a non-negative integer n. */
export const logFactorial = (n: number): number => {
  if (n < logFactTable.length) return logFactTable[n] as number
  if (n >= LOG_FACT_TABLE_MAX) return logGamma(n + 1)
  const size = Math.min(LOG_FACT_TABLE_MAX, Math.max(n + 1, logFactTable.length * 2))
  const t = new Float64Array(size)
  t.set(logFactTable)
  for (let i = logFactTable.length; i < size; i++) t[i] = (t[i - 1] as number) + Math.log(i)
  logFactTable = t
  return t[n] as number
}

/** ln of the binomial pmf P(X = k) for X ~ Bin(n, p), 0 < p < 1 (n, k integers). */
export const logBinomialPmf = (n: number, k: number, p: number): number =>
  logFactorial(n) - logFactorial(k) - logFactorial(n - k) + k * Math.log(p) + (n - k) * Math.log1p(-p)

/**
 * Binomial(n, p), exact: inversion from 0 for small means, otherwise inversion that starts at the
 * mode and walks outward towards the likelier neighbour (expected O(sd) steps).
 */
export const binomial = (rng: Rng, n: number, p: number): number => {
  if (n <= 0 || p <= 0) return 0
  if (p >= 1) return n
  if (p > 0.5) return n - binomial(rng, n, 1 - p)
  const odds = p / (1 - p)
  if (n * p < 12) return walkFromZero(rng, n, odds, Math.exp(n * Math.log1p(-p)))
  const mode = Math.min(n, Math.floor((n + 1) * p))
  return walkFromMode(rng, n, odds, mode, Math.exp(logBinomialPmf(n, mode, p)))
}

/**
 * The start of `binomial(rng, n, p)`'s walk, which depends only on (n, p): a caller drawing from
 * the same (n, p) again and again (fast routing draws Bin(B, π) per hot chunk every iteration)
 * keeps it and skips the logs and exp. `binomialFrom(rng, binomialStart(n, p))` returns exactly
 * what `binomial(rng, n, p)` returns and consumes the same draws.
 * @example const s = binomialStart(200, 0.3); binomialFrom(rng, s) // as binomial(rng, 200, 0.3)
 */
export interface BinomialStart {
  readonly n: number
  /** The probability walked (1 − p when p > 0.5: the draw is then n − X). */
  readonly p: number
  readonly flip: boolean
  /** 0: no draw (n ≤ 0 or p ≤ 0 gives 0, p ≥ 1 gives n); 1: inversion from 0; 2: from the mode. */
  readonly how: 0 | 1 | 2
  readonly fixed: number
  readonly odds: number
  /** how 1: P(X = 0); how 2: P(X = mode). */
  readonly p0: number
  readonly mode: number
}

/** The (n, p)-only part of `binomial` (see `BinomialStart`). */
export const binomialStart = (n: number, p: number): BinomialStart => {
  if (n <= 0 || p <= 0) return { n, p, flip: false, how: 0, fixed: 0, odds: 0, p0: 0, mode: 0 }
  if (p >= 1) return { n, p, flip: false, how: 0, fixed: n, odds: 0, p0: 0, mode: 0 }
  const flip = p > 0.5
  const q = flip ? 1 - p : p
  // binomial(rng, n, 1 − p) again checks q ≤ 0 and q ≥ 1; neither holds for 0.5 < p < 1
  const odds = q / (1 - q)
  if (n * q < 12) return { n, p: q, flip, how: 1, fixed: 0, odds, p0: Math.exp(n * Math.log1p(-q)), mode: 0 }
  const mode = Math.min(n, Math.floor((n + 1) * q))
  return { n, p: q, flip, how: 2, fixed: 0, odds, p0: Math.exp(logBinomialPmf(n, mode, q)), mode }
}

/** One Binomial(n, p) draw from a `binomialStart(n, p)`: the same value and draws as `binomial`. */
export const binomialFrom = (rng: Rng, s: BinomialStart): number => {
  if (s.how === 0) return s.fixed
  const x = s.how === 1 ? walkFromZero(rng, s.n, s.odds, s.p0) : walkFromMode(rng, s.n, s.odds, s.mode, s.p0)
  return s.flip ? s.n - x : x
}

/** Inversion from 0: P(X = 0) is `p0`, each next pmf the last times (n − k)/(k + 1) · odds. */
const walkFromZero = (rng: Rng, n: number, odds: number, p0: number): number => {
  let u = rng.float()
  let pk = p0
  for (let k = 0; k <= n; k++) {
    if (u < pk) return k
    u -= pk
    pk *= ((n - k) / (k + 1)) * odds
  }
  return n
}

/** Inversion from the mode (pmf `pm`), walking outward towards the likelier neighbour. */
const walkFromMode = (rng: Rng, n: number, odds: number, mode: number, pm: number): number => {
  let u = rng.float()
  if (u < pm) return mode
  u -= pm
  let lo = mode - 1
  let hi = mode + 1
  let plo = lo >= 0 ? pm * ((lo + 1) / (n - lo)) / odds : 0
  let phi = hi <= n ? pm * ((n - mode) / hi) * odds : 0
  for (;;) {
    if (plo <= 0 && phi <= 0) return mode // floating-point tail: the mass left is below resolution
    if (phi >= plo) {
      if (u < phi) return hi
      u -= phi
      phi = hi < n ? phi * ((n - hi) / (hi + 1)) * odds : 0
      hi++
    } else {
      if (u < plo) return lo
      u -= plo
      plo = lo > 0 ? plo * (lo / (n - lo + 1)) / odds : 0
      lo--
    }
  }
}
