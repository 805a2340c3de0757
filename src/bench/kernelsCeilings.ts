import type { GpuContext } from "../gpu/device.js"
import { defineBindings } from "../gpu/bindings.js"
import { gpuOps } from "../gpu/gpuOps.js"
import { timePasses } from "./kernelsTiming.js"

const COPY = defineBindings({ a: "read<vec4<f32>>", b: "rw<vec4<f32>>", params: "uniform" })
const GEMM = defineBindings({ A: "read<f32>", B: "read<f32>", C: "rw<f32>", params: "uniform" })

/**
 * The ceilings each benchmark row is read against, measured in the same run: a vec4 copy kernel
 * (bytes read + written per second) and a plain 64×64-tiled f32 GEMM (the probe's kernel).
 * @example const { copyGBps, gemmF32TFLOPs } = await measureCeilings(gpu, false)
 */
export const measureCeilings = async (gpu: GpuContext, quick: boolean): Promise<{ copyGBps: number; gemmF32TFLOPs: number }> => {
  const bytes = quick ? 64 << 20 : 1 << 30
  const n4 = bytes / 16
  const a = gpuOps.buffer(gpu, bytes)
  const b = gpuOps.buffer(gpu, bytes)
  const copy = await gpuOps.pipeline(
    gpu,
    "bench:copy",
    COPY,
    `struct Params { n: u32, gx: u32, _a: u32, _b: u32 }
@compute @workgroup_size(256) fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let i = (wg.x + wg.y * params.gx) * 1024u + t;
  for (var k = 0u; k < 4u; k++) { let j = i + k * 256u; if (j < params.n) { b[j] = a[j]; } } }`,
  )
  const [gx, gy] = gpuOps.grid(gpu, Math.ceil(n4 / 1024))
  const cg = COPY.group(gpu.device, COPY.layout(gpu.device), { a: { buffer: a }, b: { buffer: b }, params: { buffer: gpuOps.uniform(gpu, [n4, gx, 0, 0]) } })
  const copyMs = await timePasses(gpu, [{ pipeline: copy, group: cg, workgroups: [gx, gy] }])
  a.destroy()
  b.destroy()
  const M = quick ? 512 : 4096
  const A = gpuOps.upload(gpu, Float32Array.from({ length: M * M }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5))
  const B = gpuOps.upload(gpu, Float32Array.from({ length: M * M }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5))
  const C = gpuOps.buffer(gpu, M * M * 4)
  const gemm = await gpuOps.pipeline(
    gpu,
    `bench:gemm:${M}`,
    GEMM,
    `struct Params { n: u32, _a: u32, _b: u32, _c: u32 }
const N: u32 = ${M}u;
var<workgroup> As: array<array<f32, 64>, 16>;
var<workgroup> Bs: array<array<f32, 64>, 16>;
@compute @workgroup_size(16, 16) fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) l: vec3u) {
  let row0 = wg.y * 64u; let col0 = wg.x * 64u; var acc: array<array<f32, 4>, 4>;
  let tid = l.y * 16u + l.x;
  for (var k0 = 0u; k0 < N; k0 += 16u) {
    for (var q = 0u; q < 4u; q++) { let idx = tid + q * 256u; let r = idx / 16u; let c = idx % 16u; As[c][r] = A[(row0 + r) * N + k0 + c];
      let r2 = idx / 64u; let c2 = idx % 64u; Bs[r2][c2] = B[(k0 + r2) * N + col0 + c2]; }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) { var a: array<f32, 4>; var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) { a[i] = As[kk][l.y * 4u + i]; b[i] = Bs[kk][l.x * 4u + i]; }
      for (var i = 0u; i < 4u; i++) { for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(a[i], b[j], acc[i][j]); } } }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) { for (var j = 0u; j < 4u; j++) { C[(row0 + l.y * 4u + i) * N + col0 + l.x * 4u + j] = acc[i][j]; } }
}`,
  )
  const gg = GEMM.group(gpu.device, GEMM.layout(gpu.device), { A: { buffer: A }, B: { buffer: B }, C: { buffer: C }, params: { buffer: gpuOps.uniform(gpu, [M, 0, 0, 0]) } })
  const gemmMs = await timePasses(gpu, [{ pipeline: gemm, group: gg, workgroups: [M / 64, M / 64] }])
  for (const x of [A, B, C]) x.destroy()
  return { copyGBps: (2 * bytes) / copyMs / 1e6, gemmF32TFLOPs: (2 * M ** 3) / gemmMs / 1e9 }
}
