import type { GpuContext } from "../gpu/device.js"
import { defineBindings } from "../gpu/bindings.js"
import { gpuOps } from "../gpu/gpuOps.js"
import { timePasses } from "./kernelsTiming.js"

const COPY = defineBindings({ a: "read<vec4<f32>>", b: "rw<vec4<f32>>", params: "uniform" })
const GEMM = defineBindings({ A: "read<f32>", B: "read<f32>", C: "rw<f32>", params: "uniform" })
const READ = defineBindings({ a: "read<vec4<f32>>", b: "rw<f32>", params: "uniform" })
const FILL = defineBindings({ a: "rw<vec4<f32>>", params: "uniform" })

/** One read-only reduction variant of the sweep: threads per workgroup, vec4 loads per thread, GB/s read. */
export interface ReadVariant {
  readonly wg: number
  readonly unroll: number
  readonly GBps: number
}

export interface Ceilings {
  /** vec4 copy: bytes read + written per second (each byte moved counts twice). */
  readonly copyGBps: number
  readonly gemmF32TFLOPs: number
  /** Read-only reduction, best of the sweep: bytes read per second, the ceiling a decode kernel (reads only) is quoted against. */
  readonly readGBps: number
  readonly readSweep: readonly ReadVariant[]
}

/** The fill's value of f32 element i: 0..15 from a multiplicative hash, so every workgroup's sum is exact in f32. */
const fillValue = (i: number): number => Math.imul(i, 0x9e3779b1) >>> 28

/**
 * Read ceiling: every workgroup sums `unroll` coalesced vec4 loads per thread (its own wg·unroll·16 bytes of
 * the buffer) and writes one f32, so writes are 1/(4·wg·unroll) of the traffic. The buffer is filled with
 * hashed small integers first (not left zero, so no hardware zero-compression can flatter it) and the first
 * workgroups' sums are checked on the host; a wrong sum throws instead of reporting a rate.
 */
const measureRead = async (gpu: GpuContext, a: GPUBuffer, bytes: number, variants: ReadonlyArray<readonly [number, number]>): Promise<ReadVariant[]> => {
  const n4 = bytes / 16
  const fill = await gpuOps.pipeline(
    gpu,
    "bench:readfill",
    FILL,
    `struct Params { n: u32, gx: u32, _a: u32, _b: u32 }
fn h(i: u32) -> f32 { return f32((i * 0x9e3779b1u) >> 28u); }
@compute @workgroup_size(256) fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let j = (wg.x + wg.y * params.gx) * 256u + t;
  if (j < params.n) { let e = 4u * j; a[j] = vec4<f32>(h(e), h(e + 1u), h(e + 2u), h(e + 3u)); } }`,
  )
  const [fx, fy] = gpuOps.grid(gpu, Math.ceil(n4 / 256))
  await gpuOps.submit(gpu, "bench:readfill", [{ pipeline: fill, group: FILL.group(gpu.device, FILL.layout(gpu.device), { a: { buffer: a, size: bytes }, params: { buffer: gpuOps.uniform(gpu, [n4, fx, 0, 0]) } }), workgroups: [fx, fy] }])
  const out: ReadVariant[] = []
  for (const [wg, unroll] of variants.filter(([wg]) => wg <= gpu.limits.maxComputeInvocationsPerWorkgroup)) {
    const per = wg * unroll
    if (n4 % per !== 0) throw new Error(`read ceiling: ${n4} vec4 is not a multiple of ${wg}×${unroll}`)
    const nwg = n4 / per
    const pipeline = await gpuOps.pipeline(
      gpu,
      `bench:read:${wg}:${unroll}`,
      READ,
      `struct Params { gx: u32, _a: u32, _b: u32, _c: u32 }
var<workgroup> red: array<f32, ${wg}>;
@compute @workgroup_size(${wg}) fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let w = wg.x + wg.y * params.gx;
  let i = w * ${per}u + t;
  var s = vec4<f32>(0.0);
  for (var k = 0u; k < ${unroll}u; k++) { s += a[i + k * ${wg}u]; }
  red[t] = (s.x + s.y) + (s.z + s.w);
  workgroupBarrier();
  for (var st = ${wg / 2}u; st > 0u; st >>= 1u) {
    if (t < st) { red[t] += red[t + st]; }
    workgroupBarrier();
  }
  if (t == 0u) { b[w] = red[0]; } }`,
    )
    const [gx, gy] = gpuOps.grid(gpu, nwg)
    const b = gpuOps.buffer(gpu, nwg * 4, "bench:read.out")
    gpuOps.poison(gpu, b, nwg * 4)
    const pass = { pipeline, group: READ.group(gpu.device, READ.layout(gpu.device), { a: { buffer: a, size: bytes }, b: { buffer: b }, params: { buffer: gpuOps.uniform(gpu, [gx, 0, 0, 0]) } }), workgroups: [gx, gy] as [number, number] }
    const ms = await timePasses(gpu, [pass])
    const got = await gpuOps.readF32(gpu, b, Math.min(4, nwg))
    got.forEach((x, w) => {
      let want = 0
      for (let e = w * per * 4; e < (w + 1) * per * 4; e++) want += fillValue(e)
      if (x !== want) throw new Error(`read ceiling (wg ${wg}, unroll ${unroll}): workgroup ${w} summed ${x}, want ${want}`)
    })
    b.destroy()
    out.push({ wg, unroll, GBps: bytes / ms / 1e6 })
  }
  return out
}

/**
 * The ceilings each benchmark row is read against, measured in the same run: a vec4 copy kernel
 * (bytes read + written per second), a read-only reduction (bytes read per second, best of a sweep of
 * workgroup sizes and loads per thread; see measureRead) and a plain 64×64-tiled f32 GEMM (the probe's kernel).
 * @example const { copyGBps, readGBps, gemmF32TFLOPs } = await measureCeilings(gpu, false)
 */
export const measureCeilings = async (gpu: GpuContext, quick: boolean): Promise<Ceilings> => {
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
  // The read sweep reuses the copy's source; quick (lavapipe smoke runs) times two variants only.
  const readSweep = await measureRead(gpu, a, bytes, quick ? [[256, 4], [256, 16]] : [[128, 8], [128, 16], [256, 4], [256, 8], [256, 16], [512, 4], [512, 8], [1024, 4]])
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
  return { copyGBps: (2 * bytes) / copyMs / 1e6, gemmF32TFLOPs: (2 * M ** 3) / gemmMs / 1e9, readGBps: Math.max(...readSweep.map((r) => r.GBps)), readSweep }
}
