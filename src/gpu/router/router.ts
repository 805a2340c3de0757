import type { GpuContext } from "../device.js"
import { gpuOps, type Pass } from "../gpuOps.js"
import { ROUTER_BINDINGS, ROUTER_MAX_CHUNKS, routerWgsl } from "./router.wgsl.js"
import type { RouterProblem } from "./routerRef.js"

/** Queries f32 [B, Hq, D] and centroids f32 [N, Hkv, D] in GPU buffers. */
export type RouterJob = RouterProblem<GPUBuffer>

/**
 * Host of the router kernel; the pass writes chunk ids i32 [B, Hkv, K] into the returned buffer.
 * @example const { pass, out } = await routerPass(gpu, job); await gpuOps.submit(gpu, "router", [pass])
 */
export const routerPass = async (gpu: GpuContext, job: RouterJob): Promise<{ pass: Pass; out: GPUBuffer }> => {
  const { requests: B, qHeads: Hq, kvHeads: Hkv, dim: D, chunks: N, topK: K } = job
  if (N > ROUTER_MAX_CHUNKS) throw new Error(`the router handles at most ${ROUTER_MAX_CHUNKS} chunks (got ${N}); use larger chunks`)
  if (K > N || K < 0) throw new Error(`top-k ${K} must be between 0 and the chunk count ${N}`)
  const G = Hq / Hkv
  // Score storage sized to the next power of two, so small corpora fit lavapipe's 32 KiB too.
  let cap = 16
  while (cap < N) cap *= 2
  const pipeline = await gpuOps.pipeline(gpu, `router:${D}:${G}:${cap}`, ROUTER_BINDINGS, routerWgsl(D, G, cap))
  const out = gpuOps.buffer(gpu, B * Hkv * K * 4, "router.out")
  const nwg = B * Hkv
  const params = gpuOps.uniform(gpu, [Hkv, N, K, nwg])
  const group = ROUTER_BINDINGS.group(gpu.device, ROUTER_BINDINGS.layout(gpu.device), { q: { buffer: job.q }, cent: { buffer: job.centroids }, out: { buffer: out }, params: { buffer: params } })
  return { pass: { pipeline, group, workgroups: gpuOps.grid(gpu, nwg) }, out }
}
