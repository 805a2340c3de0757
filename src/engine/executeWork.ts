import type { GpuExecutor, WorkDone, WorkItem } from "../core/executor.js"
import { PricedExecutor } from "./pricedExecutor.js"

/**
 * Runs one work item: `executor.execute(item).subscribe({ next, error })`, or, when the executor is
 * a `PricedExecutor` itself (sim, `--executor priced`), its `submit`, which books and completes the
 * item identically without an Observable per item. Only the exact class takes the shortcut: a
 * subclass or a wrapper (the serving engine taps `execute`) keeps its own `execute`.
 * @example executeWork(ctx.executor, item, (done) => recordRow(ctx, done), ctx.defect)
 */
export const executeWork = (executor: GpuExecutor, item: WorkItem, next: (done: WorkDone) => void, error: (e: unknown) => void): void => {
  if (executor.constructor === PricedExecutor) (executor as PricedExecutor).submit(item, next, error)
  else executor.execute(item).subscribe({ next, error })
}
