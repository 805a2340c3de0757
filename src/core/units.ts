/**
 * Branded units. Sim time is an integer count of nanoseconds; never mix units without a converter.
 * @example const t: Ns = ns(1_500) // 1.5 µs
 */
declare const brand: unique symbol
export type Brand<T, B extends string> = T & { readonly [brand]: B }

/** Integer nanoseconds (virtual or wall clock, depending on mode). */
export type Ns = Brand<number, "Ns">
/** Integer GPU cycles. */
export type Cycles = Brand<number, "Cycles">
/** Byte counts (may exceed 2^32; stays exact below 2^53). */
export type Bytes = Brand<number, "Bytes">
/** Floating-point operations (counted as 2 per multiply-add). */
export type Flops = Brand<number, "Flops">

/** Rounds to an integer nanosecond count; rejects NaN and negative durations early. */
export const ns = (x: number): Ns => {
  if (!Number.isFinite(x) || x < 0) throw new RangeError(`time must be a finite non-negative number of ns (got ${x})`)
  return Math.round(x) as Ns
}
export const NS_PER_S = 1_000_000_000
export const NS_PER_MS = 1_000_000
export const NS_PER_US = 1_000
export const secondsToNs = (s: number): Ns => ns(s * NS_PER_S)
export const nsToSeconds = (t: number): number => t / NS_PER_S
export const nsToMs = (t: number): number => t / NS_PER_MS
