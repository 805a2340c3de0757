import type { GpuContext } from "../device.js"
import { gpuOps, type Pass } from "../gpuOps.js"
import type { GpuKv } from "../kvBuffers.js"
import { bytesPerRow, wordsPerRow, type KvFormat } from "../kvFormat.js"
import { FILL_BINDINGS, fillWgsl } from "./fill.wgsl.js"

/**
 * Passes that fill `rows` rows of `buffer` (format `format`, width `dim`) with `fillValues(seed)`,
 * in segments within the storage-binding limit.
 * @example await gpuOps.submit(gpu, "fill", await fillPasses(gpu, kv.k, kv.ks, "f16", 128, rows, 1))
 */
export const fillPasses = async (gpu: GpuContext, buffer: GPUBuffer, scales: GPUBuffer, format: KvFormat, dim: number, rows: number, seed: number): Promise<Pass[]> => {
  const pipeline = await gpuOps.pipeline(gpu, `fill:${format}`, FILL_BINDINGS, fillWgsl(format))
  const rowBytes = bytesPerRow(format, dim)
  const wpr = wordsPerRow(format, dim)
  // 1 GiB segments keep offsets aligned and well under every binding limit seen.
  const rowsPerSeg = Math.max(1, Math.floor(Math.min(2 ** 30, gpu.limits.maxStorageBufferBindingSize) / rowBytes))
  const layout = FILL_BINDINGS.layout(gpu.device)
  const passes: Pass[] = []
  for (let r0 = 0; r0 < rows; r0 += rowsPerSeg) {
    const n = Math.min(rowsPerSeg, rows - r0)
    const words = n * wpr
    const [gx, gy] = gpuOps.grid(gpu, Math.ceil(words / 256))
    const params = gpuOps.uniform(gpu, [r0, words, seed >>> 0, wpr, gx, 0, 0, 0])
    const group = FILL_BINDINGS.group(gpu.device, layout, {
      dst: { buffer, offset: r0 * rowBytes, size: n * rowBytes },
      scales: { buffer: scales },
      params: { buffer: params },
    })
    passes.push({ pipeline, group, workgroups: [gx, gy] })
  }
  return passes
}

/** Fills a GpuKv's K (seed) and V (seed + 1). */
export const fillKv = async (gpu: GpuContext, kv: GpuKv, seed: number): Promise<void> => {
  const passes = [...(await fillPasses(gpu, kv.k, kv.ks, kv.format, kv.dim, kv.rows, seed)), ...(await fillPasses(gpu, kv.v, kv.vs, kv.format, kv.dim, kv.rows, seed + 1))]
  for (let i = 0; i < passes.length; i += 8) await gpuOps.submit(gpu, "fill", passes.slice(i, i + 8))
}
