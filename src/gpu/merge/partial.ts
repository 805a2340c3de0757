/**
 * A partial attention result for one query row: the softmax-weighted value average over some keys
 * and the natural-log sum of their exp-scores. The empty partial (no keys) is `o = 0, lse = -inf`.
 * On the GPU, partials store `lse = EMPTY_LSE` (a finite sentinel) for empty, so no inf enters
 * arithmetic; only the final merge writes a true -inf.
 * @example const p: Partial = { o: new Float64Array(128), lse: -Infinity }
 */
export interface Partial {
  readonly o: Float64Array
  readonly lse: number
}

/** GPU-side sentinel for an empty partial's LSE (anything at or below EMPTY_LSE / 2 counts as empty). */
export const EMPTY_LSE = -1e30
