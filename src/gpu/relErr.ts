/**
 * Relative error ‖a − b‖ / ‖b‖ of a kernel's output `a` against its reference `b`; a non-finite
 * value anywhere in `a` (an unwritten, NaN-poisoned element) gives Infinity. Used by the tests and
 * the kernel benchmark alike.
 * @example relErr([1, 2.001], [1, 2]) // ≈ 4.5e-4
 */
export const relErr = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let e = 0
  let n = 0
  for (let i = 0; i < b.length; i++) {
    if (!Number.isFinite(a[i]!)) return Infinity
    e += (a[i]! - b[i]!) ** 2
    n += b[i]! ** 2
  }
  return Math.sqrt(e / Math.max(n, 1e-300))
}
