import type { BindingLayout } from "../bindings.js"
import type { GpuContext } from "../device.js"
import { gpuOps } from "../gpuOps.js"

/** A compiled kernel of the decoder: its pipeline (cached in `gpu.pipelines`) and a bind-group maker. */
export interface DecoderKernel<N extends string> {
  readonly pipeline: GPUComputePipeline
  group(entries: Record<N, GPUBuffer | GPUBufferBinding>): GPUBindGroup
}

/**
 * Compiles (or fetches from `gpu.pipelines`) a decoder kernel. The decoder makes its bind groups
 * once at creation (buffers are preallocated), so a step only encodes dispatches.
 * @example const k = await decoderKernel(gpu, "decoder.swiglu", SWIGLU_BINDINGS, swigluWgsl())
 */
export const decoderKernel = async <N extends string>(gpu: GpuContext, key: string, bindings: BindingLayout<N>, code: string): Promise<DecoderKernel<N>> => {
  const pipeline = await gpuOps.pipeline(gpu, key, bindings, code)
  const layout = bindings.layout(gpu.device)
  return {
    pipeline,
    group: (entries) => {
      const full = {} as Record<N, GPUBufferBinding>
      for (const n of bindings.names) {
        const e: GPUBuffer | GPUBufferBinding = entries[n]
        full[n] = "buffer" in e ? e : { buffer: e }
      }
      return bindings.group(gpu.device, layout, full)
    },
  }
}
