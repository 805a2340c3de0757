import { map, type OperatorFunction } from "rxjs"

/**
 * Per-replica barrier (`batcher: { kind: barrier, scope: replica }`): every submission (one decode
 * step's routed queries) is flushed as its own batch at once; nothing waits for other workers.
 * The default, global barrier is `roundBarrier`.
 * @example routed$.pipe(barrierBatch()) // a, b → [a], [b]
 */
export const barrierBatch = <T>(): OperatorFunction<T, T[]> => map((v) => [v])
