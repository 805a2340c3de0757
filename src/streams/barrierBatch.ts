import { map, type OperatorFunction } from "rxjs"

/**
 * Per-iteration barrier: every submission (one decode iteration's routed queries) is flushed as
 * its own batch at once; nothing waits for other workers.
 * @example routed$.pipe(barrierBatch()) // a, b → [a], [b]
 */
export const barrierBatch = <T>(): OperatorFunction<T, T[]> => map((v) => [v])
