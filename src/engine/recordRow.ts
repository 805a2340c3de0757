import type { WorkDone } from "../core/executor.js"
import type { EngineContext } from "./engineContext.js"

/** Writes one kernel row for an executed work item (when the trace level keeps kernel rows). */
export const recordRow = (ctx: EngineContext, done: WorkDone): void => {
  ctx.kernelRows?.emit({
    workerId: done.item.workerId,
    kind: done.item.label,
    chunkId: done.item.chunkId ?? null,
    queries: done.item.queries,
    startNs: done.startNs,
    endNs: done.endNs,
    flops: done.flops,
    bytes: done.bytes,
  })
}
