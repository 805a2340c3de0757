import type { GpuContext } from "../gpu/device.js"
import { gpuOps, type Pass } from "../gpu/gpuOps.js"

/**
 * GPU time of one run of `passes`, in ms: after a warm-up, the passes are recorded `reps` times
 * into one command buffer (so launch gaps are GPU-side only) and timed to queue completion; the
 * median over `batches` such submissions, divided by reps. Reps grow until a batch takes ≥ minMs.
 * @example const ms = await timePasses(gpu, plan.passes)
 */
export const timePasses = async (gpu: GpuContext, passes: readonly Pass[], minMs = 150, batches = 5): Promise<number> => {
  const run = async (reps: number): Promise<number> => {
    const t0 = performance.now()
    await gpuOps.checked(gpu, "timed run", () => {
      const e = gpu.device.createCommandEncoder()
      for (let r = 0; r < reps; r++) gpuOps.encode(e, passes)
      gpu.device.queue.submit([e.finish()])
    })
    await gpu.device.queue.onSubmittedWorkDone()
    gpuOps.assertAlive(gpu)
    return performance.now() - t0
  }
  await run(1)
  let reps = 1
  let t = await run(1)
  while (t < minMs && reps < 1024) {
    reps = Math.min(1024, Math.ceil((reps * minMs * 1.2) / Math.max(t, 0.05)))
    t = await run(reps)
  }
  const ts = [t / reps]
  for (let i = 1; i < batches; i++) ts.push((await run(reps)) / reps)
  ts.sort((a, b) => a - b)
  return ts[Math.floor(ts.length / 2)]!
}
