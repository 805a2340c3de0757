import type { WorkDone } from "../core/executor.js"
import type { EngineContext } from "./engineContext.js"

/** Writes one kernel row for an executed work item (when the trace level keeps kernel rows). */
export const recordRow = (ctx: EngineContext, done: WorkDone): void => {
  const rows = ctx.kernelRows
  if (rows === null) return
  const row = {
    workerId: done.item.workerId,
    kind: done.item.label,
    chunkId: done.item.chunkId ?? null,
    queries: done.item.queries,
    startNs: done.startNs,
    endNs: done.endNs,
    flops: done.flops,
    bytes: done.bytes,
  }
  // Live work carries its measured GPU time and the model's price; sim rows stay as they were.
  if (done.gpuNs === undefined && done.predictedNs === undefined) rows.emit(row)
  else rows.emit({ ...row, ...(done.gpuNs === undefined ? {} : { gpuNs: done.gpuNs }), ...(done.predictedNs === undefined ? {} : { predictedNs: done.predictedNs }) })
}
