import type { GpuExecutor, WorkDone, WorkItem } from "../core/executor.js"
import { PricedExecutor } from "./pricedExecutor.js"

/**
 * Runs one work item: `executor.execute(item).subscribe({ next: (d) => next(d, arg), error })`, or,
 * when the executor is a `PricedExecutor` itself (sim, `--executor priced`), its `submit`, which
 * books and completes the item identically without an Observable, a closure or a clock entry per
 * item. `arg` is what `next` needs besides the completion (a batch, a continuation), so callers
 * pass one long-lived `next` rather than a closure per item. The `WorkDone` is valid only during
 * `next` (the priced executor reuses it). Only the exact class takes the shortcut: a subclass or a
 * wrapper (the serving engine taps `execute`) keeps its own `execute`.
 * @example executeWork(ctx.executor, item, (done, then) => { recordRow(ctx, done); then() }, ctx.defect, then)
 */
export const executeWork = <A>(executor: GpuExecutor, item: WorkItem, next: (done: WorkDone, arg: A) => void, error: (e: unknown) => void, arg: A): void => {
  if (executor.constructor === PricedExecutor) (executor as PricedExecutor).submit(item, next, error, arg)
  else executor.execute(item).subscribe({ next: (done) => next(done, arg), error })
}
