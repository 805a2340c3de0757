import { GpuFailed } from "../core/errors.js"
import type { GpuContext } from "./device.js"
import type { BindingLayout } from "./bindings.js"

/**
 * Small host-side operations every kernel host uses: buffers, readback, compiled pipelines and
 * error scopes that turn WebGPU validation / out-of-memory errors and device loss into GpuFailed.
 * @example const buf = gpuOps.upload(gpu, new Float32Array([1, 2]))
 */
const STORAGE = (): number => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST

const assertAlive = (gpu: GpuContext): void => {
  if (gpu.lostReason !== undefined) throw new GpuFailed({ kind: "lost", message: `GPU device lost (${gpu.lostReason})` })
}

/** Runs `f` inside validation and out-of-memory error scopes; any error becomes GpuFailed. */
const checked = async <A>(gpu: GpuContext, label: string, f: () => A): Promise<A> => {
  assertAlive(gpu)
  gpu.device.pushErrorScope("out-of-memory")
  gpu.device.pushErrorScope("validation")
  let value: A
  try {
    value = f()
  } finally {
    const validation = await gpu.device.popErrorScope()
    const oom = await gpu.device.popErrorScope()
    if (validation !== null) throw new GpuFailed({ kind: "validation", message: `${label}: ${validation.message.split("\n").slice(0, 6).join(" ")}` })
    if (oom !== null) throw new GpuFailed({ kind: "out-of-memory", message: `${label}: ${oom.message}` })
  }
  return value
}

/** A storage buffer of `bytes` (rounded up to 16), optionally filled. */
const buffer = (gpu: GpuContext, bytes: number, label = "buffer"): GPUBuffer =>
  gpu.device.createBuffer({ label, size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: STORAGE() })

const upload = (gpu: GpuContext, data: ArrayBufferView, label = "upload"): GPUBuffer => {
  const b = buffer(gpu, data.byteLength, label)
  if (data.byteLength > 0) write(gpu, b, data)
  return b
}

const write = (gpu: GpuContext, b: GPUBuffer, data: ArrayBufferView, offset = 0): void => {
  // writeBuffer needs a multiple of 4 bytes.
  const n = Math.ceil(data.byteLength / 4) * 4
  if (n === data.byteLength) gpu.device.queue.writeBuffer(b, offset, data.buffer, data.byteOffset, n)
  else {
    const padded = new Uint8Array(n)
    padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    gpu.device.queue.writeBuffer(b, offset, padded)
  }
}

/** The bits of `x` as an f32, for an f32 field among a uniform's u32 words. */
const f32Bits = (x: number): number => new Uint32Array(new Float32Array([x]).buffer)[0]!

const uniform = (gpu: GpuContext, words: ArrayLike<number>, label = "params"): GPUBuffer => {
  const u = new Uint32Array(Math.max(4, Math.ceil(words.length / 4) * 4))
  u.set(Array.from(words))
  const b = gpu.device.createBuffer({ label, size: u.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST })
  gpu.device.queue.writeBuffer(b, 0, u)
  return b
}

/** Copies `bytes` from `src` (at `offset`) back to the host. */
const read = async (gpu: GpuContext, src: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> => {
  assertAlive(gpu)
  const n = Math.ceil(bytes / 4) * 4
  const rb = gpu.device.createBuffer({ size: Math.max(4, n), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST })
  const e = gpu.device.createCommandEncoder()
  if (n > 0) e.copyBufferToBuffer(src, offset, rb, 0, n)
  gpu.device.queue.submit([e.finish()])
  try {
    await rb.mapAsync(GPUMapMode.READ)
  } catch (err) {
    assertAlive(gpu)
    throw new GpuFailed({ kind: "internal", message: `readback failed: ${String(err)}` })
  }
  const out = rb.getMappedRange().slice(0, bytes)
  rb.unmap()
  rb.destroy()
  return out
}

const readF32 = async (gpu: GpuContext, src: GPUBuffer, count: number): Promise<Float32Array> => new Float32Array(await read(gpu, src, count * 4))
const readI32 = async (gpu: GpuContext, src: GPUBuffer, count: number): Promise<Int32Array> => new Int32Array(await read(gpu, src, count * 4))

/** Fills a buffer with NaN bit patterns so any element a kernel fails to write shows up. */
const poison = (gpu: GpuContext, b: GPUBuffer, bytes: number): void => {
  const nan = new Uint32Array(Math.ceil(bytes / 4)).fill(0x7fc00000)
  write(gpu, b, nan)
}

/** A compute pipeline for `code`, compiled once per device and key; compile errors become GpuFailed. */
const pipeline = async <N extends string>(gpu: GpuContext, key: string, bindings: BindingLayout<N>, code: string): Promise<GPUComputePipeline> => {
  const hit = gpu.pipelines.get(key)
  if (hit !== undefined) return hit
  // WGSL directives (`enable ...;`) must precede every declaration, the bindings included.
  const lines = code.split("\n")
  const directives = lines.filter((l) => /^\s*enable\s/.test(l))
  const full = [...directives, bindings.wgsl, ...lines.filter((l) => !/^\s*enable\s/.test(l))].join("\n")
  const p = await checked(gpu, `compiling ${key}`, () => {
    const module = gpu.device.createShaderModule({ label: key, code: full })
    const layout = gpu.device.createPipelineLayout({ bindGroupLayouts: [bindings.layout(gpu.device)] })
    return gpu.device.createComputePipeline({ label: key, layout, compute: { module, entryPoint: "main" } })
  })
  gpu.pipelines.set(key, p)
  return p
}

/** Splits a workgroup count over x and y (each at most 65535), for kernels that linearize the id. */
const grid = (gpu: GpuContext, count: number): [number, number] => {
  const max = gpu.limits.maxComputeWorkgroupsPerDimension
  if (count <= max) return [Math.max(count, 1), 1]
  const y = Math.ceil(count / max)
  return [Math.ceil(count / y), y]
}

/** Records one compute pass per dispatch in a fresh encoder and submits it. */
const submit = async (gpu: GpuContext, label: string, passes: ReadonlyArray<{ pipeline: GPUComputePipeline; group: GPUBindGroup; workgroups: readonly [number, number?, number?] }>): Promise<void> => {
  await checked(gpu, label, () => {
    const e = gpu.device.createCommandEncoder({ label })
    encode(e, passes)
    gpu.device.queue.submit([e.finish()])
  })
}

const encode = (e: GPUCommandEncoder, passes: ReadonlyArray<{ pipeline: GPUComputePipeline; group: GPUBindGroup; workgroups: readonly [number, number?, number?] }>): void => {
  for (const p of passes) {
    const c = e.beginComputePass()
    c.setPipeline(p.pipeline)
    c.setBindGroup(0, p.group)
    c.dispatchWorkgroups(p.workgroups[0], p.workgroups[1] ?? 1, p.workgroups[2] ?? 1)
    c.end()
  }
}

export type Pass = Parameters<typeof encode>[1][number]

export const gpuOps = { checked, buffer, upload, write, uniform, f32Bits, read, readF32, readI32, poison, pipeline, grid, submit, encode, assertAlive }
